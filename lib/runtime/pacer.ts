/**
 * The GC pacer (Go's `gcControllerState`, mgcpacer.go): it owns the heap
 * figures that decide when a cycle starts — `heapLive` (bytes the pacer
 * counts as live: whole cached spans, reset to the marked bytes by each
 * cycle), the last cycle's marked bytes and scan work — and turns them into
 * the heap goal and the trigger, per the preset's pacer: Go 1.2's `next_gc`
 * (live × (1 + GOGC/100), no minimum, the trigger is the goal) or Go 1.19's
 * goal with its 4 MiB minimum, the sweep distance and the trigger bounds
 * around the runway that the measured cons/mark ratio gives.
 *
 * @module
 */

/** Background mark utilisation goal (`gcBackgroundUtilization`). */
export const GC_BACKGROUND_UTILIZATION = 0.25;
/** Go 1.19's `gcGoalUtilization`: the runway divides the CPU this way. */
const GC_GOAL_UTILIZATION = GC_BACKGROUND_UTILIZATION;
/** Heap growth kept for the sweeper after a cycle (`sweepMinHeapDistance`). */
const SWEEP_MIN_HEAP_DISTANCE = 1024 * 1024;
/** The heap goal stays this far above the point a cycle triggered at. */
const MIN_RUNWAY = 64 << 10;
/** `defaultHeapMinimum`: also the largest runway left below a big goal. */
const DEFAULT_HEAP_MINIMUM = 4 << 20;
/** `revise`'s `maxOvershoot`: past the goal, 10% more heap for the mark. */
const MAX_OVERSHOOT = 1.1;
/** Steps in which {@link GCController.markGoal} advances the scan work. */
const REVISE_STEPS = 256;

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
  /**
   * Scannable globals of the runtime and standard library in every program
   * (data + bss with pointers; Go 1.19 counts them in the goal and the
   * runway).
   */
  readonly runtimeGlobalsScan?: number;
  /**
   * How each cycle's cons/mark measurement becomes the estimate: Go 1.19
   * smooths it with a PI controller and measures from the computed
   * trigger; Go 1.21+ take the largest of it and the last four, measured
   * from the heapLive the cycle actually started at.
   */
  readonly consMarkEstimate?: "pi-controller" | "max-of-last-4";
}

/** What one cycle measured, for the cons/mark estimate (`endCycle`). */
export interface CycleMeasure {
  /** Scan work of the cycle: heap, stack and global bytes scanned. */
  scanWork: number;
  /** Background workers' and assists' share of the CPU during the mark. */
  utilization: number;
  /** Idle mark workers' share of the CPU during the mark. */
  idleUtilization: number;
}

/**
 * The pacer of one runtime.
 *
 * @example
 * ```ts
 * import { GCController, getPreset } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * const pacer = new GCController({ pacer: "go1.19", heapMinimum: 4 << 20 }, 100);
 * strictEqual(pacer.goal, 4 << 20); // the 4 MiB minimum before any cycle
 * strictEqual(pacer.trigger, 3997696); // 61/64 of the way there
 * pacer.heapMarked = pacer.heapLive = 10 << 20;
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
  /** Bytes marked by the last cycle (what it found reachable, plus what was allocated black). */
  heapMarked = 0;
  /** Heap scan work of the last cycle: bytes scanned, up to each object's last pointer. */
  lastHeapScan = 0;
  /**
   * Scannable heap bytes (`heapScan`): the last cycle's scan work plus the
   * pointerful objects allocated since; fixed while a cycle runs.
   */
  heapScan = 0;
  /** Stack bytes scanned by the last cycle. */
  lastStackScan = 0;
  /**
   * Stack bytes allocated to goroutines (`maxStackScan`): all of it could
   * need scanning, so it bounds a growing mark's work in `revise`.
   */
  maxStackScan = 0;
  /** Global bytes scanned (the program's and the runtime's). */
  globalsScan = 0;
  /** Estimated ratio of allocation to scan rate (`consMark`), smoothed over cycles. */
  consMark = 0;
  /** The PI controller's integral of the cons/mark error. */
  #errIntegral = 0;
  /** The last four cycles' cons/mark measurements (Go 1.21+). */
  readonly #lastConsMark = [0, 0, 0, 0];
  /** heapLive the running cycle was started at (-1 between cycles). */
  triggered: number = -1;
  /** heapLive + 1 MiB at the last commit while sweeping (`sweepDistMinTrigger`). */
  #sweepDistMinTrigger = 0;
  /** Runway for the mark in bytes of allocation (`runway`). */
  runway = 0;
  /** Heap goal (`NextGC`). */
  goal = 0;
  /** heapLive at which the next cycle starts. */
  trigger = 0;

  /** Makes the pacer for a preset's model at GOGC `gcpercent` (-1 = off). */
  constructor(model: PacerModel, gcpercent: number) {
    this.#model = model;
    this.gcpercent = gcpercent;
    this.globalsScan = model.runtimeGlobalsScan ?? 0;
    this.commit();
  }

  /** Sets GOGC (`debug.SetGCPercent`) and re-paces; returns the previous value. */
  setGCPercent(v: number | string): number {
    const old = this.gcpercent;
    this.gcpercent = parseGOGC(v);
    this.commit(this.#sweepDistMinTrigger === 0);
    return old;
  }

  /**
   * A cycle starts (`startCycle`): the trigger it started at is kept, so
   * the goal stays at least 64 KiB above it.
   */
  startCycle(): void {
    this.triggered = this.#model.consMarkEstimate === "max-of-last-4"
      ? this.heapLive
      : this.trigger;
    this.#bounds();
  }

  /**
   * The heapLive at which the running cycle's assists alone would have done
   * its `scanWork`: the mutator, allocating from the current heapLive, pays
   * for each byte with the scan work `revise` asks of it (mgcpacer.go
   * 555–661), so the mark ends when its work is done, not at a goal.
   * `revise` runs at every heapLive change: the assist ratio is the scan
   * work left over the heap left to the goal, or — once the work done
   * passes what the last cycle scanned (the heap grows) — over the goal
   * stretched in proportion to all scannable memory (`maxScanWork`), at
   * most (1 + GOGC/100) × the goal (580–601); past that goal it allows 10%
   * more (603–611). Here `revise` is stepped as the work advances. A cycle
   * that scans about what the last one did ends near the goal, as real
   * Go's gcpacertrace shows (binarytrees -depth 14: 4.13–4.25 MB at a
   * 4.19 MB goal). The background workers (the simulated clock) may end
   * the mark sooner.
   */
  markGoal(scanWork: number): number {
    if (this.triggered < 0) return this.goal;
    const goal = this.goal;
    const expected = this.lastHeapScan + this.lastStackScan + this.globalsScan;
    const maxScanWork = Math.max(
      scanWork,
      this.heapScan + this.maxStackScan + this.globalsScan,
    );
    const gcpercent = this.gcpercent < 0 ? 100000 : this.gcpercent;
    const hard = Math.floor((1 + gcpercent / 100) * goal);
    let live = this.heapLive;
    for (let i = 0; i < REVISE_STEPS; i++) {
      const work = scanWork * i / REVISE_STEPS;
      let heapGoal = goal;
      let workExpected = expected;
      if (work > expected) {
        const ext = expected > 0
          ? Math.floor(
            (goal - this.triggered) / expected * maxScanWork + this.triggered,
          )
          : hard;
        workExpected = maxScanWork;
        heapGoal = Math.min(ext, hard);
      }
      if (live > heapGoal) {
        heapGoal = Math.floor(heapGoal * MAX_OVERSHOOT);
        workExpected = maxScanWork;
      }
      // scanWorkRemaining ≥ 1000 and heapRemaining ≥ 1, as in revise.
      const workRemaining = Math.max(workExpected - work, 1000);
      const heapRemaining = Math.max(heapGoal - live, 1);
      live += scanWork / REVISE_STEPS * heapRemaining / workRemaining;
    }
    return Math.floor(live);
  }

  /**
   * A cycle's mark is done (`endCycle`): the cons/mark ratio it showed —
   * bytes allocated since the trigger against the scan work, each over the
   * CPU it had — feeds the PI controller that smooths `consMark`. A traced
   * program allocates little during a mark (it spends its time printing),
   * so its ratio and runway stay near 0 and its cycles start late.
   */
  endCycle(m: CycleMeasure): void {
    if (this.#model.pacer === "next_gc") return;
    if (this.heapLive <= this.triggered || m.scanWork <= 0) return;
    const current = (this.heapLive - this.triggered) *
      (m.utilization + m.idleUtilization) /
      (m.scanWork * (1 - m.utilization));
    if (this.#model.consMarkEstimate === "max-of-last-4") {
      const last = this.#lastConsMark;
      this.consMark = Math.max(current, ...last);
      last.shift();
      last.push(current);
      return;
    }
    // piController{kp: 0.9, ti: 4.0, tt: 1000, min: -1000, max: 1000}
    // .next(consMark, current, 1): the cons/mark of this cycle is the set point.
    const kp = 0.9, ti = 4, tt = 1000;
    const raw = kp * (current - this.consMark) + this.#errIntegral;
    const out = Math.min(1000, Math.max(-1000, raw));
    this.#errIntegral += kp / ti * (current - this.consMark) +
      (out - raw) / tt;
    this.consMark = out;
  }

  /**
   * Recomputes goal and trigger from the last cycle's figures (`commit`):
   * at mark termination (sweeping unfinished, `isSweepDone` false) and when
   * GOGC changes.
   */
  commit(isSweepDone = true): void {
    this.triggered = -1;
    this.#sweepDistMinTrigger = isSweepDone
      ? 0
      : this.heapLive + SWEEP_MIN_HEAP_DISTANCE;
    this.runway = this.consMark * (1 - GC_GOAL_UTILIZATION) /
      GC_GOAL_UTILIZATION *
      (this.lastHeapScan + this.lastStackScan + this.globalsScan);
    this.#bounds();
  }

  /** Goal and trigger (`heapGoalInternal` and `trigger`). */
  #bounds(): void {
    if (this.gcpercent < 0) {
      this.goal = Infinity;
      this.trigger = Infinity;
      return;
    }
    const marked = this.heapMarked;
    if (this.#model.pacer === "next_gc") {
      // next_gc = heap_alloc + heap_alloc × GOGC/100; no minimum.
      this.goal = marked + Math.floor(marked * this.gcpercent / 100);
      this.trigger = this.goal;
      return;
    }
    const heapMinimum = Math.floor(
      this.#model.heapMinimum * this.gcpercent / 100,
    );
    let goal = marked +
      Math.floor(
        (marked + this.lastStackScan + this.globalsScan) * this.gcpercent / 100,
      );
    if (goal < heapMinimum) goal = heapMinimum;
    const sweepDist = this.#sweepDistMinTrigger;
    if (sweepDist > goal) goal = sweepDist;
    if (this.triggered >= 0 && goal < this.triggered + MIN_RUNWAY) {
      goal = this.triggered + MIN_RUNWAY;
    }
    this.goal = goal;
    if (marked >= goal) {
      this.trigger = goal;
      return;
    }
    const span = goal - marked;
    let minTrigger = Math.max(sweepDist, marked);
    const lower = Math.floor(span / 64) * 45 + marked;
    if (minTrigger < lower) minTrigger = lower;
    let maxTrigger = Math.floor(span / 64) * 61 + marked;
    if (
      goal > DEFAULT_HEAP_MINIMUM && goal - DEFAULT_HEAP_MINIMUM > maxTrigger
    ) {
      maxTrigger = goal - DEFAULT_HEAP_MINIMUM;
    }
    if (maxTrigger < minTrigger) maxTrigger = minTrigger;
    // Go stores the runway as uint64: a negative cons/mark estimate (the
    // PI controller overshooting) makes it huge, so the trigger drops to
    // its minimum.
    let trigger = this.runway > goal || this.runway < 0
      ? minTrigger
      : Math.floor(goal - this.runway);
    if (trigger < minTrigger) trigger = minTrigger;
    if (trigger > maxTrigger) trigger = maxTrigger;
    this.trigger = trigger;
  }
}
