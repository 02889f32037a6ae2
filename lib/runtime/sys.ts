/**
 * Bit operations on 32-bit words of the span bitmaps (Go's
 * `runtime/internal/sys`: `TrailingZeros32`, `OnesCount32`). Internal:
 * mod.ts does not re-export it.
 *
 * @module
 */

/** Count trailing zeros of a non-zero 32-bit value. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Population count of a 32-bit value. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
