/**
 * The detach's look through the stacks for the hooks' region (_stack_scan):
 * from each stack pointer up, and through a signal frame to the stack the
 * interrupted code was on (a handler on a sigaltstack: the interrupted
 * call's frames are on the normal stack).
 */
import { assertEquals } from "../_assert.ts";
import {
  _regionWords,
  type StackMemory,
} from "../../lib/native/_stack_scan.ts";
import type { Mapping } from "../../lib/native/proc_maps.ts";

const map = (start: number, end: number, exec = false): Mapping => ({
  start,
  end,
  offset: 0,
  path: "",
  exec,
});
const STACK = map(0x10000, 0x11000);
const ALT = map(0x20000, 0x21000);
const CODE = map(0x400000, 0x401000, true);
const [LO, HI] = [0x800000, 0x900000];
const RESTORER = 0x400100;

/** A program's memory: the three mappings, zeros but what is set. */
function memory(): StackMemory & { set(at: number, w: number): void } {
  const mem = new Map<Mapping, Uint8Array>(
    [STACK, ALT, CODE].map((m) => [m, new Uint8Array(m.end - m.start)]),
  );
  const at = (a: number, n: number) => {
    for (const [m, b] of mem) {
      if (a >= m.start && a + n <= m.end) return b.subarray(a - m.start);
    }
    return null;
  };
  mem.get(CODE)!.set(
    [0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05],
    RESTORER - CODE.start,
  );
  return {
    transfer(_w, parts) {
      for (const [buf, a] of parts) {
        const src = at(a, buf.length);
        if (src === null) return false;
        buf.set(src.subarray(0, buf.length));
      }
      return true;
    },
    readWord(a) {
      const src = at(a, 8);
      return src === null ? 0 : Number(
        new DataView(src.buffer, src.byteOffset).getBigUint64(0, true),
      );
    },
    set(a, w) {
      const dst = at(a, 8)!;
      new DataView(dst.buffer, dst.byteOffset).setBigUint64(0, BigInt(w), true);
    },
  };
}

/** A handler on the altstack (sp 0x20800) that interrupted code at sp `rsp`. */
function handlerAt(mem: ReturnType<typeof memory>, rsp: number) {
  mem.set(0x20900, RESTORER); // the handler's return address
  mem.set(0x20900 + 8 + 160, rsp); // the ucontext's rsp
}

Deno.test("_regionWords: a handler on a sigaltstack: the interrupted stack is looked through too, from the frame's rsp up", () => {
  const mem = memory();
  handlerAt(mem, 0x10800);
  mem.set(0x10a00, LO + 0x40); // the interrupted call's trampoline
  mem.set(0x10700, LO + 0x80); // below the interrupted rsp: dead
  const maps = [STACK, ALT, CODE];
  assertEquals(
    _regionWords(mem, maps, [0x20800], LO, HI),
    new Map([[0x10a00, LO + 0x40]]),
  );
  // Without the signal frame (a code address that is no sigreturn), the
  // normal stack is not the thread's: nothing seen.
  mem.set(0x20900, RESTORER + 8);
  assertEquals(_regionWords(mem, maps, [0x20800], LO, HI), new Map());
});

Deno.test("_regionWords: two stack pointers on one mapping look through each address once; an unmapped one, or a frame's rsp in nothing, gives null", () => {
  const mem = memory();
  mem.set(0x10a00, LO + 0x40);
  const maps = [STACK, ALT, CODE];
  let reads = 0;
  const counting: StackMemory = {
    transfer(w, parts) {
      reads += parts.reduce((n, [b]) => n + b.length, 0);
      return mem.transfer(w, parts);
    },
    readWord: (a) => mem.readWord(a),
  };
  assertEquals(
    _regionWords(counting, maps, [0x10900, 0x10800, 0x10f00], LO, HI),
    new Map([[0x10a00, LO + 0x40]]),
  );
  assertEquals(reads, STACK.end - 0x10800, "each byte read once");
  assertEquals(_regionWords(mem, maps, [0x30000], LO, HI), null);
  handlerAt(mem, 0x30000);
  assertEquals(_regionWords(mem, maps, [0x20800], LO, HI), null);
});
