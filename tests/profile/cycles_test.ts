import { assertEquals } from "../_assert.ts";
import { Runtime } from "../../mod.ts";

function setup(preset: string) {
  const rt = new Runtime({ preset, memProfileRate: 1, gogc: "off" });
  const t = rt.types.define("main.T", { size: 64 });
  const keep = rt.global("main.keep");
  const f = rt.func("main.f", "main.go");
  const alloc = (n: number, kept: boolean) => {
    rt.enter(f, 10);
    for (let i = 0; i < n; i++) {
      const x = rt.newobject(t);
      if (kept) rt.setGlobal(keep, x);
    }
    rt.leave();
  };
  const totals = () => {
    const r = rt.MemProfile(true);
    return r.reduce((a, x) => [a[0] + x.AllocObjects, a[1] + x.FreeObjects], [
      0,
      0,
    ]);
  };
  return { rt, alloc, totals, keep };
}

Deno.test("go1.19: runtime.GC() publishes the cycle it forced; allocations after it wait for the next GC", () => {
  const { rt, alloc, totals, keep } = setup("go1.19");
  alloc(10, false);
  // No GC yet: MemProfile's fallback publishes everything recorded.
  assertEquals(totals(), [10, 0]);
  rt.GC(); // the 10 were never kept: all freed
  assertEquals(totals(), [10, 10]);
  alloc(5, true);
  assertEquals(totals(), [10, 10]); // as of the last GC: the 5 are not visible yet
  rt.setGlobal(keep, 0);
  rt.GC();
  assertEquals(totals(), [15, 15]);
});

Deno.test("go1.19: an automatic cycle publishes one GC behind (mark termination flushes the previous cycle)", () => {
  const { rt, alloc, totals } = setup("go1.19");
  alloc(10, false);
  rt.GC();
  alloc(7, false);
  // Drive one cycle by hand, as the pacer would: start + mark termination.
  rt.gc.start(false, 0);
  rt.gc.markTermination();
  // Slot of cycle k flushed: allocations before the previous GC, and its frees.
  assertEquals(totals(), [10, 10]);
  rt.sweeper.finish("bgsweep");
  rt.gc.start(false, 0);
  rt.gc.markTermination();
  assertEquals(totals(), [17, 17]);
});

Deno.test("go1.2-seed: recent → settled at the end of every GC", () => {
  const { rt, alloc, totals } = setup("go1.2-seed");
  alloc(10, false);
  assertEquals(totals(), [10, 0]); // fallback: no GC yet
  rt.GC();
  assertEquals(totals(), [10, 10]);
  alloc(4, false);
  assertEquals(totals(), [10, 10]);
  rt.GC();
  assertEquals(totals(), [14, 14]);
});

Deno.test("buckets: size is in the key for go1.19, not for go1.2-seed; newest bucket first", () => {
  for (const [preset, want] of [["go1.19", 2], ["go1.2-seed", 1]] as const) {
    const rt = new Runtime({ preset, memProfileRate: 1 });
    rt.call("main.f", "main.go", 3, () => {
      rt.mallocgc(100, null);
      rt.mallocgc(200, null);
    });
    const recs = rt.MemProfile(true);
    assertEquals(recs.length, want, preset);
    if (want === 2) assertEquals(recs.map((r) => r.AllocBytes), [208, 112]);
  }
});
