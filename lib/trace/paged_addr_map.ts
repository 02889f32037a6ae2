/**
 * Addresses to non-negative int32 values, for a heap whose objects sit close
 * together (the simulated runtime's arena): one Int32Array per 8 KiB page,
 * indexed by the address's 8-byte word, found through a Map of pages.
 * Objects allocated one after another land in neighbouring entries, so
 * `run`'s exact analysis touches few cache lines, where a hash table
 * ({@link AddrMap}) spreads them over the whole table.
 *
 * Same contract as {@link AddrMap}: `put` returns the previous value or -1,
 * `take` removes and returns the value or -1. Addresses that are not
 * multiples of 8 (a damaged trace, a byte-aligned allocator) are kept in a
 * hash table beside the pages, so any integer address below 2^53 works. The
 * word and page come from the address's low 32 bits (`>>> 0`, exact for an
 * integer) and a multiply by 2^-13: a floating-point `%` on addresses past
 * 2^32 made each lookup several times dearer.
 *
 * Real traces gain as much as the simulated heap: Go's heap is dense too,
 * and a sweep frees objects page by page, so `analyze` of a real trace with
 * 136,000 live objects touches neighbouring entries where the hash table
 * missed the cache at every step (its rehashes too).
 *
 * @module
 */

import { AddrMap } from "./addr_map.ts";

const PAGE_SHIFT = 13;
const PAGE = 1 << PAGE_SHIFT;
const WORDS = PAGE / 8;

/**
 * A paged address map.
 *
 * @example
 * ```ts
 * import { PagedAddrMap } from "./paged_addr_map.ts";
 * const m = new PagedAddrMap();
 * if (m.put(0xc000000010, 7) !== -1 || m.put(0xc000000010, 8) !== 7) throw new Error();
 * if (m.take(0xc000000010) !== 8 || m.take(0xc000000010) !== -1 || m.size !== 0) throw new Error();
 * if (m.put(0xc000000013, 1) !== -1 || m.take(0xc000000010) !== -1 || m.take(0xc000000013) !== 1) throw new Error();
 * ```
 */
export class PagedAddrMap
  implements Pick<AddrMap, "get" | "put" | "take" | "size"> {
  readonly #pages = new Map<number, Int32Array>();
  #last = -1;
  #lastPage: Int32Array | null = null;
  #size = 0;
  /** Addresses that are not multiples of 8. */
  #odd: AddrMap | null = null;

  /** Entries held. */
  get size(): number {
    return this.#size + (this.#odd?.size ?? 0);
  }

  #page(addr: number, make: boolean): Int32Array | null {
    // (× 2^-13 is exact, and cheaper than a division.)
    const p = Math.floor(addr * (1 / PAGE));
    if (p === this.#last) return this.#lastPage;
    let page = this.#pages.get(p);
    if (page === undefined) {
      if (!make) return null;
      page = new Int32Array(WORDS).fill(-1);
      this.#pages.set(p, page);
    }
    this.#last = p;
    this.#lastPage = page;
    return page;
  }

  /** The value of `addr`, or -1. */
  get(addr: number): number {
    const lo = addr >>> 0;
    if ((lo & 7) !== 0) return this.#odd?.get(addr) ?? -1;
    const page = this.#page(addr, false);
    return page === null ? -1 : page[(lo & (PAGE - 1)) >>> 3];
  }

  /** Sets `addr` to `value` (≥ 0) and returns its previous value, or -1. */
  put(addr: number, value: number): number {
    const lo = addr >>> 0;
    if ((lo & 7) !== 0) return (this.#odd ??= new AddrMap()).put(addr, value);
    const page = this.#page(addr, true)!;
    const i = (lo & (PAGE - 1)) >>> 3;
    const prev = page[i];
    page[i] = value;
    if (prev < 0) this.#size++;
    return prev;
  }

  /** Removes `addr` and returns its value, or -1 when it was not there. */
  take(addr: number): number {
    const lo = addr >>> 0;
    if ((lo & 7) !== 0) return this.#odd?.take(addr) ?? -1;
    const page = this.#page(addr, false);
    if (page === null) return -1;
    const i = (lo & (PAGE - 1)) >>> 3;
    const v = page[i];
    if (v >= 0) {
      page[i] = -1;
      this.#size--;
    }
    return v;
  }

  /** The values, in no particular order. */
  *values(): IterableIterator<number> {
    for (const page of this.#pages.values()) {
      for (let i = 0; i < WORDS; i++) if (page[i] >= 0) yield page[i];
    }
    if (this.#odd !== null) yield* this.#odd.values();
  }

  /** The entries as [address, value], in no particular order. */
  *entries(): IterableIterator<[number, number]> {
    for (const [p, page] of this.#pages) {
      for (let i = 0; i < WORDS; i++) {
        if (page[i] >= 0) yield [p * PAGE + i * 8, page[i]];
      }
    }
    if (this.#odd !== null) yield* this.#odd.entries();
  }
}
