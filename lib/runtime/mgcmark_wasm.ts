/**
 * The mark's drain in WebAssembly (`gcDrain`): grey slots of up to 16
 * words are scanned by their heap bits in a module
 * (`scripts/gen_mark_wasm.ts` assembles it, `_mark_wasm.ts` keeps it) that
 * reads the heap's words and bits where they live, in the heap's
 * WebAssembly memory (`MHeap.memory`). It does what mgcmark.ts's
 * JavaScript drain does, step for step, with two to three times fewer
 * instructions: no span object, map check or bounds check per pointer.
 *
 * The spans' alloc and mark bits are still the spans' own typed arrays, so
 * each drain copies them, with each span's figures and the page table,
 * into the memory's work space, and copies the mark bits of the spans it
 * marked in back: a few hundred kilobytes for a heap of tens of megabytes,
 * against the words scanned.
 *
 * @module
 */

import { MARK_WASM } from "./_mark_wasm.ts";
import { H, SMALL_WORDS, SPAN, SPAN_BYTES } from "./_mark_layout.ts";
import type { MHeap } from "./mheap.ts";
import type { MSpan } from "./mspan.ts";

/** The module's exports. */
interface _MarkExports {
  drain(h: number, unused: number): number;
  grey(h: number, off: number): number;
}

let compiled: WebAssembly.Module | null = null;

/** The mark's module, compiled on first use in this thread. */
function _markModule(): WebAssembly.Module {
  return compiled ??= new WebAssembly.Module(
    (Uint8Array as unknown as {
      fromBase64(s: string): Uint8Array<ArrayBuffer>;
    }).fromBase64(MARK_WASM),
  );
}

/** What a drain added up. */
export interface DrainSums {
  /** Pointer words scanned. */
  scanned: number;
  /** Scan work, bytes (up to each slot's last pointer word). */
  scanWork: number;
  /** Objects marked. */
  marked: number;
  /** Bytes marked. */
  markedBytes: number;
}

/**
 * Scans the slot over {@link SMALL_WORDS} words that starts `off` bytes
 * into the arena by its type, greying each pointer with `grey` (given its
 * offset into the arena).
 */
export type ScanLarge = (off: number, grey: (off: number) => void) => void;

/**
 * The WebAssembly drain of one heap.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const keep = rt.global("main.keep");
 * rt.setGlobal(keep, rt.newobject(node));
 * rt.store(rt.getGlobal(keep), 0, rt.newobject(node));
 * rt.GC(); // the drain ran in the heap's WebAssembly memory
 * if (rt.heap.memory === null || rt.gc.markedObjects !== 2) throw new Error();
 * ```
 */
export class WasmDrain {
  readonly #heap: MHeap;
  #memory: WebAssembly.Memory | null = null;
  #exports: _MarkExports | null = null;
  /** The spans of the running drain, by number - 1. */
  readonly #spans: MSpan[] = [];

  /** The drain of `heap`. */
  constructor(heap: MHeap) {
    this.#heap = heap;
  }

  /**
   * Drains the `nwork` grey slots of `workW` (each one's first heap word)
   * and `workN` (its words) and everything they lead to, as mgcmark.ts's
   * `drain`; `scanLarge` scans a slot over {@link SMALL_WORDS} words.
   * `rootPushes` slots were listed this cycle without being marked; every
   * other one listed is marked, so listed once a cycle.
   * Marks spans' `gcmarkBits` and `nmarked`, and returns the sums; null
   * when the heap has no WebAssembly memory, or it cannot hold the work
   * space (the caller drains in JavaScript).
   */
  drain(
    workW: Int32Array,
    workN: Int32Array,
    nwork: number,
    rootPushes: number,
    scanLarge: ScanLarge,
  ): DrainSums | null {
    const heap = this.#heap;
    if (heap.memory === null) return null;
    // Nothing grey (mark termination's drain, as a rule): nothing to copy.
    if (nwork === 0) {
      return { scanned: 0, scanWork: 0, marked: 0, markedBytes: 0 };
    }
    const pageSpans = heap.pageSpans;
    const npages = pageSpans.length;
    const spans = this.#spans;
    let nspans = 0;
    let words = 0;
    let slots = 0;
    for (let p = 0; p < npages;) {
      const s = pageSpans[p];
      if (s === undefined) {
        p++;
        continue;
      }
      spans[nspans++] = s;
      words += s.allocBits.length;
      if (s.types !== null) slots += s.nelems;
      p += s.npages;
    }
    spans.length = nspans;
    // Work space: header, page table, span table, bitmaps, then a work
    // list that holds every pointerful slot (a marked one is listed once
    // a cycle) and the slots listed unmarked (MHeap sizes the memory for
    // one-word slots, the rest only where room is left).
    const pageTab = H.size;
    const spanTab = (pageTab + 4 * npages + 7) & ~7;
    const bitmaps = spanTab + SPAN_BYTES * nspans;
    const work = bitmaps + 8 * words;
    const cap = slots + rootPushes + SMALL_WORDS;
    const h = heap.scratch(work + 8 * cap);
    if (h < 0) return null;
    const memory = heap.memory;
    const buf = memory.buffer;
    const i32 = new Int32Array(buf);
    const f64 = new Float64Array(buf);
    f64[(h + H.arenaStart) >>> 3] = heap.arenaStart;
    f64[(h + H.mapped) >>> 3] = heap.mappedBytes;
    f64[(h + H.invPageSize) >>> 3] = heap.invPageSize;
    f64[(h + H.scanWork) >>> 3] = 0;
    f64[(h + H.markedBytes) >>> 3] = 0;
    const hi = h >>> 2;
    i32[hi + (H.pageTab >>> 2)] = h + pageTab;
    i32[hi + (H.spanTab >>> 2)] = h + spanTab;
    i32[hi + (H.work >>> 2)] = h + work;
    i32[hi + (H.nwork >>> 2)] = nwork;
    i32[hi + (H.cap >>> 2)] = cap;
    i32[hi + (H.scanned >>> 2)] = 0;
    i32[hi + (H.marked >>> 2)] = 0;
    i32[hi + (H.bits >>> 2)] = heap.bits.byteOffset;
    const pt = (h + pageTab) >>> 2;
    i32.fill(0, pt, pt + npages);
    let bw = (h + bitmaps) >>> 2;
    for (let k = 0; k < nspans; k++) {
      const s = spans[k];
      const first = (s.base * heap.invPageSize) | 0;
      for (let p = first; p < first + s.npages; p++) i32[pt + p] = k + 1;
      const r = (h + spanTab + k * SPAN_BYTES) >>> 2;
      const alloc = s.allocBits;
      const mark = s.gcmarkBits;
      const n = alloc.length;
      i32[r + (SPAN.base >>> 2)] = s.base;
      i32[r + (SPAN.divMul >>> 2)] = s.divMul;
      i32[r + (SPAN.nelems >>> 2)] = s.nelems;
      i32[r + (SPAN.elemsize >>> 2)] = s.elemsize;
      i32[r + (SPAN.scan >>> 2)] = s.types !== null ? 1 : 0;
      i32[r + (SPAN.allocBits >>> 2)] = bw << 2;
      i32[r + (SPAN.markBits >>> 2)] = (bw + n) << 2;
      i32[r + (SPAN.nmarked >>> 2)] = 0;
      for (let j = 0; j < n; j++) {
        i32[bw + j] = alloc[j];
        i32[bw + n + j] = mark[j];
      }
      bw += 2 * n;
    }
    const wl = (h + work) >>> 2;
    for (let j = 0; j < nwork; j++) {
      i32[wl + 2 * j] = workW[j];
      i32[wl + 2 * j + 1] = workN[j];
    }
    const x = this.#instance(memory);
    const grey = (off: number): void => {
      x.grey(h, off);
    };
    const nw = hi + (H.nwork >>> 2);
    for (;;) {
      const st = x.drain(h, 0);
      if (st === 0) break;
      if (st !== 1) throw new Error(`mark: work list overflow (${st})`);
      // A slot over SMALL_WORDS words: scanned by its type, here.
      const top = i32[nw] - 1;
      i32[nw] = top;
      scanLarge(i32[wl + 2 * top] * 8, grey);
    }
    for (let k = 0; k < nspans; k++) {
      const r = (h + spanTab + k * SPAN_BYTES) >>> 2;
      const marked = i32[r + (SPAN.nmarked >>> 2)];
      if (marked === 0) continue;
      const s = spans[k];
      const mark = s.gcmarkBits;
      const m = (i32[r + (SPAN.markBits >>> 2)]) >>> 2;
      for (let j = 0; j < mark.length; j++) mark[j] = i32[m + j];
      s.nmarked += marked;
    }
    spans.length = 0;
    return {
      scanned: i32[hi + (H.scanned >>> 2)],
      scanWork: f64[(h + H.scanWork) >>> 3],
      marked: i32[hi + (H.marked >>> 2)],
      markedBytes: f64[(h + H.markedBytes) >>> 3],
    };
  }

  /** The module's instance over `memory` (one per memory: it never changes). */
  #instance(memory: WebAssembly.Memory): _MarkExports {
    if (this.#memory !== memory || this.#exports === null) {
      const inst = new WebAssembly.Instance(_markModule(), { m: { memory } });
      this.#exports = inst.exports as unknown as _MarkExports;
      this.#memory = memory;
    }
    return this.#exports;
  }
}
