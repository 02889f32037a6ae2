/**
 * Analysis of an allocation trace (parsed or simulated): totals, peak live
 * heap, top sites by count and bytes, leak candidates (allocated and never
 * freed, with the GC cycles they survived), lifetimes per site (GC cycles
 * and bytes of other allocation between allocation and free, as
 * histograms), size classes with internal fragmentation, and exact
 * (unsampled) heap-profile samples per stack. Memory is bounded by the live
 * objects and the distinct stacks, not by the trace's length.
 *
 * @module
 */

import { AddrMap } from "./addr_map.ts";
import { PagedAddrMap } from "./paged_addr_map.ts";
import {
  type EventSink,
  type Frame,
  slotAddr,
  type StackTable,
  type TraceEvent,
} from "./events.ts";
import type { HeapSample } from "../profile/proto.ts";
import {
  frameText,
  isAllocatorFrame,
  type SiteBy,
  type SiteFrame,
  siteFrameOf,
  siteIndex,
  siteOf,
} from "./sites.ts";
import { grown, SlotColumns } from "../runtime/grow.ts";
import { type AllocSizeRow, SizeStats } from "./_size_stats.ts";

export type { AllocSizeRow };

import {
  type AnalysisResult,
  type AnalyzeOptions,
  BYTES_BUCKETS,
  CYCLE_BUCKETS,
  MAX_TIMELINE,
  type SiteStats,
  type Snapshot,
} from "./analysis.ts";

export { BYTES_BUCKETS, CYCLE_BUCKETS, MAX_TIMELINE };
export type { AnalysisResult, AnalyzeOptions, SiteStats, Snapshot };

// Stack ids the per-stack arrays hold at first (they double past it).
const _STACKS = 1024;

function bucketOf(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]) i++;
  return i;
}

/** The site name of a stack (see {@link siteOf}); `true` means `stack`, `false` `func`. */
export function siteName(
  frames: readonly Frame[],
  by: SiteBy | boolean,
  skip: (f: Frame) => boolean = isAllocatorFrame,
): string {
  const b = by === true ? "stack" : by === false ? "func" : by;
  return siteOf(frames, b, skip).key;
}

/**
 * Streaming analysis: feed it events in trace order, then call
 * {@link TraceAnalyzer.finish}.
 *
 * @example
 * ```ts
 * import { TraceAnalyzer } from "../../mod.ts";
 * import { StackTable } from "../../mod.ts";
 * const st = new StackTable();
 * const s = st.intern([{ func: "main.f", file: "m.go", line: 3, pc: 0, inlined: false }]);
 * const a = new TraceAnalyzer(st);
 * a.add({ kind: "alloc", addr: 1, size: 64, type: null, requested: 50, goroutine: 1, stack: s, lineNo: 1 });
 * a.add({ kind: "gc", lineNo: 2 });
 * const r = a.finish();
 * if (r.sites[0].site !== "main.f m.go:3" || r.sites[0].liveCyclesMax !== 1 || r.sizes[0].fragmentation !== 14 / 64) throw new Error();
 * ```
 */
export class TraceAnalyzer implements EventSink {
  readonly #stacks: StackTable;
  readonly #by: SiteBy;
  readonly #skip: (f: Frame) => boolean;
  // Per stack id: its site, -1 for a stack not seen yet. A typed array
  // sized ahead of the ids (no out-of-bounds or holey read at a new stack,
  // which threw away alloc's optimized code at a sampled run's new stacks).
  #siteOfStack = new Int32Array(_STACKS).fill(-1);
  readonly #sites: SiteStats[] = [];
  readonly #siteIndex = new Map<string, number>();
  // Per stack id, 4 apart: allocObjects, allocBytes, inuseObjects,
  // inuseBytes for exact profiles (one lookup per event, no hashing; grown
  // with #siteOfStack, so a seen stack's are in bounds).
  #stackTotals = new Float64Array(4 * _STACKS);
  // Live objects: addr → slot in the parallel arrays.
  readonly #live: AddrMap | PagedAddrMap;
  /** The live objects' figures, by the slot #live maps their address to. */
  readonly #objs = new SlotColumns({
    site: new Int32Array(1024),
    stack: new Int32Array(1024),
    size: new Float64Array(1024),
    cycle: new Int32Array(1024),
    clock: new Float64Array(1024),
  });
  readonly #sizes = new SizeStats();
  #r: AnalysisResult = {
    allocs: 0,
    frees: 0,
    unmatchedFrees: 0,
    allocsAtLive: 0,
    gcs: 0,
    allocBytes: 0,
    peakLiveBytes: 0,
    peakAt: { line: 0, record: 0, cycle: 0 },
    liveBytes: 0,
    liveObjects: 0,
    sites: [],
    timeline: [],
    gcMarks: [],
    sizes: [],
  };
  readonly #now: (() => number) | undefined;
  // The next allocated-bytes mark of a "tick" point, and the step between
  // them (#thin doubles it). Elements, not fields: V8 takes a field never
  // stored to since construction for a constant, and the first #thin's
  // store then threw away alloc's optimized code mid-run (a lazy deopt and
  // a recompile, in every native run past 2,000 points).
  readonly #tick = new Float64Array([4096, 4096]);
  #records = 0;
  // Per site: its live bytes. A typed array grown ahead of the sites, not
  // an array whose elements kind depended on the first value stored (a
  // double from the native sink's columns made one analyzer's array double
  // and another's small-integer, and its reads lost their optimized code).
  #siteLive = new Float64Array(64);
  #lastPeakSnap = 0;
  // The sites of a timeline point's top ten (see #snapshot).
  readonly #best = new Int32Array(10);
  readonly #headers: boolean;
  readonly #skipUnseen: boolean;
  #displaced = -1;

  /** Makes an analyzer over the stacks of `stacks`. */
  constructor(stacks: StackTable, opts: AnalyzeOptions = {}) {
    this.#stacks = stacks;
    this.#by = opts.by ?? (opts.byStack ? "stack" : "line");
    this.#skip = opts.skipFrame ?? isAllocatorFrame;
    this.#now = opts.now;
    this.#live = opts.dense === false
      ? new AddrMap(1 << 16)
      : new PagedAddrMap();
    this.#headers = opts.headers ?? true;
    this.#skipUnseen = opts.unseenFrees === "skip";
  }

  /**
   * The slot the last allocation found at its address (its free was not
   * traced) and released, or -1 (see {@link TraceAnalyzer.add}).
   */
  get displaced(): number {
    return this.#displaced;
  }

  /**
   * Bytes of the objects live now (the figure whose maximum is
   * `peakLiveBytes`): `run` sets it beside MemStats.HeapAlloc at each GC
   * start, which also counts what no record shows.
   */
  get liveBytes(): number {
    return this.#r.liveBytes;
  }

  #site(stack: number): number {
    const ids = this.#siteOfStack;
    const s = stack < ids.length ? ids[stack] : -1;
    return s >= 0 ? s : this.#newSite(stack);
  }

  // The site of a stack not seen before (its ids' arrays grown to hold it).
  #newSite(stack: number): number {
    if (stack >= this.#siteOfStack.length) {
      let n = this.#siteOfStack.length * 2;
      while (n <= stack) n *= 2;
      this.#siteOfStack = grown(this.#siteOfStack, n, -1);
      this.#stackTotals = grown(this.#stackTotals, 4 * n);
    }
    const frames = this.#stacks.get(stack);
    // By line, a new stack of a known site frame (the common case: most
    // of a real trace's stacks differ only in the frames above it) is
    // known by that frame object (the stack table hands the same object
    // for equal frames), with no key built and hashed.
    const keyFrame = this.#by === "line" ? this.#lineKeyFrame(frames) : null;
    const known = keyFrame === null
      ? undefined
      : this.#siteOfKeyFrame.get(keyFrame);
    if (known !== undefined) {
      this.#siteOfStack[stack] = known;
      return known;
    }
    // The key alone first (a new stack of a known site needs no site
    // frames built); the whole site for a new one.
    const name = keyFrame !== null
      ? frameText(keyFrame)
      : this.#by === "line"
      ? "?"
      : siteOf(frames, this.#by, this.#skip).key;
    let s = this.#siteIndex.get(name);
    if (s === undefined) {
      const site = siteOf(frames, this.#by, this.#skip);
      s = this.#sites.length;
      const f = site.frames[0] ?? { func: "?", file: "", line: 0 };
      this.#sites.push({
        site: name,
        func: f.func,
        file: f.file,
        line: f.line,
        frames: site.frames.slice(0, site.keyFrames),
        stack: site.frames,
        liveStack: [],
        stacks: 0,
        allocs: 0,
        allocBytes: 0,
        requestedBytes: 0,
        requestedKnown: 0,
        frees: 0,
        freeBytes: 0,
        live: 0,
        liveBytes: 0,
        liveCyclesMin: 0,
        liveCyclesMax: 0,
        liveCyclesSum: 0,
        lifetimeCycles: new Array(CYCLE_BUCKETS.length + 1).fill(0),
        lifetimeBytes: new Array(BYTES_BUCKETS.length + 1).fill(0),
      });
      this.#siteIndex.set(name, s);
      if (s >= this.#siteLive.length) {
        this.#siteLive = grown(this.#siteLive, 2 * this.#siteLive.length);
      }
    }
    this.#siteOfStack[stack] = s;
    if (keyFrame !== null) this.#siteOfKeyFrame.set(keyFrame, s);
    return s;
  }

  /** Sites by the frame whose text is their key by line ({@link siteOf}'s `line` key). */
  readonly #siteOfKeyFrame = new Map<Frame, number>();
  /** {@link isAllocatorFrame} of each frame met that is not `runtime.*`. */
  readonly #allocatorFrame = new Map<Frame, boolean>();

  /**
   * The frame whose text is `frames`' key by line ({@link siteOf}'s: the
   * site frame, or the first after it that is not `runtime.goexit`), or
   * null for no frames (the key "?").
   */
  #lineKeyFrame(frames: readonly Frame[]): Frame | null {
    const i = this.#skip === isAllocatorFrame
      ? siteIndex(frames, this.#cachedAllocatorFrame)
      : siteIndex(frames, this.#skip);
    if (i < 0) return null;
    let j = i;
    while (j < frames.length && frames[j].func === "runtime.goexit") j++;
    return j < frames.length ? frames[j] : frames[i];
  }

  /** {@link isAllocatorFrame}, its regular expressions run once per frame object. */
  readonly #cachedAllocatorFrame = (f: Frame): boolean => {
    if (f.func.startsWith("runtime.")) return true;
    let a = this.#allocatorFrame.get(f);
    if (a === undefined) {
      a = isAllocatorFrame(f);
      this.#allocatorFrame.set(f, a);
    }
    return a;
  };

  /**
   * Adds one event. Returns the slot of the object (an allocation's, or
   * the one a free released; slots are small integers, reused once freed),
   * or -1 (a GC, a free of an object not seen): a caller keeps its own
   * figures per object in arrays indexed by it, with no map of its own.
   */
  add(e: TraceEvent): number {
    return e.kind === "alloc"
      ? this.alloc(e.addr, e.size, e.type, e.requested, 0, e.stack, e.lineNo)
      : e.kind === "free"
      ? this.free(e.addr)
      : this.gc();
  }

  /** Adds a GC cycle ({@link TraceAnalyzer.add} without an event object); returns -1. */
  gc(): number {
    const r = this.#r;
    this.#records++;
    r.gcs++;
    this.#snapshot("gc");
    const m: AnalysisResult["gcMarks"][number] = {
      alloc: r.allocBytes,
      cycle: r.gcs,
    };
    if (this.#now) m.time = this.#now();
    r.gcMarks.push(m);
    if (r.gcMarks.length > MAX_TIMELINE) {
      r.gcMarks = r.gcMarks.filter((_, i) => i % 2 === 0);
    }
    return -1;
  }

  /**
   * Adds an allocation ({@link TraceAnalyzer.add} without an event object;
   * an allocation event's fields, type and goroutine unused); returns
   * its slot.
   */
  alloc(
    addr: number,
    size: number,
    _type: string | null,
    requested: number,
    _goroutine: number,
    stack: number,
    lineNo: number,
  ): number {
    const r = this.#r;
    this.#records++;
    r.allocs++;
    r.allocBytes += size;
    const site = this.#site(stack);
    this.#countAlloc(site, size, requested);
    const tot = this.#stackTotals;
    const t = 4 * stack;
    tot[t]++;
    tot[t + 1] += size;
    tot[t + 2]++;
    tot[t + 3] += size;
    const slot = this.#objs.take();
    // Keyed by heap slot, where tracefree points (Go 1.22 headers: 8 before).
    // A second allocation at a live address: the first one's free was not traced.
    const prev = this.#live.put(
      this.#headers ? slotAddr(addr, size) : addr,
      slot,
    );
    this.#displaced = prev;
    if (prev >= 0) {
      r.allocsAtLive++;
      this.#release(prev, false);
    }
    const o = this.#objs.cols;
    o.site[slot] = site;
    o.stack[slot] = stack;
    o.size[slot] = size;
    o.cycle[slot] = r.gcs;
    o.clock[slot] = r.allocBytes;
    r.liveBytes += size;
    r.liveObjects++;
    this.#siteLive[site] += size;
    if (r.liveBytes > r.peakLiveBytes) {
      r.peakLiveBytes = r.liveBytes;
      // (Kept in place: a growing heap makes a new peak at most allocations.)
      const at = r.peakAt;
      at.line = lineNo;
      at.record = this.#records;
      at.cycle = r.gcs;
      // A snapshot of a new peak, when it is 1% above the last one taken.
      if (r.liveBytes > this.#lastPeakSnap * 1.01 + 4096) {
        this.#lastPeakSnap = r.liveBytes;
        this.#snapshot("peak");
      }
    }
    const tick = this.#tick;
    if (r.allocBytes >= tick[0]) {
      tick[0] = r.allocBytes + tick[1];
      this.#snapshot("tick");
    }
    return slot;
  }

  /**
   * Adds a free of the object at `addr` ({@link TraceAnalyzer.add} without
   * an event object); returns the slot it released, or -1.
   */
  free(addr: number): number {
    const r = this.#r;
    this.#records++;
    const slot = this.#live.take(addr);
    if (slot < 0) {
      if (this.#skipUnseen) {
        this.#records--; // as if it never came
        return -1;
      }
      r.frees++;
      r.unmatchedFrees++;
      return -1;
    }
    r.frees++;
    this.#release(slot, true);
    return slot;
  }

  /**
   * Adds an allocation (at an address where nothing is live: see
   * {@link TraceAnalyzer.liveSlot}) and its free right after, nothing in
   * between: a temporary, most of a malloc/free loop's events. The result
   * is that of {@link TraceAnalyzer.alloc} and {@link TraceAnalyzer.free},
   * without the live map and the object's slot. False, with nothing added,
   * when the allocation would make a new peak or a timeline point, which
   * see it live: the caller adds the two events then.
   */
  allocFreed(size: number, requested: number, stack: number): boolean {
    const r = this.#r;
    const allocBytes = r.allocBytes + size;
    if (
      r.liveBytes + size > r.peakLiveBytes || allocBytes >= this.#tick[0]
    ) return false;
    this.#records += 2;
    r.allocs++;
    r.frees++;
    r.allocBytes = allocBytes;
    const st = this.#countAlloc(this.#site(stack), size, requested);
    // Its live bytes come and go: in use, nothing changes.
    const tot = this.#stackTotals;
    tot[4 * stack]++;
    tot[4 * stack + 1] += size;
    st.frees++;
    st.freeBytes += size;
    // No GC cycle and no byte allocated in between: the first buckets.
    st.lifetimeCycles[0]++;
    st.lifetimeBytes[0]++;
    this.#displaced = -1;
    return true;
  }

  /** An allocation's per-site and per-size counts, the same for alloc and allocFreed; returns the site's figures. */
  #countAlloc(site: number, size: number, requested: number): SiteStats {
    const st = this.#sites[site];
    st.allocs++;
    st.allocBytes += size;
    if (requested > 0) {
      st.requestedBytes += requested;
      st.requestedKnown++;
    }
    this.#sizes.add(size, requested);
    return st;
  }

  /** The slot of the object live at `addr`, or -1 (see {@link TraceAnalyzer.add}). */
  liveSlot(addr: number): number {
    return this.#live.get(addr);
  }

  /** The slots of the objects live now (see {@link TraceAnalyzer.add}). */
  liveSlots(): IterableIterator<number> {
    return this.#live.values();
  }

  /** The objects live now as [address, slot] (see {@link TraceAnalyzer.add}). */
  liveEntries(): IterableIterator<[number, number]> {
    return this.#live.entries();
  }

  /**
   * Ends the life of the object live at `addr` without a traced free (its
   * memory went another way: native tracing's exec, which discards the
   * image's heap), so it is no longer live and its site counts no free;
   * its slot, or -1 when none is live there.
   */
  drop(addr: number): number {
    const slot = this.#live.take(addr);
    if (slot >= 0) this.#release(slot, false);
    return slot;
  }

  /** Ends the life of the object in `slot` (already out of the live map). */
  #release(slot: number, traced: boolean): void {
    const r = this.#r;
    const o = this.#objs.cols;
    const size = o.size[slot];
    const site = o.site[slot];
    const st = this.#sites[site];
    if (traced) {
      st.frees++;
      st.freeBytes += size;
      st.lifetimeCycles[bucketOf(CYCLE_BUCKETS, r.gcs - o.cycle[slot])]++;
      st.lifetimeBytes[bucketOf(BYTES_BUCKETS, r.allocBytes - o.clock[slot])]++;
    }
    this.#siteLive[site] -= size;
    const tot = this.#stackTotals;
    const t = 4 * o.stack[slot];
    tot[t + 2]--;
    tot[t + 3] -= size;
    r.liveBytes -= size;
    r.liveObjects--;
    this.#objs.release(slot);
  }

  #snapshot(at: Snapshot["at"]): void {
    const r = this.#r;
    const live = this.#siteLive;
    const sites = this.#sites;
    // The ten sites with the most live bytes, most first, ties in site
    // order (as a stable sort gives them): kept by insertion, no sort nor
    // callback, whose type feedback came only once two sites were live
    // (threw this method's optimized code away, once a run).
    const best = this.#best;
    let n = 0;
    for (let i = 0; i < sites.length; i++) {
      const v = live[i];
      if (v <= 0 || (n === 10 && v <= live[best[9]])) continue;
      let j = n < 10 ? n++ : 9;
      for (; j > 0 && live[best[j - 1]] < v; j--) best[j] = best[j - 1];
      best[j] = i;
    }
    const top: [string, number][] = [];
    for (let k = 0; k < n; k++) top.push([sites[best[k]].site, live[best[k]]]);
    const now = this.#now;
    // (Made whole, time last as before: one shape per analyzer.)
    const p: Snapshot = now === undefined
      ? { alloc: r.allocBytes, cycle: r.gcs, live: r.liveBytes, at, top }
      : {
        alloc: r.allocBytes,
        cycle: r.gcs,
        live: r.liveBytes,
        at,
        top,
        time: now(),
      };
    r.timeline.push(p);
    if (r.timeline.length > MAX_TIMELINE) this.#thin();
  }

  /**
   * Halves the timeline: every second tick point goes and the tick step
   * doubles; with few ticks left, every second GC point, then peak point
   * (the end and the highest peak always stay).
   */
  #thin(): void {
    const r = this.#r;
    const count = (at: Snapshot["at"]) =>
      r.timeline.reduce((n, p) => n + (p.at === at ? 1 : 0), 0);
    const need = r.timeline.length - MAX_TIMELINE / 2;
    const kind: Snapshot["at"] = count("tick") >= need
      ? "tick"
      : count("gc") >= need / 2
      ? "gc"
      : "peak";
    if (kind === "tick") {
      const tick = this.#tick;
      tick[1] *= 2;
      tick[0] = r.allocBytes + tick[1];
    }
    const t = r.timeline;
    let top = 0;
    for (let i = 1; i < t.length; i++) {
      if (t[i].live > t[top].live) top = i;
    }
    // In place: a new array in r.timeline, a field V8 had taken for a
    // constant, threw away alloc's optimized code as the tick step did.
    let k = 0;
    let kept = 0;
    for (let i = 0; i < t.length; i++) {
      const p = t[i];
      if (p.at !== kind || i === top || k++ % 2 === 0) t[kept++] = p;
    }
    t.length = kept;
  }

  /** The result: sites sorted by bytes allocated, sizes by size. */
  finish(): AnalysisResult {
    const r = this.#r;
    this.#snapshot("end");
    const o = this.#objs.cols;
    for (const slot of this.#live.values()) {
      const st = this.#sites[o.site[slot]];
      const survived = r.gcs - o.cycle[slot];
      if (st.live === 0 || survived < st.liveCyclesMin) {
        st.liveCyclesMin = survived;
      }
      if (survived > st.liveCyclesMax) st.liveCyclesMax = survived;
      st.liveCyclesSum += survived;
      st.live++;
      st.liveBytes += o.size[slot];
    }
    this.#pickStacks();
    r.sites = [...this.#sites].sort((a, b) =>
      b.allocBytes - a.allocBytes || b.allocs - a.allocs
    );
    r.sizes = this.#sizes.rows();
    return r;
  }

  /** Each site's stacks: how many, the one with most bytes allocated, the one with most live. */
  #pickStacks(): void {
    // (Indexed, no generator nor array per stack: this runs once, before
    // any of it is compiled, over thousands of stacks.)
    const all = this.#stackTotals;
    const ids = this.#siteOfStack;
    const best = new Map<number, [number, number, number, number]>();
    for (let stack = 0; stack < ids.length; stack++) {
      const s = ids[stack];
      if (s < 0) continue;
      const bytes = all[4 * stack + 1];
      const live = all[4 * stack + 3];
      const b = best.get(s);
      if (b === undefined) {
        best.set(s, [stack, bytes, live > 0 ? stack : -1, live]);
      } else {
        if (bytes > b[1]) [b[0], b[1]] = [stack, bytes];
        if (live > b[3]) [b[2], b[3]] = [stack, live];
      }
      this.#sites[s].stacks++;
    }
    for (const [s, b] of best) {
      const st = this.#sites[s];
      st.stack = this.#siteFrames(b[0]);
      st.liveStack = b[2] < 0 ? [] : this.#siteFrames(b[2]);
    }
  }

  /** The frames of `stack` from its site frame outward, runtime.goexit dropped. */
  #siteFrames(stack: number): SiteFrame[] {
    const frames = this.#stacks.get(stack);
    const i = Math.max(0, siteIndex(frames, this.#skip));
    const out: SiteFrame[] = [];
    for (let j = i; j < frames.length; j++) {
      if (frames[j].func !== "runtime.goexit") out.push(siteFrameOf(frames[j]));
    }
    return out;
  }

  /**
   * Exact heap-profile samples (rate 1) per stack, from the site frame
   * outward (the allocator's frames dropped, as {@link siteIndex} finds
   * the site), with file and line.
   */
  samples(): HeapSample[] {
    const out: HeapSample[] = [];
    const all = this.#stackTotals;
    const ids = this.#siteOfStack;
    // Every stack seen, by id (the totals 4 apart).
    for (let stack = 0; stack < ids.length; stack++) {
      if (ids[stack] < 0) continue;
      const t = 4 * stack;
      out.push({
        values: [all[t], all[t + 1], all[t + 2], all[t + 3]],
        frames: this.#siteFrames(stack).map((f) => ({
          func: f.func,
          file: f.file,
          line: f.line,
        })),
      });
    }
    return out;
  }
}
