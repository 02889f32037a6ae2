/**
 * `mspan`: a run of pages holding objects of one span class (or one large
 * object). Fields follow Go 1.19's `mspan` (reference section 9.1).
 *
 * One deliberate difference: `allocBits` is kept exact ("this slot holds a
 * live object now"), where Go leaves new allocations out of it until the
 * next sweep and relies on `freeindex` instead. Both give the same
 * allocation order; the exact bitmap lets sweeping, explicit frees and the
 * invariants be checked from the span alone.
 *
 * @module
 */

/**
 * The set that holds a span (mcentral.ts's `SpanSet`), as far as the span
 * knows it: declared here so that mspan, below mcentral, does not import it.
 */
export interface SpanSetRef {
  /** Removes the span from the set. */
  remove(s: MSpan): void;
}
import { ctz32, popcount32 } from "./sys.ts";
import type { Bucket } from "./mprof.ts";

/** Span states (`mSpanState`): `Dead` (pages free in the page heap) or `InUse`. */
export const SpanState = { Dead: 0, InUse: 1 } as const;
/** A span state value. */
export type SpanState = typeof SpanState[keyof typeof SpanState];

/** `spanClass = sizeclass<<1 | noscan`. */
export function makeSpanClass(sizeclass: number, noscan: boolean): number {
  return (sizeclass << 1) | (noscan ? 1 : 0);
}

/** Number of span classes (`numSpanClasses`) for a table of `numClasses` size classes. */
export function numSpanClasses(numClasses: number): number {
  return numClasses << 1;
}

/**
 * Special records of one object (`special` in Go): a finalizer and/or the
 * heap-profile bucket of a sampled object.
 */
export interface Special {
  /** Finalizer to queue when the object is found unreachable. */
  finalizer?: (addr: number) => void;
  /** Profile bucket of a sampled object (reported to the profiler when freed). */
  profile?: Bucket;
}

/**
 * The bitmaps of a span not yet `init`ed: shared, being empty (a new span
 * making two empty typed arrays was 2% of binary-trees' time).
 */
const NO_BITS = new Uint32Array(0);

/**
 * A span. Made by the page heap; fields are public for speed and for
 * inspection, and only the runtime changes them.
 *
 * @example
 * ```ts
 * import { MSpan } from "../../mod.ts";
 * const s = new MSpan(0xc000000000, 1, 8192);
 * s.init(13, 16, 512);
 * if (s.nextFreeIndex() !== 0 || s.limit !== 0xc000002000) throw new Error("span");
 * ```
 */
export class MSpan {
  /** First byte of the span (`base()`). */
  startAddr: number;
  /**
   * Offset of `startAddr` from the heap's arena start: a small integer,
   * which V8 passes between functions unboxed where the 40-bit address
   * would be a heap number allocated at each call.
   */
  base: number;
  /** Length in pages. */
  npages: number;
  /** Page size of the heap it belongs to. */
  readonly pageSize: number;
  /** `sizeclass<<1 | noscan`. */
  spanclass = 0;
  /** Object size (class size, or npages·pageSize for a large object). */
  elemsize = 0;
  /** Number of object slots. */
  nelems = 0;
  /**
   * `divMul`, Go's reciprocal of `elemsize` (`^uint32(0)/elemsize + 1`):
   * {@link slotOf} divides by a multiply, exact for every byte of every
   * size class's span (a test checks each preset's table); 0 for a large
   * object's span.
   */
  divMul = 0;
  /** End of the last object. */
  limit = 0;
  /** Where the next free-slot search starts. */
  freeindex = 0;
  /** One bit per slot: set while the slot holds an object. */
  allocBits: Uint32Array = NO_BITS;
  /** One bit per slot, filled by the mark phase. */
  gcmarkBits: Uint32Array = NO_BITS;
  /** Number of set bits in `allocBits`. */
  allocCount = 0;
  /** `allocCount` when the span was cached (for statistics). */
  allocCountBeforeCache = 0;
  /** Sweep generation relative to `mheap.sweepgen` (reference 9.2). */
  sweepgen = 0;
  /** Span state. */
  state: SpanState = SpanState.Dead;
  /**
   * True when free slots may hold old data: the span's pages were used
   * before (set by the page heap), or it has freed objects since.
   */
  needzero = false;
  /** For a large object: the size that was requested. */
  largeRequested = 0;
  /** Per-slot type id (+1; 0 = untyped) for pointerful spans, else null. */
  types: Int32Array | null = null;
  /** The span set that holds the span, or null (cached, or not in mcentral). */
  spanSet: SpanSetRef | null = null;
  /** Index of the span in `spanSet`, or -1. */
  setIndex: number = -1;
  /** The P whose mcache holds the span, or -1. */
  cachedBy: number = -1;
  /**
   * Index of the span in the counters' list of cached spans (mstats.ts's
   * `HeapStats`), or -1: kept by `HeapStats` alone, across `init`.
   */
  statsIndex: number = -1;
  /** Objects marked by the current mark phase. */
  nmarked = 0;
  /** Special records by slot index (finalizers, profile buckets), or null. */
  specials: Map<number, Special> | null = null;

  /**
   * Makes a dead span over `npages` pages at `startAddr`, `base` bytes
   * into its heap's arena.
   */
  constructor(
    startAddr: number,
    npages: number,
    pageSize: number,
    base: number = 0,
  ) {
    this.startAddr = startAddr;
    // Stored as an int32 while it is one: a single double stored here (the
    // page heap's free list holds page numbers made by a division) makes V8
    // keep the field as a heap number, and every `base + idx * size` of the
    // allocation path then adds doubles and checks the sum back into a
    // small integer.
    this.base = base <= 0x7fffffff ? base | 0 : base;
    this.npages = npages;
    this.pageSize = pageSize;
  }

  /**
   * Sets the span up for `nelems` objects of `elemsize` bytes of span class
   * `spanclass`. Its bitmaps come from `pool` when it holds a set of this
   * shape (a freed span's), zeroed, else they are new. Its memory and heap
   * bits are the page heap's (`MHeap.mem`, `MHeap.bits`), left as they are:
   * `needzero` (set by the page heap) has each allocation clear its own.
   */
  init(
    spanclass: number,
    elemsize: number,
    nelems: number,
    pool: SpanArrayPool | null = null,
  ): void {
    this.spanclass = spanclass;
    this.elemsize = elemsize;
    this.nelems = nelems;
    // A large object's span is its one slot (no tail): every offset is slot 0.
    this.divMul = spanclass >>> 1 === 0
      ? 0
      : Math.floor(0xffffffff / elemsize) + 1;
    this.limit = this.startAddr + elemsize * nelems;
    this.freeindex = 0;
    this.allocCount = 0;
    this.allocCountBeforeCache = 0;
    this.state = SpanState.InUse;
    this.largeRequested = 0;
    this.nmarked = 0;
    this.specials = null;
    this.spanSet = null;
    this.setIndex = -1;
    this.cachedBy = -1;
    if (pool !== null && pool.take(this)) return;
    const words = (nelems + 31) >>> 5;
    this.allocBits = new Uint32Array(words);
    this.gcmarkBits = new Uint32Array(words);
    this.types = (spanclass & 1) === 0 ? new Int32Array(nelems) : null;
  }

  /** Size class (0 for a large object). */
  get sizeclass(): number {
    return this.spanclass >>> 1;
  }

  /** True for spans of pointer-free objects. */
  get noscan(): boolean {
    return (this.spanclass & 1) === 1;
  }

  /** First byte after the span. */
  get end(): number {
    return this.startAddr + this.npages * this.pageSize;
  }

  /**
   * The first free slot at or after `freeindex`, or `nelems` when there is
   * none (`nextFreeIndex`): a word-at-a-time scan of the inverted bitmap.
   */
  nextFreeIndex(): number {
    const nelems = this.nelems;
    let i = this.freeindex;
    const bits = this.allocBits;
    while (i < nelems) {
      const w = i >>> 5;
      const free = ~bits[w] & (-1 << (i & 31));
      if (free !== 0) {
        const slot = (w << 5) + ctz32(free);
        return slot < nelems ? slot : nelems;
      }
      i = (w + 1) << 5;
    }
    return nelems;
  }

  /** True when slot `i` holds an object. */
  isAllocated(i: number): boolean {
    return (this.allocBits[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** Slot index of the object containing `addr` (no bounds check). */
  objIndex(addr: number): number {
    return Math.floor((addr - this.startAddr) / this.elemsize);
  }

  /**
   * Slot index of byte `off` of the span (`off` below 2^31): Go's
   * `divideByElemSize`, a multiply and a shift instead of a division. Past
   * the last object it is `nelems` or more.
   */
  slotOf(off: number): number {
    return (off * this.divMul * 2.3283064365386963e-10) | 0;
  }

  /** Counts the set bits of `allocBits` (for checks; the runtime keeps `allocCount`). */
  countAllocBits(): number {
    let n = 0;
    for (const w of this.allocBits) n += popcount32(w);
    return n;
  }
}

/** Pages of freed spans whose sets a pool keeps at most, by default. */
const POOL_MAX_PAGES = 256;

/**
 * The bitmaps and slot types of freed small spans, by span class, handed
 * to the next span of the same class instead of new typed arrays: making
 * five typed arrays per span was a tenth of binary-trees' time. A span
 * given a kept set has its bitmaps zeroed; its slot types are set object
 * by object as it allocates (`heapBitsSetType`), so nothing observable
 * changes.
 *
 * @example
 * ```ts
 * import { MSpan, SpanArrayPool } from "../../mod.ts";
 * const pool = new SpanArrayPool();
 * const a = new MSpan(0xc000000000, 1, 8192);
 * a.init(4, 16, 512, pool);
 * a.allocBits[0] = 1;
 * const bits = a.allocBits;
 * pool.put(a);
 * const b = new MSpan(0xc000002000, 1, 8192);
 * b.init(4, 16, 512, pool);
 * if (b.allocBits !== bits || b.allocBits[0] !== 0) throw new Error("pool");
 * ```
 */
export class SpanArrayPool {
  readonly #free: MSpanArrays[][] = [];
  /** Pages of the spans whose sets are kept. */
  #pages = 0;

  /**
   * Keeps the arrays of `s`, a small span being freed (large spans are not
   * kept), unless the pool already holds sets of `maxPages` pages: the heap
   * passes its mapped pages, so the pool never holds more than the heap
   * could use at once, and a sweep that frees many spans keeps them all
   * for the allocations that follow.
   */
  put(s: MSpan, maxPages: number = POOL_MAX_PAGES): void {
    const spc = s.spanclass;
    if (spc >>> 1 === 0 || s.nelems === 0) return;
    let list = this.#free[spc];
    if (list === undefined) {
      while (this.#free.length <= spc) this.#free.push([]);
      list = this.#free[spc];
    }
    if (this.#pages + s.npages > maxPages) return;
    this.#pages += s.npages;
    list.push({
      npages: s.npages,
      allocBits: s.allocBits,
      gcmarkBits: s.gcmarkBits,
      types: s.types,
    });
  }

  /**
   * Gives `s` (being `init`ed with its span class and size) a kept set of
   * its class, its bitmaps zeroed; false when there
   * is none.
   */
  take(s: MSpan): boolean {
    const list = this.#free[s.spanclass];
    if (list === undefined || list.length === 0) return false;
    const a = list.pop()!;
    this.#pages -= a.npages;
    a.allocBits.fill(0);
    a.gcmarkBits.fill(0);
    s.allocBits = a.allocBits;
    s.gcmarkBits = a.gcmarkBits;
    s.types = a.types;
    return true;
  }
}

/** The typed arrays of one span. */
interface MSpanArrays {
  npages: number;
  allocBits: Uint32Array;
  gcmarkBits: Uint32Array;
  types: Int32Array | null;
}
