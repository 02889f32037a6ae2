/**
 * `mcache`: the per-P cache of one span per span class, the tiny block and
 * the heap-sampling countdown. Reference sections 3.3, 8.4, 9.3.
 *
 * @module
 */

import type { MCentral, SpanSweeper } from "./mcentral.ts";
import type { MHeap } from "./mheap.ts";
import { MSpan } from "./mspan.ts";

/** What an mcache needs of the pacer: the heap it counts as live. */
export interface LiveHeap {
  /** Bytes the pacer counts as live (spans in mcaches count whole). */
  heapLive: number;
}

/** The dummy span an empty mcache slot points at: it has no free slot. */
const emptymspan: MSpan = new MSpan(0, 0, 8192);

/**
 * The cache of one P.
 *
 * @example
 * ```ts
 * import { MCache } from "../../mod.ts";
 * const c = new MCache(0, 136);
 * if (c.alloc[5] !== MCache.emptymspan || c.tiny !== 0) throw new Error("mcache");
 * ```
 */
export class MCache {
  /** The dummy span an empty slot points at (Go's `emptymspan`): it has no free slot. */
  static readonly emptymspan: MSpan = emptymspan;
  /** The P that owns this cache. */
  readonly p: number;
  /** The current span of each span class. */
  readonly alloc: MSpan[];
  /** Address of the current tiny block, or 0. */
  tiny = 0;
  /** Bytes used in the tiny block. */
  tinyoffset = 0;
  /** Allocations combined into tiny blocks. */
  tinyAllocs = 0;
  /**
   * Bytes until the next heap-profile sample (Go 1.19's countdown: the
   * runtime's `ProfileSampling` keeps it here, mallocgc decrements it).
   */
  nextSample = 0;

  /** Makes an empty cache for P `p` with `numSpanClasses` slots. */
  constructor(p: number, numSpanClasses: number) {
    this.p = p;
    this.alloc = new Array<MSpan>(numSpanClasses).fill(emptymspan);
  }

  /**
   * Gives the current span of class `spc` back to `central` and caches
   * another (`mcache.refill`); heapLive counts the new span's free slots
   * as if allocated, as Go's `gcController.update` does.
   */
  refill(
    spc: number,
    central: MCentral,
    heap: MHeap,
    sweeper: SpanSweeper,
    pacer: LiveHeap,
  ): MSpan {
    const old = this.alloc[spc];
    if (old.nelems !== 0) {
      this.alloc[spc] = emptymspan;
      central.uncacheSpan(heap, old, sweeper);
    }
    const s = central.cacheSpan(heap, this.p, sweeper);
    this.alloc[spc] = s;
    pacer.heapLive += s.npages * heap.pageSize - s.allocCount * s.elemsize;
    return s;
  }

  /**
   * Gives every cached span back (`mcache.releaseAll`): the slots refill
   * counted in heapLive but never used are taken out again, and the tiny
   * block is dropped.
   */
  releaseAll(
    central: readonly MCentral[],
    heap: MHeap,
    sweeper: SpanSweeper,
    pacer: LiveHeap,
  ): void {
    for (let spc = 0; spc < this.alloc.length; spc++) {
      const s = this.alloc[spc];
      if (s.nelems === 0) continue;
      pacer.heapLive -= (s.nelems - s.allocCount) * s.elemsize;
      this.alloc[spc] = emptymspan;
      central[spc].uncacheSpan(heap, s, sweeper);
    }
    this.tiny = 0;
    this.tinyoffset = 0;
  }
}
