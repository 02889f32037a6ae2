/**
 * The program's pointer loads and stores into heap objects, checked against
 * the heap bitmap (Go's `mbitmap.go`: which words of a live object hold
 * pointers). A store or load must hit a pointer word of a live object; a
 * stored pointer must not point at freed heap memory. The words themselves
 * live in each span's `words`, the bitmap in its `ptrBits`.
 *
 * @module
 */

import type { MHeap } from "./mheap.ts";
import type { MSpan } from "./mspan.ts";
import type { GoType } from "./types.ts";
import { hex } from "./print.ts";

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
    const span = this.#heap.spanOfOff(off);
    if (
      span === undefined ||
      (this.#check ? !this.#isPointerWord(span, off) : span.words === null)
    ) {
      this.#badPointerWord(off + this.arenaStart, "store to");
    }
    const a = this.arenaStart;
    if (this.#check && v !== -a && this.#pointsAtFreedOff(v)) {
      throw new RangeError(
        `store to ${hex(off + a)}: value ${
          hex(v + a)
        } points at freed heap memory`,
      );
    }
    span.words![(off - span.base) >>> 3] = v + a;
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
    const span = this.#heap.spanOfOff(off);
    if (
      span === undefined ||
      (this.#check ? !this.#isPointerWord(span, off) : span.words === null)
    ) {
      this.#badPointerWord(off + this.arenaStart, "load from");
    }
    return span.words![(off - span.base) >>> 3];
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

  /**
   * True when the word `off` bytes into the arena, in `span`, is a pointer
   * word of a live object: its heap bit is set, its slot allocated, and
   * not condemned by the last mark (unmarked in a span not swept since).
   */
  #isPointerWord(span: MSpan, arenaOff: number): boolean {
    const bits = span.ptrBits;
    const off = arenaOff - span.base;
    // Offsets of a pointerful span stay far below 2^31: int32 arithmetic.
    if (
      bits === null || off >= 0x80000000 || (off & 7) !== 0 ||
      bits[off >>> 3] !== 1
    ) {
      return false;
    }
    const i = span.slotOf(off);
    const bit = 1 << (i & 31);
    return (span.allocBits[i >>> 5] & bit) !== 0 &&
      (span.sweepgen !== this.#heap.sweepgen - 2 ||
        (span.gcmarkBits[i >>> 5] & bit) !== 0);
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
    const bit = 1 << (i & 31);
    if ((span.gcmarkBits[i >>> 5] & bit) === 0) {
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
 * GC follows); zeroes its words when the slot may hold old data.
 */
export function heapBitsSetType(
  span: MSpan,
  idx: number,
  t: GoType,
  size: number,
  header: number,
): void {
  span.types![idx] = t.id + 1;
  const hw = header >>> 3;
  const n = size / 8 - hw;
  const w0 = idx * (n + hw) + hw;
  const bits = span.ptrBits!;
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
  if (span.needzero) {
    const words = span.words!;
    // A loop beats TypedArray#fill's call overhead for small objects.
    if (n <= 64) { for (let w = w0; w < w0 + n; w++) words[w] = 0; }
    else words.fill(0, w0, w0 + n);
    if (hw > 0) words[w0 - 1] = 0;
  }
}
