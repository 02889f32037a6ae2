/**
 * A map from addresses (integers below 2^53) to non-negative int32 values,
 * in typed arrays with linear probing and backward-shift deletion. It is
 * what `Map<number, number>` does for the analyzer's live objects, without
 * boxing each address above 2^31 as a heap number (which made the garbage
 * collector a tenth of `analyze`).
 *
 * @module
 */

const EMPTY = -1;

/** Addresses to int32 values. */
export class AddrMap {
  #keys: Float64Array;
  #vals: Int32Array;
  #mask: number;
  /** 32 − log2(capacity): the home is the top bits of the product. */
  #shift: number;
  #size = 0;

  /** Makes an empty map with room for `capacity` / 2 entries before it grows. */
  constructor(capacity = 1 << 12) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.#keys = new Float64Array(cap).fill(EMPTY);
    this.#vals = new Int32Array(cap);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  // Fibonacci hashing: the product's top bits depend on every bit of the
  // address, so heap addresses 16 bytes apart land one slot apart or more
  // (probe runs of ~1 where the low bits of a product gave ~2).
  #home(addr: number): number {
    const lo = addr >>> 0;
    const hi = (addr / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>>
      this.#shift;
  }

  /** The value of `addr`, or -1. */
  get(addr: number): number {
    const keys = this.#keys;
    for (let i = this.#home(addr);; i = (i + 1) & this.#mask) {
      const k = keys[i];
      if (k === addr) return this.#vals[i];
      if (k === EMPTY) return -1;
    }
  }

  /** Sets `addr` to `value` (≥ 0) and returns its previous value, or -1. */
  put(addr: number, value: number): number {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    for (let i = this.#home(addr);; i = (i + 1) & this.#mask) {
      const k = keys[i];
      if (k === addr) {
        const prev = this.#vals[i];
        this.#vals[i] = value;
        return prev;
      }
      if (k === EMPTY) {
        keys[i] = addr;
        this.#vals[i] = value;
        this.#size++;
        return -1;
      }
    }
  }

  /** Removes `addr` and returns its value, or -1 when it was not there. */
  take(addr: number): number {
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    let i = this.#home(addr);
    for (;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === addr) break;
      if (k === EMPTY) return -1;
    }
    const value = vals[i];
    // Shift later entries of the probe run back into the hole.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const k = keys[j];
      if (k === EMPTY) break;
      const h = this.#home(k);
      // Entry j may move to i when its home is not in (i, j] (cyclically).
      const inRange = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!inRange) {
        keys[i] = k;
        vals[i] = vals[j];
        i = j;
      }
    }
    keys[i] = EMPTY;
    this.#size--;
    return value;
  }

  /** The values, in no particular order. */
  *values(): IterableIterator<number> {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== EMPTY) yield this.#vals[i];
    }
  }

  /** The entries as [address, value], in no particular order. */
  *entries(): IterableIterator<[number, number]> {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== EMPTY) yield [keys[i], this.#vals[i]];
    }
  }

  #grow(): void {
    const keys = this.#keys;
    const vals = this.#vals;
    this.#keys = new Float64Array(keys.length * 2).fill(EMPTY);
    this.#vals = new Int32Array(keys.length * 2);
    this.#mask = keys.length * 2 - 1;
    this.#shift--;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== EMPTY) this.put(keys[i], vals[i]);
    }
  }
}
