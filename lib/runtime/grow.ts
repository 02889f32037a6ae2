/**
 * Growing the typed-array columns that the runtime, the analyzers and the
 * native sink keep per object or per frame. Internal: mod.ts does not
 * re-export it.
 *
 * @module
 */

/**
 * A typed array of length `n` (≥ `a.length`) of `a`'s kind, holding `a`'s
 * values first and `fill` after them (an index's "none", -1, say).
 */
export function grown<T extends Int32Array | Float64Array | Uint8Array>(
  a: T,
  n: number,
  fill = 0,
): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** Named typed-array columns, one value per slot in each. */
export type Columns = Record<string, Int32Array | Float64Array | Uint8Array>;

/**
 * Per-object figures in typed-array columns indexed by slot (a small
 * integer, reused once freed) instead of an object or a map entry per
 * object: the trace analyzers' live objects and the native sink's blocks.
 * The columns grow together, by doubling; {@link SlotColumns.cols} is then
 * a new record of new arrays, so read it again after
 * {@link SlotColumns.take} or {@link SlotColumns.fit}.
 *
 * @example
 * ```ts
 * import { SlotColumns } from "./grow.ts";
 * const s = new SlotColumns({ size: new Float64Array(2), site: new Int32Array(2) });
 * const a = s.take(), b = s.take(), c = s.take(); // the third grows them
 * s.cols.size[c] = 64;
 * s.release(b);
 * if (s.take() !== b || s.cols.size.length !== 4 || s.cols.size[c] !== 64) throw new Error();
 * ```
 */
export class SlotColumns<C extends Columns> {
  /** The columns (all of one length). */
  cols: C;
  #cap: number;
  // The slots to take, a stack: the released ones (last released on top)
  // over the never-taken ones (lowest on top), so take() is one pop with
  // no second path (a slot never taken, reached first at a random point
  // of a sampled run by a second analyzer, threw away take's optimized
  // code).
  #free: Int32Array;
  #nfree: number;

  /** Columns starting as `cols` (of one length, at least 1). */
  constructor(cols: C) {
    this.#cap = Math.min(...Object.values(cols).map((c) => c.length));
    this.cols = _record(cols, (c) => c);
    this.#free = _fresh(this.#cap, 0);
    this.#nfree = this.#cap;
  }

  /** A slot: the last one released, or a new one (the columns grow when full). */
  take(): number {
    if (this.#nfree === 0) this.fit(this.#cap);
    return this.#free[--this.#nfree];
  }

  /** Gives `slot` back for a later {@link SlotColumns.take}. */
  release(slot: number): void {
    this.#free[this.#nfree++] = slot;
  }

  /**
   * Makes room for `slot` (columns indexed by another's slots, as the
   * native sink's by its analyzer's); true when the columns grew.
   */
  fit(slot: number): boolean {
    if (slot < this.#cap) return false;
    let n = this.#cap * 2;
    while (n <= slot) n *= 2;
    this.cols = _record(this.cols, (c) => grown(c, n));
    // The new slots go under the ones to take now.
    const free = _fresh(n, this.#cap);
    free.set(this.#free.subarray(0, this.#nfree), n - this.#cap);
    this.#free = free;
    this.#nfree += n - this.#cap;
    this.#cap = n;
    return true;
  }
}

// A slot stack for n slots holding from..n-1 at its bottom, n-1 first, so
// they pop in increasing order.
function _fresh(n: number, from: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n - from; i++) a[i] = n - 1 - i;
  return a;
}

// A record of `cols`' columns mapped by `f`, its properties added in one
// order from an empty object: every record of the same names has one
// hidden class, the first as the grown ones, so reading a column stays a
// monomorphic property load.
function _record<C extends Columns>(
  cols: C,
  f: (c: Columns[string]) => Columns[string],
): C {
  const out: Columns = {};
  for (const name of Object.keys(cols)) out[name] = f(cols[name]);
  return out as C;
}
