/**
 * The program's pointer loads and stores into heap objects, checked against
 * the heap bitmap (Go's `mbitmap.go`: which words of a live object hold
 * pointers). A store or load must hit a pointer word of a live object; a
 * stored pointer must not point at freed heap memory. The words themselves
 * live in the heap's `mem`, the bitmap in its `bits`, both indexed by the
 * word's heap offset: the bitmap keeps only the pointer words of live
 * objects, so a correct access reads one byte and one word, and the span
 * is looked up only to say what is wrong with a bad one.
 *
 * @module
 */

import type { MHeap } from "./mheap.ts";
import type { MSpan } from "./mspan.ts";
import type { GoType } from "./types.ts";
import { hex } from "./print.ts";
import { ctz32 } from "./sys.ts";

/** Go 1.22's `mallocHeaderSize` (mbitmap_allocheaders.go), on 64-bit. */
export const MALLOC_HEADER_SIZE = 8;
/** Go 1.22's `minSizeForMallocHeader`: larger pointerful objects get a header. */
export const MIN_SIZE_FOR_MALLOC_HEADER = 512;

/**
 * The bytes of allocation header that start each slot of `span`, a
 * pointerful span: Go 1.22 (`allocHeaders`) gives a small object over
 * {@link MIN_SIZE_FOR_MALLOC_HEADER} bytes a header holding its type
 * (`!heapBitsInSpan(span.elemsize)`, mbitmap_allocheaders.go 113); a large
 * object keeps its type in its span (`largeType`), and smaller ones have
 * their bits in the span. 0 before Go 1.22.
 */
export function slotHeaderBytes(allocHeaders: boolean, span: MSpan): number {
  return allocHeaders && span.sizeclass !== 0 &&
      span.elemsize > MIN_SIZE_FOR_MALLOC_HEADER
    ? MALLOC_HEADER_SIZE
    : 0;
}

/**
 * The pointer words of one heap: `store`/`load` by object and word,
 * `storeAt`/`loadAt` by address.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0] });
 * const a = rt.newobject(node), b = rt.newobject(node);
 * rt.store(a, 0, b);
 * if (rt.load(a, 0) !== b) throw new Error("store/load");
 * ```
 */
export class PointerWords {
  readonly #heap: MHeap;
  readonly #types: readonly GoType[];
  /** The heap's arena start: offsets are addresses minus it. */
  readonly arenaStart: number;
  /** False in the trusted mode: stores and loads skip the liveness checks. */
  readonly #check: boolean;

  /**
   * The pointer words of `heap`, whose objects' types are `types` (by id).
   * With `check` false (the trusted mode for built-in workloads, which
   * never store or load wrongly) a store or load only finds the span; one
   * outside any pointerful span still throws as in the checked mode.
   */
  constructor(heap: MHeap, types: readonly GoType[], check = true) {
    this.#heap = heap;
    this.arenaStart = heap.arenaStart;
    this.#types = types;
    this.#check = check;
  }

  /** True unless this is the trusted mode. */
  get checked(): boolean {
    return this.#check;
  }

  /** Stores pointer `v` (or 0) into pointer word `word` of the object at `obj`. */
  store(obj: number, word: number, v: number): void {
    const a = this.arenaStart;
    this.storeOff(obj - a + word * 8, v - a);
  }

  /** Loads pointer word `word` of the object at `obj`. */
  load(obj: number, word: number): number {
    return this.loadOff(obj - this.arenaStart + word * 8);
  }

  /**
   * Stores pointer `v` (or 0) at heap address `addr`, which must be a
   * pointer word of a live object.
   *
   * @throws {RangeError} naming the address and the object it falls in
   *   when it is not a pointer word of a live object, or when `v` points at
   *   freed heap memory.
   */
  storeAt(addr: number, v: number): void {
    const a = this.arenaStart;
    this.storeOff(addr - a, v - a);
  }

  /**
   * {@link storeAt} with both the address and the pointer given as offsets
   * from the arena start (address minus `arenaStart`; 0 is
   * `-arenaStart`): heap offsets are small integers, which cross calls
   * unboxed.
   *
   * @throws {RangeError} as {@link storeAt}.
   */
  storeOff(off: number, v: number): void {
    const heap = this.#heap;
    const bits = heap.bits;
    const w = off >>> 3;
    const vw = v >>> 3;
    // A pointer word of a live object gets a pointer to another one (the
    // start of its pointer word, so no freed memory): the common case,
    // kept small enough for V8 to inline it twice beside the allocation
    // fast path. `w * 8 === off`: a multiple of 8 in [0, 2^32).
    if (w * 8 === off && bits[w] === 1 && vw * 8 === v && bits[vw] === 1) {
      heap.mem[w] = v + this.arenaStart;
      return;
    }
    this.#storeChecked(off, v);
  }

  /** {@link storeOff} of any other word or value. */
  #storeChecked(off: number, v: number): void {
    const heap = this.#heap;
    const w = off >>> 3;
    if (w * 8 === off && heap.bits[w] === 1) {
      const a = this.arenaStart;
      if (this.#check && v !== -a) {
        const vw = v >>> 3;
        // A live object's pointer word is no freed memory.
        if (
          !(vw * 8 === v && heap.bits[vw] === 1) && this.#pointsAtFreedOff(v)
        ) this.#storedFreed(off, v);
      }
      heap.mem[w] = v + a;
      return;
    }
    this.#storeSlow(off, v);
  }

  /**
   * {@link storeOff} of a word the heap bitmap does not hold: an error in
   * the checked mode (the bitmap holds every pointer word of a live
   * object); in the trusted mode, a store into the word holding `off` of
   * any pointerful span.
   */
  #storeSlow(off: number, v: number): void {
    if (this.#check || !this.#inPointerfulSpan(off)) {
      this.#badPointerWord(off + this.arenaStart, "store to");
    }
    this.#heap.mem[off >>> 3] = v + this.arenaStart;
  }

  #storedFreed(off: number, v: number): never {
    const a = this.arenaStart;
    throw new RangeError(
      `store to ${hex(off + a)}: value ${
        hex(v + a)
      } points at freed heap memory`,
    );
  }

  /**
   * Loads the pointer at heap address `addr` (a pointer word of a live
   * object).
   *
   * @throws {RangeError} as {@link storeAt}; a load from a freed or
   *   unreachable object is a use after free.
   */
  loadAt(addr: number): number {
    return this.loadOff(addr - this.arenaStart);
  }

  /**
   * {@link loadAt} of the word `off` bytes into the arena.
   *
   * @throws {RangeError} as {@link loadAt}.
   */
  loadOff(off: number): number {
    const heap = this.#heap;
    const w = off >>> 3;
    if (w * 8 === off && heap.bits[w] === 1) return heap.mem[w];
    return this.#loadSlow(off);
  }

  /** {@link loadOff} of a word the heap bitmap does not hold: as {@link #storeSlow}. */
  #loadSlow(off: number): number {
    if (this.#check || !this.#inPointerfulSpan(off)) {
      this.#badPointerWord(off + this.arenaStart, "load from");
    }
    return this.#heap.mem[off >>> 3];
  }

  /**
   * True when pointer `v` points into a heap span but not at a live object
   * (storing it would keep freed memory reachable). Pointers outside the
   * heap (globals, `zerobase`, 0) are fine.
   */
  pointsAtFreed(v: number): boolean {
    return v !== 0 && this.#pointsAtFreedOff(v - this.arenaStart);
  }

  /** {@link pointsAtFreed} of the pointer `off` bytes into the arena. */
  #pointsAtFreedOff(off: number): boolean {
    const span = this.#heap.spanOfOff(off);
    if (span === undefined) return false;
    const i = span.slotOf(off - span.base);
    return i >= span.nelems ||
      (span.allocBits[i >>> 5] & (1 << (i & 31))) === 0;
  }

  /** True when the word `off` bytes into the arena is in a pointerful span. */
  #inPointerfulSpan(off: number): boolean {
    const span = this.#heap.spanOfOff(off);
    return span !== undefined && span.types !== null;
  }

  /** Throws the RangeError that says why `addr` is not a pointer word of a live object. */
  #badPointerWord(addr: number, what: string): never {
    const span = this.#heap.spanOf(addr);
    if (span === undefined) {
      throw new RangeError(`${what} ${hex(addr)}: not a heap object`);
    }
    const i = span.objIndex(addr);
    const base = span.startAddr + i * span.elemsize;
    const obj = `object ${hex(base)} (size ${hex(span.elemsize)})`;
    if (i >= span.nelems) {
      throw new RangeError(
        `${what} ${hex(addr)}: past the last object of span ${
          hex(span.startAddr)
        }`,
      );
    }
    if (!span.isAllocated(i)) {
      throw new RangeError(
        `${what} ${hex(addr)}: ${obj} is freed (use after free)`,
      );
    }
    if (span.types === null) {
      throw new RangeError(
        `${what} ${
          hex(addr)
        }: not a pointer word of ${obj}, which holds no pointers`,
      );
    }
    // Condemned: unmarked in a span the last mark left for the sweep. A
    // swept span's mark bits start empty, live objects and all.
    if (
      span.sweepgen === this.#heap.sweepgen - 2 &&
      (span.gcmarkBits[i >>> 5] & (1 << (i & 31))) === 0
    ) {
      throw new RangeError(
        `${what} ${
          hex(addr)
        }: ${obj} was unreachable at the last GC and is being freed (use after free: keep pointers in roots)`,
      );
    }
    const typ = this.#types[span.types[i] - 1];
    const off = addr - base;
    throw new RangeError(
      off % 8 !== 0
        ? `${what} ${hex(addr)}: not a pointer word of ${obj} (unaligned)`
        : `${what} ${hex(addr)}: word ${
          off / 8
        } of ${obj}, a ${typ.name}, is not a pointer word`,
    );
  }
}

/**
 * The span holding the live object that starts at `addr` (Go's
 * `findObject`, strict about the address being an object's start).
 *
 * @throws {RangeError} naming the address, and the object it falls in if
 *   any, when `addr` is not the start of a live heap object.
 * @example
 * ```ts
 * import { findObject, Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const x = rt.mallocgc(100, null);
 * if (findObject(rt.heap, x).elemsize !== 112) throw new Error("findObject");
 * ```
 */
export function findObject(heap: MHeap, addr: number): MSpan {
  const span = heap.spanOf(addr);
  if (span === undefined) {
    throw new RangeError(`address ${hex(addr)} is not in a heap span`);
  }
  const i = span.objIndex(addr);
  const base = span.startAddr + i * span.elemsize;
  if (i >= span.nelems) {
    throw new RangeError(
      `address ${hex(addr)} is in the tail of span ${
        hex(span.startAddr)
      }, past its last object`,
    );
  }
  if (!span.isAllocated(i)) {
    throw new RangeError(
      `address ${hex(addr)} falls in free slot ${hex(base)} (size ${
        hex(span.elemsize)
      }) of span ${hex(span.startAddr)}`,
    );
  }
  if (base !== addr) {
    throw new RangeError(
      `address ${hex(addr)} is inside object ${hex(base)} (size ${
        hex(span.elemsize)
      }), not its start`,
    );
  }
  return span;
}

/**
 * Records the type of the object in slot `idx` of a pointerful span and
 * its heap bitmap (`heapBitsSetType`): the type's pointer mask repeated
 * over whole elements after the header word (which holds no pointer the
 * GC follows); zeroes its words when the slot may hold old data. `size` is
 * the slot's bytes and `header` its allocation header's (0 or
 * {@link MALLOC_HEADER_SIZE}); mallocgc calls it for each pointerful
 * object.
 *
 * @example
 * ```ts
 * import { heapBitsSetType, Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const pair = rt.types.define("main.Pair", { size: 16, pointers: [1] });
 * const x = rt.newobject(pair);
 * const span = rt.heap.spanOf(x)!;
 * const w = (x - rt.heap.arenaStart) / 8; // x's first word in the bitmap
 * const bits = () => rt.heap.bits.subarray(w, w + 2).join("");
 * if (bits() !== "01") throw new Error(bits());
 * // The slot retyped: now its first word holds the pointer.
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0] });
 * heapBitsSetType(rt.heap, span, span.objIndex(x), node, 16, 0);
 * if (bits() !== "10") throw new Error(bits());
 * ```
 */
export function heapBitsSetType(
  heap: MHeap,
  span: MSpan,
  idx: number,
  t: GoType,
  size: number,
  header: number,
): void {
  span.types![idx] = t.id + 1;
  const hw = header >>> 3;
  const n = (size >>> 3) - hw;
  const w0 = (span.base >>> 3) + idx * (n + hw) + hw;
  _setBits(heap.bits, w0, n, hw, t);
  if (span.needzero) {
    const words = heap.mem;
    // A loop beats TypedArray#fill's call overhead for small objects.
    if (n <= 64) { for (let w = w0; w < w0 + n; w++) words[w] = 0; }
    else words.fill(0, w0, w0 + n);
    if (hw > 0) words[w0 - 1] = 0;
  }
}

/**
 * {@link heapBitsSetType} of a small object without an allocation header,
 * whose `n` words start at heap word `w0` (the allocation fast path's:
 * it has the slot's offset at hand). A type that fills the slot, the
 * common case, is one copy of its mask.
 */
export function heapBitsSetSmall(
  heap: MHeap,
  span: MSpan,
  idx: number,
  w0: number,
  t: GoType,
  n: number,
): void {
  span.types![idx] = t.id + 1;
  const bits = heap.bits;
  const mask = t.ptrMask;
  if (n === 2 && mask.length === 2) {
    // A two-word type in a 16-byte slot (binary-trees' node, a string or
    // interface header): straight-line stores, no loop. The loops cost
    // binary-trees 52 instructions per allocation (callgrind, depth 14).
    bits[w0] = mask[0];
    bits[w0 + 1] = mask[1];
    if (span.needzero) {
      const words = heap.mem;
      words[w0] = 0;
      words[w0 + 1] = 0;
    }
    return;
  }
  if (mask.length === n) { for (let j = 0; j < n; j++) bits[w0 + j] = mask[j]; }
  else _setBits(bits, w0, n, 0, t);
  if (span.needzero) {
    const words = heap.mem;
    if (n <= 64) { for (let w = w0; w < w0 + n; w++) words[w] = 0; }
    else words.fill(0, w0, w0 + n);
  }
}

/**
 * Writes the heap bits of the `n` words at `w0` (after `hw` header words)
 * of an object of type `t`.
 */
function _setBits(
  bits: Uint8Array,
  w0: number,
  n: number,
  hw: number,
  t: GoType,
): void {
  if (hw > 0) bits[w0 - 1] = 0;
  const mask = t.ptrMask;
  const ew = mask.length;
  // One element filling the slot is the common case: no division.
  const whole = ew === n ? n : Math.floor(n / ew) * ew;
  if (ew === n) { for (let j = 0; j < n; j++) bits[w0 + j] = mask[j]; }
  else if (ew === 1) bits.fill(1, w0, w0 + whole);
  else {
    for (let j = 0, k = 0; j < whole; j++) {
      bits[w0 + j] = mask[k];
      if (++k === ew) k = 0;
    }
  }
  if (whole < n) bits.fill(0, w0 + whole, w0 + n);
}

/**
 * Gives the object in slot `idx` of a pointerful span its heap bits back
 * (a finalizer resurrects it after a mark condemned it), from its type;
 * `allocHeaders` is the preset's (see {@link slotHeaderBytes}).
 */
export function heapBitsResurrect(
  heap: MHeap,
  types: readonly GoType[],
  span: MSpan,
  idx: number,
  allocHeaders: boolean,
): void {
  const tid = span.types![idx] - 1;
  if (tid < 0) return;
  const hw = slotHeaderBytes(allocHeaders, span) >>> 3;
  const n = span.elemsize / 8 - hw;
  _setBits(
    heap.bits,
    (span.base >>> 3) + idx * (n + hw) + hw,
    n,
    hw,
    types[tid],
  );
}

/**
 * Clears the heap bits of the object in slot `idx` of `span` (freed, or
 * condemned by a mark): its words are no pointer words of a live object.
 */
export function heapBitsClear(heap: MHeap, span: MSpan, idx: number): void {
  const ew = span.elemsize >>> 3;
  const w0 = (span.base >>> 3) + idx * ew;
  const bits = heap.bits;
  if (ew <= 16) { for (let w = w0; w < w0 + ew; w++) bits[w] = 0; }
  else bits.fill(0, w0, w0 + ew);
}

/**
 * Clears the heap bits of every object of `span` that is allocated but
 * unmarked (`alloc & ~mark`): freed by its sweep, or condemned until then.
 */
export function heapBitsClearDead(
  heap: MHeap,
  span: MSpan,
  alloc: Uint32Array,
  mark: Uint32Array,
): void {
  const ew = span.elemsize >>> 3;
  const base = span.base >>> 3;
  const bits = heap.bits;
  for (let w = 0; w < mark.length; w++) {
    const m = mark[w];
    let dead = alloc[w] & ~m;
    if (dead === 0) continue;
    if (m === 0) {
      // Nothing marked among these 32 slots, nor maybe the next ones (a
      // dead span: all of them): free slots' bits are 0 already, so the
      // whole run is cleared at once.
      let end = w + 1;
      while (end < mark.length && mark[end] === 0) end++;
      bits.fill(
        0,
        base + (w << 5) * ew,
        base + Math.min(end << 5, span.nelems) * ew,
      );
      w = end - 1;
      continue;
    }
    while (dead !== 0) {
      const bit = ctz32(dead);
      dead &= dead - 1;
      heapBitsClear(heap, span, (w << 5) + bit);
    }
  }
}
