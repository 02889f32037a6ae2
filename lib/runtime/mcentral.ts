/**
 * `mcentral`: the spans of one span class that no mcache holds, in Go
 * 1.19's four span sets (partial/full × swept/unswept, whose roles swap
 * every GC as `sweepgen` advances by 2). Reference section 9.3.
 *
 * @module
 */

import type { MHeap } from "./mheap.ts";
import type { MSpan } from "./mspan.ts";
import type { SweepWho } from "./events.ts";

/**
 * What an mcentral needs of the sweeper (sweep.ts's `Sweeper` has it):
 * declared here so that mcentral, below the sweeper, does not import it.
 */
export interface SpanSweeper {
  /** True once every span of the current cycle is swept. */
  readonly done: boolean;
  /**
   * Proportional sweep before an allocation of `spanBytes`
   * (`deductSweepCredit`; `allocLarge` when a large object's span).
   */
  deductSweepCredit(
    spanBytes: number,
    callerSweepPages: number,
    who?: "deductSweepCredit" | "allocLarge",
  ): void;
  /** Sweeps one span the caller took out of its set; true when it was freed. */
  sweepSpan(s: MSpan, preserve: boolean, who: SweepWho): boolean;
  /** The page reclaimer: sweeps until `npages` pages are freed. */
  reclaim(npages: number): void;
}

/**
 * What counts the allocations made from cached spans (mstats.ts's
 * `HeapStats`): told when a span is cached and when it leaves its mcache,
 * it counts the slots allocated in between, so the allocation path counts
 * nothing itself.
 */
export interface SpanAllocCounts {
  /** `s` is being cached by an mcache. */
  cached(s: MSpan): void;
  /** `s` leaves its mcache (before it is swept or put back). */
  uncached(s: MSpan): void;
}

/**
 * A set of spans with O(1) push, pop and removal (each span knows its set
 * and index). Like Go's `spanSet`, a queue: `pop` takes the span pushed
 * longest ago, so sweepers and `cacheSpan` meet spans oldest first (the
 * proportional sweeper frees the oldest dead large array, not the live
 * newest one).
 *
 * @example
 * ```ts
 * import { SpanSet } from "../../mod.ts";
 * import { MSpan } from "../../mod.ts";
 * const set = new SpanSet();
 * const a = new MSpan(0xc000000000, 1, 8192);
 * const b = new MSpan(0xc000002000, 1, 8192);
 * set.push(a);
 * set.push(b);
 * if (set.pop() !== a) throw new Error("oldest first");
 * set.remove(b);
 * if (set.length !== 0 || b.spanSet !== null) throw new Error("set");
 * ```
 */
export class SpanSet {
  /** The spans in push order from `#head`; removed ones leave a hole (null). */
  #spans: (MSpan | null)[] = [];
  /** Index of the oldest slot still in the queue. */
  #head = 0;
  /** Number of spans in the set. */
  #length = 0;

  /** Number of spans in the set. */
  get length(): number {
    return this.#length;
  }

  /** Adds a span that is in no set. */
  push(s: MSpan): void {
    if (this.#head > 64 && this.#head * 2 > this.#spans.length) {
      this.#compact();
    }
    s.spanSet = this;
    s.setIndex = this.#spans.length;
    this.#spans.push(s);
    this.#length++;
  }

  /** Takes the span pushed longest ago, or undefined. */
  pop(): MSpan | undefined {
    const spans = this.#spans;
    while (this.#head < spans.length) {
      const s = spans[this.#head++];
      if (s === null) continue;
      s.spanSet = null;
      s.setIndex = -1;
      if (--this.#length === 0) this.#reset();
      return s;
    }
    return undefined;
  }

  /** Removes a span of this set. */
  remove(s: MSpan): void {
    this.#spans[s.setIndex] = null;
    s.spanSet = null;
    s.setIndex = -1;
    if (--this.#length === 0) this.#reset();
  }

  /** Empty: start the array over. */
  #reset(): void {
    this.#spans.length = 0;
    this.#head = 0;
  }

  /** Drops the holes before `#head` so the array does not grow without bound. */
  #compact(): void {
    const live: MSpan[] = [];
    for (let i = this.#head; i < this.#spans.length; i++) {
      const s = this.#spans[i];
      if (s === null) continue;
      s.setIndex = live.length;
      live.push(s);
    }
    this.#spans = live;
    this.#head = 0;
  }
}

/**
 * The central free list of one span class.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const c = rt.central[13]; // size class 6 (64 bytes), noscan
 * const s = c.cacheSpan(rt.heap, 0, rt.sweeper);
 * if (s.nelems !== 128 || s.elemsize !== 64) throw new Error("mcentral");
 * ```
 */
export class MCentral {
  /** The span class. */
  readonly spanclass: number;
  /** Object size of the class. */
  readonly elemsize: number;
  /** Pages per span. */
  readonly npages: number;
  /** Objects per span. */
  readonly nelems: number;
  /** Spans with free slots, indexed by `sweepgen/2 % 2`. */
  readonly partial: readonly [SpanSet, SpanSet] = [
    new SpanSet(),
    new SpanSet(),
  ];
  /** Spans without free slots, indexed by `sweepgen/2 % 2`. */
  readonly full: readonly [SpanSet, SpanSet] = [new SpanSet(), new SpanSet()];

  /** Counts the allocations of the spans it caches (the runtime's `HeapStats`). */
  readonly #counts: SpanAllocCounts;

  /**
   * Makes the central list of a span class; `counts` counts the
   * allocations made from the spans it hands to mcaches (required: a span
   * it does not hear of would go uncounted).
   */
  constructor(
    spanclass: number,
    elemsize: number,
    npages: number,
    nelems: number,
    counts: SpanAllocCounts,
  ) {
    this.#counts = counts;
    this.spanclass = spanclass;
    this.elemsize = elemsize;
    this.npages = npages;
    this.nelems = nelems;
  }

  /** The swept spans with free slots at sweep generation `sg`. */
  partialSwept(sg: number): SpanSet {
    return this.partial[(sg >>> 1) & 1];
  }

  /** The unswept spans with free slots at sweep generation `sg`. */
  partialUnswept(sg: number): SpanSet {
    return this.partial[1 - ((sg >>> 1) & 1)];
  }

  /** The swept full spans at sweep generation `sg`. */
  fullSwept(sg: number): SpanSet {
    return this.full[(sg >>> 1) & 1];
  }

  /** The unswept full spans at sweep generation `sg`. */
  fullUnswept(sg: number): SpanSet {
    return this.full[1 - ((sg >>> 1) & 1)];
  }

  /**
   * A span with a free slot for P `p`'s mcache (`cacheSpan`): a swept
   * partial span; else, while sweeping is unfinished, up to 100 unswept
   * spans swept here (partial ones first, then full ones that sweeping
   * frees up); else a fresh span from the heap (`grow`), after the page
   * reclaimer. The span is marked cached (`sweepgen + 3`).
   */
  cacheSpan(heap: MHeap, p: number, sweeper: SpanSweeper): MSpan {
    sweeper.deductSweepCredit(this.npages * heap.pageSize, 0);
    const sg = heap.sweepgen;
    let s = this.partialSwept(sg).pop();
    if (s === undefined && !sweeper.done) {
      let budget = 100;
      for (; budget > 0; budget--) {
        const t = this.partialUnswept(sg).pop();
        if (t === undefined) break;
        sweeper.sweepSpan(t, true, "cacheSpan");
        if (t.allocCount < t.nelems) {
          s = t;
          break;
        }
        this.fullSwept(sg).push(t);
      }
      for (; s === undefined && budget > 0; budget--) {
        const t = this.fullUnswept(sg).pop();
        if (t === undefined) break;
        sweeper.sweepSpan(t, true, "cacheSpan");
        if (t.allocCount < t.nelems) s = t;
        else this.fullSwept(sg).push(t);
      }
    }
    if (s === undefined) {
      sweeper.reclaim(this.npages);
      s = heap.allocSpan(
        this.npages,
        this.elemsize,
        (this.spanclass & 1) === 0,
      );
      s.init(this.spanclass, this.elemsize, this.nelems, heap.arrayPool);
    }
    s.freeindex = 0;
    s.sweepgen = sg + 3;
    s.cachedBy = p;
    this.#counts.cached(s);
    return s;
  }

  /**
   * Takes a span back from an mcache (`uncacheSpan`): one cached before the
   * current sweep phase began is swept now; otherwise an empty span returns
   * its pages to the heap and others go to the swept partial or full set.
   */
  uncacheSpan(heap: MHeap, s: MSpan, sweeper: SpanSweeper): void {
    const sg = heap.sweepgen;
    this.#counts.uncached(s);
    s.cachedBy = -1;
    if (s.sweepgen === sg + 1) {
      sweeper.sweepSpan(s, false, "uncacheSpan");
      return;
    }
    s.sweepgen = sg;
    if (s.allocCount === 0) heap.freeSpan(s);
    else if (s.allocCount === s.nelems) this.fullSwept(sg).push(s);
    else this.partialSwept(sg).push(s);
  }
}
