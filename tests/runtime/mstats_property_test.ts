/**
 * The allocation counters (HeapStats: nMalloc, totalAlloc, heapAlloc,
 * nFree) against a count kept by the test, on the allocation fast path:
 * small objects are counted with their span when it leaves its mcache or
 * a counter is read, so random allocations (fast and full path, small and
 * large, tiny, on several Ps), explicit frees, collections and reads must give
 * exactly the counts made one by one. No allocation listener: it would
 * send every allocation down the full path.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals } from "../_assert.ts";
import { PRESET_NAMES, Runtime } from "../../mod.ts";

type Cmd =
  | { op: "new"; type: number; p: number; keep: boolean }
  | { op: "raw"; size: number; p: number }
  | { op: "free"; pick: number }
  | { op: "gc" }
  | { op: "readMemStats" }
  | { op: "check" };

const PROCS = 2;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("new" as const),
      type: fc.integer({ min: 0, max: 3 }),
      p: fc.integer({ min: 0, max: PROCS - 1 }),
      keep: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("raw" as const),
      // Noscan: under 16 bytes tiny (go1.19): counted when a new block is
      // taken, not when one is shared (those are the mcache's tinyAllocs).
      size: fc.oneof(
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 16, max: 4096 }),
        fc.integer({ min: 32769, max: 100_000 }),
      ),
      p: fc.integer({ min: 0, max: PROCS - 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "gc" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "readMemStats" as const }) },
  { weight: 2, arbitrary: fc.constant({ op: "check" as const }) },
);

for (const preset of PRESET_NAMES) {
  Deno.test(`${preset}: the allocation counters count every allocation and free, fast path included`, () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 600, size: "max" }), (cmds) => {
        const rt = new Runtime({ preset, gomaxprocs: PROCS, gogc: 5 });
        const types = [
          rt.types.define("main.Node", { size: 16, pointers: [0, 1] }),
          rt.types.define("main.Rec", { size: 48, pointers: [0, 2] }),
          rt.types.define("main.Big", { size: 1000, pointers: [0] }),
          rt.types.define("main.Flat", { size: 24 }),
        ];
        const start = {
          n: rt.stats.nMalloc,
          total: rt.stats.totalAlloc,
          heap: rt.stats.heapAlloc,
          frees: rt.stats.nFree,
        };
        let n = 0;
        let total = 0;
        let freed = 0;
        let frees = 0;
        // Slot address (what a free names) → the object's address (after
        // Go 1.22's allocation header).
        const live = new Map<number, number>();
        rt.events.subscribe({
          free: (addr, size) => {
            live.delete(addr);
            frees++;
            freed += size;
          },
        });
        const keep = rt.global("main.keep");
        const check = () => {
          assertEquals(rt.stats.listedSpans, cachedSpans(rt), "listed spans");
          assertEquals(rt.stats.nMalloc - start.n, n, "nMalloc");
          assertEquals(rt.stats.totalAlloc - start.total, total, "totalAlloc");
          assertEquals(rt.stats.nFree - start.frees, frees, "nFree");
          assertEquals(
            rt.stats.heapAlloc - start.heap,
            total - freed,
            "heapAlloc",
          );
        };
        for (const c of cmds) {
          if (c.op === "new" || c.op === "raw") {
            const tinyBefore = rt.mcaches[c.p].tinyAllocs;
            const x = c.op === "new"
              ? rt.newobject(types[c.type], c.p)
              : rt.mallocgc(c.size, null, true, c.p);
            // Shared a tiny block: no slot taken.
            if (rt.mcaches[c.p].tinyAllocs !== tinyBefore) continue;
            const span = rt.heap.spanOf(x)!;
            const slot = span.startAddr + span.objIndex(x) * span.elemsize;
            n++;
            total += span.elemsize;
            live.set(slot, x);
            // Rooted until the next rooted one: some survive a cycle.
            if (c.op === "new" && c.keep) rt.setGlobal(keep, x);
          } else if (c.op === "free") {
            if (live.size === 0) continue;
            const slot = [...live.keys()][c.pick % live.size];
            if (rt.getGlobal(keep) === live.get(slot)) rt.setGlobal(keep, 0);
            rt.free(slot); // a block is freed by its slot's address
          } else if (c.op === "gc") rt.GC();
          else if (c.op === "readMemStats") rt.ReadMemStats();
          else check();
        }
        check();
      }),
      { numRuns: 40 },
    );
  });
}

/** Spans the mcaches of `rt` hold now. */
function cachedSpans(rt: Runtime): number {
  let n = 0;
  for (const c of rt.mcaches) {
    for (const s of c.alloc) if (s.nelems !== 0) n++;
  }
  return n;
}

Deno.test("the counters' list of cached spans stays bounded by the cached spans without a counter read (GOGC=off, many refills)", () => {
  const rt = new Runtime({ gomaxprocs: 2, gogc: "off" });
  const flat = rt.types.define("main.Flat", { size: 64 });
  const node = rt.types.define("main.Node", { size: 48, pointers: [0] });
  const start = rt.stats.nMalloc;
  // 128 objects of 64 bytes per span: ~160 refills of each class per P;
  // the two Ps and two classes interleave, so a span comes back between
  // others' refills.
  for (let i = 0; i < 20_000; i++) {
    rt.newobject(flat, i & 1);
    rt.newobject(node, (i >>> 3) & 1);
  }
  const cached = cachedSpans(rt);
  if (rt.stats.listedSpans > cached) {
    throw new Error(
      `${rt.stats.listedSpans} spans listed, ${cached} cached`,
    );
  }
  assertEquals(rt.stats.nMalloc - start, 40_000);
});
