/**
 * `mcache`: the per-P cache of one span per span class, the tiny block and
 * the heap-sampling countdown. Reference sections 3.3, 8.4, 9.3.
 *
 * @module
 */

import { MSpan } from "./mspan.ts";

/** The dummy span an empty mcache slot points at: it has no free slot. */
export const emptymspan: MSpan = new MSpan(0, 0, 8192);

/**
 * The cache of one P.
 *
 * @example
 * ```ts
 * import { emptymspan, MCache } from "./mcache.ts";
 * const c = new MCache(0, 136);
 * if (c.alloc[5] !== emptymspan || c.tiny !== 0) throw new Error("mcache");
 * ```
 */
export class MCache {
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
  /** Bytes until the next heap-profile sample. */
  nextSample = 0;

  /** Makes an empty cache for P `p` with `numSpanClasses` slots. */
  constructor(p: number, numSpanClasses: number) {
    this.p = p;
    this.alloc = new Array<MSpan>(numSpanClasses).fill(emptymspan);
  }
}
