/**
 * How far an untraced concurrent mark runs on past the end of its work
 * before the world stops: a calibration ({@link Preset.markEndLateKB}), not
 * Go code. In real Go a mark whose last work a background worker does
 * runs on while the mutator spends that work's credit; the model's marks
 * at the measured sizes all end by assists, so the draw is a statistical
 * stand-in for the distribution of real run-ons over the cycles, not for
 * which marks run on.
 *
 * @module
 */

import type { Preset } from "./presets.ts";

/** The cycle whose mark's work is done, as {@link markRunOn} reads it. */
export interface MarkRunOnCycle {
  /** The cycle's number (1 for the first). */
  cycle: number;
  /** Ps of the run. */
  gomaxprocs: number;
  /** Started by `runtime.GC()`. */
  forced: boolean;
  /** The mutator printed a trace record since the mark began. */
  traced: boolean;
}

/**
 * Bytes the mutator allocates, black, after the mark's work is done and
 * before mark termination: this cycle's draw from `preset.markEndLateKB`,
 * or 0 where real Go does not run on. A forced cycle ends at once. A
 * traced mutator takes no credit: it prints under the trace lock, and the
 * worker that ended the mark stops the world at its next preemption. With
 * one P the worker holds the only P until the world stops, so nothing
 * allocates (real GOMAXPROCS=1 binarytrees -depth 15: no mark after the
 * second past its goal); the table was measured with 2 Ps. The first two
 * cycles are left out of the table: the pacer already ends them where Go's
 * does.
 *
 * @example
 * ```ts
 * import { getPreset, markRunOn } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * const go119 = getPreset("go1.19");
 * const c = { cycle: 3, gomaxprocs: 2, forced: false, traced: false };
 * strictEqual(markRunOn(go119, { ...c, cycle: 1 }), 0);
 * strictEqual(markRunOn(go119, { ...c, gomaxprocs: 1 }), 0);
 * strictEqual(markRunOn(getPreset("go1.2-seed"), c), 0);
 * strictEqual(markRunOn(go119, c) % 1024, 0);
 * ```
 */
export function markRunOn(
  preset: Pick<Preset, "markEndLateKB">,
  c: MarkRunOnCycle,
): number {
  const late = preset.markEndLateKB;
  if (
    late === null || c.forced || c.traced || c.gomaxprocs <= 1 || c.cycle <= 2
  ) {
    return 0;
  }
  return late[_draw(c.cycle, late.length)] * 1024;
}

/**
 * Which of `n` quantiles cycle `cycle` draws: the golden-ratio sequence
 * (frac(cycle × 0.618…)), which visits the quantiles evenly, so that every
 * run of a few dozen cycles sees the measured distribution in proportion
 * rather than a random sample's clumps, and a run is a pure function of
 * its workload, as the simulated clock is.
 */
function _draw(cycle: number, n: number): number {
  const u = (cycle * 0.6180339887498949) % 1;
  return Math.floor(u * n);
}
