/**
 * The simulated Go runtime: the heap (`mheap`, one `mcentral` per span
 * class, one `mcache` per P), the type registry, `mallocgc` and the
 * statistics `runtime.ReadMemStats` reports. Pure and synchronous.
 *
 * @module
 */

import { gcBgMarkStartWorkers, gcMarkDoneRace } from "./runtime_allocs.ts";
import { Clock } from "./clock.ts";
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
import { HeapStats, type MemStats, readMemStats } from "./mstats.ts";
export type { MemStats } from "./mstats.ts";
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
import { findObject, PointerWords } from "./mbitmap.ts";
import { Specials } from "./mfinal.ts";
import { Globals } from "./globals.ts";
import { Malloc } from "./malloc.ts";
import { growslice, makeslice } from "./slice.ts";
import { makechan } from "./chan.ts";
import { makemapSmall, mapassignBucket } from "./map.ts";
import { concatstring } from "./string.ts";

export { AllocKind };
export { MAX_ALLOC, TINY_SIZE, TINY_SPAN_CLASS } from "./malloc.ts";
export { HCHAN_SIZE } from "./types.ts";

/** Options of a {@link Runtime}. */
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
   * {@link Runtime.godebug}); the printers and gctrace are attached by the
   * caller (the CLI does it for `allocfreetrace` and `gctrace`).
   */
  godebug?: string;
  /**
   * Check every pointer store and load (default true): the word must be a
   * pointer word of a live object and a stored pointer must not point at
   * freed memory. False is the trusted mode for built-in workloads, which
   * never break those rules: a store or load only finds its span.
   */
  checkPointers?: boolean;
}

/**
 * A simulated Go runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime({ preset: "go1.19" });
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const a = rt.newobject(node);
 * const b = rt.newobject(node);
 * if (a !== 0xc000000000 || b !== a + 16) throw new Error("addresses");
 * if (rt.readMemStats().HeapAlloc !== 32) throw new Error("stats");
 * ```
 */
export class Runtime {
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
    });
    const nspc = numSpanClasses(sc.numClasses);
    this.central = [];
    for (let spc = 0; spc < nspc; spc++) {
      const c = spc >>> 1;
      this.central.push(
        new MCentral(
          spc,
          sc.classToSize[c],
          sc.classToAllocNPages[c],
          sc.classToNElems[c],
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
    );
    this.pacer = new GCController(this.preset, parseGOGC(opts.gogc ?? 100));
    this.gc = new Collector(this, this.pacer);
    this.#callers = new AllocCallers(this.preset.frames, this.symtab);
    this.sched = new Sched(procs, this.symtab, this.preset.systemGoroutines);
    this.stats = new HeapStats(sc.numClasses);
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

  // ---- allocation (malloc.ts) ----

  /** Address returned for every zero-size allocation (`runtime.zerobase`). */
  get zerobase(): number {
    return this.preset.zerobase;
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

  /**
   * Allocates one object of type `typ` (`runtime.newobject`).
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
   * const p = rt.newobject(t);
   * if (rt.sizeOf(p) !== 64) throw new Error("size class");
   * ```
   */
  newobject(typ: GoType, p: number = this.sched.curg.p): number {
    const x = this.malloc.mallocFast(typ, p);
    if (x >= 0) return this.words.arenaStart + x;
    return this.malloc.mallocgc(typ.size, typ, true, p, AllocKind.newobject);
  }

  /**
   * {@link newobject} on the running goroutine's P, giving the object's
   * offset from the arena start (`heap.arenaStart`) instead of its address:
   * a small integer, which crosses calls unboxed and goes straight to
   * `words.storeOff`/`loadOff`.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 16, pointers: [0] });
   * const off = rt.newobjectOff(t);
   * if (rt.sizeOf(rt.heap.arenaStart + off) !== 16) throw new Error("offset");
   * ```
   */
  newobjectOff(typ: GoType): number {
    const p = this.sched.curg.p;
    const x = this.malloc.mallocFast(typ, p);
    if (x >= 0) return x;
    return this.malloc.mallocgc(typ.size, typ, true, p, AllocKind.newobject) -
      this.words.arenaStart;
  }

  /**
   * Allocates the backing array of `make([]elem, n)` (`runtime.makeslice`).
   *
   * @throws {RangeError} for a negative or non-integer length.
   */
  makeslice(elem: GoType, n: number, p: number = this.sched.curg.p): number {
    return makeslice(this.malloc, elem, n, p);
  }

  /**
   * `append` past capacity (`runtime.growslice`, see {@link growslice}):
   * the new backing array and its capacity.
   */
  growslice(
    elem: GoType,
    old: number,
    oldLen: number,
    oldCap: number,
    newLen: number,
    p: number = this.sched.curg.p,
  ): { addr: number; cap: number } {
    return growslice(
      this.malloc,
      this.words,
      elem,
      old,
      oldLen,
      oldCap,
      newLen,
      p,
    );
  }

  /** `make(chan T, n)` (`runtime.makechan`, see {@link makechan}). */
  makechan(elem: GoType, n: number, p: number = this.sched.curg.p): number {
    return makechan(
      this.malloc,
      this.words,
      this.types,
      this.sched.curg,
      this.preset.makechanChanType,
      elem,
      n,
      p,
    );
  }

  /** A string of `len` bytes made by concatenation (`concatstrings` → `rawstring`). */
  concatstring(len: number, p: number = this.sched.curg.p): number {
    return concatstring(this.malloc, len, p);
  }

  /** `make(map[K]V)` with no hint (`runtime.makemap_small`): a `runtime.hmap`. */
  makemapSmall(p: number = this.sched.curg.p): number {
    return makemapSmall(this.malloc, this.types, p);
  }

  /** The first insert into a small map allocates its bucket array (see {@link mapassignBucket}). */
  mapassignBucket(
    hmap: number,
    bucket: GoType,
    p: number = this.sched.curg.p,
  ): number {
    return mapassignBucket(this.malloc, this.words, hmap, bucket, p);
  }

  /** The kind of the allocation in progress (see {@link Malloc.allocKindInProgress}). */
  get allocKindInProgress(): AllocKind {
    return this.malloc.allocKindInProgress;
  }

  /** The requested size and type of the allocation whose refill is sweeping. */
  get allocInProgress(): { requested: number; typ: GoType | null } {
    return this.malloc.allocInProgress;
  }

  /**
   * Frees the live object at `addr` at once (see {@link Malloc.free}).
   *
   * @throws {RangeError} when `addr` is not the start of a live object.
   */
  free(addr: number): void {
    this.malloc.free(addr);
  }

  /** The free of a sampled object reaches its bucket (`mProf_Free`), then the consumers. */
  profileFree(bucket: Bucket, addr: number, size: number): void {
    this.malloc.profileFree(bucket, addr, size);
  }

  /** The bytes mallocgc gives a request of `size` (`roundupsize`, see {@link Malloc.roundupsize}). */
  roundupsize(size: number, noscan = true): number {
    return this.malloc.roundupsize(size, noscan);
  }

  // ---- statistics (mstats.ts) ----

  /** The simulated clock, ns since start. */
  get clock(): number {
    return this.simClock.now;
  }

  /** Sets the simulated clock. */
  set clock(ns: number) {
    this.simClock.now = ns;
  }

  /** Completed GC cycles (the counters are in {@link stats}). */
  get numGC(): number {
    return this.stats.numGC;
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

  // ---- frames ----

  /** The id of function `name` (defined in `file`) in the symbol table. */
  func(name: string, file?: string, args?: string): number {
    return this.symtab.func(name, file, args);
  }

  /**
   * Runs `body` as a call of Go function `fn` (in `file`) currently at
   * `line`: the frame shows in tracebacks and profiles, and the root slots
   * pushed inside are dropped when it returns.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 8, pointers: [0] });
   * const x = rt.call("main.alloc", "main.go", 16, () => rt.newobject(t));
   * if (rt.curg.depth !== 0 || rt.sizeOf(x) !== 8) throw new Error();
   * ```
   */
  call<T>(fn: string | number, file: string, line: number, body: () => T): T {
    return this.sched.call(fn, file, line, body);
  }

  /**
   * Runs `body` as a new goroutine started by a `go` statement at the
   * current frame: it gets the next goroutine id, runs on P `id mod
   * GOMAXPROCS`, shows `created by` the current function in tracebacks, and
   * is dead when `body` returns. Scheduling is sequential: the creator
   * resumes after it.
   */
  go(fn: string, file: string, line: number, body: () => void): void {
    this.sched.go(fn, file, line, body);
  }

  /**
   * Makes a goroutine (a `go fn()` at the current frame) without running
   * it: its first frame is `fn` at `line`. Run code on it with
   * {@link switchTo}; {@link exitg} ends it. For workloads that interleave
   * goroutines step by step.
   */
  newg(fn: string, file: string, line: number): Goroutine {
    return this.sched.newg(fn, file, line);
  }

  /** Makes `g` the running goroutine (the previous one becomes runnable); returns the previous. */
  switchTo(g: Goroutine): Goroutine {
    return this.sched.switchTo(g);
  }

  /** Ends goroutine `g` (its roots are dropped); switches back to `to` if `g` was running. */
  exitg(g: Goroutine, to: Goroutine): void {
    this.sched.exitg(g, to);
  }

  /** Enters function `fid` at `line` on the current goroutine (the closure-free form of {@link call}). */
  enter(fid: number, line: number): void {
    this.sched.curg.enter(fid, line);
  }

  /** Returns from the current goroutine's innermost frame. */
  leave(): void {
    this.sched.curg.leave();
  }

  /** Sets the current line of the innermost frame. */
  line(n: number): void {
    this.sched.curg.setLine(n);
  }

  /** The function name of the current goroutine's innermost frame, or "" (the allocation site). */
  site(): string {
    return this.sched.site();
  }

  /**
   * The span holding the live object that starts at `addr` (see
   * {@link findObject}).
   */
  objectSpan(addr: number): MSpan {
    return findObject(this.heap, addr);
  }

  /** The rounded size of the live object at `addr` (throws like {@link objectSpan}). */
  sizeOf(addr: number): number {
    return this.objectSpan(addr).elemsize;
  }

  /** Statistics in the shape of `runtime.MemStats`. */
  readMemStats(): MemStats {
    return readMemStats(this);
  }

  /**
   * `runtime.ReadMemStats` as a Go program calls it: the world stops and
   * every P's mcache is flushed (`flushallmcaches` → `releaseAll`: cached
   * spans go back to their mcentral, the slots refill counted in heapLive
   * but never used are taken out again, the tiny block is dropped), then
   * the statistics are read. {@link readMemStats} only looks.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * rt.mallocgc(64, null);
   * const live = rt.heapLive;
   * rt.ReadMemStats();
   * if (rt.heapLive !== live - (128 - 1) * 64) throw new Error(String(rt.heapLive));
   * ```
   */
  ReadMemStats(): MemStats {
    for (const c of this.mcaches) {
      c.releaseAll(this.central, this.heap, this.sweeper, this.pacer);
    }
    return this.readMemStats();
  }

  // ---- goroutines and roots ----

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

  /** Stores a pointer (or 0) into global slot `i` (see {@link Globals.set}). */
  setGlobal(i: number, v: number): void {
    this.globals.set(i, v);
  }

  /** The pointer in global slot `i`. */
  getGlobal(i: number): number {
    return this.globals.values[i];
  }

  // ---- pointer words (mbitmap.ts) ----

  /** Stores pointer `v` (or 0) into pointer word `word` of the object at `obj`. */
  store(obj: number, word: number, v: number): void {
    this.words.store(obj, word, v);
  }

  /** Loads pointer word `word` of the object at `obj`. */
  load(obj: number, word: number): number {
    return this.words.load(obj, word);
  }

  /** Stores pointer `v` at heap address `addr` (see {@link PointerWords.storeAt}). */
  storeAt(addr: number, v: number): void {
    this.words.storeAt(addr, v);
  }

  /** Loads the pointer at heap address `addr` (see {@link PointerWords.loadAt}). */
  loadAt(addr: number): number {
    return this.words.loadAt(addr);
  }

  // ---- collection ----

  /** Heap bytes the pacer counts as live (see {@link GCController.heapLive}). */
  get heapLive(): number {
    return this.pacer.heapLive;
  }

  /** GOGC (-1 = off). */
  get gcpercent(): number {
    return this.gc.gcpercent;
  }

  /**
   * `runtime.GC()`: runs a full cycle and returns after its sweep has
   * finished, so the heap (and the profile) is as of this cycle.
   */
  GC(): void {
    if (this.gc.inGC) throw new Error("runtime.GC called during a GC");
    this.gc.startCycle(true, 0);
    this.sweeper.finish("GC");
    this.memprofile.mProf_PostSweep();
    this.specials.run();
  }

  /** `runtime.Gosched()`: a step boundary; the background sweeper and finalizers run. */
  gosched(): void {
    if (
      this.gc.marking && this.simClock.now >= this.gc.markEndClock &&
      !this.gc.inGC
    ) {
      this.gc.finishMark();
    }
    if (!this.sweeper.done) this.sweeper.bgsweep(10);
    this.specials.run();
  }

  /**
   * `runtime.SetFinalizer(obj, fn)`: when the object is found unreachable
   * it survives one more cycle and `fn(obj)` runs at the next step
   * boundary. `null` removes the finalizer.
   */
  setFinalizer(obj: number, fn: ((addr: number) => void) | null): void {
    const span = this.objectSpan(obj);
    this.specials.setFinalizer(span, span.objIndex(obj), obj, fn);
  }

  // ---- heap profiling ----

  /** `runtime.MemProfileRate`, read at every allocation (it may change during a run). */
  get memProfileRate(): number {
    return this.sampling.rate;
  }

  /** Sets `runtime.MemProfileRate`. @throws {RangeError} for a negative or non-integer rate. */
  set memProfileRate(rate: number) {
    this.sampling.rate = rate;
  }

  /** Forces every allocation into the profile (the seed's allocfreetrace). */
  get forceProfile(): boolean {
    return this.sampling.force;
  }

  /** Sets forced profiling. */
  set forceProfile(on: boolean) {
    this.sampling.force = on;
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

  /** `runtime.MemProfile(inuseZero)`: the published heap-profile records. */
  MemProfile(inuseZero = true): ReturnType<HeapProfile["MemProfile"]> {
    return this.memprofile.MemProfile(inuseZero);
  }
}
