/**
 * Analysis of an execution trace's heap by Go type: allocations, bytes,
 * frees and live objects per type, lifetimes in GC cycles and in wall time,
 * leak candidates (types whose count of objects that survived a GC only
 * grows), allocations by goroutine creation site, goroutine stacks apart
 * from heap objects, and the live heap over real time by top types with
 * the GC cycles marked. Memory: one row per type and per site, the
 * timeline's points; the live objects stay in {@link ExecHeap}.
 *
 * @module
 */

import { CYCLE_BUCKETS } from "../analyze.ts";
import type { ExecHeap } from "./heap.ts";
import type { ExecEvent } from "./heap_events.ts";
import type { TypeInfo } from "./reader.ts";

/** Upper bounds (ns) of the wall-time lifetime buckets (the last is open). */
export const TIME_BUCKETS: readonly number[] = [
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
];

/** How many GC samples of a type's survivors are kept for the report. */
const SERIES_CAP = 64;

/** Figures of one Go type. */
export interface TypeStats {
  /** Type name (`?` for allocations with no type). */
  type: string;
  /** `typ.Size()` from the type table. */
  typeSize: number;
  /** Bytes of the type that may hold pointers (0: pointer-free). */
  ptrBytes: number;
  /** Allocations traced. */
  allocs: number;
  /** Bytes allocated (slot sizes, from the spans). */
  allocBytes: number;
  /** Frees traced (of objects allocated while tracing or before). */
  frees: number;
  /** Bytes freed. */
  freeBytes: number;
  /** Objects live at the end (allocated while tracing or before). */
  live: number;
  /** Bytes live at the end. */
  liveBytes: number;
  /** Objects that existed when tracing began (the snapshot). */
  existing: number;
  /** Freed objects allocated while tracing, by GC cycles ended in between ({@link CYCLE_BUCKETS}). */
  lifetimeCycles: number[];
  /** The same by wall time ({@link TIME_BUCKETS}). */
  lifetimeTime: number[];
  /** Objects that had survived a GC, counted as each next GC began (at most {@link SERIES_CAP}, the first ones). */
  survivors: number[];
  /** Survivors only grew across at least three GC cycles. */
  leakCandidate: boolean;
  /** Slot sizes allocated: [bytes, count], by size. */
  sizes: [number, number][];
}

/** Allocations by goroutine creation site. */
export interface SiteRow {
  /** The goroutines' start function. */
  start: string;
  /** Where they were created. */
  createdAt: string;
  /** Goroutines created there while tracing. */
  goroutines: number;
  /** Allocations by those goroutines. */
  allocs: number;
  /** Bytes. */
  allocBytes: number;
  /** Of those, still live at the end. */
  live: number;
  /** Live bytes. */
  liveBytes: number;
  /** The types they allocated most: [type, allocations]. */
  types: [string, number][];
}

/** One point of the live heap over time. */
export interface TimePoint {
  /** Nanoseconds since the trace began. */
  time: number;
  /** Live heap bytes (objects, stacks apart). */
  live: number;
  /** GC cycles ended so far. */
  cycle: number;
  /** Why this point: a GC start or end, a new peak, a time step, the end. */
  at: "gcstart" | "gc" | "peak" | "step" | "end";
  /** The types with the most live bytes then: [type, bytes]. */
  top: [string, number][];
}

/** The result. */
export interface ExecAnalysis {
  /** Heap objects allocated while tracing (`HeapObjectAlloc`). */
  allocs: number;
  /** Their bytes. */
  allocBytes: number;
  /** Heap objects freed (`HeapObjectFree` that matched an object). */
  frees: number;
  /** Bytes freed. */
  freeBytes: number;
  /** Objects that existed when tracing began (`HeapObject`). */
  existing: number;
  /** Their bytes. */
  existingBytes: number;
  /** GC cycles ended while tracing. */
  gcs: number;
  /** Live heap at the end: objects. */
  liveObjects: number;
  /** Live heap at the end: bytes. */
  liveBytes: number;
  /** Highest live heap bytes. */
  peakLiveBytes: number;
  /** When (ns since the trace began). */
  peakTime: number;
  /**
   * Highest live bytes of the objects allocated while tracing (those that
   * existed before left out): the peak of the HTML report, whose figures
   * count only these.
   */
  tracedPeakLiveBytes: number;
  /** When (ns since the trace began). */
  tracedPeakTime: number;
  /** Bytes allocated while tracing until then, and GC cycles ended. */
  tracedPeakAt: { alloc: number; cycle: number };
  /** Last event's time (ns). */
  duration: number;
  /** Per type, by bytes allocated. */
  types: TypeStats[];
  /** Per goroutine creation site, by bytes allocated. */
  sites: SiteRow[];
  /** Goroutine stacks, apart from heap objects. */
  stacks: {
    allocs: number;
    allocBytes: number;
    frees: number;
    freeBytes: number;
    existing: number;
    live: number;
    liveBytes: number;
  };
  /** GC cycles: [start, end] ns (end -1 when it had not ended). */
  gcTimes: [number, number][];
  /** Live heap over time. */
  timeline: TimePoint[];
}

function bucket(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]) i++;
  return i;
}

interface _SiteAcc {
  allocs: number;
  bytes: number;
  live: number;
  liveBytes: number;
  // Allocations by type index.
  types: Float64Array;
}

interface TypeAcc {
  s: TypeStats;
  // The current run of one slot size (flushed into sizes when it changes):
  // a Map update per allocation was a fifth of the analysis.
  runSize: number;
  runCount: number;
  live: number;
  liveBytes: number;
  old: number;
  sizes: Map<number, number>;
  samples: number;
  first: number;
  last: number;
  grew: boolean;
  shrank: boolean;
}

/**
 * Streaming per-type analysis of {@link ExecEvent}s.
 *
 * @example
 * ```ts
 * import { ExecAnalyzer } from "./mod.ts";
 * const types = [{ name: "?", size: 0, ptrBytes: 0 }, { name: "main.T", size: 24, ptrBytes: 8 }];
 * const a = new ExecAnalyzer(types);
 * const base = { addr: 1, size: 32, type: "main.T", requested: 0, goroutine: 1, stack: 0, lineNo: 0, typeIndex: 1, site: 1, existing: false };
 * a.add({ kind: "alloc", time: 10, ...base });
 * a.add({ kind: "gc", lineNo: 0, time: 20, cycle: 1 });
 * a.add({ kind: "free", time: 30, addr: 1, size: 32, goroutine: 2, stack: 0, lineNo: 0, typeIndex: 1, site: 1, allocTime: 10, allocCycle: 0, existing: false });
 * const r = a.finish();
 * if (r.types[0].type !== "main.T" || r.types[0].lifetimeCycles[1] !== 1 || r.types[0].live !== 0) throw new Error();
 * ```
 */
export class ExecAnalyzer {
  readonly #types: readonly TypeInfo[];
  readonly #acc: TypeAcc[] = [];
  readonly #siteAcc = new Map<number, _SiteAcc>();
  #lastSite = -1;
  #lastSiteAcc: _SiteAcc | null = null;
  #live = 0;
  /** Live bytes of the objects allocated while tracing. */
  #tracedLive = 0;
  #stepNs = 1e6;
  #lastPoint = -Infinity;
  #lastPeakPoint = 0;
  readonly #r: ExecAnalysis = {
    allocs: 0,
    allocBytes: 0,
    frees: 0,
    freeBytes: 0,
    existing: 0,
    existingBytes: 0,
    gcs: 0,
    liveObjects: 0,
    liveBytes: 0,
    peakLiveBytes: 0,
    peakTime: 0,
    tracedPeakLiveBytes: 0,
    tracedPeakTime: 0,
    tracedPeakAt: { alloc: 0, cycle: 0 },
    duration: 0,
    types: [],
    sites: [],
    stacks: {
      allocs: 0,
      allocBytes: 0,
      frees: 0,
      freeBytes: 0,
      existing: 0,
      live: 0,
      liveBytes: 0,
    },
    gcTimes: [],
    timeline: [],
  };

  /** An analyzer over the reader's (growing) type table. */
  constructor(types: readonly TypeInfo[]) {
    this.#types = types;
  }

  #type(i: number): TypeAcc {
    let a = this.#acc[i];
    if (a === undefined) {
      const t = this.#types[i] ?? { name: "?", size: 0, ptrBytes: 0 };
      a = {
        s: {
          type: t.name,
          typeSize: t.size,
          ptrBytes: t.ptrBytes,
          allocs: 0,
          allocBytes: 0,
          frees: 0,
          freeBytes: 0,
          live: 0,
          liveBytes: 0,
          existing: 0,
          lifetimeCycles: new Array(CYCLE_BUCKETS.length + 1).fill(0),
          lifetimeTime: new Array(TIME_BUCKETS.length + 1).fill(0),
          survivors: [],
          leakCandidate: false,
          sizes: [],
        },
        runSize: -1,
        runCount: 0,
        live: 0,
        liveBytes: 0,
        old: 0,
        sizes: new Map(),
        samples: 0,
        first: 0,
        last: 0,
        grew: false,
        shrank: false,
      };
      this.#acc[i] = a;
    }
    return a;
  }

  /** Adds one event. */
  add(e: ExecEvent): void {
    const r = this.#r;
    switch (e.kind) {
      case "alloc": {
        const t = this.#type(e.typeIndex);
        t.live++;
        t.liveBytes += e.size;
        this.#live += e.size;
        if (e.existing) {
          t.s.existing++;
          r.existing++;
          r.existingBytes += e.size;
        } else {
          t.s.allocs++;
          t.s.allocBytes += e.size;
          if (e.size === t.runSize) t.runCount++;
          else {
            this.#flushRun(t);
            t.runSize = e.size;
            t.runCount = 1;
          }
          r.allocs++;
          r.allocBytes += e.size;
          this.#tracedLive += e.size;
          if (this.#tracedLive > r.tracedPeakLiveBytes) {
            r.tracedPeakLiveBytes = this.#tracedLive;
            r.tracedPeakTime = e.time;
            // (Kept in place: a growing heap peaks at most allocations.)
            r.tracedPeakAt.alloc = r.allocBytes;
            r.tracedPeakAt.cycle = r.gcs;
          }
          const s = this.#site(e.site);
          s.allocs++;
          s.bytes += e.size;
          if (e.typeIndex >= s.types.length) {
            const g = new Float64Array(Math.max(64, e.typeIndex * 2));
            g.set(s.types);
            s.types = g;
          }
          s.types[e.typeIndex]++;
        }
        if (this.#live > r.peakLiveBytes) {
          r.peakLiveBytes = this.#live;
          r.peakTime = e.time;
          if (this.#live > this.#lastPeakPoint * 1.01 + 4096) {
            this.#lastPeakPoint = this.#live;
            this.#point(e.time, "peak");
          }
        }
        this.#step(e.time);
        break;
      }
      case "free": {
        const t = this.#type(e.typeIndex);
        t.live--;
        t.liveBytes -= e.size;
        this.#live -= e.size;
        if (e.allocCycle < r.gcs) t.old--;
        t.s.frees++;
        t.s.freeBytes += e.size;
        r.frees++;
        r.freeBytes += e.size;
        if (!e.existing) {
          this.#tracedLive -= e.size;
          t.s.lifetimeCycles[bucket(CYCLE_BUCKETS, r.gcs - e.allocCycle)]++;
          t.s.lifetimeTime[bucket(TIME_BUCKETS, e.time - e.allocTime)]++;
        }
        this.#step(e.time);
        break;
      }
      case "gcstart": {
        r.gcTimes.push([e.time, -1]);
        // Every sweep of the last cycle is done: what is left of the objects
        // that lived through it survived it.
        if (r.gcs > 0) {
          for (const t of this.#acc) {
            if (t === undefined || (t.samples === 0 && t.old === 0)) continue;
            if (t.samples === 0) t.first = t.old;
            else if (t.old > t.last) t.grew = true;
            else if (t.old < t.last) t.shrank = true;
            t.last = t.old;
            t.samples++;
            if (t.s.survivors.length < SERIES_CAP) t.s.survivors.push(t.old);
          }
        }
        this.#point(e.time, "gcstart");
        break;
      }
      case "gc": {
        r.gcs = e.cycle;
        const last = r.gcTimes.at(-1);
        if (last !== undefined && last[1] < 0) last[1] = e.time;
        else r.gcTimes.push([-1, e.time]);
        for (const t of this.#acc) if (t !== undefined) t.old = t.live;
        this.#point(e.time, "gc");
        break;
      }
      case "stackalloc": {
        const st = r.stacks;
        if (e.existing) st.existing++;
        else {
          st.allocs++;
          st.allocBytes += e.size;
        }
        st.live++;
        st.liveBytes += e.size;
        break;
      }
      case "stackfree": {
        const st = r.stacks;
        st.frees++;
        st.freeBytes += e.size;
        st.live--;
        st.liveBytes -= e.size;
        break;
      }
    }
  }

  #flushRun(t: TypeAcc): void {
    if (t.runCount > 0) {
      t.sizes.set(t.runSize, (t.sizes.get(t.runSize) ?? 0) + t.runCount);
    }
    t.runCount = 0;
  }

  #site(i: number): _SiteAcc {
    if (i === this.#lastSite) return this.#lastSiteAcc!;
    let s = this.#siteAcc.get(i);
    if (s === undefined) {
      s = {
        allocs: 0,
        bytes: 0,
        live: 0,
        liveBytes: 0,
        types: new Float64Array(64),
      };
      this.#siteAcc.set(i, s);
    }
    this.#lastSite = i;
    this.#lastSiteAcc = s;
    return s;
  }

  #step(time: number): void {
    if (time - this.#lastPoint >= this.#stepNs) this.#point(time, "step");
  }

  #point(time: number, at: TimePoint["at"]): void {
    const r = this.#r;
    this.#lastPoint = time;
    const order: number[] = [];
    for (let i = 0; i < this.#acc.length; i++) {
      if (this.#acc[i] !== undefined && this.#acc[i].liveBytes > 0) {
        order.push(i);
      }
    }
    order.sort((a, b) => this.#acc[b].liveBytes - this.#acc[a].liveBytes);
    r.timeline.push({
      time,
      live: this.#live,
      cycle: r.gcs,
      at,
      top: order.slice(0, 8).map((i) => [
        this.#acc[i].s.type,
        this.#acc[i].liveBytes,
      ]),
    });
    // Bounded: past 4000 points, drop every second time step and double the step.
    if (r.timeline.length > 4000) {
      r.timeline = r.timeline.filter((p, i) => p.at !== "step" || i % 2 === 0);
      this.#stepNs *= 2;
    }
  }

  /**
   * The result. `heap` (the model the events came from) names the creation
   * sites and gives the objects still live, for the live figures per site;
   * `duration` is the trace's last event time (default: the last seen here).
   */
  finish(
    heap?: ExecHeap,
    duration: number = this.#lastPoint,
  ): ExecAnalysis {
    const r = this.#r;
    r.duration = Math.max(duration, 0);
    this.#point(r.duration, "end");
    heap?.forEachLive((_type, size, site, _t, _c, existing) => {
      if (existing) return;
      const s = this.#siteAcc.get(site);
      if (s !== undefined) {
        s.live++;
        s.liveBytes += size;
      }
    });
    for (const t of this.#acc) {
      if (t === undefined) continue;
      t.s.live = t.live;
      t.s.liveBytes = t.liveBytes;
      t.s.leakCandidate = t.samples >= 3 && t.grew && !t.shrank &&
        t.last > t.first;
      this.#flushRun(t);
      t.s.sizes = [...t.sizes].sort((a, b) => a[0] - b[0]);
      r.liveObjects += t.live;
      r.liveBytes += t.liveBytes;
    }
    r.types = this.#acc.filter((t) => t !== undefined).map((t) => t.s)
      .sort((a, b) =>
        b.allocBytes - a.allocBytes || b.allocs - a.allocs ||
        b.liveBytes - a.liveBytes
      );
    r.sites = [...this.#siteAcc].map(([i, s]) => {
      const site = heap?.sites[i] ??
        { start: `site ${i}`, createdAt: "", goroutines: 0 };
      return {
        start: site.start,
        createdAt: site.createdAt,
        goroutines: site.goroutines,
        allocs: s.allocs,
        allocBytes: s.bytes,
        live: s.live,
        liveBytes: s.liveBytes,
        types: [...s.types.entries()].filter(([, k]) => k > 0)
          .sort((a, b) => b[1] - a[1]).slice(0, 5).map((
            [t, n],
          ) => [this.#types[t]?.name ?? "?", n] as [string, number]),
      };
    }).sort((a, b) => b.allocBytes - a.allocBytes);
    return r;
  }
}
