/**
 * The x86-64 pieces of the injected hooks that need no traced program: the
 * prologue decoder and the assembled stubs' entry patches.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { assemble, LAYOUT, REC_FREE } from "../../lib/native/inject.ts";
import { decode } from "../../lib/native/relocate.ts";

const bytes = (hex: string) =>
  new Uint8Array(hex.trim().split(/\s+/).map((h) => parseInt(h, 16)));

Deno.test("decoder: glibc 2.36's allocator prologues, relative operands found, unknown forms refused", () => {
  const len = (hex: string) => decode(bytes(hex + " 90 90 90 90 90 90"), 0);
  assertEquals(len("41 54")?.len, 2); // push %r12
  assertEquals(len("55")?.len, 1); // push %rbp
  assertEquals(len("48 89 fb")?.len, 3); // mov %rdi,%rbx
  assertEquals(len("48 85 ff")?.len, 3); // test %rdi,%rdi
  assertEquals(len("48 f7 e2")?.len, 3); // mul %rdx
  assertEquals(len("f3 0f 1e fa")?.len, 4); // endbr64
  assertEquals(len("48 83 ec 18")?.len, 4); // sub $0x18,%rsp
  assertEquals(len("48 81 ec 00 01 00 00")?.len, 7); // sub $0x100,%rsp
  // cmpb $0x0,0x140201(%rip): disp32 at 2, then an imm8
  assertEquals(len("80 3d 01 02 14 00 00"), {
    len: 7,
    rel: { at: 2, size: 4, kind: "disp" },
  });
  // je rel32, jne rel8
  assertEquals(len("0f 84 bf 00 00 00"), {
    len: 6,
    rel: { at: 2, size: 4, kind: "branch" },
  });
  assertEquals(len("75 07"), { len: 2, jcc8: 5 });
  assertEquals(len("48 8b 44 24 10")?.len, 5); // mov 0x10(%rsp),%rax (SIB, disp8)
  assertEquals(len("c3"), null); // ret
  assertEquals(len("ff 25 00 00 00 00"), null); // jmp *(%rip)
});

Deno.test("assemble: each entry gets a jmp to its stub, displaced bytes re-aimed; an unknown prologue makes no stubs", () => {
  const region = 0x7f0000000000;
  const entry = region + 0x4000000; // 64 MiB above the region
  const free = {
    kind: REC_FREE,
    entry,
    // test %rdi,%rdi; je +0xbf
    head: bytes("48 85 ff 0f 84 bf 00 00 00 55 48 8d 77 f0 90 90"),
  };
  const malloc = {
    kind: 1,
    entry: entry + 0x100,
    // push %r12; push %rbp; push %rbx; mov %rdi,%rbx
    head: bytes("41 54 55 53 48 89 fb 48 83 ec 10 90 90 90 90 90"),
  };
  const inj = assemble(region, [free, malloc])!;
  assertTrue(inj !== null);
  assertEquals(inj.patches.length, 2);
  const codeAt = region + LAYOUT.tramps;
  for (const p of inj.patches) {
    assertEquals(p.word[0], 0xe9);
    const rel = new DataView(p.word.buffer, p.word.byteOffset).getInt32(
      1,
      true,
    );
    const stub = p.entry + 5 + rel;
    assertTrue(
      stub >= region + LAYOUT.code && stub < region + LAYOUT.snapshots,
    );
    // Bytes after the jmp are the function's own.
    const head = p.entry === entry ? free.head : malloc.head;
    assertEquals([...p.word.subarray(5)], [...head.subarray(5, 8)]);
    assertEquals([...p.orig], [...head.subarray(0, 8)]);
    assertTrue(stub - codeAt < inj.code.length);
  }
  // The free stub carries the je re-aimed at its original target.
  const code = inj.code;
  const target = entry + 9 + 0xbf;
  let found = false;
  for (let i = 0; i + 6 <= code.length; i++) {
    if (code[i] === 0x0f && code[i + 1] === 0x84) {
      const rel = new DataView(code.buffer, code.byteOffset + i + 2, 4)
        .getInt32(0, true);
      if (codeAt + i + 6 + rel === target) found = true;
    }
  }
  assertTrue(found, "the displaced je still reaches its target");
  const unknown = {
    ...malloc,
    head: bytes("c3 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90"),
  };
  assertEquals(assemble(region, [free, unknown]), null);
});

Deno.test("breakpoint mode's cmpb emulation sets rflags as the CPU does", async () => {
  const { subFlags8 } = await import("../../lib/native/tracer.ts");
  const CF = 0x1n, PF = 0x4n, AF = 0x10n, ZF = 0x40n, SF = 0x80n, OF = 0x800n;
  assertEquals(subFlags8(0x202n, 0, 0), 0x202n | ZF | PF);
  assertEquals(subFlags8(0x202n | CF | ZF, 1, 0), 0x202n);
  assertEquals(subFlags8(0x202n, 0, 1), 0x202n | CF | PF | AF | SF);
  assertEquals(subFlags8(0x202n, 0x80, 1), 0x202n | OF | AF); // 0x7f: 7 ones
});
