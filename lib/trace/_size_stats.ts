/**
 * The analyzer's size histogram: per rounded size, how many allocations,
 * the bytes they requested where known, and the internal fragmentation
 * that follows (`analyze.ts`'s `TraceAnalyzer`, one `add` per allocation).
 *
 * @module
 */

import { grown } from "../runtime/grow.ts";

/** One rounded size's figures: count, requested bytes where known, internal fragmentation. */
export interface AllocSizeRow {
  /** The rounded size. */
  size: number;
  /** Allocations of that size. */
  count: number;
  /** Bytes requested by the allocations whose requested size is known. */
  requested: number;
  /** Allocations whose requested size is known. */
  known: number;
  /** Bytes rounded up and not requested, of the known ones' bytes (0 when none known). */
  fragmentation: number;
}

/**
 * Counts of allocations by rounded size, kept on `TraceAnalyzer.alloc`'s
 * hot path: no allocation per call, a run of one size skips the map.
 */
export class SizeStats {
  // Per size seen: its index in #stats, 3 apart: count, requested bytes,
  // allocations with a requested size (numbers in a typed array, not an
  // object per size: a field holding such an object changed the
  // analyzer's hidden class when a second analyzer stored one).
  readonly #index = new Map<number, number>();
  #stats = new Float64Array(3 * 64);
  // The last size and its index (a run of one size skips the map lookup).
  #lastSize = -1;
  #lastAt = 0;

  /** Counts one allocation of `size` bytes (`requested`: 0 when not known). */
  add(size: number, requested: number): void {
    if (size !== this.#lastSize) this.#at(size);
    const sz = this.#stats;
    const z = this.#lastAt;
    sz[z]++;
    if (requested > 0) {
      sz[z + 1] += requested;
      sz[z + 2]++;
    }
  }

  // Points #lastAt at size's figures (made for a new size).
  #at(size: number): void {
    let at = this.#index.get(size);
    if (at === undefined) {
      at = 3 * this.#index.size;
      if (at + 3 > this.#stats.length) {
        this.#stats = grown(this.#stats, 2 * this.#stats.length);
      }
      this.#index.set(size, at);
    }
    this.#lastSize = size;
    this.#lastAt = at;
  }

  /** The histogram, by size. */
  rows(): AllocSizeRow[] {
    const sz = this.#stats;
    return [...this.#index].sort((a, b) => a[0] - b[0]).map(([size, z]) => {
      const [count, requested, known] = sz.subarray(z, z + 3);
      return {
        size,
        count,
        requested,
        known,
        fragmentation: known === 0
          ? 0
          : (size * known - requested) / (size * known),
      };
    });
  }
}
