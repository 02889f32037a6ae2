/**
 * Who sweeps, in the model, against what fresh real go1.19.8 runs print
 * (`scripts/fidelity_compare.ts --runs N` shows each run's frees by
 * sweeper kind; issue 16).
 */
import { assertEquals } from "../_assert.ts";
import { binarytrees, type FreeWho, Runtime } from "../../mod.ts";

/** Frees of a workload, by who freed them. */
function freesByWho(run: (rt: Runtime) => void): Map<FreeWho, number> {
  const rt = new Runtime({ preset: "go1.19" });
  const who = new Map<FreeWho, number>();
  rt.events.subscribe({
    free: (_addr, _size, w) => who.set(w, (who.get(w) ?? 0) + 1),
  });
  run(rt);
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
  const flushed = (who.get("uncacheSpan") ?? 0) + (who.get("acquirep") ?? 0);
  assertEquals(flushed, 0, `frees in an mcache flush: ${[...who]}`);
  assertEquals((who.get("GC") ?? 0) > 0, true, "runtime.GC's sweepone frees");
});
