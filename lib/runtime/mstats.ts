/**
 * Memory statistics (Go's mstats.go): the `runtime.MemStats` fields the
 * model keeps ({@link readMemStats}), and the full struct as the text heap
 * profile's trailer prints it ({@link fullMemStats}), read from the
 * runtime's heap, counters, collector and profile.
 *
 * @module
 */

import type { Runtime } from "./runtime.ts";

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
export function readMemStats(rt: Runtime): MemStats {
  let tinyAllocs = 0;
  for (const c of rt.mcaches) tinyAllocs += c.tinyAllocs;
  const inuse = rt.heap.heapInuse;
  const sys = rt.heap.heapSys;
  return {
    Alloc: rt.heapAlloc,
    TotalAlloc: rt.totalAlloc,
    Mallocs: rt.nMalloc + tinyAllocs,
    Frees: rt.nFree + tinyAllocs,
    HeapAlloc: rt.heapAlloc,
    HeapSys: sys,
    HeapIdle: sys - inuse,
    HeapInuse: inuse,
    HeapReleased: 0,
    HeapObjects: rt.nMalloc - rt.nFree,
    NextGC: Number.isFinite(rt.gc.goal) ? rt.gc.goal : 0,
    NumGC: rt.numGC,
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
export function fullMemStats(rt: Runtime): FullMemStats {
  const m = rt.readMemStats();
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
