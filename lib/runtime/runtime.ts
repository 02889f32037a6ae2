/**
 * The simulated Go runtime: the heap (`mheap`, one `mcentral` per span
 * class, one `mcache` per P), the type registry, `mallocgc` and the
 * statistics `runtime.ReadMemStats` reports. Pure and synchronous.
 *
 * @module
 */

import { COSTS } from "./clock.ts";
import { Collector } from "./gc.ts";
import { GCController, parseGOGC } from "./pacer.ts";
import { EventHub, type GCCycleStats, type GCEvent } from "./events.ts";
import { type FrameSnapshot, Goroutine } from "./goroutine.ts";
import { emptymspan, MCache } from "./mcache.ts";
import { MCentral } from "./mcentral.ts";
import { MHeap } from "./mheap.ts";
import { makeSpanClass, type MSpan, numSpanClasses } from "./mspan.ts";
import { Sweeper } from "./sweep.ts";
import { type MemStats, readMemStats } from "./mstats.ts";
export type { MemStats } from "./mstats.ts";
import { SymbolTable } from "../stack/symtab.ts";
import { AllocKind } from "../stack/allockind.ts";
import { type GoDebug, parseGodebug } from "./godebug.ts";
import { type Bucket, HeapProfile } from "./mprof.ts";
import { Sampler } from "./sampling.ts";
import type { ExplicitStack } from "../stack/runtime_frames.ts";

export { AllocKind };
import { getPreset, type Preset, sizeClassesOf } from "./presets.ts";
import { MAX_SMALL_SIZE, type SizeClassTable } from "./sizeclasses.ts";

/** Go 1.22's `mallocHeaderSize` (mbitmap_allocheaders.go), on 64-bit. */
const MALLOC_HEADER_SIZE = 8;
/** Go 1.22's `minSizeForMallocHeader`: larger pointerful objects get a header. */
const MIN_SIZE_FOR_MALLOC_HEADER = 512;
import { type GoType, TypeRegistry } from "./types.ts";
import { PointerWords } from "./mbitmap.ts";
import { Globals } from "./globals.ts";
import { hex } from "./print.ts";

/** `maxAlloc` on linux/amd64: the largest allocation Go accepts (2^48 bytes). */
export const MAX_ALLOC = 2 ** 48;
/** `maxTinySize`: the tiny block size. */
export const TINY_SIZE = 16;
/** `tinySpanClass`: size class 2, noscan. */
export const TINY_SPAN_CLASS = makeSpanClass(2, true);

/** Size of Go 1.19's `hchan`. */
export const HCHAN_SIZE = 96;

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** Preset name: `go1.19` (default) or `go1.2-seed`. */
  preset?: string;
  /** Number of Ps, each with its own mcache (default: the preset's). */
  gomaxprocs?: number;
  /** Fatal heap limit in bytes: an allocation that would take the heap past it throws. 0 = none. */
  heapLimit?: number;
  /** GOGC: percentage (default 100) or `off`. */
  gogc?: number | string;
  /** `runtime.MemProfileRate` (default 524288; 1 = every allocation, 0 = off). */
  memProfileRate?: number;
  /** Seed of every random draw (heap sampling), so a run reproduces exactly (default 1). */
  seed?: number;
  /**
   * GODEBUG settings, parsed with the preset's Go semantics (see
   * {@link Runtime.godebug}); the printers and gctrace are attached by the
   * caller (the CLI does it for `allocfreetrace` and `gctrace`).
   */
  godebug?: string;
  /**
   * Check every pointer store and load (default true): the word must be a
   * pointer word of a live object and a stored pointer must not point at
   * freed memory. False is the trusted mode for built-in workloads, which
   * never break those rules: a store or load only finds its span.
   */
  checkPointers?: boolean;
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
  /**
   * The one subscription point: allocations, frees, GC phases and the heap
   * profile's records go to its consumers, in the order they subscribed
   * (nothing is emitted while nobody listens).
   */
  readonly events: EventHub = new EventHub();
  /** The collector and pacer. */
  readonly gc: Collector;
  /** The sweeper. */
  readonly sweeper: Sweeper;
  /** Every goroutine; `allgs[0]` is main (goid 1). */
  readonly allgs: Goroutine[] = [];
  /** The running goroutine. */
  curg: Goroutine;
  /** The background sweeper's goroutine, when the preset has one. */
  readonly bgsweepg: Goroutine | null = null;
  /** The heap's pointer words: checked loads and stores. */
  readonly words: PointerWords;
  /** The global root slots. */
  readonly globals: Globals;
  /** Spans that hold special records (finalizers, profile buckets). */
  readonly specialSpans: Set<MSpan> = new Set();
  /** The pacer: heapLive, goal and trigger. */
  readonly pacer: GCController;
  /** The simulated clock, ns since start. */
  clock = 0;
  /** Simulated time at which the last cycle ended. */
  gcEndClock = 0;
  /**
   * Simulated time spent printing allocfreetrace records under Go's
   * `tracelock`: a goroutine holding a runtime lock cannot be preempted, so
   * the mark workers wait for sysmon ({@link COSTS.forcePreempt}).
   */
  tracelockNs = 0;
  /** The dummy span of empty mcache slots. */
  readonly emptySpan: MSpan = emptymspan;
  /** The symbol table of the simulated program. */
  readonly symtab: SymbolTable;
  /** The heap profile (buckets and cycles). */
  readonly memprofile: HeapProfile;
  /**
   * The whole stack of the allocation in progress when it is given rather
   * than made of frames ({@link AllocKind.startup}: a start-up record
   * replayed by `goStartup`), else null.
   */
  explicitStack: ExplicitStack | null = null;
  #forceProfile = false;
  /** 0: no profiling; 1: the exponential countdown decides inline; 2: every allocation goes to `#sampleSlow`. */
  #sampleMode = 1;
  /** The seed of the random draws. */
  readonly seed: number;
  /**
   * The parsed GODEBUG. `memprofilerate=` is parsed but, as in Go 1.19
   * (golang/go#55100), has no effect on MemProfileRate.
   */
  readonly godebug: GoDebug;
  #memProfileRate = 524288;
  readonly #exponential: boolean;
  readonly #samplers: Sampler[] = [];
  readonly #nextSample: Float64Array;
  readonly #stackCache = new Map<number, number[]>();
  #lastStk: {
    key: number;
    g: Goroutine;
    frames: FrameSnapshot;
    pcs: number[];
  } | null = null;
  #kindInProgress: AllocKind = AllocKind.mallocgc;
  #requestedInProgress = 0;
  #typInProgress: GoType | null = null;

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
  /** Slot allocations per size class (class 0 = large objects). */
  readonly allocsByClass: Float64Array;
  /** Slot frees per size class. */
  readonly freesByClass: Float64Array;

  readonly #tiny: boolean;
  readonly #pageSize: number;
  readonly #zerobase: number;
  readonly #classToSize: Int32Array;
  readonly #checkEveryMalloc: boolean;
  readonly #typeList: readonly GoType[];
  #finq: { fn: (addr: number) => void; addr: number }[] = [];
  #inGC = false;
  readonly #sizeToClass8: Uint8Array;
  /** Go 1.22's allocation headers (see {@link mallocgc}). */
  readonly #allocHeaders: boolean;
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
    this.#typeList = this.types.list;
    this.words = new PointerWords(
      this.heap,
      this.#typeList,
      opts.checkPointers ?? true,
    );
    this.globals = new Globals(this.words);
    this.sweeper = new Sweeper(this);
    this.symtab = new SymbolTable(this.preset.textStart);
    const seed = opts.seed ?? 1;
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be an integer, got ${seed}`);
    }
    this.seed = seed;
    this.godebug = parseGodebug(this.preset.name, opts.godebug ?? "");
    this.#exponential = this.preset.sampling === "exponential";
    this.memprofile = new HeapProfile(
      this.preset.profileCycles,
      this.preset.bucketBySize,
    );
    // Each mcache draws its first countdown at the default rate: it is made
    // before the program can change MemProfileRate.
    for (let p = 0; p < procs; p++) {
      this.#samplers.push(
        new Sampler(
          this.preset.sampling,
          seed,
          p,
          524288,
        ),
      );
    }
    this.#nextSample = Float64Array.from(this.#samplers, (s) => s.nextSample);
    this.memProfileRate = opts.memProfileRate ?? 524288;
    this.pacer = new GCController(this.preset, parseGOGC(opts.gogc ?? 100));
    this.gc = new Collector(this, this.pacer);
    this.curg = this.newGoroutine(0);
    // The runtime's own goroutines, parked.
    for (const { kind, waitReason } of this.preset.systemGoroutines) {
      const g = this.newGoroutine(0);
      g.kind = kind;
      g.status = "waiting";
      g.waitReason = waitReason;
      if (kind === "bgsweep") this.bgsweepg = g;
    }
    this.#checkEveryMalloc = this.preset.gcCheckEveryMalloc;
    this.allocsByClass = new Float64Array(sc.numClasses);
    this.freesByClass = new Float64Array(sc.numClasses);
    this.#tiny = this.preset.tinyAllocator;
    this.#allocHeaders = this.preset.allocHeaders;
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
    const c = this.mcaches[p];
    if (c === undefined) {
      throw new RangeError(
        `mallocgc: P ${p} does not exist (GOMAXPROCS is ${this.gomaxprocs})`,
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
          this.clock += COSTS.allocTiny;
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
        this.#kindInProgress = kind;
        this.#requestedInProgress = requested;
        this.#typInProgress = typ;
        span = this.#refill(c, spc);
        this.#kindInProgress = AllocKind.mallocgc;
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
      this.allocsByClass[spc >>> 1]++;
    } else {
      this.#kindInProgress = kind;
      span = this.#largeAlloc(size, noscan);
      this.#kindInProgress = AllocKind.mallocgc;
      idx = 0;
      size = span.elemsize;
      x = span.startAddr;
      this.allocsByClass[0]++;
      shouldhelpgc = true;
    }
    if (span.types !== null) {
      this.#heapBitsSetType(span, idx, typ as GoType, size, header);
    }
    this.nMalloc++;
    this.totalAlloc += size;
    this.heapAlloc += size;
    this.clock += COSTS.allocSmall + size * COSTS.allocByte;
    const gc = this.gc;
    if (gc.marking) gc.markNew(span, idx);
    const mode = this.#sampleMode;
    if (mode !== 0) {
      // Go 1.19's countdown, kept unboxed per P; the rest is out of line.
      const ns = this.#nextSample;
      const left = ns[p] - size;
      if (mode === 1 && left > 0) ns[p] = left;
      else {
        this.#sampleSlow(
          x,
          size,
          typ,
          requested,
          p,
          this.#memProfileRate,
          kind,
        );
      }
    }
    const onAlloc = this.events.alloc;
    // tracealloc prints the size without the header (malloc.go:1288).
    if (onAlloc !== null) {
      onAlloc(x, size - header, typ, kind, requested, this.curg, p);
    }
    if ((shouldhelpgc || this.#checkEveryMalloc) && !this.#inGC) {
      if (gc.marking) {
        if (gc.markDone()) this.#gcMarkDone();
      } else if (this.pacer.heapLive >= this.pacer.trigger) {
        this.#kindInProgress = kind;
        this.#gcStart(false, x);
        this.#kindInProgress = AllocKind.mallocgc;
      }
    }
    return x;
  }

  /**
   * Records the type of the object in slot `idx` of a pointerful span and
   * its heap bitmap (`heapBitsSetType`): the type's pointer mask repeated
   * over whole elements after the header word (which holds no pointer the
   * GC follows); zeroes its words when the slot may hold old data.
   */
  #heapBitsSetType(
    span: MSpan,
    idx: number,
    t: GoType,
    size: number,
    header: number,
  ): void {
    span.types![idx] = t.id + 1;
    // scanAlloc: scannable bytes the next cycle may have to scan.
    if (!this.gc.marking) this.pacer.heapScan += size;
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

  /**
   * Span class of each type id for {@link #mallocFast}: 0 not yet known,
   * -1 when the type's allocations always take the full path (zero size,
   * large, tiny, allocation header, or a preset that checks for a GC at
   * every allocation).
   */
  #fastSpc: Int16Array = new Int16Array(64);

  /** Fills {@link #fastSpc} for `typ`; returns its entry. */
  #fastSpcOf(typ: GoType): number {
    if (typ.id >= this.#fastSpc.length) {
      const bigger = new Int16Array(
        Math.max(typ.id + 1, this.#fastSpc.length * 2),
      );
      bigger.set(this.#fastSpc);
      this.#fastSpc = bigger;
    }
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
    }
    this.#fastSpc[typ.id] = spc;
    return spc;
  }

  /**
   * The fast path of {@link mallocgc} for one object of a registered type
   * (`nextFreeFast` and the bookkeeping of an allocation nobody watches):
   * the address, exactly as mallocgc would give it, or -1 when the
   * allocation needs the full path (no free slot in the cached span, a
   * heap-profile sample due, an allocation consumer, a type or P that
   * mallocgc must check or treat apart). Small, so that V8 inlines it into
   * the workload: an address that stays in optimized code is never boxed.
   */
  #mallocFast(typ: GoType, p: number): number {
    const id = typ.id;
    let spc = id < this.#fastSpc.length ? this.#fastSpc[id] : 0;
    if (spc === 0) spc = this.#fastSpcOf(typ);
    const c = this.mcaches[p];
    if (
      spc < 0 || c === undefined || this.events.alloc !== null ||
      this.#typeList[id] !== typ
    ) return -1;
    const span = c.alloc[spc];
    const idx = span.nextFreeIndex();
    if (idx === span.nelems) return -1;
    const size = span.elemsize;
    const mode = this.#sampleMode;
    const left = this.#nextSample[p] - size;
    if (mode === 2 || (mode === 1 && left <= 0)) return -1;
    if (mode === 1) this.#nextSample[p] = left;
    span.allocBits[idx >>> 5] |= 1 << (idx & 31);
    span.freeindex = idx + 1;
    span.allocCount++;
    this.allocsByClass[spc >>> 1]++;
    if (span.types !== null) this.#heapBitsSetType(span, idx, typ, size, 0);
    this.nMalloc++;
    this.totalAlloc += size;
    this.heapAlloc += size;
    this.clock += COSTS.allocSmall + size * COSTS.allocByte;
    if (this.gc.marking) this.gc.markNew(span, idx);
    return span.startAddr + idx * size;
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
  newobject(typ: GoType, p: number = this.curg.p): number {
    const x = this.#mallocFast(typ, p);
    if (x >= 0) return x;
    return this.mallocgc(typ.size, typ, true, p, AllocKind.newobject);
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
  makeslice(elem: GoType, n: number, p: number = this.curg.p): number {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(
        `makeslice: len must be a non-negative integer, got ${n}`,
      );
    }
    return this.#mallocKind(AllocKind.makeslice, elem.size * n, elem, true, p);
  }

  /**
   * `append` past capacity (`runtime.growslice`, Go 1.19's growth rule):
   * allocates the new backing array for at least `newLen` elements and
   * copies the pointer words of the old one (`old`, with `oldLen`
   * elements). A pointer-free element type allocates untyped, as Go does.
   * Returns the new array and its capacity.
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const ptr = rt.types.get("*uint8");
   * let s = { addr: 0, cap: 0 };
   * const caps = [];
   * for (let len = 0; len < 300; len++) {
   *   if (len === s.cap) { s = rt.growslice(ptr, s.addr, len, s.cap, len + 1); caps.push(s.cap); }
   * }
   * if (caps.join() !== "1,2,4,8,16,32,64,128,256,512") throw new Error(caps.join());
   * ```
   */
  growslice(
    elem: GoType,
    old: number,
    oldLen: number,
    oldCap: number,
    newLen: number,
    p: number = this.curg.p,
  ): { addr: number; cap: number } {
    let newcap = oldCap;
    const doublecap = newcap + newcap;
    if (newLen > doublecap) newcap = newLen;
    else if (oldCap < 256) newcap = doublecap;
    else {
      while (newcap > 0 && newcap < newLen) {
        newcap += Math.floor((newcap + 768) / 4);
      }
      if (newcap <= 0) newcap = newLen;
    }
    const capmem = elem.size === 0
      ? 0
      : this.roundupsize(newcap * elem.size, elem.noscan);
    const cap = elem.size === 0 ? newcap : Math.floor(capmem / elem.size);
    const addr = this.#mallocKind(
      AllocKind.growslice,
      capmem,
      elem.noscan ? null : elem,
      !elem.noscan,
      p,
    );
    if (!elem.noscan && old !== 0 && oldLen > 0) {
      const ew = elem.size / 8;
      for (let e = 0; e < oldLen; e++) {
        for (const w of elem.ptrWords) {
          const v = this.load(old, e * ew + w);
          if (v !== 0) this.store(addr, e * ew + w, v);
        }
      }
    }
    return { addr, cap };
  }

  /**
   * `make(chan T, n)` (`runtime.makechan`): one untyped block for the
   * `hchan` and a pointer-free buffer, or a typed `runtime.hchan` plus a
   * buffer typed by its element (which the hchan's `buf` word points at).
   */
  makechan(elem: GoType, n: number, p: number = this.curg.p): number {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(
        `makechan: size must be a non-negative integer, got ${n}`,
      );
    }
    const mem = elem.size * n;
    if (mem === 0 || elem.noscan) {
      return this.#mallocKind(
        AllocKind.makechan,
        HCHAN_SIZE + mem,
        this.preset.makechanChanType ? this.#seedChanType(elem) : null,
        true,
        p,
      );
    }
    const hchan = this.types.define("runtime.hchan", {
      size: HCHAN_SIZE,
      pointers: [2, 4, 7, 8, 9, 10],
    });
    const c = this.#mallocKind(
      AllocKind.makechanHchan,
      HCHAN_SIZE,
      hchan,
      true,
      p,
    );
    const g = this.curg;
    const slot = g.push(c);
    const buf = this.#mallocKind(AllocKind.makechan, mem, elem, true, p);
    this.store(c, 2, buf);
    g.sp = slot;
    return c;
  }

  /**
   * The Dec 2013 seed's makechan passes the channel type (`| TypeInfo_Chan`)
   * to mallocgc, so the profile prints `<channel of chan int>`: a label with
   * no pointer words (the block holds none), or null when the program
   * defined that channel type with another layout.
   */
  #seedChanType(elem: GoType): GoType | null {
    try {
      return this.types.define(`chan ${elem.name}`, { size: 8, kind: "chan" });
    } catch {
      return null;
    }
  }

  /** A string of `len` bytes made by concatenation (`concatstrings` → `rawstring`): untyped, not zeroed. */
  concatstring(len: number, p: number = this.curg.p): number {
    return this.#mallocKind(AllocKind.concatstring, len, null, false, p);
  }

  /** `make(map[K]V)` with no hint (`runtime.makemap_small`): a `runtime.hmap`. */
  makemapSmall(p: number = this.curg.p): number {
    const hmap = this.types.define("runtime.hmap", {
      size: 48,
      pointers: [2, 3, 5],
    });
    return this.mallocgc(hmap.size, hmap, true, p, AllocKind.makemapSmall);
  }

  /**
   * The first insert into a small map allocates its bucket array
   * (`mapassign_faststr`: `h.buckets = newobject(t.bucket)`) and stores it
   * into the hmap's `buckets` word.
   */
  mapassignBucket(
    hmap: number,
    bucket: GoType,
    p: number = this.curg.p,
  ): number {
    const b = this.#mallocKind(
      AllocKind.mapassign,
      bucket.size,
      bucket,
      true,
      p,
    );
    this.store(hmap, 2, b);
    return b;
  }

  /** mallocgc reached through `kind`'s runtime function. */
  #mallocKind(
    kind: AllocKind,
    size: number,
    typ: GoType | null,
    needzero: boolean,
    p: number,
  ): number {
    return this.mallocgc(size, typ, needzero, p, kind);
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

  /** Emits a GC phase to the consumers (the collector calls it). */
  emitGC(
    kind: GCEvent["kind"],
    cycle: number,
    forced: boolean,
    stats: GCCycleStats,
  ): void {
    const onGC = this.events.gc;
    if (onGC === null) return;
    onGC({
      kind,
      cycle,
      forced,
      stats,
      heapAlloc: this.heapAlloc,
      mallocs: this.nMalloc,
      goroutines: this.allgs,
      curg: this.curg,
    });
  }

  // ---- frames ----

  /** The id of function `name` (defined in `file`) in the symbol table. */
  func(name: string, file?: string, args?: string): number {
    return this.symtab.func(name, file, args);
  }

  /**
   * Runs `body` as a call of Go function `fn` (in `file`) currently at
   * `line`: the frame shows in tracebacks and profiles, and the root slots
   * pushed inside are dropped when it returns.
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 8, pointers: [0] });
   * const x = rt.call("main.alloc", "main.go", 16, () => rt.newobject(t));
   * if (rt.curg.depth !== 0 || rt.sizeOf(x) !== 8) throw new Error();
   * ```
   */
  call<T>(fn: string | number, file: string, line: number, body: () => T): T {
    const fid = typeof fn === "number" ? fn : this.symtab.func(fn, file);
    const g = this.curg;
    g.enter(fid, line);
    try {
      return body();
    } finally {
      g.leave();
    }
  }

  /**
   * Runs `body` as a new goroutine started by a `go` statement at the
   * current frame: it gets the next goroutine id, runs on P `id mod
   * GOMAXPROCS`, shows `created by` the current function in tracebacks, and
   * is dead when `body` returns. Scheduling is sequential: the creator
   * resumes after it.
   */
  go(fn: string, file: string, line: number, body: () => void): void {
    const parent = this.curg;
    const g = this.#goFromHere();
    this.curg = g;
    try {
      this.call(fn, file, line, body);
    } finally {
      g.status = "dead";
      g.sp = 0;
      this.curg = parent;
    }
  }

  /**
   * Makes a goroutine (a `go fn()` at the current frame) without running
   * it: its first frame is `fn` at `line`. Run code on it with
   * {@link switchTo}; {@link exitg} ends it. For workloads that interleave
   * goroutines step by step.
   */
  newg(fn: string, file: string, line: number): Goroutine {
    const g = this.#goFromHere();
    g.enter(this.symtab.func(fn, file), line);
    g.status = "runnable";
    return g;
  }

  /** Makes `g` the running goroutine (the previous one becomes runnable); returns the previous. */
  switchTo(g: Goroutine): Goroutine {
    if (g.status === "dead") {
      throw new RangeError(`goroutine ${g.id} has exited`);
    }
    const prev = this.curg;
    if (prev.status === "running") prev.status = "runnable";
    g.status = "running";
    this.curg = g;
    return prev;
  }

  /** Ends goroutine `g` (its roots are dropped); switches back to `to` if `g` was running. */
  exitg(g: Goroutine, to: Goroutine): void {
    g.status = "dead";
    g.sp = 0;
    g.depth = 0;
    if (this.curg === g) this.switchTo(to);
  }

  /** Enters function `fid` at `line` on the current goroutine (the closure-free form of {@link call}). */
  enter(fid: number, line: number): void {
    this.curg.enter(fid, line);
  }

  /** Returns from the current goroutine's innermost frame. */
  leave(): void {
    this.curg.leave();
  }

  /** Sets the current line of the innermost frame. */
  line(n: number): void {
    this.curg.setLine(n);
  }

  /** The function name of the current goroutine's innermost frame, or "" (the allocation site). */
  site(): string {
    const explicit = this.explicitStack;
    if (explicit !== null) {
      return explicit.frames.find((f) => !f.func.startsWith("runtime."))
        ?.func ??
        "";
    }
    const g = this.curg;
    return g.depth === 0 ? "" : this.symtab.info(g.frameFunc[g.depth - 1]).name;
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
    const special = span.specials?.get(i);
    if (special !== undefined) {
      if (special.profile !== undefined) {
        this.profileFree(special.profile, addr, size);
      }
      span.specials!.delete(i);
      if (span.specials!.size === 0) {
        span.specials = null;
        this.specialSpans.delete(span);
      }
    }
    span.allocBits[i >>> 5] &= ~(1 << (i & 31));
    if ((span.gcmarkBits[i >>> 5] & (1 << (i & 31))) !== 0) {
      span.gcmarkBits[i >>> 5] &= ~(1 << (i & 31));
      span.nmarked--;
    }
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
    const onFree = this.events.free;
    if (onFree !== null) {
      onFree(addr, size, "free", this.curg, this.#kindInProgress);
    }
  }

  /** Statistics in the shape of `runtime.MemStats`. */
  readMemStats(): MemStats {
    return readMemStats(this);
  }

  /**
   * `runtime.ReadMemStats` as a Go program calls it: the world stops and
   * every P's mcache is flushed (`flushallmcaches` → `releaseAll`: cached
   * spans go back to their mcentral, the slots refill counted in heapLive
   * but never used are taken out again, the tiny block is dropped), then
   * the statistics are read. {@link readMemStats} only looks.
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * rt.mallocgc(64, null);
   * const live = rt.heapLive;
   * rt.ReadMemStats();
   * if (rt.heapLive !== live - (128 - 1) * 64) throw new Error(String(rt.heapLive));
   * ```
   */
  ReadMemStats(): MemStats {
    for (const c of this.mcaches) {
      for (let spc = 0; spc < c.alloc.length; spc++) {
        const s = c.alloc[spc];
        if (s.nelems === 0) continue;
        this.pacer.heapLive -= (s.nelems - s.allocCount) * s.elemsize;
        c.alloc[spc] = emptymspan;
        this.central[spc].uncacheSpan(this.heap, s, this.sweeper);
      }
      c.tiny = 0;
      c.tinyoffset = 0;
    }
    return this.readMemStats();
  }

  /** Gives the P's current span of class `spc` back and caches another (`mcache.refill`). */
  #refill(c: MCache, spc: number): MSpan {
    const old = c.alloc[spc];
    const central = this.central[spc];
    if (old.nelems !== 0) {
      c.alloc[spc] = emptymspan;
      central.uncacheSpan(this.heap, old, this.sweeper);
    }
    const s = central.cacheSpan(this.heap, c.p, this.sweeper);
    c.alloc[spc] = s;
    this.pacer.heapLive += s.npages * this.#pageSize -
      s.allocCount * s.elemsize;
    this.clock += COSTS.refill;
    if (this.gc.gcpercent >= 0 && this.gomaxprocs > 1) this.sweeper.bgsweep(0);
    return s;
  }

  #largeAlloc(size: number, noscan: boolean): MSpan {
    const npages = Math.ceil(size / this.#pageSize);
    this.sweeper.deductSweepCredit(npages * this.#pageSize, npages);
    this.sweeper.reclaim(npages);
    const span = this.heap.allocSpan(npages, size);
    this.pacer.heapLive += npages * this.#pageSize;
    this.clock += COSTS.allocLarge + npages * COSTS.perPage;
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

  // ---- goroutines and roots ----

  /**
   * A goroutine made by a `go` statement at the current frame: P `id mod
   * GOMAXPROCS`, and `created by` the current function.
   */
  #goFromHere(): Goroutine {
    const parent = this.curg;
    const g = this.newGoroutine(0);
    g.p = g.id % this.gomaxprocs;
    g.parentId = parent.id;
    if (parent.depth > 0) {
      g.createdByFunc = parent.frameFunc[parent.depth - 1];
      g.createdByLine = parent.frameLine[parent.depth - 1];
    }
    return g;
  }

  /** Makes a goroutine running on P `p` (its id is the next goid). */
  newGoroutine(p = 0): Goroutine {
    const g = new Goroutine(this.allgs.length + 1, p);
    this.allgs.push(g);
    return g;
  }

  /** Defines (or finds) a global root slot by name; returns its index. */
  global(name: string): number {
    return this.globals.define(name);
  }

  /** Number of global root slots. */
  get globalCount(): number {
    return this.globals.count;
  }

  /** Stores a pointer (or 0) into global slot `i` (see {@link Globals.set}). */
  setGlobal(i: number, v: number): void {
    this.globals.set(i, v);
  }

  /** The pointer in global slot `i`. */
  getGlobal(i: number): number {
    return this.globals.values[i];
  }

  // ---- pointer words (mbitmap.ts) ----

  /** Stores pointer `v` (or 0) into pointer word `word` of the object at `obj`. */
  store(obj: number, word: number, v: number): void {
    this.words.storeAt(obj + word * 8, v);
  }

  /** Loads pointer word `word` of the object at `obj`. */
  load(obj: number, word: number): number {
    return this.words.loadAt(obj + word * 8);
  }

  /** Stores pointer `v` at heap address `addr` (see {@link PointerWords.storeAt}). */
  storeAt(addr: number, v: number): void {
    this.words.storeAt(addr, v);
  }

  /** Loads the pointer at heap address `addr` (see {@link PointerWords.loadAt}). */
  loadAt(addr: number): number {
    return this.words.loadAt(addr);
  }

  // ---- collection ----

  /** Heap bytes the pacer counts as live (see {@link GCController.heapLive}). */
  get heapLive(): number {
    return this.pacer.heapLive;
  }

  /** GOGC (-1 = off). */
  get gcpercent(): number {
    return this.gc.gcpercent;
  }

  /**
   * `runtime.GC()`: runs a full cycle and returns after its sweep has
   * finished, so the heap (and the profile) is as of this cycle.
   */
  GC(): void {
    if (this.#inGC) throw new Error("runtime.GC called during a GC");
    this.#gcStart(true, 0);
    this.sweeper.finish("GC");
    this.memprofile.mProf_PostSweep();
    this.#runFinalizers();
  }

  /** `runtime.Gosched()`: a step boundary; the background sweeper and finalizers run. */
  gosched(): void {
    if (this.gc.marking && this.clock >= this.gc.markEndClock && !this.#inGC) {
      this.#gcMarkDone();
    }
    if (!this.sweeper.done) this.sweeper.bgsweep(10);
    this.#runFinalizers();
  }

  /**
   * `runtime.SetFinalizer(obj, fn)`: when the object is found unreachable
   * it survives one more cycle and `fn(obj)` runs at the next step
   * boundary. `null` removes the finalizer.
   */
  setFinalizer(obj: number, fn: ((addr: number) => void) | null): void {
    const span = this.objectSpan(obj);
    const i = span.objIndex(obj);
    const sp = span.specials?.get(i);
    if (fn === null) {
      if (sp !== undefined) sp.finalizer = undefined;
      return;
    }
    if (sp?.finalizer !== undefined) {
      throw new RangeError(
        `runtime.SetFinalizer: finalizer already set for ${hex(obj)}`,
      );
    }
    this.#special(span, i).finalizer = fn;
  }

  /** Attaches a profile record to the object at `addr` (`setprofilebucket`). */
  setProfileBucket(addr: number, bucket: Bucket): void {
    const span = this.heap.spanOf(addr)!;
    this.#special(span, span.objIndex(addr)).profile = bucket;
  }

  #special(span: MSpan, i: number) {
    if (span.specials === null) {
      span.specials = new Map();
      this.specialSpans.add(span);
    }
    let sp = span.specials.get(i);
    if (sp === undefined) {
      sp = {};
      span.specials.set(i, sp);
    }
    return sp;
  }

  /** Queues a finalizer to run at the next step boundary (called by sweep). */
  queueFinalizer(fn: (addr: number) => void, addr: number): void {
    this.#finq.push({ fn, addr });
  }

  #runFinalizers(): void {
    while (this.#finq.length > 0) {
      const { fn, addr } = this.#finq.shift()!;
      fn(addr);
    }
  }

  #gcStart(forced: boolean, extraRoot: number): void {
    this.#inGC = true;
    try {
      if (this.gc.marking) this.gc.markTermination();
      this.gc.start(forced, extraRoot);
    } finally {
      this.#inGC = false;
    }
  }

  #gcMarkDone(): void {
    this.#inGC = true;
    try {
      this.gc.markTermination();
    } finally {
      this.#inGC = false;
    }
  }

  // ---- heap profiling ----

  /** `runtime.MemProfileRate`, read at every allocation (it may change during a run). */
  get memProfileRate(): number {
    return this.#memProfileRate;
  }

  /** Sets `runtime.MemProfileRate`. @throws {RangeError} for a negative or non-integer rate. */
  set memProfileRate(rate: number) {
    if (!Number.isSafeInteger(rate) || rate < 0) {
      throw new RangeError(
        `MemProfileRate must be a non-negative integer (bytes per sample; 1 = every allocation, 0 = off), got ${rate}`,
      );
    }
    this.#memProfileRate = rate;
    this.#updateSampleMode();
  }

  /** Forces every allocation into the profile (the seed's allocfreetrace). */
  get forceProfile(): boolean {
    return this.#forceProfile;
  }

  /** Sets forced profiling. */
  set forceProfile(on: boolean) {
    this.#forceProfile = on;
    this.#updateSampleMode();
  }

  #updateSampleMode(): void {
    const rate = this.#memProfileRate;
    this.#sampleMode =
      this.#forceProfile || (rate > 0 && (!this.#exponential || rate === 1))
        ? 2
        : rate > 0
        ? 1
        : 0;
  }

  /** The sampling decision past the fast countdown: draws, Go 1.2's rule, forced profiling. */
  #sampleSlow(
    x: number,
    size: number,
    typ: GoType | null,
    requested: number,
    p: number,
    rate: number,
    kind: AllocKind,
  ): void {
    const smp = this.#samplers[p];
    if (this.#forceProfile) this.#profilealloc(x, size, typ, requested, kind);
    else if (this.#exponential) {
      this.#nextSample[p] = smp.draw(rate);
      this.#profilealloc(x, size, typ, requested, kind);
    } else if (smp.sample(size, rate)) {
      this.#profilealloc(x, size, typ, requested, kind);
    }
  }

  /** Records a sampled allocation (`profilealloc` → `mProf_Malloc`) with its stack, and attaches the bucket. */
  #profilealloc(
    x: number,
    size: number,
    typ: GoType | null,
    requested: number,
    kind: AllocKind,
  ): void {
    const stk = this.callers(typ, requested, kind);
    const b = this.memprofile.mProf_Malloc(stk, size);
    this.setProfileBucket(x, b);
    // The bucket's own copy of the stack: the same frames, one array per
    // distinct stack, so consumers can cache by it.
    const onProfileAlloc = this.events.profileAlloc;
    if (onProfileAlloc !== null) onProfileAlloc(x, size, typ, kind, b.stk);
  }

  /** The free of a sampled object reaches its bucket (`mProf_Free`), then the consumers. */
  profileFree(bucket: Bucket, addr: number, size: number): void {
    this.memprofile.mProf_Free(bucket, size);
    const onProfileFree = this.events.profileFree;
    if (onProfileFree !== null) onProfileFree(addr, size, bucket.stk);
  }

  /**
   * The return PCs the profiler records for the allocation in progress, as
   * Go's `callers` inside `mProf_Malloc` sees them (32 at most): Go 1.19
   * starts at mallocgc's caller, the seed inside mallocgc; then the
   * goroutine's frames, innermost first; then `runtime.main` /
   * `runtime.goexit`.
   */
  callers(
    typ: GoType | null,
    requested: number,
    kind: AllocKind = AllocKind.mallocgc,
  ): number[] {
    const explicit = this.explicitStack;
    if (kind === AllocKind.startup && explicit !== null) {
      return explicit.frames.slice(this.preset.frames.profileSkip)
        .filter((f) => !f.inlined).slice(0, 32).map((f) =>
          this.symtab.pcAt(this.symtab.func(f.func, f.file), f.off, f.line)
        );
    }
    const noscan = typ === null || typ.noscan;
    const chanNoBuf = kind === AllocKind.makechan && requested === HCHAN_SIZE;
    const key = kind * 4 + (noscan ? 1 : 0) + (chanNoBuf ? 2 : 0);
    let top = this.#stackCache.get(key);
    if (top === undefined) {
      const frames = this.preset.frames.alloc(kind, noscan, chanNoBuf)
        .slice(this.preset.frames.profileSkip)
        .filter((f) => !f.inlined);
      top = frames.map((f) =>
        this.symtab.pcAt(this.symtab.func(f.func, f.file), f.off, f.line)
      );
      this.#stackCache.set(key, top);
    }
    const g = this.curg;
    // Loops sample the same stack again and again: reuse the last one.
    const last = this.#lastStk;
    if (
      last !== null && last.key === key && last.g === g &&
      g.sameFrames(last.frames)
    ) {
      return last.pcs;
    }
    const stk = top.slice();
    for (let d = g.depth - 1; d >= 0 && stk.length < 32; d--) {
      stk.push(this.symtab.pc(g.frameFunc[d], g.frameLine[d]));
    }
    let bottom = this.#stackCache.get(-1 - (g.id === 1 ? 1 : 0));
    if (bottom === undefined) {
      const frames = this.preset.frames.mainBottom.slice(
        g.id === 1 ? 0 : 1,
      );
      bottom = frames.map((f) =>
        this.symtab.pcAt(this.symtab.func(f.func, f.file), f.off, f.line)
      );
      this.#stackCache.set(-1 - (g.id === 1 ? 1 : 0), bottom);
    }
    for (const pc of bottom) if (stk.length < 32) stk.push(pc);
    this.#lastStk = {
      key,
      g,
      frames: g.snapshotFrames(),
      pcs: stk,
    };
    return stk;
  }

  /** `runtime.MemProfile(inuseZero)`: the published heap-profile records. */
  MemProfile(inuseZero = true): ReturnType<HeapProfile["MemProfile"]> {
    return this.memprofile.MemProfile(inuseZero);
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
    return this.#classToSize[this.sizeclasses.sizeToClass(size + header)] -
      header;
  }
}
