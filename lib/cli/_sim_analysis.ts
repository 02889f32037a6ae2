/**
 * The exact analysis of a simulated runtime's events, for the reports of
 * `run` and `replay`: every allocation, free and GC cycle goes to a
 * {@link TraceAnalyzer} keyed by the goroutines' frames, and the moment of
 * its exact peak is noted on the simulated clock.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import { StackTable, type TraceEvent } from "../trace/events.ts";
import { TraceAnalyzer } from "../trace/analyze.ts";
import type { SiteBy } from "../trace/sites.ts";
import { attachEvents } from "../trace/sim_events.ts";

/** A simulated runtime's analyzer and the moment of its peak. */
export class SimAnalysis {
  /** The stacks the analyzer's sites are keyed by. */
  readonly stacks: StackTable = new StackTable();
  /** The analyzer (its figures count every allocation). */
  readonly analyzer: TraceAnalyzer;
  /**
   * When the exact peak happened: the allocation that made it, on the
   * simulated clock (seconds), with the bytes allocated and GC cycles until
   * then. The timeline's points are sparse (1% steps, GCs): without it the
   * page put the peak at the next point, a GC whose mark may run long after
   * the last allocation (run leak: a flat line, then the dot).
   */
  readonly peakAt: { time: number; alloc: number; cycle: number } = {
    time: 0,
    alloc: 0,
    cycle: 0,
  };
  readonly #rt: Runtime;
  #live = 0;
  #alloc = 0;
  #cycle = 0;

  /** An analyzer for `rt`'s events, sites keyed `by` (default line). */
  constructor(rt: Runtime, by: SiteBy = "line") {
    this.#rt = rt;
    this.analyzer = new TraceAnalyzer(this.stacks, {
      by,
      now: () => rt.clock / 1e9,
      dense: true,
    });
  }

  /**
   * Subscribes to the runtime's events (after the consumers already
   * there); `stacks` "js" keys allocations by their JS stacks.
   */
  attach(opts: { stacks?: "go" | "js" } = {}): void {
    attachEvents(this.#rt, this.stacks, (e) => this.#add(e), opts);
  }

  #add(e: TraceEvent): void {
    const a = this.analyzer;
    a.add(e);
    if (e.kind === "alloc") {
      this.#alloc += e.size;
      if (a.liveBytes > this.#live) {
        this.#live = a.liveBytes;
        const at = this.peakAt;
        at.time = this.#rt.clock / 1e9;
        at.alloc = this.#alloc;
        at.cycle = this.#cycle;
      }
    } else if (e.kind === "gc") this.#cycle++;
  }
}
