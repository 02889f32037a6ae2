/**
 * `mheap`: the page heap. It maps address space at the preset's arena start
 * in growth chunks, hands out runs of pages for spans (address-ordered first
 * fit like Go 1.19's page allocator, or best fit like Go 1.2's free lists),
 * takes freed spans back and coalesces free runs, and maps any heap address
 * back to its span (`spanOf`). Reference sections 8.5, 8.6, 11.
 *
 * @module
 */

import { grown } from "./grow.ts";
import { H, SMALL_WORDS, SPAN_BYTES } from "./_mark_layout.ts";
import { MSpan, SpanArrayPool, SpanState } from "./mspan.ts";
import type { PagePolicy } from "./presets.ts";

/**
 * The heap would exceed its hard limit, or its address space. The heap is
 * left as it was before the failing request, so it can still be inspected.
 */
export class OutOfMemoryError extends RangeError {
  /** Bytes the failing request asked for. */
  readonly requested: number;
  /** Heap bytes in use (pages held by spans) when it failed. */
  readonly heapInuse: number;

  /** Makes the error; the message names the request and the heap in use. */
  constructor(message: string, requested: number, heapInuse: number) {
    super(message);
    this.name = "OutOfMemoryError";
    this.requested = requested;
    this.heapInuse = heapInuse;
  }
}

/**
 * The most bytes of arena the simulator maps, whatever the preset's
 * `arenaMaxBytes` (Go's 256 GiB): a heap word is found at `offset >>> 3`,
 * a 32-bit shift, which wraps past 4 GiB (words and heap bits of other
 * objects would be overwritten). Past it, allocation fails as past the
 * address space.
 *
 * @example
 * ```ts
 * import { SIM_ARENA_MAX_BYTES } from "../../mod.ts";
 * if (SIM_ARENA_MAX_BYTES !== 2 ** 32) throw new Error("4 GiB");
 * ```
 */
export const SIM_ARENA_MAX_BYTES = 2 ** 32;

/** Options of the page heap. */
export interface MHeapOptions {
  /** Page size in bytes. */
  pageSize: number;
  /** Address of the first page. */
  arenaStart: number;
  /** Most bytes of address space the heap may map (at most {@link SIM_ARENA_MAX_BYTES} are). */
  arenaMaxBytes: number;
  /** Growth granularity in bytes. */
  growBytes: number;
  /** How a free run is chosen. */
  policy: PagePolicy;
  /** Fatal limit on bytes in use by spans (0 = none). */
  hardLimit?: number;
  /**
   * Keep {@link MHeap.mem} and {@link MHeap.bits} in one WebAssembly
   * memory, where the mark's WebAssembly drain reads them (default true);
   * false: plain typed arrays, and the mark drains in JavaScript.
   */
  linearMemory?: boolean;
}

/** Bytes of a WebAssembly page. */
const WASM_PAGE = 65536;
/** The most bytes a (32-bit) WebAssembly memory holds. */
const WASM_MAX_BYTES = 65536 * WASM_PAGE;
/**
 * Bytes of the mark's work space (mgcmark_wasm.ts's layout) for a heap of
 * `n` words in pages of `pageSize` bytes, at the most: the header, the
 * work list's 8 bytes per pointerful slot (a slot may be a single word:
 * 8-byte pointer objects), and per span (at least a page) its record, its
 * page-table entries and its alloc and mark bits (a 4-byte word of each
 * per 32 slots, rounded up). Untouched, they cost address space, not
 * memory.
 */
function _markScratchBytes(n: number, pageSize: number): number {
  const pages = Math.ceil(8 * n / pageSize);
  return H.size + 8 + 8 * (n + SMALL_WORDS) + n / 4 +
    (SPAN_BYTES + 4 + 8) * pages;
}

/**
 * The page heap.
 *
 * @example
 * ```ts
 * import { MHeap } from "../../mod.ts";
 * const h = new MHeap({ pageSize: 8192, arenaStart: 0xc000000000, arenaMaxBytes: 2 ** 30, growBytes: 4 << 20, policy: "first-fit" });
 * const a = h.allocSpan(2, 4096);
 * const b = h.allocSpan(1, 100);
 * h.freeSpan(a);
 * if (h.allocSpan(1, 8).startAddr !== 0xc000000000 || h.spanOf(b.startAddr + 5) !== b) throw new Error("mheap");
 * ```
 */
export class MHeap {
  /** Page size in bytes. */
  readonly pageSize: number;
  /** Address of page 0. */
  readonly arenaStart: number;
  /** Mapped pages (`HeapSys / pageSize`). */
  mappedPages = 0;
  /** Pages held by in-use spans. */
  pagesInUse = 0;
  /** Current sweep generation, +2 per GC (reference 9.2). */
  sweepgen = 0;
  /** Fatal limit on bytes in use (0 = none). */
  hardLimit: number;
  readonly #maxPages: number;
  /** Whether #maxPages is the simulator's cap, not the preset's arena. */
  readonly #capped: boolean;
  readonly #growPages: number;
  readonly #bestFit: boolean;
  readonly #invPageSize: number;
  /** Free runs, sorted by start page: starts and lengths. */
  #freeStart: number[] = [];
  #freeLen: number[] = [];
  /**
   * Page index → span, for every page of every in-use span; one entry per
   * mapped page (undefined when free), so the array stays packed.
   */
  #spans: (MSpan | undefined)[] = [];
  /** Mapped bytes, for `spanOf`'s range check. */
  #mappedBytes = 0;
  /** The arrays of freed small spans, for the next span of their class. */
  readonly arrayPool: SpanArrayPool = new SpanArrayPool();
  /**
   * The heap's memory, one float per 8-byte word, indexed by heap offset / 8
   * (pointer words hold addresses): a store or load finds its word from its
   * offset alone, with no span in between. It covers the heap up to the end
   * of the highest pointerful span ({@link allocSpan}'s `scan`); only
   * pointerful spans' words are ever read or written.
   */
  mem: Float64Array = new Float64Array(0);
  /**
   * The heap bitmap, one byte per word of {@link mem}: 1 for each pointer
   * word of a live object (Go's heap bits, set at allocation by
   * `heapBitsSetType`), and 0 elsewhere — cleared again when the object is
   * freed, or when a mark condemns it (unmarked in a span not yet swept),
   * so that a word's liveness too is found from its offset alone.
   */
  bits: Uint8Array = new Uint8Array(0);
  /**
   * The WebAssembly memory that holds {@link mem} (from byte 0) and
   * {@link bits} (after it), then the mark's work space
   * ({@link scratch}); null when the heap keeps plain typed arrays (the
   * `linearMemory` option, or a heap past what a 32-bit memory holds).
   * Each growth of the heap makes a new one (see {@link #coverLinear}).
   */
  memory: WebAssembly.Memory | null = null;
  /** False once the heap keeps plain typed arrays. */
  #linear: boolean;
  /**
   * The first byte never used by a span (Go's `heapArena.zeroedBase`):
   * memory above it is still zero, so a span there needs no zeroing.
   */
  #zeroedBase = 0;

  /** Makes an empty page heap; nothing is mapped until the first span. */
  constructor(opts: MHeapOptions) {
    this.pageSize = opts.pageSize;
    this.arenaStart = opts.arenaStart;
    this.#maxPages = Math.floor(
      Math.min(opts.arenaMaxBytes, SIM_ARENA_MAX_BYTES) / opts.pageSize,
    );
    this.#capped = opts.arenaMaxBytes > SIM_ARENA_MAX_BYTES;
    this.#growPages = Math.max(1, Math.floor(opts.growBytes / opts.pageSize));
    this.#bestFit = opts.policy === "best-fit";
    this.#invPageSize = 1 / opts.pageSize;
    this.hardLimit = opts.hardLimit ?? 0;
    this.#linear = opts.linearMemory ?? true;
  }

  /** Bytes held by in-use spans (`HeapInuse`). */
  get heapInuse(): number {
    return this.pagesInUse * this.pageSize;
  }

  /** Mapped heap bytes (`HeapSys`). */
  get heapSys(): number {
    return this.mappedPages * this.pageSize;
  }

  /** The free runs of pages, in address order (for inspection). */
  freeRunList(): { startAddr: number; npages: number }[] {
    return this.#freeStart.map((p, i) => ({
      startAddr: this.arenaStart + p * this.pageSize,
      npages: this.#freeLen[i],
    }));
  }

  /** Number of free runs (for tests and statistics). */
  get freeRuns(): number {
    return this.#freeStart.length;
  }

  /**
   * Takes a run of `npages` pages for a new in-use span (the caller `init`s
   * its objects). `requested` names the user's request in errors; `scan`
   * says the span will hold pointerful objects, whose words {@link mem} and
   * {@link bits} must cover. The span's `needzero` says whether its pages
   * were used before (`allocNeedsZero`).
   *
   * @throws {OutOfMemoryError} when the hard limit or the address space
   *   would be exceeded; nothing is changed then.
   */
  allocSpan(npages: number, requested: number, scan = false): MSpan {
    if (this.hardLimit > 0) {
      const after = (this.pagesInUse + npages) * this.pageSize;
      if (after > this.hardLimit) {
        throw new OutOfMemoryError(
          `out of memory: allocating ${requested} bytes needs ${npages} more page(s) of ${this.pageSize} bytes, ` +
            `which would put the heap at ${after} bytes; ${this.heapInuse} bytes are in use and the hard limit is ${this.hardLimit}`,
          requested,
          this.heapInuse,
        );
      }
    }
    let run = this.#findRun(npages);
    if (run < 0) {
      this.#grow(npages, requested);
      run = this.#findRun(npages);
    }
    const start = this.#freeStart[run];
    const len = this.#freeLen[run];
    if (len === npages) {
      this.#freeStart.splice(run, 1);
      this.#freeLen.splice(run, 1);
    } else {
      this.#freeStart[run] = start + npages;
      this.#freeLen[run] = len - npages;
    }
    const span = new MSpan(
      this.arenaStart + start * this.pageSize,
      npages,
      this.pageSize,
      start * this.pageSize,
    );
    span.state = SpanState.InUse;
    for (let p = start; p < start + npages; p++) this.#spans[p] = span;
    this.pagesInUse += npages;
    const end = (start + npages) * this.pageSize;
    span.needzero = span.base < this.#zeroedBase;
    if (end > this.#zeroedBase) this.#zeroedBase = end;
    if (scan && end > this.bits.length * 8) this.#cover(end);
    return span;
  }

  /**
   * Grows {@link mem} and {@link bits} to cover the first `end` bytes of the
   * arena, at least doubling them (at most to the arena's end): a growth
   * copies them, so they grow ahead of the mapped heap instead of with
   * each of its 4 MiB steps (a copy of the whole heap each time was 2.6%
   * of binary-trees at depth 18). Words past the mapped heap stay zero,
   * untouched.
   */
  #cover(end: number): void {
    const n = Math.min(
      Math.max(end / 8, this.bits.length * 2, 4096),
      this.#maxPages * this.pageSize / 8,
    );
    if (this.#linear && this.#coverLinear(n)) return;
    this.mem = grown(this.mem, n);
    this.bits = grown(this.bits, n);
  }

  /**
   * {@link #cover} in a WebAssembly memory: a new one, sized for `n` words,
   * their bits and the mark's work space ({@link _markScratchBytes}), the words and bits copied into it, as `grown` copies the
   * plain arrays. A memory is never grown: growing detaches its buffer,
   * and the first detached buffer in an isolate turns off V8's assumption
   * that none is, after which every typed-array access of the program
   * checks for it (+14 % instructions in binary-trees depth 14). Neither
   * way of growing one memory in place paid (cachegrind, depth 14 checked,
   * `--single-threaded`, against 3,311 M here): a shared memory (maximum
   * 4 GiB, grown in place, bits moved up, one mark instance for the
   * heap's life, fills through the module's `memory.fill`) 3,349 M
   * (+1.1 %; trusted +1.2 %; depth 16 +2.0 %, 13,501 M against 13,237 M),
   * most of it in the WebAssembly drain over it: with the JavaScript drain
   * on both sides, shared +0.3 % (depth 16 +0.5 %). A WebAssembly load
   * from a shared memory costs more (a micro of 20 M i32.loads: +1.3
   * instructions each in Liftoff, which runs the drain, +0.5 in TurboFan). TypedArray#fill over a shared buffer
   * stores element by element (+0.4 instructions a byte). A resizable
   * buffer (`toResizableBuffer`) +26 %. False (the heap now keeps plain
   * typed arrays, copies of these) when that does not fit a 32-bit memory
   * or the memory cannot be had.
   */
  #coverLinear(n: number): boolean {
    const bytes = 9 * n + _markScratchBytes(n, this.pageSize);
    let memory: WebAssembly.Memory | null = null;
    if (bytes <= WASM_MAX_BYTES) {
      try {
        memory = new WebAssembly.Memory({
          initial: Math.ceil(bytes / WASM_PAGE),
        });
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    }
    if (memory === null) {
      this.#linear = false;
      this.memory = null;
      return false;
    }
    const buf = memory.buffer;
    const mem = new Float64Array(buf, 0, n);
    const bits = new Uint8Array(buf, 8 * n, n);
    mem.set(this.mem);
    bits.set(this.bits);
    this.memory = memory;
    this.mem = mem;
    this.bits = bits;
    return true;
  }

  /**
   * The byte offset of `bytes` of work space in {@link memory}, past the
   * heap bits, or -1 without a memory or when it holds less. Its content
   * is the caller's until the heap next grows.
   */
  scratch(bytes: number): number {
    if (this.memory === null) return -1;
    const start = 9 * this.bits.length;
    return start + bytes <= this.memory.buffer.byteLength ? start : -1;
  }

  /** Returns a span's pages to the heap, coalescing with free neighbours. */
  freeSpan(span: MSpan): void {
    if (span.state !== SpanState.InUse) {
      throw new Error(
        `mheap.freeSpan: span at 0x${
          span.startAddr.toString(16)
        } is not in use`,
      );
    }
    span.state = SpanState.Dead;
    const start = (span.startAddr - this.arenaStart) / this.pageSize;
    const n = span.npages;
    for (let p = start; p < start + n; p++) this.#spans[p] = undefined;
    this.arrayPool.put(span, this.mappedPages);
    this.pagesInUse -= n;
    this.#insertFree(start, n);
  }

  /** The in-use span containing `addr`, or undefined. */
  spanOf(addr: number): MSpan | undefined {
    return this.spanOfOff(addr - this.arenaStart);
  }

  /**
   * The in-use span containing the byte `off` bytes into the arena (an
   * address minus {@link arenaStart}), or undefined.
   */
  spanOfOff(off: number): MSpan | undefined {
    // Past the range check the page index is below 2^31: truncate as int32.
    if (!(off >= 0 && off < this.#mappedBytes)) return undefined;
    return this.#spans[(off * this.#invPageSize) | 0];
  }

  /**
   * The page table behind {@link spanOfOff}, for a loop that looks up many
   * spans while the heap does not grow (the mark's drain): page index →
   * span, one entry per mapped page. The array is the heap's own; read it,
   * never change it.
   */
  get pageSpans(): readonly (MSpan | undefined)[] {
    return this.#spans;
  }

  /** Mapped bytes: {@link pageSpans} covers offsets below this. */
  get mappedBytes(): number {
    return this.#mappedBytes;
  }

  /** `1 / pageSize`: a page index is `(off * invPageSize) | 0`. */
  get invPageSize(): number {
    return this.#invPageSize;
  }

  /** Visits every in-use span once, in address order. */
  forEachSpan(fn: (s: MSpan) => void): void {
    const spans = this.#spans;
    for (let p = 0; p < spans.length;) {
      const s = spans[p];
      if (s === undefined) {
        p++;
        continue;
      }
      fn(s);
      p += s.npages;
    }
  }

  #findRun(npages: number): number {
    const lens = this.#freeLen;
    if (!this.#bestFit) {
      for (let i = 0; i < lens.length; i++) if (lens[i] >= npages) return i;
      return -1;
    }
    let best = -1;
    for (let i = 0; i < lens.length; i++) {
      if (lens[i] >= npages && (best < 0 || lens[i] < lens[best])) best = i;
    }
    return best;
  }

  #grow(npages: number, requested: number): void {
    const ask = Math.ceil(npages / this.#growPages) * this.#growPages;
    if (this.mappedPages + ask > this.#maxPages) {
      throw new OutOfMemoryError(
        `out of memory: allocating ${requested} bytes needs ${ask} more page(s), past the ${
          this.#maxPages * this.pageSize
        }-byte address space of the heap${
          this.#capped ? " (the simulator holds at most 4 GiB)" : ""
        }; ${this.heapInuse} bytes are in use`,
        requested,
        this.heapInuse,
      );
    }
    const start = this.mappedPages;
    this.mappedPages += ask;
    this.#mappedBytes = this.mappedPages * this.pageSize;
    for (let p = 0; p < ask; p++) this.#spans.push(undefined);
    this.#insertFree(start, ask);
  }

  #insertFree(start: number, n: number): void {
    const starts = this.#freeStart;
    const lens = this.#freeLen;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    const prev = lo - 1;
    const joinPrev = prev >= 0 && starts[prev] + lens[prev] === start;
    const joinNext = lo < starts.length && start + n === starts[lo];
    if (joinPrev && joinNext) {
      lens[prev] += n + lens[lo];
      starts.splice(lo, 1);
      lens.splice(lo, 1);
    } else if (joinPrev) {
      lens[prev] += n;
    } else if (joinNext) {
      starts[lo] = start;
      lens[lo] += n;
    } else {
      starts.splice(lo, 0, start);
      lens.splice(lo, 0, n);
    }
  }
}
