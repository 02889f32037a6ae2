/**
 * The fast paths change nothing but time. mallocgc's fast path (taken when
 * no allocation consumer listens and no sample is due) must leave the
 * runtime exactly as the full path does: each built-in workload runs twice
 * per preset and profile rate, once with an allocation listener (which
 * forces the full path) and once without, and every free, the statistics,
 * the clock, the profile and every span's bitmaps and memory must match.
 * The trusted mode (`checkPointers: false`) must give the same runs.
 */
import { assertEquals, assertThrows } from "../_assert.ts";
import { type MSpan, PRESET_NAMES, Runtime, WORKLOADS } from "../../mod.ts";
import { startupOf } from "../_testdata.ts";

const SMALL: Record<string, Record<string, number>> = {
  binarytrees: { depth: 8 },
  leak: { n: 600 },
  temporaries: { n: 200 },
  heapprofile: { small: 3000, large: 40 },
  multigo: { workers: 3, jobs: 300 },
  cache: { requests: 1500, capacity: 100 },
};

function runOnce(
  preset: string,
  name: string,
  memProfileRate: number,
  listen: boolean,
  checkPointers = true,
) {
  const rt = new Runtime({ preset, memProfileRate, gogc: 25, checkPointers });
  const frees: number[] = [];
  rt.events.subscribe({ free: (addr) => frees.push(addr) });
  let allocs = 0;
  if (listen) rt.events.subscribe({ alloc: () => allocs++ });
  const w = WORKLOADS.find((w) => w.name === name)!;
  const args: Record<string, number> = {};
  for (const p of w.params) args[p.name] = SMALL[name][p.name] ?? p.default;
  w.run(rt, args);
  const spans: unknown[] = [];
  const spanWords = <T extends Float64Array | Uint8Array>(a: T, s: MSpan) =>
    a.subarray(s.base / 8, (s.base + s.npages * s.pageSize) / 8);
  rt.heap.forEachSpan((s) =>
    spans.push([
      s.startAddr,
      s.spanclass,
      s.allocCount,
      s.freeindex,
      s.needzero,
      s.sweepgen,
      [...s.allocBits],
      [...s.gcmarkBits],
      s.types && [...s.types],
      s.types && [...spanWords(rt.heap.mem, s)],
      s.types && [...spanWords(rt.heap.bits, s)],
    ])
  );
  return {
    frees,
    stats: rt.readMemStats(),
    clock: rt.clock,
    numGC: rt.numGC,
    profile: rt.MemProfile(),
    spans,
    // The start-up's objects allocated before GODEBUG was read reach no
    // listener (goStartup), as in Go.
    allocs: listen
      ? allocs + startupOf(name, preset).untraced
      : rt.stats.nMalloc,
  };
}

for (const preset of PRESET_NAMES) {
  Deno.test(`${preset}: allocations without a listener leave the runtime as the full path does`, () => {
    for (const name of Object.keys(SMALL)) {
      for (const rate of [0, 4096]) {
        const fast = runOnce(preset, name, rate, false);
        const full = runOnce(preset, name, rate, true);
        assertEquals(fast, full, `${name}, MemProfileRate ${rate}`);
      }
    }
  });
}

Deno.test("the trusted mode runs every built-in workload as the checked mode does", () => {
  for (const name of Object.keys(SMALL)) {
    const checked = runOnce("go1.19", name, 4096, false);
    const trusted = runOnce("go1.19", name, 4096, false, false);
    assertEquals(trusted, checked, name);
  }
});

Deno.test("the trusted mode skips the liveness checks, not the span lookup", () => {
  const rt = new Runtime({ checkPointers: false, gogc: "off" });
  assertEquals(rt.words.checked, false);
  const node = rt.types.define("main.Node", { size: 16, pointers: [0] });
  const a = rt.newobject(node);
  const b = rt.newobject(node);
  rt.store(a, 0, b);
  assertEquals(rt.load(a, 0), b);
  rt.free(b);
  rt.store(a, 0, b); // a pointer at freed memory: the checked mode throws
  assertEquals(rt.load(a, 0), b);
  const raw = rt.mallocgc(64, null);
  assertThrows(() => rt.load(raw, 0), RangeError, /holds no pointers/);
  assertThrows(() => rt.store(0x1000, 0, 0), RangeError, /not a heap object/);
  const checked = new Runtime({ gogc: "off" });
  assertEquals(checked.words.checked, true);
  const c = checked.newobject(checked.types.define("main.Node", {
    size: 16,
    pointers: [0],
  }));
  const d = checked.newobject(checked.types.get("main.Node"));
  checked.free(d);
  assertThrows(() => checked.store(c, 0, d), RangeError, /freed heap memory/);
});
