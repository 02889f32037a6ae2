import { assertEquals } from "../_assert.ts";
import { Runtime } from "../../mod.ts";

function traced(rt: Runtime): { addr: number; size: number }[] {
  const records: { addr: number; size: number }[] = [];
  rt.events.subscribe({ alloc: (addr, size) => records.push({ addr, size }) });
  return records;
}

Deno.test("go1.19 tiny allocator: six new(int32) take two blocks, at the 1st and 5th call", () => {
  const rt = new Runtime({ preset: "go1.19" });
  const records = traced(rt);
  const int32 = rt.types.get("int32");
  const addrs: number[] = [];
  for (let i = 0; i < 6; i++) {
    const before = records.length;
    addrs.push(rt.newobject(int32));
    // A new 16-byte block reaches the end of mallocgc (and would be traced);
    // a combined allocation returns early.
    assertEquals(
      records.length - before,
      i === 0 || i === 4 ? 1 : 0,
      `call ${i + 1}`,
    );
  }
  assertEquals(records.map((r) => r.size), [16, 16]);
  const [a, b] = records.map((r) => r.addr);
  assertEquals(b, a + 16);
  assertEquals(addrs, [a, a + 4, a + 8, a + 12, b, b + 4]);
  // new([3]byte): fits in the current block at offset 8, no new block.
  const x = rt.mallocgc(3, rt.types.get("uint8"));
  assertEquals(x, b + 8);
  assertEquals(records.length, 2);
  const s = rt.readMemStats();
  assertEquals(s.HeapObjects, 2);
  assertEquals(s.HeapAlloc, 32);
  assertEquals(s.Mallocs - s.Frees, 2);
});

Deno.test("tiny allocator alignment: 8-byte multiples align to 8, even sizes to 2", () => {
  const rt = new Runtime();
  const a = rt.mallocgc(1, null);
  assertEquals(rt.mallocgc(8, null), a + 8);
  const c = rt.mallocgc(3, null); // 16 used: new block
  assertEquals(c, a + 16);
  assertEquals(rt.mallocgc(2, null), c + 4);
  assertEquals(rt.mallocgc(1, null), c + 6);
});

Deno.test("a pointerful or 16-byte allocation never uses the tiny allocator", () => {
  const rt = new Runtime();
  const records = traced(rt);
  const p = rt.types.define("main.P", { size: 8, pointers: [0] });
  rt.newobject(p);
  rt.newobject(p);
  rt.mallocgc(16, null);
  rt.mallocgc(16, null);
  assertEquals(records.map((r) => r.size), [8, 8, 16, 16]);
});

Deno.test("go1.2-seed has no tiny allocator: each small noscan object gets a slot", () => {
  const rt = new Runtime({ preset: "go1.2-seed" });
  const records = traced(rt);
  const int32 = rt.types.get("int32");
  for (let i = 0; i < 6; i++) rt.newobject(int32);
  assertEquals(records.map((r) => r.size), [8, 8, 8, 8, 8, 8]);
  assertEquals(records[0].addr, 0xc210000000);
});

Deno.test("zero-size allocations return zerobase and count nothing", () => {
  const rt = new Runtime();
  const records = traced(rt);
  const empty = rt.types.define("main.Empty", { size: 0 });
  assertEquals(rt.newobject(empty), rt.zerobase);
  assertEquals(rt.makeslice(rt.types.get("int"), 0), rt.zerobase);
  assertEquals(records.length, 0);
  assertEquals(rt.readMemStats().Mallocs, 0);
});

Deno.test("freeing the current tiny block drops it from the mcache", () => {
  const rt = new Runtime();
  const a = rt.mallocgc(4, null);
  rt.free(a);
  const b = rt.mallocgc(4, null);
  // A fresh block (the freed slot is reused only once the span is recached).
  assertEquals(b, a + 16);
  assertEquals(rt.readMemStats().HeapObjects, 1);
});
