/**
 * What only malloc's events measure, as `alloctrace native` reports it: the
 * buckets of a freed block's lifetime (wall time, and bytes allocated in
 * between) and of the power-of-two size histogram, with the row types the
 * sink fills and the text and JSON show.
 *
 * @module
 */

/** Upper bounds (ms) of the wall-time lifetime buckets (the last is open). */
export const WALL_BUCKETS: readonly number[] = [1, 10, 100, 1000, 10000];
/** Upper bounds (bytes) of the bytes-allocated-between buckets (the last is open). */
export const BETWEEN_BUCKETS: readonly number[] = [
  1 << 10,
  1 << 14,
  1 << 18,
  1 << 22,
  1 << 26,
];

/** What malloc's lifetimes look like at one site. */
export interface NativeSiteLifetimes {
  /** Site name (as the analyzer's). */
  site: string;
  /** Freed blocks by wall time between allocation and free ({@link WALL_BUCKETS}). */
  wall: number[];
  /** Freed blocks by bytes of other blocks allocated in between, not their own ({@link BETWEEN_BUCKETS}). */
  between: number[];
  /** Of the blocks live at the end: the oldest's age in ms. */
  oldestLiveMs: number;
}

/** One row of the power-of-two size histogram: sizes in (limit/2, limit]. */
export interface SizeBucket {
  /** Upper bound (a power of two; 0 for zero-byte requests). */
  limit: number;
  /** Allocations. */
  count: number;
  /** Bytes. */
  bytes: number;
}

/** The power of two at or above `size` (0 for 0; a shift, not `**`, which V8 calls pow for). */
export function pow2Ceil(size: number): number {
  if (size <= 0) return 0;
  if (size > 0x40000000) return 2 ** Math.ceil(Math.log2(size));
  return size <= 1 ? 1 : 1 << (32 - Math.clz32(size - 1));
}

// The bucket of `v` among five bounds (the last bucket open), the bounds as
// arguments: called per free with WALL_BUCKETS' and BETWEEN_BUCKETS', a
// loop over one of the two arrays was not inlined (6% of the sink's time).
// Every comparison is made (the bounds rise): in a chain of ?:, the first
// block to live over 1 ms reached a comparison never made before, whose
// missing type feedback threw away the sink loop's optimized code (a
// deopt and a ~15 ms recompile, at a random point of a run).
export function bucket5(
  v: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  b4: number,
): number {
  return (v > b0 ? 1 : 0) + (v > b1 ? 1 : 0) + (v > b2 ? 1 : 0) +
    (v > b3 ? 1 : 0) + (v > b4 ? 1 : 0);
}
