/**
 * Who sweeps, in the model, against what fresh real go1.19.8 runs print
 * (`scripts/fidelity_compare.ts --runs N` shows each run's frees by
 * sweeper kind; issue 16).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { traceOf } from "../../scripts/_golden.ts";
import {
  binarytrees,
  type FreeWho,
  leak,
  Runtime,
  temporaries,
  TracePrinter,
} from "../../mod.ts";

/** Who freed each object of a workload, in order (traced: printed as allocfreetrace). */
function freeOrder(run: (rt: Runtime) => void, traced = false): FreeWho[] {
  const rt = new Runtime({ preset: "go1.19" });
  const order: FreeWho[] = [];
  rt.events.subscribe({ free: (_addr, _size, w) => order.push(w) });
  // Printing the records costs the simulated time a traced run spends.
  if (traced) new TracePrinter(rt, () => {}).attach();
  run(rt);
  return order;
}

/** Frees of a workload, by who freed them. */
function freesByWho(run: (rt: Runtime) => void): Map<FreeWho, number> {
  const who = new Map<FreeWho, number>();
  for (const w of freeOrder(run)) who.set(w, (who.get(w) ?? 0) + 1);
  return who;
}

Deno.test("sweepers: binarytrees -depth 9's forced GC frees nothing in an mcache flush, as in 7 of 7 real runs", () => {
  // Real Go's ReadMemStats flushes the mcaches before the final
  // runtime.GC(), so the dead start-up objects (the first `allgs` arrays)
  // sit unswept in their mcentral and runtime.GC's sweepone frees them.
  // The first GC's gcBgMarkWorkerNodes are noscan (all integer fields):
  // they do not re-cache the span of the pointerful `allgs` array, which
  // the mark termination's flush would then sweep.
  const who = freesByWho((rt) => binarytrees(rt, { depth: 9 }));
  const flushed = (who.get("uncacheSpan") ?? 0) + (who.get("acquirep") ?? 0) +
    (who.get("gcstopm") ?? 0);
  assertEquals(flushed, 0, `frees in an mcache flush: ${[...who]}`);
  assertEquals((who.get("GC") ?? 0) > 0, true, "runtime.GC's sweepone frees");
});

Deno.test("sweepers: traced leak -n 300's final runtime.GC sweeps alone before bgsweep joins, and bgsweep's share is within 10 points of real runs' mean", () => {
  // Seven fresh real runs: after the mcache flush runtime.GC frees 16–229
  // objects (median 67) before bgsweep's first free; fourteen
  // (tests/testdata/fidelity/leak-300-traced.txt) give bgsweep 15–55% of
  // all frees, mean 39%. Taking turns from the first span gave bgsweep
  // the first free.
  const order = freeOrder((rt) => leak(rt, { n: 300 }), true);
  const sweeps = order.filter((w) => w === "GC" || w === "bgsweep");
  const first = sweeps.indexOf("bgsweep");
  assertEquals(first >= 16 && first <= 229, true, `bgsweep first at ${first}`);
  const share = sweeps.filter((w) => w === "bgsweep").length / order.length;
  assertEquals(
    Math.abs(share * 100 - 39) <= 10,
    true,
    `bgsweep ${(share * 100).toFixed(1)}% of frees`,
  );
});

Deno.test("sweepers: a large allocation's proportional sweep prints allocLarge's path, as real temporaries -n 300 does (4 of 5 runs)", () => {
  // Real go1.19.8: sweep ← sweepone ← deductSweepCredit(0xa000, 0x5) ←
  // (*mcache).allocLarge ← mallocgc (malloc.go:1029, the 40,000 bytes
  // requested) ← makeslice ← main.tmp40000; never mcentral.cacheSpan.
  const text = traceOf("go1.19", (rt) => temporaries(rt, { n: 300 }));
  const frees = text.split("\n\n").filter((r) =>
    r.includes("\ntracefree(") || r.startsWith("tracefree(")
  ).filter((r) =>
    r.includes("runtime.deductSweepCredit(") && r.includes("main.tmp40000()")
  );
  assertTrue(frees.length > 0, "no proportional sweep under tmp40000");
  for (const r of frees) {
    const funcs = r.split("\n").filter((l) => !l.startsWith("\t"))
      .map((l) => l.slice(0, l.lastIndexOf("(")));
    const at = funcs.indexOf("runtime.deductSweepCredit");
    assertEquals(funcs.slice(at, at + 4), [
      "runtime.deductSweepCredit",
      "runtime.(*mcache).allocLarge",
      "runtime.mallocgc",
      "runtime.makeslice",
    ]);
    assertTrue(r.includes("runtime.mallocgc(0x9c40, "), r);
    assertTrue(r.includes("\truntime/malloc.go:1029 +0x57e "), r);
  }
});
