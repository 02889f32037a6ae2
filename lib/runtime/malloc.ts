/**
 * The allocation path (Go's `malloc.go`): `mallocgc` with its tiny
 * allocator, small allocations from the P's mcache and large ones of their
 * own span, its fast path for a typed object nobody watches, the runtime
 * function `newobject` (the others are in slice.ts, chan.ts, map.ts and
 * string.ts), the sampling step (`profilealloc`), the GC trigger, and the
 * model's explicit `free`.
 *
 * @module
 */

import { noType } from "./argcheck.ts";
import { AllocKind } from "../stack/allockind.ts";
import { type Clock, COSTS } from "./clock.ts";
import type { EventHub } from "./events.ts";
import {
  findObject,
  heapBitsClear,
  heapBitsSetSmall,
  heapBitsSetType,
  MALLOC_HEADER_SIZE,
  MIN_SIZE_FOR_MALLOC_HEADER,
} from "./mbitmap.ts";
import type { MCache } from "./mcache.ts";
import type { MCentral, SpanSweeper } from "./mcentral.ts";
import type { Specials } from "./mfinal.ts";
import type { MHeap } from "./mheap.ts";
import type { Bucket, HeapProfile } from "./mprof.ts";
import { makeSpanClass, type MSpan } from "./mspan.ts";
import type { HeapStats } from "./mstats.ts";
import type { GCController } from "./pacer.ts";
import type { Preset } from "./presets.ts";
import type { Sched } from "./proc.ts";
import type { ProfileSampling } from "./sampling.ts";
import { MAX_SMALL_SIZE, type SizeClassTable } from "./sizeclasses.ts";
import { ctz32 } from "./sys.ts";
import type { AllocCallers } from "./traceback.ts";
import type { GoType, TypeRegistry } from "./types.ts";

/** `maxAlloc` on linux/amd64: the largest allocation Go accepts (2^48 bytes). */
export const MAX_ALLOC = 2 ** 48;
/** `maxTinySize`: the tiny block size. */
export const TINY_SIZE = 16;
/** `tinySpanClass`: size class 2, noscan. */
export const TINY_SPAN_CLASS: number = makeSpanClass(2, true);

/**
 * What mallocgc needs of the sweeper (sweep.ts's `Sweeper` has it): the
 * mcentral's needs and the background sweeper's turn at a refill.
 */
export interface MallocSweeper extends SpanSweeper {
  /** Lets the background sweeper catch up (`budget` spans; 0: to the clock). */
  bgsweep(budget: number): void;
}

/**
 * What mallocgc needs of the collector (gc.ts's `Collector` has it):
 * allocate-black during mark, and starting or finishing a cycle when the
 * heap reaches the trigger or the mark is done.
 */
export interface MallocGC {
  /** True during the mark phase. */
  readonly marking: boolean;
  /** True while a cycle is being started or finished (no nested trigger). */
  readonly inGC: boolean;
  /** GOGC (-1 = off). */
  readonly gcpercent: number;
  /** Marks an object allocated during the mark phase. */
  markNew(span: MSpan, i: number): void;
  /** Simulated time at which the running mark phase ends. */
  readonly markEndClock: number;
  /** True when the running mark phase is over. */
  markDone(): boolean;
  /** True when a cycle is due by time (sysmon's `forcegcperiod`). */
  timeTriggered(): boolean;
  /** `gcStart` from an allocation (`extraRoot`: the object being allocated). */
  startCycle(forced: boolean, extraRoot: number): void;
  /** `gcMarkDone`: finishes the running mark phase. */
  finishMark(): void;
}

/** What an allocation in progress notes for the sweeping and tracing it runs. */
interface _InProgress {
  kind: AllocKind;
  requested: number;
  typ: GoType | null;
}

/** The parts of a runtime the allocation path works on. */
export interface MallocParts {
  /** The preset (tiny allocator, allocation headers, zerobase, …). */
  preset: Preset;
  /** Its size classes. */
  sizeclasses: SizeClassTable;
  /** The page heap. */
  heap: MHeap;
  /** One mcentral per span class. */
  central: readonly MCentral[];
  /** One mcache per P. */
  mcaches: readonly MCache[];
  /** The type registry. */
  types: TypeRegistry;
  /** The counters MemStats reads. */
  stats: HeapStats;
  /** The simulated clock. */
  clock: Clock;
  /** The collector. */
  gc: MallocGC;
  /** The pacer (heapLive, trigger). */
  pacer: GCController;
  /** The sweeper. */
  sweeper: MallocSweeper;
  /** The scheduler (the running goroutine, GOMAXPROCS). */
  sched: Sched;
  /** The sampling policy. */
  sampling: ProfileSampling;
  /** The heap profile. */
  memprofile: HeapProfile;
  /** Allocation stacks for the profile. */
  callers: AllocCallers;
  /** Special records (profile buckets). */
  specials: Specials;
  /** The consumers. */
  events: EventHub;
}

/**
 * The allocator of one runtime; `Runtime` delegates to it.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const a = rt.mallocgc(8, null), b = rt.mallocgc(8, null); // one tiny block
 * if (b !== a + 8 || rt.readMemStats().HeapObjects !== 1) throw new Error("tiny");
 * ```
 */
export class Malloc {
  readonly #heap: MHeap;
  readonly #central: readonly MCentral[];
  readonly #mcaches: readonly MCache[];
  readonly #stats: HeapStats;
  readonly #clock: Clock;
  readonly #gc: MallocGC;
  readonly #pacer: GCController;
  readonly #sweeper: MallocSweeper;
  readonly #sched: Sched;
  readonly #sampling: ProfileSampling;
  readonly #memprofile: HeapProfile;
  readonly #callers: AllocCallers;
  readonly #specials: Specials;
  readonly #events: EventHub;
  readonly #sizeclasses: SizeClassTable;
  readonly #gomaxprocs: number;
  readonly #tiny: boolean;
  readonly #pageSize: number;
  readonly #arenaStart: number;
  readonly #zerobase: number;
  readonly #classToSize: Int32Array;
  readonly #checkEveryMalloc: boolean;
  readonly #typeList: readonly GoType[];
  readonly #sizeToClass8: Uint8Array;
  /** Go 1.22's allocation headers (see {@link mallocgc}). */
  readonly #allocHeaders: boolean;
  readonly #sizeToClass128: Uint8Array;
  #kindInProgress: AllocKind = AllocKind.mallocgc;
  #requestedInProgress = 0;
  #typInProgress: GoType | null = null;

  /** The allocator working on `parts`. */
  constructor(parts: MallocParts) {
    const { preset, sizeclasses: sc } = parts;
    this.#heap = parts.heap;
    this.#central = parts.central;
    this.#mcaches = parts.mcaches;
    this.#stats = parts.stats;
    this.#clock = parts.clock;
    this.#gc = parts.gc;
    this.#pacer = parts.pacer;
    this.#sweeper = parts.sweeper;
    this.#sched = parts.sched;
    this.#sampling = parts.sampling;
    this.#memprofile = parts.memprofile;
    this.#callers = parts.callers;
    this.#specials = parts.specials;
    this.#events = parts.events;
    this.#sizeclasses = sc;
    this.#gomaxprocs = parts.sched.gomaxprocs;
    this.#typeList = parts.types.list;
    this.#checkEveryMalloc = preset.gcCheckEveryMalloc;
    this.#tiny = preset.tinyAllocator;
    this.#allocHeaders = preset.allocHeaders;
    this.#pageSize = preset.pageSize;
    this.#arenaStart = parts.heap.arenaStart;
    this.#zerobase = preset.zerobase;
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
  mallocgc(
    size: number,
    typ: GoType | null,
    needzero = true,
    p = 0,
    kind: AllocKind = AllocKind.mallocgc,
  ): number {
    if (!(size >= 0 && size <= MAX_ALLOC) || Math.floor(size) !== size) {
      throw new RangeError(
        `mallocgc: size must be an integer from 0 to 2^48 bytes, got ${size}`,
      );
    }
    const c = this.#mcaches[p];
    if (c === undefined) {
      throw new RangeError(
        `mallocgc: P ${p} does not exist (GOMAXPROCS is ${this.#gomaxprocs})`,
      );
    }
    if (typ !== null && this.#typeList[typ.id] !== typ) {
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
    let shouldhelpgc = false;
    let x: number;
    let span: MSpan;
    let idx: number;
    // Go 1.22's allocation header (malloc.go): a small pointerful object
    // over 512 B is 8 bytes into a slot chosen for size + 8; sizes in the
    // last 8 bytes below 32 KiB go to large spans.
    let header = 0;
    let small = size <= MAX_SMALL_SIZE;
    if (this.#allocHeaders) {
      small = size <= MAX_SMALL_SIZE - MALLOC_HEADER_SIZE;
      if (small && !noscan && size > MIN_SIZE_FOR_MALLOC_HEADER) {
        header = MALLOC_HEADER_SIZE;
        size += header;
      }
    }
    if (small) {
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
          this.#clock.now += COSTS.allocTiny;
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
        // Sweeping done by this allocation reports its kind.
        const was = this.#begin(kind, requested, typ);
        span = this.#refill(c, spc);
        this.#end(was);
        idx = span.nextFreeIndex();
        shouldhelpgc = true;
      }
      span.allocBits[idx >>> 5] |= 1 << (idx & 31);
      span.freeindex = idx + 1;
      span.allocCount++;
      size = span.elemsize;
      x = span.startAddr + idx * size + header;
      if (tiny) {
        if (requested < c.tinyoffset || c.tiny === 0) {
          c.tiny = x;
          c.tinyoffset = requested;
        }
      }
    } else {
      // Sweeping done for this allocation (proportional, reclaimer) prints it.
      const was = this.#begin(kind, requested, typ);
      span = this.#largeAlloc(size, noscan);
      this.#end(was);
      idx = 0;
      size = span.elemsize;
      x = span.startAddr;
      shouldhelpgc = true;
    }
    if (span.types !== null) {
      // scanAlloc: scannable bytes the next cycle may have to scan.
      if (!this.#gc.marking) {
        this.#pacer.heapScan += this.#scanSize(
          typ as GoType,
          requested,
          header !== 0 || !small,
          size,
        );
      }
      heapBitsSetType(this.#heap, span, idx, typ as GoType, size, header);
    }
    // A small object is counted with its span's others when the span
    // leaves the mcache (or a counter is read): HeapStats.uncached.
    if (!small) this.#stats.countMalloc(0, size);
    this.#clock.now += COSTS.allocSmall + size * COSTS.allocByte;
    const gc = this.#gc;
    if (gc.marking) gc.markNew(span, idx);
    const sampling = this.#sampling;
    const mode = sampling.mode;
    if (mode !== 0) {
      // Go 1.19's countdown, in the mcache; the rest is out of line.
      const left = c.nextSample - size;
      if (mode === 1 && left > 0) c.nextSample = left;
      else if (sampling.due(size, p)) {
        this.#profilealloc(x, size, typ, requested, kind);
      }
    }
    const onAlloc = this.#events.alloc;
    // tracealloc prints the size without the header (malloc.go:1288).
    if (onAlloc !== null) {
      onAlloc(x, size - header, typ, kind, requested, this.#sched.curg, p);
    }
    if (
      (shouldhelpgc || this.#checkEveryMalloc ||
        // With another P the mark worker ends the mark on its own when its
        // time is up (gcMarkDone there, then stop-the-world), whichever
        // allocation the mutator is in, not only at a refill or large one.
        (gc.marking && this.#gomaxprocs > 1 &&
          this.#clock.now >= gc.markEndClock)) && !this.#gc.inGC
    ) {
      if (gc.marking) {
        if (gc.markDone()) this.#gc.finishMark();
      } else if (
        this.#pacer.heapLive >= this.#pacer.trigger || gc.timeTriggered()
      ) {
        const was = this.#begin(kind, requested, typ);
        this.#gc.startCycle(false, x);
        this.#end(was);
      }
    }
    return x;
  }

  /**
   * Notes the allocation whose refill, large span or GC start runs next, so
   * the sweeping or tracing done there reports it (see
   * {@link allocKindInProgress}), and returns the facts it replaces, which
   * the caller puts back with `#end` after the call (`mallocgc`
   * outside any allocation). Only around those calls, never once at the top
   * of mallocgc; and restored, not reset: `startCycle` allocates through
   * mallocgc itself (gcBgMarkStartWorkers), and that nested allocation's
   * facts must not stay in place of the outer one's for the rest of the
   * cycle's start, whatever reads them there and in whatever order.
   */
  #begin(kind: AllocKind, requested: number, typ: GoType | null): _InProgress {
    const was: _InProgress = {
      kind: this.#kindInProgress,
      requested: this.#requestedInProgress,
      typ: this.#typInProgress,
    };
    this.#kindInProgress = kind;
    this.#requestedInProgress = requested;
    this.#typInProgress = typ;
    return was;
  }

  /** Puts back the facts `#begin` replaced. */
  #end(was: _InProgress): void {
    this.#kindInProgress = was.kind;
    this.#requestedInProgress = was.requested;
    this.#typInProgress = was.typ;
  }

  /**
   * The bytes of a new object the next cycle may scan (`scanAlloc`): up to
   * the last pointer of its last element (malloc.go:1048–1061). Go 1.22
   * counts the whole slot of an object with an allocation header, large
   * ones included (`heapSetType`), and only the first word of a small
   * array of pointers (`writeHeapBitsSmall` never adds to it for them).
   */
  #scanSize(
    typ: GoType,
    dataSize: number,
    headerOrLarge: boolean,
    elemsize: number,
  ): number {
    if (this.#allocHeaders) {
      if (headerOrLarge) return elemsize;
      if (typ.size === 8) return typ.ptrdata;
    }
    return dataSize > typ.size
      ? dataSize - typ.size + typ.ptrdata
      : typ.ptrdata;
  }

  /** What mallocgc charges the clock for one object of each span class. */
  #allocCost: Float64Array = new Float64Array(0);

  /**
   * The span class of `typ`'s objects on {@link mallocFast}, cached on the
   * type (`GoType.setFastSpc`): -1 when its allocations always take the
   * full path (zero size, large, tiny, allocation header, or a preset that
   * checks for a GC at every allocation), and for a type not registered
   * with this runtime (not cached: mallocgc rejects it).
   */
  #fastSpcOf(typ: GoType): number {
    if (this.#typeList[typ.id] !== typ) return -1;
    const size = typ.size;
    const small = size <= MAX_SMALL_SIZE -
        (this.#allocHeaders ? MALLOC_HEADER_SIZE : 0);
    const header = this.#allocHeaders && !typ.noscan &&
      size > MIN_SIZE_FOR_MALLOC_HEADER;
    const tiny = typ.noscan && size < TINY_SIZE && this.#tiny;
    let spc = -1;
    if (size > 0 && small && !header && !tiny && !this.#checkEveryMalloc) {
      const sizeclass = size <= 1016
        ? this.#sizeToClass8[(size + 7) >>> 3]
        : this.#sizeToClass128[(size - 1024 + 127) >>> 7];
      spc = (sizeclass << 1) | (typ.noscan ? 1 : 0);
      if (this.#allocCost.length === 0) {
        const sizes = this.#classToSize;
        this.#allocCost = new Float64Array(sizes.length * 2);
        for (let i = 0; i < sizes.length * 2; i++) {
          this.#allocCost[i] = COSTS.allocSmall +
            sizes[i >>> 1] * COSTS.allocByte;
        }
      }
    }
    typ.setFastSpc(this, spc);
    return spc;
  }

  /**
   * The fast path of {@link mallocgc} for one object of a registered type
   * (`nextFreeFast` and the bookkeeping of an allocation nobody watches):
   * the address exactly as mallocgc would give it, less the arena start
   * (a small integer, returned unboxed), or -1 when the
   * allocation needs the full path (no free slot in the cached span, a
   * heap-profile sample due, an allocation consumer, a type or P that
   * mallocgc must check or treat apart). Its bytecode (476 bytes:
   * `--v8-flags=--print-bytecode,--print-bytecode-filter=mallocFast`) is over
   * V8's per-function inlining limit (460), so callers call it
   * (`--trace-turbo-inlining`); an earlier, smaller version that V8 did
   * inline into `newobjectOff` took 5% more instructions (cachegrind, depth
   * 15). Sending the word-full case to the full path brings it to 454
   * bytes, inlined here and there, for 0.6% fewer instructions in
   * binary-trees (depth 14) but a full mallocgc per bitmap word in a
   * fragmented span: not done.
   *
   * It stays in JavaScript, heap bits and zeroing included, though the
   * heap's words and bits are in a WebAssembly memory: a call into
   * WebAssembly costs about 50 instructions where its target never changes,
   * and the heap makes a new memory, so a new instance, at each growth,
   * which leaves the call site polymorphic: the heap bits and zeroing of a
   * 16-byte object done by such a call took 187 instructions more per
   * allocation than these stores (binary-trees, callgrind, depth 14).
   */
  mallocFast(typ: GoType, p: number): number {
    // The type's span class, cached on it: 26 fewer instructions per
    // allocation than a table by type id and the registry check beside it
    // (binary-trees, callgrind, depth 14).
    let spc = typ.fastSpcFor(this);
    if (spc === -2) spc = this.#fastSpcOf(typ);
    const c = this.#mcaches[p];
    if (spc < 0 || c === undefined || this.#events.alloc !== null) return -1;
    const span = c.alloc[spc];
    // nextFreeFast: a free slot in the bitmap word at freeindex, found and
    // later set through the one bitmap read here (the full search only
    // when that word is full): 26 fewer instructions per allocation than
    // `span.nextFreeIndex()` in binary-trees (callgrind, depth 14).
    const fi = span.freeindex;
    const nelems = span.nelems;
    if (fi >= nelems) return -1;
    const bits = span.allocBits;
    const w = fi >>> 5;
    const free = ~bits[w] & (-1 << (fi & 31));
    let idx: number;
    if (free !== 0) {
      idx = (w << 5) + ctz32(free);
      if (idx >= nelems) return -1;
    } else {
      idx = span.nextFreeIndex();
      if (idx === nelems) return -1;
    }
    const size = span.elemsize;
    const sampling = this.#sampling;
    const mode = sampling.mode;
    if (mode !== 0) {
      // Go's `c.nextSample`, a field of the mcache at hand: 15 fewer
      // instructions per allocation than a per-P typed array in the
      // sampling policy (binary-trees, callgrind, depth 14).
      const left = c.nextSample - size;
      if (mode === 2 || left <= 0) return -1;
      c.nextSample = left;
    }
    bits[idx >>> 5] |= 1 << (idx & 31);
    span.freeindex = idx + 1;
    span.allocCount++;
    const off = span.base + idx * size;
    const gc = this.#gc;
    const marking = gc.marking;
    if ((spc & 1) === 0) {
      if (!marking) this.#pacer.heapScan += typ.ptrdata;
      heapBitsSetSmall(this.#heap, span, idx, off >>> 3, typ, size >>> 3);
    }
    // COSTS.allocSmall + size * COSTS.allocByte, the same double each time.
    this.#clock.now += this.#allocCost[spc];
    if (marking) gc.markNew(span, idx);
    return off;
  }

  /**
   * Allocates one object of type `typ` (`runtime.newobject`).
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
   * const p = rt.newobject(t);
   * if (rt.sizeOf(p) !== 64) throw new Error("size class");
   * ```
   */
  newobject(typ: GoType, p: number = this.#sched.curg.p): number {
    const x = this.mallocFast(typ ?? noType("newobject", typ), p);
    if (x >= 0) return this.#arenaStart + x;
    return this.mallocgc(typ.size, typ, true, p, AllocKind.newobject);
  }

  /**
   * The kind of the allocation in progress (`mallocgc` outside one): the
   * sweeper reports it with the frees an allocation's sweeping makes.
   */
  get allocKindInProgress(): AllocKind {
    return this.#kindInProgress;
  }

  /**
   * The requested size and type of the small allocation whose mcache refill
   * is sweeping (what Go 1.19 prints as mallocgc's arguments under such a
   * free); meaningful while {@link allocKindInProgress} is not `mallocgc`.
   */
  get allocInProgress(): { requested: number; typ: GoType | null } {
    return { requested: this.#requestedInProgress, typ: this.#typInProgress };
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
    const span = findObject(this.#heap, addr);
    const i = span.objIndex(addr);
    const size = span.elemsize;
    const special = span.specials?.get(i);
    if (special !== undefined) {
      if (special.profile !== undefined) {
        this.profileFree(special.profile, addr, size);
      }
      this.#specials.remove(span, i);
    }
    span.allocBits[i >>> 5] &= ~(1 << (i & 31));
    if ((span.gcmarkBits[i >>> 5] & (1 << (i & 31))) !== 0) {
      span.gcmarkBits[i >>> 5] &= ~(1 << (i & 31));
      span.nmarked--;
    }
    span.allocCount--;
    // Counted as allocated all the same (see HeapStats.cached).
    if (span.cachedBy >= 0) span.allocCountBeforeCache--;
    span.needzero = true;
    if (span.types !== null) {
      span.types[i] = 0;
      heapBitsClear(this.#heap, span, i);
    }
    this.#stats.countFree(span.sizeclass, 1, size);
    if (span.spanclass === TINY_SPAN_CLASS) {
      for (const c of this.#mcaches) {
        if (c.tiny === addr) {
          c.tiny = 0;
          c.tinyoffset = 0;
        }
      }
    }
    if (span.cachedBy < 0) {
      const central = this.#central[span.spanclass];
      const sg = this.#heap.sweepgen;
      if (span.allocCount === 0) {
        span.spanSet?.remove(span);
        this.#heap.freeSpan(span);
      } else if (span.spanSet === central.fullSwept(sg)) {
        span.spanSet.remove(span);
        central.partialSwept(sg).push(span);
      }
    }
    const onFree = this.#events.free;
    if (onFree !== null) {
      onFree(addr, size, "free", this.#sched.curg, this.#kindInProgress);
    }
  }

  /** `mcache.refill` with its costs: the clock, and the background sweeper's turn. */
  #refill(c: MCache, spc: number): MSpan {
    const s = c.refill(
      spc,
      this.#central[spc],
      this.#heap,
      this.#sweeper,
      this.#pacer,
    );
    this.#clock.now += COSTS.refill;
    if (this.#gc.gcpercent >= 0 && this.#gomaxprocs > 1) {
      this.#sweeper.bgsweep(0);
    }
    return s;
  }

  #largeAlloc(size: number, noscan: boolean): MSpan {
    const npages = Math.ceil(size / this.#pageSize);
    this.#sweeper.deductSweepCredit(
      npages * this.#pageSize,
      npages,
      "allocLarge",
    );
    this.#sweeper.reclaim(npages);
    const span = this.#heap.allocSpan(npages, size, !noscan);
    this.#pacer.heapLive += npages * this.#pageSize;
    this.#clock.now += COSTS.allocLarge + npages * COSTS.perPage;
    const spc = makeSpanClass(0, noscan);
    span.init(spc, npages * this.#pageSize, 1);
    span.allocBits[0] = 1;
    span.allocCount = 1;
    span.freeindex = 1;
    span.largeRequested = size;
    span.sweepgen = this.#heap.sweepgen;
    this.#central[spc].fullSwept(this.#heap.sweepgen).push(span);
    return span;
  }

  /** Records a sampled allocation (`profilealloc` → `mProf_Malloc`) with its stack, and attaches the bucket. */
  #profilealloc(
    x: number,
    size: number,
    typ: GoType | null,
    requested: number,
    kind: AllocKind,
  ): void {
    const stk = this.#callers.pcs(
      this.#sched.curg,
      typ,
      requested,
      kind,
      this.#sched.explicitStack,
    );
    const b = this.#memprofile.mProf_Malloc(stk, size);
    const span = this.#heap.spanOf(x)!;
    this.#specials.setProfileBucket(span, span.objIndex(x), b);
    // The bucket's own copy of the stack: the same frames, one array per
    // distinct stack, so consumers can cache by it.
    const onProfileAlloc = this.#events.profileAlloc;
    if (onProfileAlloc !== null) onProfileAlloc(x, size, typ, kind, b.stk);
  }

  /** The free of a sampled object reaches its bucket (`mProf_Free`), then the consumers. */
  profileFree(bucket: Bucket, addr: number, size: number): void {
    this.#memprofile.mProf_Free(bucket, size);
    const onProfileFree = this.#events.profileFree;
    if (onProfileFree !== null) onProfileFree(addr, size, bucket.stk);
  }

  /**
   * The bytes mallocgc gives a request of `size` (`roundupsize`): its class
   * size, or whole pages; with Go 1.22's allocation headers a pointerful
   * (`noscan` false) request over 512 B gets the class of size + 8, minus
   * the header (msize_allocheaders.go).
   */
  roundupsize(size: number, noscan = true): number {
    const h = this.#allocHeaders;
    if (size > MAX_SMALL_SIZE - (h ? MALLOC_HEADER_SIZE : 0)) {
      return Math.ceil(size / this.#pageSize) * this.#pageSize;
    }
    const header = h && !noscan && size > MIN_SIZE_FOR_MALLOC_HEADER
      ? MALLOC_HEADER_SIZE
      : 0;
    return this.#classToSize[this.#sizeclasses.sizeToClass(size + header)] -
      header;
  }
}
