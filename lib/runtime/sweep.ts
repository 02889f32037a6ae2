/**
 * Sweeping: after mark termination every in-use span is swept once before
 * the next cycle starts — lazily when its mcentral hands it out, by
 * proportional sweeping charged to allocation, by the page reclaimer, by
 * the background sweeper between workload steps, or eagerly by
 * `runtime.GC()`. Sweeping a span frees its unmarked objects (`allocBits`
 * becomes `gcmarkBits`), runs specials (finalizers resurrect, profile
 * records report the free), returns empty spans to the heap and reports one
 * free per object in ascending address order. Reference sections 9.2–9.6.
 *
 * @module
 */

import type { MSpan } from "./mspan.ts";
import { heapBitsClearDead, heapBitsResurrect } from "./mbitmap.ts";
import type { GoType } from "./types.ts";
import { ctz32, popcount32 } from "./sys.ts";
import { COSTS } from "./clock.ts";
import type { AllocKind } from "../stack/allockind.ts";
import type { EventHub } from "./events.ts";
import type { Goroutine } from "./goroutine.ts";
import type { LiveHeap } from "./mcache.ts";
import type { MCentral } from "./mcentral.ts";
import type { MHeap } from "./mheap.ts";
import type { Bucket } from "./mprof.ts";
import type { HeapStats } from "./mstats.ts";
import type { Specials } from "./mfinal.ts";

export type { SweepWho } from "./events.ts";
import type { SweepWho } from "./events.ts";

/**
 * The background sweeper's share of Go's `tracelock` while it and the
 * mutator both print allocfreetrace records: they take turns, about one
 * record each. A calibration, fitted to real traced leak -n 20000 (go1.19.8,
 * 2 Ps), where the background sweeper's frees outnumber the mutator's own
 * lazy (`cacheSpan`) frees by 6.3 to 1 (26 committed runs: 71.9% and
 * 11.4% of frees) and 6.4 to 1 (6 fresh runs of Dec 2026: 76.5% and
 * 12.0%). Re-fitted after the mark began to end at any allocation: the
 * model gives 6.5 to 1 with 0.5, 5.5 to 1 with 0.45; with 0.55 the
 * background sweeper frees its first span before the mutator first needs
 * pages and the reclaimer never runs (real: 4 of 30 fresh cycles).
 */
const TRACELOCK_SHARE = 0.5;

/**
 * How long after runtime.GC()'s cycle the background sweeper starts to
 * sweep beside it in a traced run, ns: a calibration, not Go code. Real
 * traced go1.19.8 runs free 16–229 objects (median 67) of leak -n 300 and
 * 1–607 (median 127) of binarytrees -depth 9 in runtime.GC's sweepone
 * before bgsweep's first free; at the model's ~105 µs per printed free
 * record, 7 ms is leak's median. Taking turns from the first span instead
 * gave bgsweep the first free and 45% of leak -n 300's, where 14 real
 * runs give it 15–55% (mean 39%).
 */
const BGSWEEP_JOIN_NS = 7_000_000;

/** Pages the reclaimer claims at a time (`pagesPerReclaimerChunk`). */
const PAGES_PER_RECLAIMER_CHUNK = 512;

/**
 * What the sweeper reads and writes of its runtime (a `Runtime` has all of
 * it): the heap and its mcentrals, the counters and the clock, who is
 * sweeping (for the free events), and where specials go.
 */
export interface SweepRuntime {
  /** The simulated clock, ns. */
  clock: number;
  /** Simulated time at which the last cycle ended. */
  readonly gcEndClock: number;
  /** Simulated time spent printing trace records under `tracelock`. */
  readonly tracelockNs: number;
  /** GOMAXPROCS (more than one: a background sweeper runs). */
  readonly gomaxprocs: number;
  /** The page heap. */
  readonly heap: MHeap;
  /** The preset (Go 1.22's allocation headers). */
  readonly preset: { readonly allocHeaders: boolean };
  /** Types by id (a resurrected object's heap bits). */
  readonly types: { readonly list: readonly GoType[] };
  /** One mcentral per span class. */
  readonly central: readonly MCentral[];
  /** The pacer's heapLive (proportional sweep). */
  readonly pacer: Readonly<LiveHeap>;
  /** The consumers of free events. */
  readonly events: EventHub;
  /** The running goroutine. */
  readonly curg: Goroutine;
  /** The background sweeper's goroutine, if any. */
  readonly bgsweepg: Goroutine | null;
  /** The kind of the allocation whose sweeping frees objects. */
  readonly allocKindInProgress: AllocKind;
  /** The counters (frees, live bytes). */
  readonly stats: HeapStats;
  /** Specials (finalizers found ready are queued there). */
  readonly specials: Specials;
  /** A sampled object's free reaches its profile bucket. */
  profileFree(bucket: Bucket, addr: number, size: number): void;
}

/**
 * The sweeper of one runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * rt.mallocgc(64, null); // garbage: nothing roots it
 * rt.GC();               // marks, then sweeps everything before returning
 * if (rt.readMemStats().HeapObjects !== 0 || !rt.sweeper.done) throw new Error("sweep");
 * ```
 */
export class Sweeper {
  readonly #rt: SweepRuntime;
  /** Span class whose unswept sets `sweepone` takes from next. */
  #cursor = 0;
  /** Page the page reclaimer claims its next chunk from (`reclaimIndex`). */
  #reclaimIndex = 0;
  /** Pages freed by the reclaimer beyond what its callers needed (`reclaimCredit`). */
  #reclaimCredit = 0;
  /**
   * Pages of spans the background sweeper freed whole in a sweep that ends
   * after the mutator's clock: it is still printing their frees, so they
   * become `reclaimCredit` only at `#pendingAt` (its own clock).
   */
  #pendingCredit = 0;
  /** Background-sweeper time at which `#pendingCredit` becomes credit. */
  #pendingAt = 0;
  /** True once every span of the current cycle is swept. */
  done = true;
  /** Pages swept since the sweep phase started. */
  pagesSwept = 0;
  /** `pagesSwept` when the proportional-sweep ratio was last set. */
  pagesSweptBasis = 0;
  /** Pages to sweep per byte of heap growth (proportional sweep). */
  sweepPagesPerByte = 0;
  /** `heapLive` when the ratio was set. */
  sweepHeapLiveBasis = 0;
  /** Simulated time the background sweeper has used up to. */
  bgClock = 0;
  /** Spans swept this cycle, by sweeper kind (for statistics and tests). */
  readonly sweptBy: Record<SweepWho, number> = {
    cacheSpan: 0,
    deductSweepCredit: 0,
    allocLarge: 0,
    reclaim: 0,
    gcStart: 0,
    uncacheSpan: 0,
    acquirep: 0,
    gcstopm: 0,
    bgsweep: 0,
    GC: 0,
    stw: 0,
  };

  /** Makes the sweeper of `rt`. */
  constructor(rt: SweepRuntime) {
    this.#rt = rt;
  }

  /** Starts a sweep phase (`gcSweep`): `sweepgen += 2`, every in-use span now needs sweeping. */
  start(): void {
    const heap = this.#rt.heap;
    const sg = heap.sweepgen += 2;
    // The mark condemned every unmarked object of a span not cached: its
    // words leave the heap bitmap now, and a store or load of them fails
    // from here on, as it would after the span's sweep freed them.
    heap.forEachSpan((s) => {
      if (s.types !== null && s.sweepgen === sg - 2) {
        heapBitsClearDead(heap, s, s.allocBits, s.gcmarkBits);
      }
    });
    this.#cursor = 0;
    this.#reclaimIndex = 0;
    this.#reclaimCredit = 0;
    this.#pendingCredit = 0;
    this.done = false;
    this.pagesSwept = 0;
    this.pagesSweptBasis = 0;
    for (const k of Object.keys(this.sweptBy) as SweepWho[]) {
      this.sweptBy[k] = 0;
    }
  }

  /**
   * Sweeps one span that the caller has taken out of its set (or uncached).
   * With `preserve` the span is not put back in a set (the caller uses it).
   * Returns true when the span was freed to the heap.
   */
  sweepSpan(s: MSpan, preserve: boolean, who: SweepWho): boolean {
    const rt = this.#rt;
    const heap = rt.heap;
    const sg = heap.sweepgen;
    const mark = s.gcmarkBits;
    const alloc = s.allocBits;
    const elemsize = s.elemsize;
    const base = s.startAddr;
    // `start` took the heap bits of this span's unmarked objects (a span
    // cached then keeps them until now).
    const condemned = s.sweepgen === sg - 2;
    // Specials of unmarked objects: finalizers resurrect, profile records free.
    if (s.specials !== null) {
      for (const [i, sp] of s.specials) {
        if ((mark[i >>> 5] & (1 << (i & 31))) !== 0) continue;
        if (sp.finalizer !== undefined) {
          mark[i >>> 5] |= 1 << (i & 31);
          if (condemned && s.types !== null) {
            heapBitsResurrect(
              heap,
              rt.types.list,
              s,
              i,
              rt.preset.allocHeaders,
            );
          }
          rt.specials.queue(sp.finalizer, base + i * elemsize);
          sp.finalizer = undefined;
          if (sp.profile === undefined) s.specials.delete(i);
          continue;
        }
        if (sp.profile !== undefined) {
          rt.profileFree(sp.profile, base + i * elemsize, elemsize);
        }
        s.specials.delete(i);
      }
      if (s.specials.size === 0) {
        s.specials = null;
        rt.specials.spans.delete(s);
      }
    }
    if (!condemned && s.types !== null) {
      heapBitsClearDead(heap, s, alloc, mark);
    }
    let nalloc = 0;
    const onFree = rt.events.free;
    // The goroutine that sweeps: the background sweeper's own, else the
    // running one (a mutator allocating, runtime.GC, or g0 on its behalf).
    const g = who === "bgsweep" ? rt.bgsweepg ?? rt.curg : rt.curg;
    const kind = rt.allocKindInProgress;
    for (let w = 0; w < mark.length; w++) {
      const m = mark[w];
      nalloc += popcount32(m);
      if (onFree !== null) {
        let dead = alloc[w] & ~m;
        while (dead !== 0) {
          const bit = ctz32(dead);
          dead &= dead - 1;
          onFree(
            base + ((w << 5) + bit) * elemsize,
            elemsize,
            who,
            g,
            kind,
          );
        }
      }
    }
    const nfreed = s.allocCount - nalloc;
    alloc.fill(0);
    s.allocBits = mark;
    s.gcmarkBits = alloc;
    s.allocCount = nalloc;
    s.freeindex = 0;
    s.nmarked = 0;
    s.sweepgen = sg;
    this.pagesSwept += s.npages;
    this.sweptBy[who]++;
    rt.clock += COSTS.sweepSpan + nfreed * COSTS.sweepObject;
    if (nfreed > 0) {
      s.needzero = true;
      rt.stats.countFree(s.sizeclass, nfreed, elemsize);
    }
    if (preserve) return false;
    const central = rt.central[s.spanclass];
    if (nalloc === 0) {
      heap.freeSpan(s);
      return true;
    }
    if (nalloc === s.nelems) central.fullSwept(sg).push(s);
    else central.partialSwept(sg).push(s);
    return false;
  }

  /**
   * Sweeps the next unswept span (`sweepone`), walking span classes in
   * order, full sets before partial ones. Returns the pages swept, or -1
   * when nothing is left (and marks the sweep phase done).
   */
  sweepone(who: SweepWho): number {
    if (this.done) return -1;
    const rt = this.#rt;
    const sg = rt.heap.sweepgen;
    const central = rt.central;
    while (this.#cursor < central.length) {
      const c = central[this.#cursor];
      const s = c.fullUnswept(sg).pop() ?? c.partialUnswept(sg).pop();
      if (s !== undefined) {
        const npages = s.npages;
        // A span freed whole counts toward the page reclaimer's credit
        // (`sweepone`: `mheap_.reclaimCredit.Add(npages)`): the reclaimer
        // takes credit before it scans for pages itself.
        if (this.sweepSpan(s, false, who)) this.#reclaimCredit += npages;
        return npages;
      }
      this.#cursor++;
    }
    this.done = true;
    this.sweepPagesPerByte = 0;
    return -1;
  }

  /**
   * Sweeps everything that is left. After `runtime.GC()` with more than one
   * P, the background sweeper that gcSweep woke sweeps on another P at the
   * same time, so the two take spans in turn (real Go 1.19 traces show
   * about half of the final sweep's frees under each).
   */
  finish(who: SweepWho): void {
    const rt = this.#rt;
    if (who === "GC" && rt.gomaxprocs > 1) {
      // In a traced run the background sweeper joins BGSWEEP_JOIN_NS
      // after the cycle: until then runtime.GC sweeps alone.
      if (rt.tracelockNs > 0) {
        const start = rt.gcEndClock + BGSWEEP_JOIN_NS;
        while (rt.clock < start) {
          if (this.sweepone("GC") < 0) return;
        }
      }
      for (let turn = 0;; turn ^= 1) {
        if (this.sweepone(turn === 0 ? "bgsweep" : "GC") < 0) return;
      }
    }
    while (this.sweepone(who) >= 0) { /* sweep on */ }
  }

  /**
   * Proportional sweep (`deductSweepCredit`): before taking `spanBytes` of
   * new span, sweep enough pages to finish by the next trigger.
   */
  deductSweepCredit(
    spanBytes: number,
    callerSweepPages: number,
    who: "deductSweepCredit" | "allocLarge" = "deductSweepCredit",
  ): void {
    if (this.sweepPagesPerByte === 0 || this.done) return;
    const target = this.sweepPagesPerByte *
        (spanBytes + this.#rt.pacer.heapLive - this.sweepHeapLiveBasis) -
      callerSweepPages;
    while (this.pagesSwept - this.pagesSweptBasis < target) {
      if (this.sweepone(who) < 0) break;
    }
  }

  /**
   * The page reclaimer (`mheap.reclaim`): before the heap takes fresh pages
   * while sweeping is unfinished, it claims chunks of 512 pages in address
   * order and sweeps every unswept in-use span of the chunk that has no
   * marked object (`reclaimChunk`), until `npages` pages were freed; pages
   * freed beyond that are kept as credit for the next caller. One chunk is
   * 4 MiB of heap, so a single large allocation can sweep a big share of a
   * small heap (real temporaries -n 300: a quarter of all frees).
   */
  reclaim(npages: number): void {
    if (this.done) return;
    // The background sweeper ran on the idle P meanwhile: it gets there first.
    if (this.#rt.gomaxprocs > 1) this.bgsweep(0);
    const heap = this.#rt.heap;
    this.#releasePending();
    while (npages > 0) {
      if (this.#reclaimCredit > 0) {
        const take = Math.min(this.#reclaimCredit, npages);
        this.#reclaimCredit -= take;
        npages -= take;
        continue;
      }
      if (this.#reclaimIndex >= heap.mappedPages) return;
      const idx = this.#reclaimIndex;
      this.#reclaimIndex += PAGES_PER_RECLAIMER_CHUNK;
      const nfound = this.#reclaimChunk(idx, PAGES_PER_RECLAIMER_CHUNK);
      if (nfound <= npages) npages -= nfound;
      else {
        this.#reclaimCredit += nfound - npages;
        npages = 0;
      }
    }
  }

  /** The background sweeper's pending pages become credit once its clock is past. */
  #releasePending(): void {
    if (this.#pendingCredit > 0 && this.#pendingAt <= this.#rt.clock) {
      this.#reclaimCredit += this.#pendingCredit;
      this.#pendingCredit = 0;
    }
  }

  /** Sweeps the unmarked, unswept spans starting in pages [pageIdx, pageIdx+n); returns the pages freed. */
  #reclaimChunk(pageIdx: number, n: number): number {
    const heap = this.#rt.heap;
    const sg = heap.sweepgen;
    const end = Math.min(pageIdx + n, heap.mappedPages);
    let nfreed = 0;
    for (let p = pageIdx; p < end;) {
      const s = heap.spanOf(heap.arenaStart + p * heap.pageSize);
      if (s === undefined) {
        p++;
        continue;
      }
      const first = Math.round((s.startAddr - heap.arenaStart) / heap.pageSize);
      p = first + s.npages;
      // The background sweeper sweeps on the other P meanwhile.
      if (this.#rt.gomaxprocs > 1) this.bgsweep(0);
      if (first < pageIdx || s.sweepgen !== sg - 2 || s.nmarked !== 0) continue;
      if (s.spanSet === null) continue; // cached or being swept elsewhere
      s.spanSet.remove(s);
      const np = s.npages;
      if (this.sweepSpan(s, false, "reclaim")) nfreed += np;
    }
    return nfreed;
  }

  /**
   * The background sweeper, run between workload steps: with an idle P
   * (GOMAXPROCS > 1) it sweeps for as much simulated time as has passed
   * since it last ran; with one P it sweeps `budget` spans when the
   * workload yields.
   */
  bgsweep(budget: number): void {
    if (this.done) return;
    const rt = this.#rt;
    if (rt.gomaxprocs > 1) {
      // In a traced run the sweeper starts sysmon's preemption time
      // (10 ms) after the cycle, as the mark workers do: a calibration, not
      // Go code. Six fresh real traced runs of leak -n 20000 (30 cycles)
      // print its first free 1–258 allocations after tracegc (median 41,
      // quartiles 21–70; cycle 1: median 44.5), which the model's clock
      // reaches 8.7–9.1 ms after the cycle; it runs at refills, so its
      // first free comes at the first refill after its start (56–64
      // allocations). Whether the mutator needs a fresh span before the
      // sweeper's first span is freed decides if the page reclaimer finds
      // unswept dead spans or only credit, which is why real runs reclaim
      // in some cycles (4 of those 30) and not in others; the model's
      // cycle 1 reclaims with a start of 10 ms, not of 9.4 ms. Go 1.22
      // too, though its mark workers get a P at the mutator's next
      // preemption (RuntimeParts.nextTracedPreempt): starting the sweeper
      // there too left its page reclaimer 0% of temporaries -n 300's
      // frees, where 8 real go1.22.12 runs show 7–21%.
      const start = rt.gcEndClock +
        (rt.tracelockNs > 0 ? COSTS.forcePreempt : 0);
      if (this.bgClock < start) this.bgClock = start;
      this.#releasePending();
      // The sweeper's own time runs on the idle P, not on the mutator's clock.
      const mutatorClock = rt.clock;
      while (this.bgClock < mutatorClock) {
        const before = rt.clock;
        const printed = rt.tracelockNs;
        const credit = this.#reclaimCredit;
        if (this.sweepone("bgsweep") < 0) break;
        // Printing its frees, the background sweeper holds the trace lock
        // for TRACELOCK_SHARE of the time both print.
        const print = rt.tracelockNs - printed;
        this.bgClock += rt.clock - before - print +
          print * (1 - TRACELOCK_SHARE) / TRACELOCK_SHARE;
        rt.clock = before;
        // A span whose sweep ends after the mutator's clock is swept here
        // at once, but in Go its pages reach reclaimCredit only after its
        // last free is printed (sweepone adds them when sweep returns): a
        // mutator that needs pages before then finds no credit and
        // reclaims. Real traced leak -n 20000 (go1.19.8, 2 Ps): in 4 of 30
        // cycles the reclaimer frees a chunk while the background sweeper
        // prints its first span's frees beside it.
        if (this.bgClock > mutatorClock && this.#reclaimCredit > credit) {
          this.#pendingCredit += this.#reclaimCredit - credit;
          this.#pendingAt = this.bgClock;
          this.#reclaimCredit = credit;
        }
      }
      rt.clock = mutatorClock;
    } else {
      for (let i = 0; i < budget; i++) {
        if (this.sweepone("bgsweep") < 0) break;
      }
    }
  }
}
