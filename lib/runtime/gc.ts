/**
 * The collector: a tracing mark from the roots (globals, goroutine root
 * slots, the object being allocated, the mcaches' tiny blocks, what
 * finalizer-bearing objects point to) through the pointer words of each
 * object's type, and the pacer that decides when a cycle starts (GOGC, Go
 * 1.19's heap goal with its 4 MiB minimum and trigger bounds, or Go 1.2's
 * `next_gc`). Reference sections 9 and 10.
 *
 * The mark is a snapshot at the cycle's start (marked atomically). The mark
 * phase then lasts in simulated time while the mutator allocates black
 * (`markNew`) until mark termination; its cost is charged to the simulated
 * clock and shows in gctrace.
 *
 * @module
 */

import { COSTS } from "./clock.ts";
import type { MSpan } from "./mspan.ts";
import { MarkWork } from "./mgcmark.ts";
import { markRunOn } from "./markrunon.ts";
import type { Goroutine } from "./goroutine.ts";
import type { SymbolTable } from "../stack/symtab.ts";
import { stackAllocated, stackInUse } from "./stackscan.ts";
import type { Globals } from "./globals.ts";
import type { MCache } from "./mcache.ts";
import type { MHeap } from "./mheap.ts";
import type { HeapProfile } from "./mprof.ts";
import type { Preset } from "./presets.ts";
import type { Sweeper } from "./sweep.ts";
import type { HeapStats } from "./mstats.ts";
import type { Specials } from "./mfinal.ts";
import type { TypeRegistry } from "./types.ts";

export type { GCCycleStats, GCEvent } from "./events.ts";
import type { GCCycleStats, GCEvent } from "./events.ts";

/**
 * `forcegcperiod` (proc.go 5120–5125): the longest time between cycles
 * sysmon allows, 2 minutes.
 */
export const FORCEGC_PERIOD_NS = 2 * 60 * 1e9;

/** Called for each GC event, when listening. */
export type GCListener = (ev: GCEvent) => void;

export { parseGOGC } from "./pacer.ts";
import { GC_BACKGROUND_UTILIZATION, type GCController } from "./pacer.ts";

/**
 * What the collector reads and writes of its runtime (a `Runtime` has all
 * of it): the roots, the heap, the counters and the clock it charges, the
 * sweeper it hands over to, and the consumers it tells about each phase.
 */
export interface GCRuntime {
  /**
   * The runtime's own allocations when the first cycle starts its mark
   * `workers` (runtime_allocs.ts), `forced` by runtime.GC() or not.
   */
  gcBgMarkStartWorkers(workers: readonly Goroutine[], forced: boolean): void;
  /**
   * Whether another of the mark `workers` blocked in `gcMarkDone` as cycle
   * `cycle`'s mark ended (runtime_allocs.ts): that worker, or null.
   */
  gcMarkDoneRace(
    workers: readonly Goroutine[],
    cycle: number,
  ): Goroutine | null;
  /** The preset's collector settings. */
  readonly preset: Pick<
    Preset,
    | "allocHeaders"
    | "bgMarkWorkers"
    | "markEndLateKB"
    | "runtimeGlobalsScan"
    | "stackScan"
    | "stopTheWorldSweep"
  >;
  /** The simulated clock, ns. */
  clock: number;
  /** Simulated time at which the last cycle ended. */
  gcEndClock: number;
  /** Simulated time spent printing trace records under `tracelock`. */
  readonly tracelockNs: number;
  /** When workers waiting since `from` get a traced program's P (RuntimeParts). */
  nextTracedPreempt(from: number): number;
  /** The counters (cycles, allocations, frees). */
  readonly stats: HeapStats;
  /** GOMAXPROCS. */
  readonly gomaxprocs: number;
  /** The page heap. */
  readonly heap: MHeap;
  /** The type registry (objects' pointer words). */
  readonly types: TypeRegistry;
  /** One mcache per P (tiny blocks are roots; flushed at mark termination). */
  readonly mcaches: readonly MCache[];
  /** The running goroutine (its P's mcache flushes on the path given). */
  readonly curg: Goroutine;
  /** The dummy span of empty mcache slots. */
  readonly emptySpan: MSpan;
  /** Global root slots. */
  readonly globals: Globals;
  /** Goroutines (their root slots). */
  readonly allgs: readonly Goroutine[];
  /** The functions of goroutines' frames (their frame sizes). */
  readonly symtab: SymbolTable;
  /** Specials (what finalizer-bearing objects point to is a root). */
  readonly specials: Specials;
  /** The heap profile (its cycles advance with the GC). */
  readonly memprofile: HeapProfile;
  /** The sweeper. */
  readonly sweeper: Sweeper;
  /** Makes a goroutine (the mark workers). */
  newGoroutine(p: number): Goroutine;
  /** Tells the consumers about a GC phase. */
  emitGC(
    kind: GCEvent["kind"],
    cycle: number,
    forced: boolean,
    stats: GCCycleStats,
  ): void;
}

/**
 * The collector of one runtime; its pacer is {@link GCController}.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const keep = rt.global("main.keep");
 * rt.setGlobal(keep, rt.newobject(node));
 * rt.store(rt.getGlobal(keep), 0, rt.newobject(node)); // reachable through the first
 * rt.newobject(node);                                 // garbage
 * rt.GC();
 * if (rt.readMemStats().HeapObjects !== 2) throw new Error("mark");
 * ```
 */
export class Collector {
  readonly #rt: GCRuntime;
  /** The mark's grey objects and counters (mgcmark.ts). */
  readonly #work: MarkWork;
  /** Stack scan work of the running cycle, bytes (`stackScanWork`). */
  #stackScanWork = 0;
  /** The pacer: heapLive, the marked and scannable bytes, goal and trigger. */
  readonly pacer: GCController;
  /** Objects marked by the last cycle. */
  get markedObjects(): number {
    return this.#work.markedObjects;
  }
  /** Words scanned by the last cycle. */
  get scannedWords(): number {
    return this.#work.scannedWords;
  }
  /** Mark drains run, those in WebAssembly and those that fell back (MarkWork's). */
  get drains(): { all: number; wasm: number; fellBack: number } {
    const w = this.#work;
    return { all: w.drains, wasm: w.wasmDrains, fellBack: w.fellBack };
  }
  /** Total simulated GC CPU time, ns. */
  gcCpuNs = 0;
  /** Statistics of the last completed cycle. */
  last: GCCycleStats | null = null;
  /** `MemStats.PauseNs`: stop-the-world time of recent cycles (ring of 256). */
  readonly pauseNs: Float64Array = new Float64Array(256);
  /** `MemStats.PauseEnd`: when those pauses ended, simulated ns. */
  readonly pauseEnd: Float64Array = new Float64Array(256);
  /** Cycles forced by `runtime.GC()`. */
  numForcedGC = 0;
  /** End of the last cycle, simulated ns (`LastGC`). */
  lastGC = 0;

  /**
   * Whether a cycle is due by time (`gcTrigger{kind: gcTriggerTime}.test`,
   * mgc.go 560–565): one ended more than `forcegcperiod` ago, GOGC on, on
   * a runtime whose sysmon forces them (Go 1.19). Real sysmon wakes
   * `forcegchelper` within 10 ms of that; the model's clock advances only
   * as the program allocates and prints, so the next allocation that may
   * start a cycle (a span refill, a large object) starts it, not forced by
   * the user (gctrace prints no "(forced)").
   */
  timeTriggered(): boolean {
    const rt = this.#rt;
    return rt.preset.bgMarkWorkers && this.pacer.gcpercent >= 0 &&
      rt.stats.numGC > 0 && rt.clock - this.lastGC > FORCEGC_PERIOD_NS;
  }

  /** Makes the collector of `rt`, paced by `pacer`. */
  constructor(rt: GCRuntime, pacer: GCController) {
    this.#rt = rt;
    this.pacer = pacer;
    this.#work = new MarkWork(
      rt.heap,
      rt.types,
      rt.preset.allocHeaders,
      pacer,
    );
  }

  /** GOGC (-1 = off). */
  get gcpercent(): number {
    return this.pacer.gcpercent;
  }

  /** Heap goal (`NextGC`). */
  get goal(): number {
    return this.pacer.goal;
  }

  /** heapLive at which the next cycle starts. */
  get trigger(): number {
    return this.pacer.trigger;
  }

  /** Sets GOGC (`debug.SetGCPercent`) and re-paces; returns the previous value. */
  setGCPercent(v: number | string): number {
    return this.pacer.setGCPercent(v);
  }

  /** True between the start of a cycle and its mark termination (allocations are black). */
  marking = false;
  /** Simulated time at which the running mark phase ends. */
  markEndClock = 0;
  /** Simulated time at which the running mark phase began. */
  #markStartClock = 0;
  /** Mark workers of the running cycle (for the assist's share of the CPU). */
  #markWorkers = 0;

  /**
   * True when the running mark phase is over: its work is done (the
   * background workers finished, or the heap reached the goal) and the
   * mutator has allocated what it runs on before the world stops
   * ({@link Preset.markEndLateKB}). Go 1.19's assists
   * (`gcController.revise`) pace the mutator so that the mark work is done
   * by the time heapLive reaches the heap goal, so a mutator that allocates
   * faster than the workers mark does not run past the goal; it finishes the
   * work itself.
   */
  markDone(): boolean {
    const rt = this.#rt;
    if (rt.tracelockNs !== this.#tracelockAtStart) {
      // The mutator prints under the trace lock: the workers run once
      // sysmon preempts it.
      const preempt = rt.nextTracedPreempt(this.#markStartClock);
      if (this.markEndClock < preempt) {
        this.markEndClock = preempt;
        if (this.#stats !== null) {
          this.#stats.clockNs[1] = preempt - this.#markStartClock;
        }
      }
    }
    return this.#ranOnDone(
      rt.clock >= this.markEndClock || this.pacer.heapLive >= this.#markGoal,
    );
  }

  /**
   * At a step boundary (`Gosched`): true when the background workers'
   * time is up and the mutator ran on as far as {@link markDone} lets it.
   * Unlike {@link markDone}, it does not hold a traced mark to sysmon's
   * preemption (nor did it before the run-on).
   */
  stepMarkDone(): boolean {
    return this.#ranOnDone(this.#rt.clock >= this.markEndClock);
  }

  /**
   * True once the running mark's work is done (`workDone` says it is now,
   * when it was not yet) and the mutator has run on past it by its draw.
   */
  #ranOnDone(workDone: boolean): boolean {
    if (this.#endAt < 0) {
      if (!workDone) return false;
      this.#workDone();
    }
    return this.pacer.heapLive >= this.#endAt;
  }

  /**
   * The running mark's work is done: the world stops once the mutator has
   * run on by {@link markRunOn}'s bytes (a draw from
   * {@link Preset.markEndLateKB}; a statistical stand-in: the model's
   * marks end by assists, real run-ons follow a background worker's end).
   */
  #workDone(): void {
    const rt = this.#rt;
    this.#doneClock = rt.clock;
    this.#ranOn = markRunOn(rt.preset, {
      cycle: rt.stats.numGC + 1,
      gomaxprocs: rt.gomaxprocs,
      forced: this.#forced,
      traced: rt.tracelockNs !== this.#tracelockAtStart,
    });
    this.#endAt = this.pacer.heapLive + this.#ranOn;
  }
  /** Bytes the mutator runs on past the running mark's end of work. */
  #ranOn = 0;
  /** heapLive at which the running mark ends once its work is done (-1: not done). */
  #endAt = -1;
  /** The clock when the running mark's work was done. */
  #doneClock = 0;
  /** `tracelockNs` when the running mark began. */
  #tracelockAtStart = 0;
  /** heapLive by which the running mark ends ({@link GCController.markGoal}). */
  #markGoal = 0;
  #stats: GCCycleStats | null = null;
  #forced = false;

  /**
   * Starts a cycle (`gcStart`): finishes the previous sweep, stops the
   * world for sweep termination and marks everything reachable from the
   * roots. `extraRoot` is the object being allocated when an allocation
   * started the cycle (0 for none). The mark phase then lasts, in
   * simulated time, as long as the mark workers need for that work; the
   * mutator runs on and allocates black until {@link markTermination}.
   * Go 1.2 (stop the world) and `runtime.GC()` end the cycle at once.
   */
  start(forced: boolean, extraRoot: number): void {
    const rt = this.#rt;
    const stw = rt.preset.stopTheWorldSweep;
    // runtime.GC() finishes the last sweep in its gcStart: runtime.GC is on the stack.
    if (!stw) rt.sweeper.finish(forced ? "GC" : "gcStart");
    this.pacer.startCycle();
    const stats: GCCycleStats = {
      startNs: rt.clock,
      clockNs: [0, 0, 0],
      cpuNs: [0, 0, 0, 0, 0],
      cpuFraction: 0,
      heapBefore: this.pacer.heapLive,
      heapAtMarkTermination: this.pacer.heapLive,
      heapMarked: 0,
      goal: this.pacer.goal,
      stacks: 0,
      globals: 0,
      procs: rt.gomaxprocs,
      objectsBefore: rt.stats.nMalloc - rt.stats.nFree,
      objectsAfter: 0,
      sweepNs: 0,
    };
    this.#stats = stats;
    this.#forced = forced;
    if (rt.stats.numGC === 0 && rt.preset.bgMarkWorkers) {
      // gcBgMarkStartWorkers: one background mark worker per P, with the
      // allocations real Go's trace shows for them.
      const workers = [];
      for (let i = 0; i < rt.gomaxprocs; i++) {
        const w = rt.newGoroutine(i);
        w.kind = "markworker";
        w.status = "waiting";
        w.waitReason = "GC worker (idle)";
        workers.push(w);
      }
      rt.gcBgMarkStartWorkers(workers, forced);
    }
    rt.emitGC("start", rt.stats.numGC + 1, forced, stats);
    rt.clock += COSTS.sweepTermination;
    stats.clockNs[0] = COSTS.sweepTermination;
    const markStart = rt.clock;
    this.#mark(extraRoot, stats);
    const markCpu = rt.clock - markStart;
    rt.clock = markStart;
    // The background workers take 25% of the Ps (dedicated workers, or
    // fractional ones below 4 Ps: mgcpacer.go startCycle). Calibration, not
    // Go code: idle Ps' workers (findRunnableGCWorker's idle mode) are not
    // counted: real runs of the shared programs on 2 Ps show idle mark time
    // in some cycles and none in others.
    const workers = rt.gomaxprocs * GC_BACKGROUND_UTILIZATION;
    stats.clockNs[1] = Math.ceil(markCpu / workers);
    stats.cpuNs[2] = markCpu;
    this.markEndClock = markStart + stats.clockNs[1];
    this.#markGoal = this.pacer.markGoal(
      this.#work.heapScanWork + this.#stackScanWork + this.pacer.globalsScan,
    );
    this.#markStartClock = markStart;
    this.#tracelockAtStart = rt.tracelockNs;
    this.#markWorkers = workers;
    this.#endAt = -1;
    this.#ranOn = 0;
    this.marking = true;
    if (stw || forced) {
      rt.clock = this.markEndClock;
      this.markTermination();
    }
  }

  /**
   * Mark termination (`gcMarkDone` + `gcMarkTermination`), world stopped:
   * the cycle is counted, the pacer set for the next one, sweeping starts
   * (go1.19: lazily, after every P flushed its mcache; go1.2-seed: all of
   * it, now).
   */
  markTermination(): void {
    const rt = this.#rt;
    const stats = this.#stats!;
    const forced = this.#forced;
    const stw = rt.preset.stopTheWorldSweep;
    const sweeper = rt.sweeper;
    // Before the mark ends (allocated black): a second worker in gcMarkDone.
    const raced = stw ? null : rt.gcMarkDoneRace(
      rt.allgs.filter((g) => g.kind === "markworker"),
      rt.stats.numGC + 1,
    );
    // The mark's work was done by the mutator's assists (before the
    // workers' time was up), and its end came where the mutator stopped.
    const done = this.#endAt < 0 ? rt.clock : this.#doneClock;
    const assistEnded = done < this.markEndClock;
    if (assistEnded) {
      // Assists finished the mark early: the allocating goroutine did the
      // work the workers had left beside them (gcAssistAlloc, mgcmark.go
      // 400–), on its own time: the clock runs on while it assists, and
      // the assist CPU (gctrace's) is that time. Not charging it would let
      // assists take more CPU than the mark lasted, and endCycle's
      // utilization and cons/mark (mgcpacer.go 672–723) swing wildly.
      const left = this.markEndClock - done;
      const w = this.#markWorkers;
      const assist = Math.ceil(left * w / (1 + w));
      rt.clock += assist;
      stats.clockNs[1] = rt.clock - this.#markStartClock;
      stats.cpuNs[1] = assist;
      stats.cpuNs[2] -= stats.cpuNs[1];
      if (stats.cpuNs[2] < 0) stats.cpuNs[2] = 0;
    } else if (this.#ranOn > 0) {
      // The workers' time was up, and the mutator ran on until now.
      stats.clockNs[1] = rt.clock - this.#markStartClock;
    }
    this.#endCycle(stats);
    // gcMarkTinyAllocs: each P's current tiny block is kept.
    for (const c of rt.mcaches) if (c.tiny !== 0) this.#work.grey(c.tiny);
    this.#work.drain();
    this.marking = false;
    const cycle = rt.stats.numGC + 1;
    rt.stats.numGC = cycle;
    rt.memprofile.mProf_NextCycle();
    stats.heapAtMarkTermination = this.pacer.heapLive;
    stats.heapMarked = this.pacer.heapMarked;
    stats.objectsAfter = this.markedObjects;
    rt.emitGC("marktermination", cycle, forced, stats);
    if (raced !== null) {
      // Woken when the mark ends, it parks as an idle worker again.
      raced.kind = "markworker";
      raced.status = "waiting";
      raced.waitReason = "GC worker (idle)";
    }
    rt.clock += COSTS.markTermination;
    stats.clockNs[2] = COSTS.markTermination;
    stats.cpuNs[0] = stats.clockNs[0] * rt.gomaxprocs;
    stats.cpuNs[4] = stats.clockNs[2] * rt.gomaxprocs;
    this.gcCpuNs += stats.cpuNs[0] + stats.cpuNs[1] + stats.cpuNs[2] +
      stats.cpuNs[4];
    // resetLive: the next cycle is paced from what this one marked and scanned.
    this.pacer.heapLive = this.pacer.heapMarked;
    this.pacer.lastHeapScan = this.#work.heapScanWork;
    this.pacer.lastStackScan = this.#stackScanWork;
    this.pacer.heapScan = this.#work.heapScanWork;
    this.pacer.commit(stw);
    sweeper.start();
    if (stw) {
      const t0 = rt.clock;
      this.#flushMcaches("stw");
      sweeper.finish("stw");
      stats.sweepNs = rt.clock - t0;
      stats.clockNs[2] += stats.sweepNs;
      this.gcCpuNs += stats.sweepNs;
    }
    stats.cpuFraction = rt.clock > 0
      ? this.gcCpuNs / (rt.clock * rt.gomaxprocs)
      : 0;
    this.pauseNs[(cycle + 255) % 256] = stats.clockNs[0] + stats.clockNs[2];
    this.pauseEnd[(cycle + 255) % 256] = rt.clock;
    this.lastGC = rt.clock;
    if (forced) this.numForcedGC++;
    this.last = stats;
    stats.mallocs = rt.stats.nMalloc;
    stats.frees = rt.stats.nFree;
    rt.emitGC("end", cycle, forced, stats);
    rt.gcEndClock = rt.clock;
    rt.memprofile.mProf_Flush(); // Go 1.19: the world restarted; Go 1.2: MProf_GC after the sweep
    if (!stw) {
      // Proportional sweep is paced at commit (gcPaceSweeper), after
      // gcSweep zeroed pagesSwept and before the Ps flush their mcaches:
      // the pages the flush sweeps count toward the target.
      const distance = Math.max(
        this.pacer.trigger - this.pacer.heapLive - 1024 * 1024,
        8192,
      );
      sweeper.sweepPagesPerByte = Number.isFinite(distance)
        ? (rt.heap.pagesInUse - sweeper.pagesSwept) / distance
        : 0;
      sweeper.sweepHeapLiveBasis = this.pacer.heapLive;
      sweeper.pagesSweptBasis = sweeper.pagesSwept;
      // The world restarts; every P flushes its mcache (stale spans are
      // swept by g0), the mutator's on the path its M took. Which path is
      // a race in real Go; this follows what most of 12 real traced runs
      // of leak -n 20000 and temporaries -n 300 (go1.19.8, 2 Ps) print:
      // - runtime.GC() parked its goroutine in gcWaitOnMark, so its M
      //   stopped idle and flushes in acquirep when it gets its P back
      //   (findRunnable → stopm; temporaries: 5 of 7 runs);
      // - the first cycle's mark workers get a P only when the mutator's
      //   is preempted, so a worker ends the mark on the mutator's P and
      //   that M flushes it in procresize (9 of 12 runs);
      // - later, a mutator whose assists ran until the mark ended parked
      //   in one (gcParkAssist) and flushes in acquirep like runtime.GC's
      //   (temporaries' third cycle: 3 of 7 runs, none in procresize);
      // - else a worker ends the mark on the other P and the
      //   stop-the-world preempts the mutator (morestack → gopreempt_m →
      //   schedule → gcstopm → stopm), which flushes in acquirep from
      //   there (temporaries: 11 of 14 such cycles).
      this.#flushMcaches(
        forced
          ? "acquirep"
          : cycle === 1
          ? "uncacheSpan"
          : assistEnded
          ? "acquirep"
          : "gcstopm",
      );
      // The flush (procresize, world still stopped) is before the background sweeper starts.
      rt.gcEndClock = rt.clock;
    }
  }

  #inGC = false;

  /** True while a cycle is being started or finished (an allocation then triggers nothing). */
  get inGC(): boolean {
    return this.#inGC;
  }

  /**
   * `gcStart` as the runtime calls it (an allocation past the trigger, or
   * `runtime.GC()`): a mark still running is finished first.
   */
  startCycle(forced: boolean, extraRoot: number): void {
    this.#inGC = true;
    try {
      if (this.marking) this.markTermination();
      this.start(forced, extraRoot);
    } finally {
      this.#inGC = false;
    }
  }

  /** `gcMarkDone` as the runtime calls it: finishes the running mark phase. */
  finishMark(): void {
    this.#inGC = true;
    try {
      this.markTermination();
    } finally {
      this.#inGC = false;
    }
  }

  /**
   * Records an object allocated during the mark phase as marked (allocate
   * black, `gcmarknewobject`): its bytes count as marked, but it is never
   * scanned, so it adds no scan work.
   */
  markNew(span: MSpan, i: number): void {
    this.#work.markNew(span, i);
  }

  /**
   * The cons/mark ratio this cycle showed (`endCycle`), in the shares of
   * CPU Go 1.19 measures: the background workers' 25% of the Ps plus the
   * assists, and what the workers did beyond that (idle Ps' workers).
   */
  #endCycle(stats: GCCycleStats): void {
    const rt = this.#rt;
    const procs = rt.gomaxprocs;
    const duration = rt.clock - this.#markStartClock;
    let utilization = GC_BACKGROUND_UTILIZATION;
    let idleUtilization = 0;
    if (duration > 0) {
      utilization += stats.cpuNs[1] / (duration * procs);
      const idle = stats.cpuNs[2] -
        GC_BACKGROUND_UTILIZATION * procs * duration;
      if (idle > 0) idleUtilization = idle / (duration * procs);
    }
    this.pacer.endCycle({
      scanWork: this.#work.heapScanWork + this.#stackScanWork +
        this.pacer.globalsScan,
      utilization: Math.min(utilization, 0.95),
      idleUtilization,
    });
  }

  /**
   * Every P flushes its mcache. `who` is the running goroutine's P's path;
   * the others' follow from it, since exactly one M restarts the world
   * (procresize flushes its P) and every other P's M flushes when it takes
   * its P back (acquirep). With the mutator's P taken back in acquirep,
   * the mark's last worker ended on the next P, which flushes in
   * procresize; with the mutator's P flushed in procresize, the other P's
   * M was stopped at a preemption (gcstopm). Which P is which is a race:
   * in 8 real go1.19.8 runs of leak -n 300 and temporaries -n 40 where
   * both Ps flushed something at the forced cycle, one flushed in
   * procresize and the other in acquirep in all 8 (the mutator's in
   * acquirep in 4); at the first cycle of leak -n 20000 and temporaries
   * -n 300, one in procresize and the other in gcstopm in 7 of 8.
   */
  #flushMcaches(who: "uncacheSpan" | "acquirep" | "gcstopm" | "stw"): void {
    const rt = this.#rt;
    const mine = rt.curg.p;
    const mcaches = rt.mcaches;
    for (let p = 0; p < mcaches.length; p++) {
      const c = mcaches[p];
      const path = p === mine || who === "stw"
        ? who
        : who === "uncacheSpan"
        ? "gcstopm"
        : p === (mine + 1) % mcaches.length
        ? "uncacheSpan"
        : "acquirep";
      for (let spc = 0; spc < c.alloc.length; spc++) {
        const s = c.alloc[spc];
        if (s.nelems === 0) continue;
        c.alloc[spc] = rt.emptySpan;
        rt.stats.uncached(s);
        s.cachedBy = -1;
        rt.sweeper.sweepSpan(s, false, path);
      }
      c.tiny = 0;
      c.tinyoffset = 0;
    }
  }

  #mark(extraRoot: number, stats: GCCycleStats): void {
    const rt = this.#rt;
    const work = this.#work;
    work.reset();
    // Roots: globals, goroutine root slots, the allocation in progress.
    let rootWords = 0;
    const globals = rt.globals.values;
    const nglobals = rt.globals.count;
    for (let i = 0; i < nglobals; i++) {
      if (globals[i] !== 0) this.#work.grey(globals[i]);
    }
    // The runtime's and the standard library's globals are scanned too.
    rootWords += nglobals + rt.preset.runtimeGlobalsScan / 8;
    // Each live goroutine's stack in use is scan work (scanstack), the
    // running one stopped in runtime.GC() or in an assist; what is
    // allocated to them bounds a growing mark's work (maxStackScan).
    const model = rt.preset.stackScan;
    const stopped = this.#forced ? "gc" : "assist";
    let stackBytes = 0;
    let stackAlloc = 0;
    for (const g of rt.allgs) {
      if (g.status === "dead") continue;
      for (let i = 0; i < g.sp; i++) {
        if (g.roots[i] !== 0) this.#work.grey(g.roots[i]);
      }
      const used = stackInUse(
        g,
        rt.symtab,
        model,
        g === rt.curg ? stopped : "parked",
      );
      stackBytes += used;
      stackAlloc += model === null ? used : stackAllocated(used, model);
    }
    rootWords += Math.ceil(stackBytes / 8);
    if (extraRoot !== 0) this.#work.grey(extraRoot);
    // gcMarkTinyAllocs: each P's current tiny block is kept.
    for (const c of rt.mcaches) if (c.tiny !== 0) this.#work.grey(c.tiny);
    // markrootSpans: what finalizer-bearing objects point to (not the objects).
    for (const s of rt.specials.spans) {
      if (s.specials === null) continue;
      for (const [i, sp] of s.specials) {
        if (sp.finalizer !== undefined && s.types !== null) {
          work.push(s, i);
        }
      }
    }
    this.#work.drain();
    this.#stackScanWork = stackBytes;
    this.pacer.maxStackScan = stackAlloc;
    this.pacer.globalsScan = nglobals * 8 + rt.preset.runtimeGlobalsScan;
    rt.clock += rootWords * COSTS.scanRoot +
      this.markedObjects * COSTS.markObject +
      this.scannedWords * COSTS.scanWord;
    stats.heapMarked = this.pacer.heapMarked;
    stats.objectsAfter = this.markedObjects;
    // gctrace's "MB stacks" is maxStackScan (mgc.go 1124).
    stats.stacks = this.pacer.maxStackScan;
    stats.globals = this.pacer.globalsScan;
  }
}
