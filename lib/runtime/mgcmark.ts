/**
 * The mark's work (Go's `mgcmark.go` and `gcWork`): greying an object
 * (`greyobject`), the list of grey objects, and scanning them until none
 * is left (`gcDrain`, `scanobject`), with the figures a cycle reports
 * (objects marked, words scanned, scan work). The collector (gc.ts) finds
 * the roots and decides when a cycle runs.
 *
 * @module
 */

import { grown } from "./grow.ts";
import { slotHeaderBytes } from "./mbitmap.ts";
import type { MHeap } from "./mheap.ts";
import type { MSpan } from "./mspan.ts";
import type { TypeRegistry } from "./types.ts";
import { WasmDrain } from "./mgcmark_wasm.ts";

/** What the mark adds its marked bytes to (the pacer's `heapMarked`). */
export interface MarkedBytes {
  /** Bytes marked by the running cycle. */
  heapMarked: number;
}

/**
 * The mark's grey objects and its counters, for one heap.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const keep = rt.global("main.keep");
 * rt.setGlobal(keep, rt.newobject(node));
 * rt.store(rt.getGlobal(keep), 1, rt.newobject(node));
 * rt.GC();
 * if (rt.gc.markedObjects !== 2 || rt.gc.scannedWords !== 4) throw new Error("mark");
 * ```
 */
export class MarkWork {
  readonly #heap: MHeap;
  readonly #types: TypeRegistry;
  readonly #allocHeaders: boolean;
  readonly #marked: MarkedBytes;
  /**
   * The grey objects: the heap word offset of each one's first word, and
   * its size in words. Integers only: a list of spans would pay V8's write
   * barrier at every push, and draining a small slot needs no span.
   */
  #workW: Int32Array = new Int32Array(1024);
  #workN: Int32Array = new Int32Array(1024);
  #nwork = 0;
  /**
   * Slots put on the work list by {@link push} this cycle, unmarked
   * (markrootSpans' finalizer objects): with each marked pointerful slot,
   * pushed once per cycle, they bound the work list's length.
   */
  #rootPushes = 0;
  /** Objects marked by the running (or last) cycle. */
  markedObjects = 0;
  /** Words scanned by the running (or last) cycle. */
  scannedWords = 0;
  /** Heap scan work of the running cycle, bytes (`heapScanWork`). */
  heapScanWork = 0;
  /** Drains run, in all cycles (for tests and stats). */
  drains = 0;
  /** Of {@link drains}, those that ran in WebAssembly. */
  wasmDrains = 0;
  /**
   * Of {@link drains}, those that ran in JavaScript though the heap had its
   * WebAssembly memory (its work space was too small): the same results,
   * slower, so only this count tells.
   */
  fellBack = 0;
  /** The drain in WebAssembly, where the heap has its memory. */
  readonly #wasm: WasmDrain;

  /**
   * The mark of `heap`, whose objects' types are in `types`, adding the
   * bytes it marks to `marked`; `allocHeaders` is the preset's (Go 1.22's
   * allocation headers).
   */
  constructor(
    heap: MHeap,
    types: TypeRegistry,
    allocHeaders: boolean,
    marked: MarkedBytes,
  ) {
    this.#heap = heap;
    this.#types = types;
    this.#allocHeaders = allocHeaders;
    this.#marked = marked;
    this.#wasm = new WasmDrain(heap);
  }

  /** Starts a cycle's mark: no grey object, counters at 0. */
  reset(): void {
    this.#nwork = 0;
    this.#rootPushes = 0;
    this.#marked.heapMarked = 0;
    this.heapScanWork = 0;
    this.markedObjects = 0;
    this.scannedWords = 0;
  }

  /**
   * Records an object allocated during the mark phase as marked (allocate
   * black, `gcmarknewobject`): its bytes count as marked, but it is never
   * scanned, so it adds no scan work.
   */
  markNew(span: MSpan, i: number): void {
    span.gcmarkBits[i >>> 5] |= 1 << (i & 31);
    span.nmarked++;
    this.markedObjects++;
    this.#marked.heapMarked += span.elemsize;
  }

  /** Greys the object at heap address `p` (a root). */
  grey(p: number): void {
    this.#greyOff(p - this.#heap.arenaStart);
  }

  /** Greys the object at `off` bytes into the arena (a small integer). */
  #greyOff(off: number): void {
    const span = this.#heap.spanOfOff(off);
    if (span === undefined) return;
    const i = span.slotOf(off - span.base);
    if (i >= span.nelems) return;
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if ((span.allocBits[w] & bit) === 0) return;
    if ((span.gcmarkBits[w] & bit) !== 0) return;
    span.gcmarkBits[w] |= bit;
    span.nmarked++;
    this.markedObjects++;
    this.#marked.heapMarked += span.elemsize;
    if (span.types === null) return;
    this.#push(span, i);
  }

  /**
   * Puts slot `i` of pointerful `span` on the work list (scanned by
   * {@link drain}) without marking it: a root's referents.
   */
  push(span: MSpan, i: number): void {
    this.#rootPushes++;
    this.#push(span, i);
  }

  #push(span: MSpan, i: number): void {
    const n = this.#nwork;
    if (n === this.#workW.length) this.#growWork();
    const ew = span.elemsize >>> 3;
    this.#workW[n] = (span.base >>> 3) + i * ew;
    this.#workN[n] = ew;
    this.#nwork = n + 1;
  }

  #growWork(): void {
    this.#workW = grown(this.#workW, this.#workW.length * 2);
    this.#workN = grown(this.#workN, this.#workN.length * 2);
  }

  /**
   * Scans grey objects until none is left. A small slot is scanned here by
   * its heap bits: they are its pointer words (those of its type's mask
   * over whole elements), in order, and the scan work ends at the last
   * one. The mark's figures are sums, so the order objects are scanned in
   * changes none of them.
   */
  drain(): void {
    this.drains++;
    const sums = this.#wasm.drain(
      this.#workW,
      this.#workN,
      this.#nwork,
      this.#rootPushes,
      this.#scanTyped,
    );
    if (sums !== null) {
      this.wasmDrains++;
      this.#nwork = 0;
      this.scannedWords += sums.scanned;
      this.heapScanWork += sums.scanWork;
      this.markedObjects += sums.marked;
      this.#marked.heapMarked += sums.markedBytes;
      return;
    }
    if (this.#heap.memory !== null) this.fellBack++;
    // Nothing allocates while the mark drains: mem, bits and the page
    // table stay put, so they are read once. The small-slot scan greys
    // inline (#greyOff's steps, with its counters in locals): a call per
    // pointer followed was a fifth of the mark.
    const heap = this.#heap;
    const bits = heap.bits;
    const mem = heap.mem;
    const a = heap.arenaStart;
    const spans = heap.pageSpans;
    const mapped = heap.mappedBytes;
    const inv = heap.invPageSize;
    let workW = this.#workW;
    let workN = this.#workN;
    let nwork = this.#nwork;
    let scanned = 0;
    let scanWork = 0;
    let marked = 0;
    let markedBytes = 0;
    while (nwork > 0) {
      const n = --nwork;
      const ew = workN[n];
      const w0 = workW[n];
      if (ew > 16) {
        this.#nwork = nwork;
        this.#scanTyped(w0 * 8, this.#greyJS);
        nwork = this.#nwork;
        workW = this.#workW;
        workN = this.#workN;
        continue;
      }
      let last = -1;
      for (let k = 0; k < ew; k++) {
        if (bits[w0 + k] === 0) continue;
        scanned++;
        last = k;
        const v = mem[w0 + k];
        if (v === 0) continue;
        const off = v - a;
        if (!(off >= 0 && off < mapped)) continue;
        const span = spans[(off * inv) | 0];
        if (span === undefined) continue;
        // span.slotOf, written out: V8 left the call in this loop.
        const i = ((off - span.base) * span.divMul * 2.3283064365386963e-10) |
          0;
        if (i >= span.nelems) continue;
        const w = i >>> 5;
        const bit = 1 << (i & 31);
        const mark = span.gcmarkBits;
        if ((span.allocBits[w] & bit) === 0 || (mark[w] & bit) !== 0) {
          continue;
        }
        mark[w] |= bit;
        span.nmarked++;
        marked++;
        markedBytes += span.elemsize;
        if (span.types === null) continue;
        if (nwork === workW.length) {
          this.#nwork = nwork;
          this.#growWork();
          workW = this.#workW;
          workN = this.#workN;
        }
        const sew = span.elemsize >>> 3;
        workW[nwork] = (span.base >>> 3) + i * sew;
        workN[nwork] = sew;
        nwork++;
      }
      if (last >= 0) scanWork += (last + 1) * 8;
    }
    this.#nwork = 0;
    this.scannedWords += scanned;
    this.heapScanWork += scanWork;
    // Sums of whole numbers: the same in any order.
    this.markedObjects += marked;
    this.#marked.heapMarked += markedBytes;
  }

  /** {@link #greyOff}, for {@link #scanTyped} in the JavaScript drain. */
  readonly #greyJS = (off: number): void => this.#greyOff(off);

  /**
   * `scanobject` of the slot over 128 bytes that starts `off` bytes into
   * the arena, by its type's pointer words, greying with `grey`.
   */
  readonly #scanTyped = (off: number, grey: (off: number) => void): void => {
    const span = this.#heap.spanOfOff(off)!;
    const i = span.slotOf(off - span.base);
    const tid = span.types![i] - 1;
    if (tid < 0) return;
    const typ = this.#types.byId(tid);
    const ptrWords = typ.ptrWords;
    const npw = ptrWords.length;
    const words = this.#heap.mem;
    const elemsize = span.elemsize;
    const size = typ.size;
    const a = this.#heap.arenaStart;
    let w = (span.base >>> 3) + i * (elemsize >>> 3);
    if (size === elemsize) {
      // One element filling the slot (binary-trees' nodes): no header.
      for (let k = 0; k < npw; k++) {
        const v = words[w + ptrWords[k]];
        if (v !== 0) grey(v - a);
      }
      this.scannedWords += npw;
      if (npw > 0) this.heapScanWork += (ptrWords[npw - 1] + 1) * 8;
      return;
    }
    const elemWords = size >>> 3;
    // Go 1.22: a small pointerful slot over 512 B starts with an 8-byte
    // allocation header; the object follows it.
    const hw = slotHeaderBytes(this.#allocHeaders, span) >>> 3;
    const nelem = Math.floor((elemsize - hw * 8) / size);
    // Scan work: the bytes up to the last pointer word (the heap bitmap's
    // "no more pointers" stops scanobject there).
    if (nelem > 0 && npw > 0) {
      this.heapScanWork +=
        ((nelem - 1) * elemWords + ptrWords[npw - 1] + 1 + hw) * 8;
    }
    w += hw;
    for (let e = 0; e < nelem; e++, w += elemWords) {
      for (let k = 0; k < npw; k++) {
        const v = words[w + ptrWords[k]];
        this.scannedWords++;
        if (v !== 0) grey(v - a);
      }
    }
  };
}
