/**
 * The GC pacer (Go's `gcControllerState`, mgcpacer.go): it owns the heap
 * figures that decide when a cycle starts — `heapLive` (bytes the pacer
 * counts as live: whole cached spans, reset to the marked bytes by each
 * cycle), the last cycle's marked and scannable bytes — and turns them into
 * the heap goal and the trigger, per the preset's pacer: Go 1.2's `next_gc`
 * (live × (1 + GOGC/100), no minimum, the trigger is the goal) or Go 1.19's
 * goal with its 4 MiB minimum and the trigger bounds from the runway.
 *
 * @module
 */

/** `consMark` of the pacer: the model's fixed ratio of allocation to scan rate. */
export const CONS_MARK = 0.5;
/** Background mark utilisation goal. */
export const GC_BACKGROUND_UTILIZATION = 0.25;

/**
 * Parses GOGC: a non-negative integer percentage, or `off` (-1).
 *
 * @throws {RangeError} for anything else.
 * @example
 * ```ts
 * import { parseGOGC } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(parseGOGC("off"), -1);
 * strictEqual(parseGOGC("50"), 50);
 * ```
 */
export function parseGOGC(v: string | number): number {
  if (v === "off") return -1;
  const n = typeof v === "number" ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(
      `GOGC must be a non-negative integer percentage or "off", got ${
        JSON.stringify(v)
      }`,
    );
  }
  return n;
}

/** What the pacer needs of the preset. */
export interface PacerModel {
  /** Go 1.2's `next_gc` or Go 1.19's goal and trigger bounds. */
  readonly pacer: "next_gc" | "go1.19";
  /** Heap goal before the first GC at GOGC=100 (`heapMinimum`). */
  readonly heapMinimum: number;
}

/**
 * The pacer of one runtime.
 *
 * @example
 * ```ts
 * import { GCController, getPreset } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * const pacer = new GCController(getPreset("go1.19"), 100);
 * strictEqual(pacer.goal, 4 << 20); // the 4 MiB minimum before any cycle
 * pacer.heapMarked = 10 << 20;
 * pacer.commit();
 * strictEqual(pacer.goal, 20 << 20);
 * pacer.setGCPercent("off");
 * strictEqual(pacer.trigger, Infinity);
 * ```
 */
export class GCController {
  readonly #model: PacerModel;
  /** GOGC (-1 = off). */
  gcpercent: number;
  /** Heap bytes counted as live: whole cached spans; reset to the marked bytes by each GC. */
  heapLive = 0;
  /** Bytes marked by the last cycle. */
  heapMarked = 0;
  /** Bytes of marked objects in scannable spans. */
  heapScan = 0;
  /** Stack bytes scanned by the last cycle. */
  lastStackScan = 0;
  /** Global bytes scanned. */
  globalsScan = 0;
  /** Heap goal (`NextGC`). */
  goal = 0;
  /** heapLive at which the next cycle starts. */
  trigger = 0;

  /** Makes the pacer for a preset's model at GOGC `gcpercent` (-1 = off). */
  constructor(model: PacerModel, gcpercent: number) {
    this.#model = model;
    this.gcpercent = gcpercent;
    this.commit();
  }

  /** Sets GOGC (`debug.SetGCPercent`) and re-paces; returns the previous value. */
  setGCPercent(v: number | string): number {
    const old = this.gcpercent;
    this.gcpercent = parseGOGC(v);
    this.commit();
    return old;
  }

  /** Recomputes goal and trigger from the last cycle's figures. */
  commit(): void {
    if (this.gcpercent < 0) {
      this.goal = Infinity;
      this.trigger = Infinity;
      return;
    }
    if (this.#model.pacer === "next_gc") {
      // next_gc = heap_alloc + heap_alloc × GOGC/100; no minimum.
      this.goal = this.heapMarked +
        Math.floor(this.heapMarked * this.gcpercent / 100);
      this.trigger = this.goal;
      return;
    }
    const heapMinimum = Math.floor(
      this.#model.heapMinimum * this.gcpercent / 100,
    );
    const marked = this.heapMarked;
    let goal = marked +
      Math.floor(
        (marked + this.lastStackScan + this.globalsScan) * this.gcpercent / 100,
      );
    if (goal < heapMinimum) goal = heapMinimum;
    const runway = CONS_MARK * (1 - GC_BACKGROUND_UTILIZATION) /
      GC_BACKGROUND_UTILIZATION *
      (this.heapScan + this.lastStackScan + this.globalsScan);
    let trigger = Math.floor(goal - runway);
    const span = goal - marked;
    const minTrigger = marked + Math.floor(span / 64) * 45;
    let maxTrigger = marked + Math.floor(span / 64) * 61;
    if (goal - 4 * 1024 * 1024 > maxTrigger) {
      maxTrigger = goal - 4 * 1024 * 1024;
    }
    if (trigger < minTrigger) trigger = minTrigger;
    if (trigger > maxTrigger) trigger = maxTrigger;
    this.goal = goal;
    this.trigger = trigger;
  }
}
