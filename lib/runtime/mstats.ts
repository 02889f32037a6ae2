/**
 * Memory statistics (Go's mstats.go): the `runtime.MemStats` fields the
 * model keeps ({@link readMemStats}), and the full struct as the text heap
 * profile's trailer prints it ({@link fullMemStats}), read from the
 * runtime's heap, counters, collector and profile.
 *
 * @module
 */

import type { GCCycleStats } from "./events.ts";
import type { Goroutine } from "./goroutine.ts";
import type { MCache } from "./mcache.ts";
import type { MHeap } from "./mheap.ts";
import type { MSpan } from "./mspan.ts";
import type { HeapProfile } from "./mprof.ts";

/**
 * The counters behind MemStats (Go's `memstats` and the mcaches' local
 * stats): updated by mallocgc, sweep and the explicit free.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * rt.mallocgc(100, null);
 * if (rt.stats.nMalloc !== 1 || rt.stats.heapAlloc !== 112) throw new Error("stats");
 * ```
 */
export class HeapStats {
  /** Slot frees. */
  nFree = 0;
  /** Completed GC cycles. */
  numGC = 0;
  /** Slot frees per size class. */
  readonly freesByClass: Float64Array;
  #nMalloc = 0;
  #totalAlloc = 0;
  #heapAlloc = 0;
  readonly #allocsByClass: Float64Array;
  /**
   * The spans mcaches hold now, each at its `statsIndex`. Allocations from
   * a cached span are counted in whole when it leaves its mcache or a
   * counter is read, as Go's `mcache.refill` counts its `smallAllocCount`:
   * the allocation fast path then touches no counter. A span leaves the
   * list when it leaves its mcache, so the list never outgrows the
   * mcaches, however long no counter is read (GOGC=off, no gctrace).
   */
  #cached: MSpan[] = [];

  /** Zeroed counters for `numClasses` size classes. */
  constructor(numClasses: number) {
    this.#allocsByClass = new Float64Array(numClasses);
    this.freesByClass = new Float64Array(numClasses);
  }

  /** Slot allocations (`nMalloc` without tiny allocations). */
  get nMalloc(): number {
    this.#settle();
    return this.#nMalloc;
  }

  /** Cumulative bytes allocated. */
  get totalAlloc(): number {
    this.#settle();
    return this.#totalAlloc;
  }

  /** Bytes of live objects. */
  get heapAlloc(): number {
    this.#settle();
    return this.#heapAlloc;
  }

  /**
   * Spans the counters watch: those the mcaches hold now (tests hold it to
   * their count); reading it counts nothing.
   */
  get listedSpans(): number {
    return this.#cached.length;
  }

  /**
   * Slot allocations per size class (class 0 = large objects): a copy,
   * since the counts of cached spans are added to the kept array only when
   * they leave their mcache or a counter is read.
   */
  get allocsByClass(): Float64Array {
    this.#settle();
    return this.#allocsByClass.slice();
  }

  /** Counts one allocation of `size` bytes from size class `sizeclass` not made from a cached span (a large object). */
  countMalloc(sizeclass: number, size: number): void {
    this.#allocsByClass[sizeclass]++;
    this.#nMalloc++;
    this.#totalAlloc += size;
    this.#heapAlloc += size;
  }

  /** Counts `n` objects of `size` bytes each of size class `sizeclass` freed. */
  countFree(sizeclass: number, n: number, size: number): void {
    this.nFree += n;
    this.#heapAlloc -= n * size;
    this.freesByClass[sizeclass] += n;
  }

  /**
   * `s` is being cached by an mcache: each slot it allocates from now on
   * is counted from its `allocCount` (an explicit free of one of its
   * objects meanwhile lowers `allocCountBeforeCache` with it).
   */
  cached(s: MSpan): void {
    s.allocCountBeforeCache = s.allocCount;
    if (s.statsIndex >= 0) return; // still listed (never left its mcache)
    s.statsIndex = this.#cached.length;
    this.#cached.push(s);
  }

  /** `s` leaves its mcache: its allocations since it was cached are counted. */
  uncached(s: MSpan): void {
    this.#count(s);
    const i = s.statsIndex;
    if (i < 0) return;
    s.statsIndex = -1;
    const list = this.#cached;
    const last = list.pop()!;
    if (last === s) return;
    list[i] = last;
    last.statsIndex = i;
  }

  /** Counts the allocations of cached span `s` since it was cached or last counted. */
  #count(s: MSpan): void {
    const n = s.allocCount - s.allocCountBeforeCache;
    if (n === 0) return;
    s.allocCountBeforeCache = s.allocCount;
    this.#allocsByClass[s.spanclass >>> 1] += n;
    this.#nMalloc += n;
    this.#totalAlloc += n * s.elemsize;
    this.#heapAlloc += n * s.elemsize;
  }

  /** Counts every cached span's allocations so far. */
  #settle(): void {
    const list = this.#cached;
    for (let i = 0; i < list.length; i++) this.#count(list[i]);
  }
}

/** What the statistics are read from (a `Runtime` has all of it). */
export interface MemStatsSource {
  /** One mcache per P (their tiny allocations count). */
  readonly mcaches: readonly MCache[];
  /** The page heap. */
  readonly heap: MHeap;
  /** The counters. */
  readonly stats: HeapStats;
  /** The collector's figures. */
  readonly gc: {
    readonly goal: number;
    readonly lastGC: number;
    readonly pauseNs: Float64Array;
    readonly pauseEnd: Float64Array;
    readonly numForcedGC: number;
    readonly last: GCCycleStats | null;
  };
  /** Every goroutine (each has a stack). */
  readonly allgs: readonly Goroutine[];
  /** GOMAXPROCS (each P has an mcache). */
  readonly gomaxprocs: number;
  /** The heap profile (its buckets). */
  readonly memprofile: HeapProfile;
}

/** The `runtime.MemStats` fields the model keeps. */
export interface MemStats {
  /** Bytes of allocated heap objects (same as HeapAlloc). */
  Alloc: number;
  /** Cumulative bytes allocated for heap objects. */
  TotalAlloc: number;
  /** Cumulative count of heap objects allocated (tiny allocations included, as Go counts them). */
  Mallocs: number;
  /** Cumulative count of heap objects freed (tiny allocations included, as Go counts them). */
  Frees: number;
  /** Bytes of allocated heap objects. */
  HeapAlloc: number;
  /** Bytes of heap memory obtained from the OS. */
  HeapSys: number;
  /** Bytes in idle (unused) spans. */
  HeapIdle: number;
  /** Bytes in in-use spans. */
  HeapInuse: number;
  /** Bytes returned to the OS (the model has no scavenger: 0). */
  HeapReleased: number;
  /** Number of allocated heap objects. */
  HeapObjects: number;
  /** Target heap size of the next GC cycle. */
  NextGC: number;
  /** Number of completed GC cycles. */
  NumGC: number;
}

/**
 * The model's `runtime.MemStats` of `rt` now (the world is not stopped:
 * see `Runtime.ReadMemStats` for that).
 *
 * @example
 * ```ts
 * import { readMemStats, Runtime } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * const rt = new Runtime();
 * rt.mallocgc(100, null);
 * strictEqual(readMemStats(rt).HeapAlloc, 112);
 * ```
 */
export function readMemStats(rt: MemStatsSource): MemStats {
  let tinyAllocs = 0;
  for (const c of rt.mcaches) tinyAllocs += c.tinyAllocs;
  const inuse = rt.heap.heapInuse;
  const sys = rt.heap.heapSys;
  return {
    Alloc: rt.stats.heapAlloc,
    TotalAlloc: rt.stats.totalAlloc,
    Mallocs: rt.stats.nMalloc + tinyAllocs,
    Frees: rt.stats.nFree + tinyAllocs,
    HeapAlloc: rt.stats.heapAlloc,
    HeapSys: sys,
    HeapIdle: sys - inuse,
    HeapInuse: inuse,
    HeapReleased: 0,
    HeapObjects: rt.stats.nMalloc - rt.stats.nFree,
    NextGC: Number.isFinite(rt.gc.goal) ? rt.gc.goal : 0,
    NumGC: rt.stats.numGC,
  };
}

/** The full `runtime.MemStats` the text trailer prints (unmodelled parts estimated; see the README). */
export interface FullMemStats {
  /** A field of `runtime.MemStats` by its Go name. */
  [field: string]: number | boolean | number[];
}

/**
 * `runtime.MemStats` as Go would fill it, from the model: heap figures are
 * the model's; stacks (8 KiB per goroutine), span and mcache metadata,
 * bucket hash, GC metadata (1/32 of the heap) and other memory are
 * estimated from the model's sizes, MaxRSS from their sum.
 *
 * @example
 * ```ts
 * import { fullMemStats, Runtime } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * const rt = new Runtime();
 * strictEqual(fullMemStats(rt).StackInuse, 8192 * rt.allgs.length);
 * ```
 */
export function fullMemStats(rt: MemStatsSource): FullMemStats {
  const m = readMemStats(rt);
  const stack = 8192 * rt.allgs.length;
  let spans = 0;
  rt.heap.forEachSpan(() => spans++);
  const mspanInuse = spans * 160;
  const mspanSys = Math.max(16384, Math.ceil(mspanInuse / 16384) * 16384);
  const mcacheInuse = rt.gomaxprocs * 1200;
  const mcacheSys = 16384;
  let buckHash = 0;
  if (rt.memprofile.nbuckets > 0) {
    buckHash = 179999 * 8;
    for (let b = rt.memprofile.mbuckets; b !== null; b = b.allnext) {
      buckHash += 48 + 8 * b.stk.length + 128;
    }
  }
  const gcSys = Math.ceil(m.HeapSys / 32);
  const otherSys = 1048576;
  const sys = m.HeapSys + stack + mspanSys + mcacheSys + buckHash + gcSys +
    otherSys;
  const ring = (a: Float64Array) => Array.from(a, Math.round);
  return {
    Alloc: m.Alloc,
    TotalAlloc: m.TotalAlloc,
    Sys: sys,
    Lookups: 0,
    Mallocs: m.Mallocs,
    Frees: m.Frees,
    HeapAlloc: m.HeapAlloc,
    HeapSys: m.HeapSys,
    HeapIdle: m.HeapIdle,
    HeapInuse: m.HeapInuse,
    HeapReleased: m.HeapReleased,
    HeapObjects: m.HeapObjects,
    StackInuse: stack,
    StackSys: stack,
    MSpanInuse: mspanInuse,
    MSpanSys: mspanSys,
    MCacheInuse: mcacheInuse,
    MCacheSys: mcacheSys,
    BuckHashSys: buckHash,
    GCSys: gcSys,
    OtherSys: otherSys,
    NextGC: m.NextGC,
    LastGC: Math.round(rt.gc.lastGC),
    PauseNs: ring(rt.gc.pauseNs),
    PauseEnd: ring(rt.gc.pauseEnd),
    NumGC: m.NumGC,
    NumForcedGC: rt.gc.numForcedGC,
    GCCPUFraction: rt.gc.last?.cpuFraction ?? 0,
    EnableGC: true,
    DebugGC: false,
    MaxRSS: sys - m.HeapIdle,
  };
}
