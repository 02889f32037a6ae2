/**
 * The simulated Go runtime: the heap (`mheap`, one `mcentral` per span
 * class, one `mcache` per P), the type registry, `mallocgc` and the
 * statistics `runtime.ReadMemStats` reports. Pure and synchronous.
 *
 * @module
 */

import { emptymspan, MCache } from "./mcache.ts";
import { MCentral } from "./mcentral.ts";
import { MHeap } from "./mheap.ts";
import { makeSpanClass, type MSpan, numSpanClasses } from "./mspan.ts";
import { getPreset, type Preset, sizeClassesOf } from "./presets.ts";
import { MAX_SMALL_SIZE, type SizeClassTable } from "./sizeclasses.ts";
import { type GoType, TypeRegistry } from "./types.ts";

/** `maxAlloc` on linux/amd64: the largest allocation Go accepts (2^48 bytes). */
export const MAX_ALLOC = 2 ** 48;
/** `maxTinySize`: the tiny block size. */
export const TINY_SIZE = 16;
/** `tinySpanClass`: size class 2, noscan. */
export const TINY_SPAN_CLASS = makeSpanClass(2, true);

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** Preset name: `go1.19` (default) or `go1.2-seed`. */
  preset?: string;
  /** Number of Ps, each with its own mcache (default: the preset's). */
  gomaxprocs?: number;
  /** Fatal heap limit in bytes: an allocation that would take the heap past it throws. 0 = none. */
  heapLimit?: number;
}

/** Called after an allocation, when listening (see {@link Runtime.onAlloc}). */
export type AllocListener = (
  addr: number,
  size: number,
  typ: GoType | null,
  requested: number,
  p: number,
) => void;

/** Called after an object is freed, when listening. */
export type FreeListener = (addr: number, size: number) => void;

/** The `runtime.MemStats` fields the model keeps. */
export interface MemStats {
  /** Bytes of allocated heap objects (same as HeapAlloc). */
  Alloc: number;
  /** Cumulative bytes allocated for heap objects. */
  TotalAlloc: number;
  /** Cumulative count of heap objects allocated (tiny allocations included, as Go counts them). */
  Mallocs: number;
  /** Cumulative count of heap objects freed (tiny allocations included, as Go counts them). */
  Frees: number;
  /** Bytes of allocated heap objects. */
  HeapAlloc: number;
  /** Bytes of heap memory obtained from the OS. */
  HeapSys: number;
  /** Bytes in idle (unused) spans. */
  HeapIdle: number;
  /** Bytes in in-use spans. */
  HeapInuse: number;
  /** Bytes returned to the OS (the model has no scavenger: 0). */
  HeapReleased: number;
  /** Number of allocated heap objects. */
  HeapObjects: number;
  /** Target heap size of the next GC cycle. */
  NextGC: number;
  /** Number of completed GC cycles. */
  NumGC: number;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/**
 * A simulated Go runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * const rt = new Runtime({ preset: "go1.19" });
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const a = rt.newobject(node);
 * const b = rt.newobject(node);
 * if (a !== 0xc000000000 || b !== a + 16) throw new Error("addresses");
 * if (rt.readMemStats().HeapAlloc !== 32) throw new Error("stats");
 * ```
 */
export class Runtime {
  /** The preset this runtime models. */
  readonly preset: Preset;
  /** Its size-class table. */
  readonly sizeclasses: SizeClassTable;
  /** The page heap. */
  readonly heap: MHeap;
  /** One mcentral per span class. */
  readonly central: MCentral[];
  /** One mcache per P. */
  readonly mcaches: MCache[];
  /** The type registry. */
  readonly types: TypeRegistry;
  /** GOMAXPROCS. */
  readonly gomaxprocs: number;
  /** Listener for allocations (null: the fast path emits nothing). */
  onAlloc: AllocListener | null = null;
  /** Listener for frees. */
  onFree: FreeListener | null = null;

  /** Slot allocations (`nMalloc` without tiny allocations). */
  nMalloc = 0;
  /** Slot frees. */
  nFree = 0;
  /** Cumulative bytes allocated. */
  totalAlloc = 0;
  /** Bytes of live objects. */
  heapAlloc = 0;
  /** Completed GC cycles. */
  numGC = 0;
  /** Heap goal of the next cycle. */
  nextGC: number;
  /** Slot allocations per size class (class 0 = large objects). */
  readonly allocsByClass: Float64Array;
  /** Slot frees per size class. */
  readonly freesByClass: Float64Array;

  readonly #tiny: boolean;
  readonly #pageSize: number;
  readonly #zerobase: number;
  readonly #classToSize: Int32Array;
  readonly #sizeToClass8: Uint8Array;
  readonly #sizeToClass128: Uint8Array;

  /**
   * Makes a runtime with an empty heap.
   *
   * @throws {RangeError} for an unknown preset, a bad GOMAXPROCS or heap limit.
   */
  constructor(opts: RuntimeOptions = {}) {
    this.preset = getPreset(opts.preset ?? "go1.19");
    const procs = opts.gomaxprocs ?? this.preset.defaultGomaxprocs;
    if (!Number.isInteger(procs) || procs < 1 || procs > 256) {
      throw new RangeError(
        `GOMAXPROCS must be an integer from 1 to 256, got ${procs}`,
      );
    }
    const limit = opts.heapLimit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(
        `heap limit must be a non-negative number of bytes, got ${limit}`,
      );
    }
    this.gomaxprocs = procs;
    this.sizeclasses = sizeClassesOf(this.preset);
    const sc = this.sizeclasses;
    this.heap = new MHeap({
      pageSize: this.preset.pageSize,
      arenaStart: this.preset.arenaStart,
      arenaMaxBytes: this.preset.arenaMaxBytes,
      growBytes: this.preset.heapGrowBytes,
      policy: this.preset.pagePolicy,
      hardLimit: limit,
    });
    const nspc = numSpanClasses(sc.numClasses);
    this.central = [];
    for (let spc = 0; spc < nspc; spc++) {
      const c = spc >>> 1;
      this.central.push(
        new MCentral(
          spc,
          sc.classToSize[c],
          sc.classToAllocNPages[c],
          sc.classToNElems[c],
        ),
      );
    }
    this.mcaches = [];
    for (let p = 0; p < procs; p++) this.mcaches.push(new MCache(p, nspc));
    this.types = new TypeRegistry(this.preset.typeSegmentStart);
    this.nextGC = this.preset.heapMinimum;
    this.allocsByClass = new Float64Array(sc.numClasses);
    this.freesByClass = new Float64Array(sc.numClasses);
    this.#tiny = this.preset.tinyAllocator;
    this.#pageSize = this.preset.pageSize;
    this.#zerobase = this.preset.zerobase;
    this.#classToSize = sc.classToSize;
    this.#sizeToClass8 = sc.sizeToClass8;
    this.#sizeToClass128 = sc.sizeToClass128;
  }

  /** Address returned for every zero-size allocation (`runtime.zerobase`). */
  get zerobase(): number {
    return this.#zerobase;
  }

  /**
   * Allocates `size` bytes of type `typ` (null: untyped, pointer-free) on P
   * `p`, as Go's `mallocgc`: zero-size requests get `zerobase`, small
   * noscan requests under 16 bytes share tiny blocks (go1.19), small ones
   * come from the P's span of their class, large ones get a span of their
   * own. Returns the object's address.
   *
   * @throws {RangeError} for a size that is not an integer in [0, 2^48] or a bad P.
   * @throws {TypeError} for a type that is not from this runtime's registry.
   * @throws {OutOfMemoryError} past the hard heap limit.
   */
  mallocgc(size: number, typ: GoType | null, needzero = true, p = 0): number {
    if (!(size >= 0 && size <= MAX_ALLOC) || Math.floor(size) !== size) {
      throw new RangeError(
        `mallocgc: size must be an integer from 0 to 2^48 bytes, got ${size}`,
      );
    }
    const c = this.mcaches[p];
    if (c === undefined) {
      throw new RangeError(
        `mallocgc: P ${p} does not exist (GOMAXPROCS is ${this.gomaxprocs})`,
      );
    }
    if (typ !== null && this.types.byId(typ.id) !== typ) {
      throw new TypeError(
        `mallocgc: type ${
          (typ as GoType)?.name ?? String(typ)
        } is not registered with this runtime`,
      );
    }
    void needzero;
    if (size === 0) return this.#zerobase;
    const requested = size;
    const noscan = typ === null || typ.noscan;
    let x: number;
    let span: MSpan;
    let idx: number;
    if (size <= MAX_SMALL_SIZE) {
      let spc: number;
      const tiny = noscan && size < TINY_SIZE && this.#tiny;
      if (tiny) {
        let off = c.tinyoffset;
        if ((size & 7) === 0) off = (off + 7) & ~7;
        else if ((size & 3) === 0) off = (off + 3) & ~3;
        else if ((size & 1) === 0) off = (off + 1) & ~1;
        if (off + size <= TINY_SIZE && c.tiny !== 0) {
          c.tinyoffset = off + size;
          c.tinyAllocs++;
          return c.tiny + off;
        }
        spc = TINY_SPAN_CLASS;
      } else {
        const sizeclass = size <= 1016
          ? this.#sizeToClass8[(size + 7) >>> 3]
          : this.#sizeToClass128[(size - 1024 + 127) >>> 7];
        spc = (sizeclass << 1) | (noscan ? 1 : 0);
      }
      span = c.alloc[spc];
      idx = span.nextFreeIndex();
      if (idx === span.nelems) {
        span = this.#refill(c, spc);
        idx = span.nextFreeIndex();
      }
      span.allocBits[idx >>> 5] |= 1 << (idx & 31);
      span.freeindex = idx + 1;
      span.allocCount++;
      size = span.elemsize;
      x = span.startAddr + idx * size;
      if (tiny) {
        if (requested < c.tinyoffset || c.tiny === 0) {
          c.tiny = x;
          c.tinyoffset = requested;
        }
      }
      this.allocsByClass[spc >>> 1]++;
    } else {
      span = this.#largeAlloc(size, noscan);
      idx = 0;
      size = span.elemsize;
      x = span.startAddr;
      this.allocsByClass[0]++;
    }
    if (span.types !== null) span.types[idx] = (typ as GoType).id + 1;
    this.nMalloc++;
    this.totalAlloc += size;
    this.heapAlloc += size;
    if (this.onAlloc !== null) this.onAlloc(x, size, typ, requested, p);
    return x;
  }

  /**
   * Allocates one object of type `typ` (`runtime.newobject`).
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
   * const p = rt.newobject(t);
   * if (rt.sizeOf(p) !== 64) throw new Error("size class");
   * ```
   */
  newobject(typ: GoType, p = 0): number {
    return this.mallocgc(typ.size, typ, true, p);
  }

  /**
   * Allocates the backing array of `make([]elem, n)` (`runtime.makeslice`);
   * the allocation's type is the element type, as in Go.
   *
   * @throws {RangeError} for a negative or non-integer length.
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const p = rt.makeslice(rt.types.get("uint8"), 40000);
   * if (rt.sizeOf(p) !== 0xa000) throw new Error("large object rounding");
   * ```
   */
  makeslice(elem: GoType, n: number, p = 0): number {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(
        `makeslice: len must be a non-negative integer, got ${n}`,
      );
    }
    return this.mallocgc(elem.size * n, elem, true, p);
  }

  /**
   * The span holding the live object that starts at `addr`.
   *
   * @throws {RangeError} naming the address, and the object it falls in if
   *   any, when `addr` is not the start of a live heap object.
   */
  objectSpan(addr: number): MSpan {
    const span = this.heap.spanOf(addr);
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

  /** The rounded size of the live object at `addr` (throws like {@link objectSpan}). */
  sizeOf(addr: number): number {
    return this.objectSpan(addr).elemsize;
  }

  /**
   * Frees the live object at `addr` at once, the model's analogue of Go
   * 1.2's `runtime·free` (replay and tests use it; with a collector, sweep
   * frees what became unreachable). The slot becomes reusable when its span
   * is next cached; an empty span that no mcache holds goes back to the heap.
   * A tiny block is freed whole, by its address.
   *
   * @throws {RangeError} when `addr` is not the start of a live object.
   */
  free(addr: number): void {
    const span = this.objectSpan(addr);
    const i = span.objIndex(addr);
    const size = span.elemsize;
    span.allocBits[i >>> 5] &= ~(1 << (i & 31));
    span.allocCount--;
    span.needzero = true;
    if (span.types !== null) span.types[i] = 0;
    this.nFree++;
    this.heapAlloc -= size;
    this.freesByClass[span.sizeclass]++;
    if (span.spanclass === TINY_SPAN_CLASS) {
      for (const c of this.mcaches) {
        if (c.tiny === addr) {
          c.tiny = 0;
          c.tinyoffset = 0;
        }
      }
    }
    if (span.cachedBy < 0) {
      const central = this.central[span.spanclass];
      const sg = this.heap.sweepgen;
      if (span.allocCount === 0) {
        span.spanSet?.remove(span);
        this.heap.freeSpan(span);
      } else if (span.spanSet === central.fullSwept(sg)) {
        span.spanSet.remove(span);
        central.partialSwept(sg).push(span);
      }
    }
    if (this.onFree !== null) this.onFree(addr, size);
  }

  /** Statistics in the shape of `runtime.MemStats`. */
  readMemStats(): MemStats {
    let tinyAllocs = 0;
    for (const c of this.mcaches) tinyAllocs += c.tinyAllocs;
    const inuse = this.heap.heapInuse;
    const sys = this.heap.heapSys;
    return {
      Alloc: this.heapAlloc,
      TotalAlloc: this.totalAlloc,
      Mallocs: this.nMalloc + tinyAllocs,
      Frees: this.nFree + tinyAllocs,
      HeapAlloc: this.heapAlloc,
      HeapSys: sys,
      HeapIdle: sys - inuse,
      HeapInuse: inuse,
      HeapReleased: 0,
      HeapObjects: this.nMalloc - this.nFree,
      NextGC: this.nextGC,
      NumGC: this.numGC,
    };
  }

  /** Gives the P's current span of class `spc` back and caches another (`mcache.refill`). */
  #refill(c: MCache, spc: number): MSpan {
    const old = c.alloc[spc];
    const central = this.central[spc];
    if (old.nelems !== 0) {
      c.alloc[spc] = emptymspan;
      central.uncacheSpan(this.heap, old);
    }
    const s = central.cacheSpan(this.heap, c.p);
    c.alloc[spc] = s;
    return s;
  }

  #largeAlloc(size: number, noscan: boolean): MSpan {
    const npages = Math.ceil(size / this.#pageSize);
    const span = this.heap.allocSpan(npages, size);
    const spc = makeSpanClass(0, noscan);
    span.init(spc, npages * this.#pageSize, 1);
    span.allocBits[0] = 1;
    span.allocCount = 1;
    span.freeindex = 1;
    span.largeRequested = size;
    span.sweepgen = this.heap.sweepgen;
    this.central[spc].fullSwept(this.heap.sweepgen).push(span);
    return span;
  }

  /** The class size for a small request, as mallocgc would round it (for tests and tools). */
  roundupsize(size: number): number {
    if (size > MAX_SMALL_SIZE) {
      return Math.ceil(size / this.#pageSize) * this.#pageSize;
    }
    return this.#classToSize[this.sizeclasses.sizeToClass(size)];
  }
}
