/**
 * The parts of the simulated Go runtime wired together, as Go's
 * `mallocinit`, `schedinit` and `gcinit` set them up (the heap, one
 * `mcentral` per span class, one `mcache` per P, the type registry, the
 * scheduler, the collector, sweeper and pacer, the heap profile), and the
 * calls the parts make of one another: what the collector (`gc.ts`), the
 * sweeper (`sweep.ts`) and the runtime's own allocations
 * (`runtime_allocs.ts`) ask of their host, and `mallocgc`. `Runtime`
 * (`runtime.ts`) adds what a simulated program calls.
 *
 * @module
 */

import { gcBgMarkStartWorkers, gcMarkDoneRace } from "./runtime_allocs.ts";
import { Clock, COSTS } from "./clock.ts";
import { Collector } from "./gc.ts";
import { GCController, parseGOGC } from "./pacer.ts";
import { EventHub, type GCCycleStats, type GCEvent } from "./events.ts";
import type { Goroutine } from "./goroutine.ts";
import { Sched } from "./proc.ts";
import { MCache } from "./mcache.ts";
import { MCentral } from "./mcentral.ts";
import { MHeap } from "./mheap.ts";
import { type MSpan, numSpanClasses } from "./mspan.ts";
import { Sweeper } from "./sweep.ts";
import { HeapStats } from "./mstats.ts";
import { SymbolTable } from "../stack/symtab.ts";
import { AllocKind } from "../stack/allockind.ts";
import { type GoDebug, parseGodebug } from "./godebug.ts";
import { type Bucket, HeapProfile } from "./mprof.ts";
import { ProfileSampling } from "./sampling.ts";
import { AllocCallers } from "./traceback.ts";
import type { ExplicitStack } from "../stack/runtime_frames.ts";
import { getPreset, type Preset, sizeClassesOf } from "./presets.ts";
import type { SizeClassTable } from "./sizeclasses.ts";
import { type GoType, TypeRegistry } from "./types.ts";
import { PointerWords } from "./mbitmap.ts";
import { Specials } from "./mfinal.ts";
import { Globals } from "./globals.ts";
import { Malloc } from "./malloc.ts";

/** Options of a `Runtime` (its constructor is {@link RuntimeParts}'s). */
export interface RuntimeOptions {
  /** Preset name: `go1.19` (default) or `go1.2-seed`. */
  preset?: string;
  /** Number of Ps, each with its own mcache (default: the preset's). */
  gomaxprocs?: number;
  /** Fatal heap limit in bytes: an allocation that would take the heap past it throws. 0 = none. */
  heapLimit?: number;
  /** GOGC: percentage (default 100) or `off`. */
  gogc?: number | string;
  /** `runtime.MemProfileRate` (default 524288; 1 = every allocation, 0 = off). */
  memProfileRate?: number;
  /** Seed of every random draw (heap sampling), so a run reproduces exactly (default 1). */
  seed?: number;
  /**
   * GODEBUG settings, parsed with the preset's Go semantics (see
   * {@link RuntimeParts.godebug}); the printers and gctrace are attached by the
   * caller (the CLI does it for `allocfreetrace` and `gctrace`).
   */
  godebug?: string;
  /**
   * Check every pointer store and load (default true): the word must be a
   * pointer word of a live object and a stored pointer must not point at
   * freed memory. False is the trusted mode for built-in workloads, which
   * never break those rules: `store`/`load` only find the span, and
   * binary-trees reads and writes the heap's words with no check at all.
   */
  checkPointers?: boolean;
  /**
   * Keep the heap's words and bits in one WebAssembly memory and mark in
   * WebAssembly there (default true); false keeps plain typed arrays and
   * marks in JavaScript, the reference the WebAssembly mark is tested
   * against. Either way every figure and output is the same.
   */
  linearMemory?: boolean;
}

/**
 * The parts of a simulated Go runtime and the calls they make of one
 * another; `Runtime` extends it with the program's side (allocation
 * helpers, frames, pointer words, `GC`, profiling).
 *
 * @example
 * ```ts
 * import { Runtime, RuntimeParts } from "../../mod.ts";
 * const rt = new Runtime({ gomaxprocs: 2 });
 * if (!(rt instanceof RuntimeParts) || rt.mcaches.length !== 2) {
 *   throw new Error("parts");
 * }
 * ```
 */
export class RuntimeParts {
  /** The preset this runtime models. */
  readonly preset: Preset;
  /** Its size-class table. */
  readonly sizeclasses: SizeClassTable;
  /** The page heap. */
  readonly heap: MHeap;
  /** One mcentral per span class. */
  readonly central: MCentral[];
  /** One mcache per P. */
  readonly mcaches: MCache[];
  /** The type registry. */
  readonly types: TypeRegistry;
  /** GOMAXPROCS. */
  readonly gomaxprocs: number;
  /**
   * The one subscription point: allocations, frees, GC phases and the heap
   * profile's records go to its consumers, in the order they subscribed
   * (nothing is emitted while nobody listens).
   */
  readonly events: EventHub = new EventHub();
  /** The collector and pacer. */
  readonly gc: Collector;
  /** The sweeper. */
  readonly sweeper: Sweeper;
  /** The scheduler: goroutines, the running one, Ps. */
  readonly sched: Sched;
  /** The heap's pointer words: checked loads and stores. */
  readonly words: PointerWords;
  /** The global root slots. */
  readonly globals: Globals;
  /** Special records (finalizers, profile buckets) and the finalizer queue. */
  readonly specials: Specials = new Specials();
  /** The pacer: heapLive, goal and trigger. */
  readonly pacer: GCController;
  /** The simulated clock, shared with the allocator, collector and sweeper. */
  readonly simClock: Clock = new Clock();
  /** Simulated time at which the last cycle ended. */
  gcEndClock = 0;
  /**
   * Simulated time spent printing allocfreetrace records under Go's
   * `tracelock`: a goroutine holding a runtime lock cannot be preempted, so
   * the mark workers wait for sysmon ({@link COSTS.forcePreempt}).
   */
  tracelockNs = 0;
  /**
   * Simulated time of the last preemption of a traced goroutine by sysmon
   * ({@link COSTS.forcePreempt} after the one before; see
   * {@link tracedPreempt}).
   */
  lastPreemptClock = 0;
  /** The dummy span of empty mcache slots. */
  readonly emptySpan: MSpan = MCache.emptymspan;
  /** The symbol table of the simulated program. */
  readonly symtab: SymbolTable;
  /** The heap profile (buckets and cycles). */
  readonly memprofile: HeapProfile;
  /** The sampling policy: MemProfileRate, forced profiling, each P's countdown. */
  readonly sampling: ProfileSampling;
  /** The seed of the random draws. */
  readonly seed: number;
  /**
   * The parsed GODEBUG. `memprofilerate=` is parsed but, as in Go 1.19
   * (golang/go#55100), has no effect on MemProfileRate.
   */
  readonly godebug: GoDebug;
  /** The counters MemStats reads. */
  readonly stats: HeapStats;
  /** The allocator. */
  readonly malloc: Malloc;
  readonly #callers: AllocCallers;

  /**
   * Makes a runtime with an empty heap.
   *
   * @throws {RangeError} for an unknown preset, a bad GOMAXPROCS or heap limit.
   */
  constructor(opts: RuntimeOptions = {}) {
    this.preset = getPreset(opts.preset ?? "go1.19");
    const procs = opts.gomaxprocs ?? this.preset.defaultGomaxprocs;
    if (!Number.isInteger(procs) || procs < 1 || procs > 256) {
      throw new RangeError(
        `GOMAXPROCS must be an integer from 1 to 256, got ${procs}`,
      );
    }
    const limit = opts.heapLimit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(
        `heap limit must be a non-negative number of bytes, got ${limit}`,
      );
    }
    this.gomaxprocs = procs;
    this.sizeclasses = sizeClassesOf(this.preset);
    const sc = this.sizeclasses;
    this.heap = new MHeap({
      pageSize: this.preset.pageSize,
      arenaStart: this.preset.arenaStart,
      arenaMaxBytes: this.preset.arenaMaxBytes,
      growBytes: this.preset.heapGrowBytes,
      policy: this.preset.pagePolicy,
      hardLimit: limit,
      linearMemory: opts.linearMemory ?? true,
    });
    const nspc = numSpanClasses(sc.numClasses);
    this.stats = new HeapStats(sc.numClasses);
    this.central = [];
    for (let spc = 0; spc < nspc; spc++) {
      const c = spc >>> 1;
      this.central.push(
        new MCentral(
          spc,
          sc.classToSize[c],
          sc.classToAllocNPages[c],
          sc.classToNElems[c],
          this.stats,
        ),
      );
    }
    this.mcaches = [];
    for (let p = 0; p < procs; p++) this.mcaches.push(new MCache(p, nspc));
    this.types = new TypeRegistry(this.preset.typeSegmentStart);
    this.words = new PointerWords(
      this.heap,
      this.types.list,
      opts.checkPointers ?? true,
    );
    this.globals = new Globals(this.words);
    this.sweeper = new Sweeper(this);
    this.symtab = new SymbolTable(this.preset.textStart);
    const seed = opts.seed ?? 1;
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be an integer, got ${seed}`);
    }
    this.seed = seed;
    this.godebug = parseGodebug(this.preset.name, opts.godebug ?? "");
    this.memprofile = new HeapProfile(
      this.preset.profileCycles,
      this.preset.bucketBySize,
    );
    this.sampling = new ProfileSampling(
      this.preset.sampling,
      seed,
      procs,
      opts.memProfileRate ?? 524288,
      this.mcaches,
    );
    this.pacer = new GCController(this.preset, parseGOGC(opts.gogc ?? 100));
    this.gc = new Collector(this, this.pacer);
    this.#callers = new AllocCallers(this.preset.frames, this.symtab);
    this.sched = new Sched(procs, this.symtab, this.preset.systemGoroutines);
    this.malloc = new Malloc({
      preset: this.preset,
      sizeclasses: sc,
      heap: this.heap,
      central: this.central,
      mcaches: this.mcaches,
      types: this.types,
      stats: this.stats,
      clock: this.simClock,
      gc: this.gc,
      pacer: this.pacer,
      sweeper: this.sweeper,
      sched: this.sched,
      sampling: this.sampling,
      memprofile: this.memprofile,
      callers: this.#callers,
      specials: this.specials,
      events: this.events,
    });
  }

  /**
   * Allocates `size` bytes of type `typ` (null: untyped, pointer-free) on P
   * `p`, as Go's `mallocgc` (see {@link Malloc.mallocgc}). Returns the
   * object's address.
   *
   * @throws {RangeError} for a size that is not an integer in [0, 2^48] or a bad P.
   * @throws {TypeError} for a type that is not from this runtime's registry.
   * @throws {OutOfMemoryError} past the hard heap limit.
   */
  mallocgc(
    size: number,
    typ: GoType | null,
    needzero = true,
    p = 0,
    kind: AllocKind = AllocKind.mallocgc,
  ): number {
    return this.malloc.mallocgc(size, typ, needzero, p, kind);
  }

  /** The kind of the allocation in progress (see {@link Malloc.allocKindInProgress}). */
  get allocKindInProgress(): AllocKind {
    return this.malloc.allocKindInProgress;
  }

  /** The requested size and type of the allocation whose refill is sweeping. */
  get allocInProgress(): { requested: number; typ: GoType | null } {
    return this.malloc.allocInProgress;
  }

  /** The free of a sampled object reaches its bucket (`mProf_Free`), then the consumers. */
  profileFree(bucket: Bucket, addr: number, size: number): void {
    this.malloc.profileFree(bucket, addr, size);
  }

  /** The simulated clock, ns since start. */
  get clock(): number {
    return this.simClock.now;
  }

  /** Sets the simulated clock. */
  set clock(ns: number) {
    this.simClock.now = ns;
  }

  /** Emits a GC phase to the consumers (the collector calls it). */
  emitGC(
    kind: GCEvent["kind"],
    cycle: number,
    forced: boolean,
    stats: GCCycleStats,
  ): void {
    const onGC = this.events.gc;
    if (onGC === null) return;
    onGC({
      kind,
      cycle,
      forced,
      stats,
      heapAlloc: this.stats.heapAlloc,
      mallocs: this.stats.nMalloc,
      goroutines: this.allgs,
      curg: this.curg,
    });
  }

  /**
   * The whole stack of the allocation in progress when it is given rather
   * than made of frames ({@link AllocKind.startup}: a start-up record
   * replayed by `goStartup`), else null.
   */
  get explicitStack(): ExplicitStack | null {
    return this.sched.explicitStack;
  }

  /** Sets the given stack of the allocation in progress (null: none). */
  set explicitStack(stack: ExplicitStack | null) {
    this.sched.explicitStack = stack;
  }

  /**
   * Whether the runtime's own allocations are modelled beyond what the
   * program does (set by `goStartup`): the first GC's mark workers then
   * allocate their `runtime.g` and `gcBgMarkWorkerNode` as in Go.
   */
  runtimeAllocations = false;

  /**
   * The objects `goStartup` allocated before GODEBUG was read, and the bytes
   * TotalAlloc counted for them: MemStats counts them, no event consumer
   * (trace, profile, analysis) ever saw them.
   */
  readonly untraced: { allocs: number; bytes: number } = {
    allocs: 0,
    bytes: 0,
  };

  /**
   * What the first GC's `gcBgMarkStartWorkers` allocates for its mark
   * `workers` (see runtime_allocs.ts); the collector calls it.
   */
  gcBgMarkStartWorkers(workers: readonly Goroutine[], forced: boolean): void {
    gcBgMarkStartWorkers(this, workers, forced);
  }

  /**
   * Whether another mark worker blocked in `gcMarkDone` at the end of
   * cycle `cycle`'s mark (see runtime_allocs.ts); the collector calls it.
   */
  gcMarkDoneRace(
    workers: readonly Goroutine[],
    cycle: number,
  ): Goroutine | null {
    return gcMarkDoneRace(this, workers, cycle);
  }

  /** Makes a goroutine running on P `p` (its id is the next goid). */
  newGoroutine(p = 0): Goroutine {
    return this.sched.newGoroutine(p);
  }

  /** The running goroutine. */
  get curg(): Goroutine {
    return this.sched.curg;
  }

  /** Every goroutine; `allgs[0]` is main (goid 1). */
  get allgs(): Goroutine[] {
    return this.sched.allgs;
  }

  /** The background sweeper's goroutine, when the preset has one. */
  get bgsweepg(): Goroutine | null {
    return this.sched.bgsweepg;
  }

  /** Defines (or finds) a global root slot by name; returns its index. */
  global(name: string): number {
    return this.globals.define(name);
  }

  /** Number of global root slots. */
  get globalCount(): number {
    return this.globals.count;
  }

  /**
   * A traced goroutine between two records (the trace lock free): sysmon
   * preempts it once it has run {@link COSTS.forcePreempt} since the last
   * preemption. With {@link Preset.tracedPreemptMigrates} (go1.22) the
   * preempted goroutine resumes on another P, so its allocations of a
   * cycle fill both Ps' mcaches and a mark worker gets a P at the next
   * preemption, not 10 ms after the mark began. Without it nothing moves.
   */
  tracedPreempt(): void {
    if (!this.preset.tracedPreemptMigrates || this.gomaxprocs < 2) return;
    if (this.clock - this.lastPreemptClock < COSTS.forcePreempt) return;
    this.lastPreemptClock = this.clock;
    const g = this.sched.curg;
    g.p = (g.p + 1) % this.gomaxprocs;
  }

  /**
   * When a traced program's mark workers, started at `from`, get a P: at
   * sysmon's first preemption of the mutator from then on. Go 1.19 (the
   * mutator keeps its P): {@link COSTS.forcePreempt} after `from`. With {@link Preset.tracedPreemptMigrates}, the first of
   * the preemptions {@link tracedPreempt} keeps every 10 ms, so 0–10 ms.
   */
  nextTracedPreempt(from: number): number {
    const fp = COSTS.forcePreempt;
    if (!this.preset.tracedPreemptMigrates || this.gomaxprocs < 2) {
      return from + fp;
    }
    const last = this.lastPreemptClock;
    if (last <= from) return Math.max(from, last + fp);
    return last - Math.floor((last - from) / fp) * fp;
  }

  /** Stores a pointer (or 0) into global slot `i` (see {@link Globals.set}). */
  setGlobal(i: number, v: number): void {
    this.globals.set(i, v);
  }

  /**
   * The return PCs the profiler records for the allocation in progress on
   * the running goroutine (see {@link AllocCallers.pcs}).
   */
  callers(
    typ: GoType | null,
    requested: number,
    kind: AllocKind = AllocKind.mallocgc,
  ): number[] {
    return this.#callers.pcs(
      this.sched.curg,
      typ,
      requested,
      kind,
      this.sched.explicitStack,
    );
  }
}
