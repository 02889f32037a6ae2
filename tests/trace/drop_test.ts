/**
 * TraceAnalyzer's `liveEntries` and `drop` (native tracing drops the
 * blocks an image left live when its process exec'd): with either live
 * map, the entries are the live objects' addresses and slots, and a
 * dropped object is neither live, nor freed, nor a leak.
 */
import { assertEquals } from "../_assert.ts";
import { StackTable, TraceAnalyzer } from "../../mod.ts";

for (const dense of [true, false]) {
  Deno.test(`drop and liveEntries (${dense ? "paged" : "hash"} live map)`, () => {
    const st = new StackTable();
    const s = st.intern([
      { func: "main.f", file: "m.go", line: 3, pc: 0, inlined: false },
    ]);
    const a = new TraceAnalyzer(st, { dense, headers: false });
    // Multiples of 8 far apart, an odd one, and one above 2^32.
    const addrs = [0x1000, 0x1008, 0x7f0000001230, 0x2003, 2 ** 46 + 16];
    const slots = new Map<number, number>();
    let line = 0;
    for (const addr of addrs) {
      slots.set(
        addr,
        a.add({
          kind: "alloc",
          addr,
          size: 10,
          type: null,
          requested: 0,
          goroutine: 1,
          stack: s,
          lineNo: ++line,
        }),
      );
    }
    const sorted = (it: Iterable<[number, number]>) =>
      [...it].sort((x, y) => x[0] - y[0]);
    assertEquals(sorted(a.liveEntries()), sorted(slots));
    assertEquals(a.drop(0x1008), slots.get(0x1008));
    assertEquals(a.drop(0x2003), slots.get(0x2003));
    assertEquals(a.drop(0x2003), -1);
    slots.delete(0x1008);
    slots.delete(0x2003);
    assertEquals(sorted(a.liveEntries()), sorted(slots));
    const r = a.finish();
    assertEquals([r.allocs, r.frees, r.liveObjects, r.liveBytes], [
      5,
      0,
      3,
      30,
    ]);
    assertEquals([r.sites[0].frees, r.sites[0].live], [0, 3]);
  });
}
