/**
 * The heap an execution trace describes: spans, objects and goroutine
 * stacks, rebuilt from the AllocFree events. Ids become addresses through
 * the info batch (runtime/traceallocfree.go: `id = (addr -
 * minPageHeapAddr) / unit`); an object's size and slot come from the span
 * that holds it (its size class, or its page count for a large object).
 * Keying objects by their slot, not the traced address, matters: a small
 * object with pointers past 512 bytes has an 8-byte malloc header, so Go
 * traces its allocation 8 bytes into the slot but its free (by the
 * sweeper) at the slot itself.
 *
 * Each allocation is attributed to the goroutine running on its M at that
 * moment, and through it to the goroutine's creation site (`GoCreate`
 * carries the new goroutine's start function and the creator's stack).
 *
 * @module
 */

import { AddrMap } from "../addr_map.ts";
import type { Frame, StackTable } from "../events.ts";
import { Ev } from "./format.ts";
import type {
  ExecAllocEvent,
  ExecEvent,
  ExecFreeEvent,
  GoroutineSite,
  HeapAnomalies,
} from "./heap_events.ts";
import type {
  EventCursor,
  ExecSink,
  GenerationContext,
  TypeInfo,
} from "./reader.ts";
import { SlotColumns } from "../../runtime/grow.ts";

/** Go 1.23's `class_to_size` (runtime/sizeclasses.go; the same since 1.19). */
export const CLASS_TO_SIZE: readonly number[] = [
  0,
  8,
  16,
  24,
  32,
  48,
  64,
  80,
  96,
  112,
  128,
  144,
  160,
  176,
  192,
  208,
  224,
  240,
  256,
  288,
  320,
  352,
  384,
  416,
  448,
  480,
  512,
  576,
  640,
  704,
  768,
  896,
  1024,
  1152,
  1280,
  1408,
  1536,
  1792,
  2048,
  2304,
  2688,
  3072,
  3200,
  3456,
  4096,
  4864,
  5376,
  6144,
  6528,
  6784,
  6912,
  8192,
  9472,
  9728,
  10240,
  10880,
  12288,
  13568,
  14336,
  16384,
  18432,
  19072,
  20480,
  21760,
  24576,
  27264,
  28672,
  32768,
];

/**
 * Non-negative integer keys (heap page indexes) to positive numbers, 0 for
 * none: a typed array while the keys stay below 2^26 pages (512 GiB of
 * heap), a Map past that. A Map per event was most of the heap model's time.
 */
class _PageTable {
  #dense = new Float64Array(1 << 12);
  readonly #sparse = new Map<number, number>();
  get(i: number): number {
    return i < this.#dense.length ? this.#dense[i] : this.#sparse.get(i) ?? 0;
  }
  set(i: number, v: number): void {
    if (i >= this.#dense.length) {
      if (i >= 1 << 26) {
        if (v === 0) this.#sparse.delete(i);
        else this.#sparse.set(i, v);
        return;
      }
      let n = this.#dense.length * 2;
      while (n <= i) n *= 2;
      const d = new Float64Array(n);
      d.set(this.#dense);
      this.#dense = d;
    }
    this.#dense[i] = v;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NO_SITE = 0;
const MAIN_SITE = 1;
const UNKNOWN_SITE = 2;

/**
 * Rebuilds the heap from an {@link ExecTraceReader}'s events and hands on
 * {@link ExecEvent}s (the alloc and free events are reused from one call to
 * the next: read them during the call). Memory: the live objects, spans and stacks, and one
 * interned stack per (type, creation site).
 *
 * @example
 * ```ts
 * import { ExecHeap, ExecTraceReader, StackTable } from "./mod.ts";
 * const events: string[] = [];
 * const heap = new ExecHeap(new StackTable(), (e) => events.push(e.kind));
 * const reader = new ExecTraceReader(heap);
 * heap.attach(reader);
 * reader.feed(new TextEncoder().encode("go 1.23 trace\0\0\0"));
 * reader.end();
 * if (events.length !== 0 || heap.sites[1].start !== "runtime.main") throw new Error();
 * ```
 */
export class ExecHeap implements ExecSink {
  /** Event types this model reads. */
  readonly wants: Uint8Array = (() => {
    const w = new Uint8Array(256);
    for (
      const t of [
        Ev.GoCreate,
        Ev.GoCreateBlocked,
        Ev.GoStatusStack,
        Ev.GCBegin,
        Ev.GCEnd,
        Ev.Span,
        Ev.SpanAlloc,
        Ev.SpanFree,
        Ev.HeapObject,
        Ev.HeapObjectAlloc,
        Ev.HeapObjectFree,
        Ev.GoroutineStack,
        Ev.GoroutineStackAlloc,
        Ev.GoroutineStackFree,
      ]
    ) w[t] = 1;
    return w;
  })();
  /** Goroutine creation sites (0: no goroutine, 1: main, 2: unknown). */
  readonly sites: GoroutineSite[] = [
    { start: "(no goroutine)", createdAt: "", frames: [], goroutines: 0 },
    {
      start: "runtime.main",
      createdAt: "(the main goroutine)",
      frames: [],
      goroutines: 0,
    },
    {
      start: "(running before tracing)",
      createdAt: "(before tracing)",
      frames: [],
      goroutines: 0,
    },
  ];
  /** What could not be placed. */
  readonly anomalies: HeapAnomalies = {
    unmatchedFrees: 0,
    reallocations: 0,
    noSpan: 0,
    unmatchedStackFrees: 0,
  };
  readonly #stacks: StackTable;
  readonly #emit: (e: ExecEvent) => void;
  #types: readonly TypeInfo[] = [];
  #ctx: GenerationContext | null = null;
  #typeIds: Int32Array = new Int32Array(0);
  readonly #siteIndex = new Map<string, number>();
  readonly #gSite = new Map<number, number>();
  // Stack id of (site, type) for the shared event model (0: not made yet).
  readonly #stackOf: Int32Array[] = [];
  // Spans: id (its base page) → npages * 512 + type/class (0: none).
  readonly #spans = new _PageTable();
  // Heap pages → 1 + the span holding them (every page of a small-object
  // span, the first page of a large one: that is where its object starts).
  readonly #pageSpan = new _PageTable();
  // Frees that sorted after the reallocation of their slot or span, still
  // to come (cleared at each GC end).
  readonly #staleFrees = new Map<number, number>();
  // Spans reallocated before their free sorted: id → old geometry.
  readonly #retired = new Map<number, number>();
  // Objects of retired spans ended at the reallocation: their late frees.
  readonly #retiredAddrs = new Set<number>();
  #lastG = -1;
  #lastSite = 0;
  // The events handed on are reused (consumers read them during the call).
  readonly #allocEv: Mutable<ExecAllocEvent> = {
    kind: "alloc",
    addr: 0,
    size: 0,
    type: null,
    requested: 0,
    goroutine: 0,
    stack: 0,
    lineNo: 0,
    time: 0,
    typeIndex: 0,
    site: 0,
    existing: false,
  };
  readonly #freeEv: Mutable<ExecFreeEvent> = {
    kind: "free",
    addr: 0,
    size: 0,
    goroutine: 0,
    stack: 0,
    lineNo: 0,
    time: 0,
    typeIndex: 0,
    site: 0,
    allocTime: 0,
    allocCycle: 0,
    existing: false,
  };
  readonly #gstacks = new Map<number, number>();
  readonly #live = new AddrMap(1 << 14);
  /** The live objects' figures, by the slot #live maps their address to. */
  readonly #objs = new SlotColumns({
    type: new Int32Array(1024),
    site: new Int32Array(1024),
    cycle: new Int32Array(1024),
    size: new Float64Array(1024),
    time: new Float64Array(1024),
    existing: new Uint8Array(1024),
  });
  #cycle = 0;
  #minAddr = 0;
  #pageSize = 8192;
  #align = 8;
  #fixedStack = 2048;
  #objsPerPage = 1024;

  /** A heap model interning its allocation stacks in `stacks`. */
  constructor(stacks: StackTable, emit: (e: ExecEvent) => void) {
    this.#stacks = stacks;
    this.#emit = emit;
  }

  /** Gives the model the reader's type table (call once, before reading). */
  attach(reader: { readonly types: readonly TypeInfo[] }): void {
    this.#types = reader.types;
  }

  /** GC cycles ended so far. */
  get cycles(): number {
    return this.#cycle;
  }

  /** Objects live now (traced or existing). */
  get liveObjects(): number {
    return this.#live.size;
  }

  /** Stack id of the shared model for an allocation of `type` by a goroutine of `site`. */
  stackOf(type: number, site: number): number {
    let row = this.#stackOf[site];
    if (row === undefined || type >= row.length) {
      const r = new Int32Array(Math.max(64, type * 2));
      if (row !== undefined) r.set(row);
      row = this.#stackOf[site] = r;
    }
    let id = row[type];
    if (id === 0) {
      const t = this.#types[type];
      const frames: Frame[] = [{
        func: `type:${t?.name ?? "?"}`,
        file: "",
        line: 0,
        pc: 0,
        inlined: false,
      }];
      const s = this.sites[site];
      if (s.frames.length > 0) frames.push(...s.frames);
      else {
        frames.push({
          func: s.start,
          file: "",
          line: 0,
          pc: 0,
          inlined: false,
        });
      }
      id = this.#stacks.intern(frames);
      row[type] = id;
    }
    return id;
  }

  /** See {@link ExecSink.beginGeneration}. */
  beginGeneration(g: GenerationContext): void {
    this.#ctx = g;
    this.#typeIds = g.typeIds;
    const info = g.info;
    if (info !== null) {
      this.#minAddr = info.minPageHeapAddr;
      this.#pageSize = info.pageSize;
      this.#align = info.minHeapAlign;
      this.#fixedStack = info.fixedStack;
      this.#objsPerPage = info.pageSize / info.minHeapAlign;
    }
  }

  #siteOfG(g: number): number {
    if (g === this.#lastG) return this.#lastSite;
    let s = this.#gSite.get(g);
    if (s === undefined) {
      s = g === 0 ? NO_SITE : g === 1 ? MAIN_SITE : UNKNOWN_SITE;
    }
    this.#lastG = g;
    this.#lastSite = s;
    return s;
  }

  #internSite(start: string, createdAt: string, frames: Frame[]): number {
    const key = `${start}\u0000${createdAt}\u0000${
      frames.map((f) => `${f.func}:${f.line}`).join(";")
    }`;
    let i = this.#siteIndex.get(key);
    if (i === undefined) {
      i = this.sites.length;
      this.sites.push({ start, createdAt, frames, goroutines: 0 });
      this.#siteIndex.set(key, i);
    }
    return i;
  }

  /** See {@link ExecSink.event}. */
  event(c: EventCursor): void {
    const a = c.a;
    switch (c.t) {
      case Ev.HeapObjectAlloc:
        this.#alloc(a[0], a[1], c, false);
        break;
      case Ev.HeapObjectFree:
        this.#free(a[0], c);
        break;
      case Ev.HeapObject:
        this.#alloc(a[0], a[1], c, true);
        break;
      case Ev.Span:
      case Ev.SpanAlloc:
        this.#spanAlloc(a[0], a[1], a[2], c);
        break;
      case Ev.SpanFree:
        // A span reallocated before its free sorted: that free ends the
        // retired one, not the new.
        if (this.#retired.delete(a[0])) break;
        this.#spanFree(a[0]);
        break;
      case Ev.GoroutineStack:
      case Ev.GoroutineStackAlloc: {
        const size = 2 ** (a[1] - 1); // the order is bits.Len64(size)
        this.#gstacks.set(a[0], size);
        this.#emit({
          kind: "stackalloc",
          time: c.time,
          addr: this.#minAddr + a[0] * this.#fixedStack,
          size,
          existing: c.t === Ev.GoroutineStack,
        });
        break;
      }
      case Ev.GoroutineStackFree: {
        const size = this.#gstacks.get(a[0]);
        if (size === undefined) {
          this.anomalies.unmatchedStackFrees++;
          break;
        }
        this.#gstacks.delete(a[0]);
        this.#emit({
          kind: "stackfree",
          time: c.time,
          addr: this.#minAddr + a[0] * this.#fixedStack,
          size,
          existing: false,
        });
        break;
      }
      case Ev.GCBegin:
        this.#emit({ kind: "gcstart", time: c.time });
        break;
      case Ev.GCEnd:
        this.#cycle++;
        this.anomalies.reallocations += this.#staleFrees.size;
        this.#staleFrees.clear();
        this.#retired.clear();
        this.#retiredAddrs.clear();
        this.#emit({ kind: "gc", lineNo: 0, time: c.time, cycle: this.#cycle });
        break;
      case Ev.GoCreate:
      case Ev.GoCreateBlocked: {
        const ctx = this.#ctx!;
        const startFrames = ctx.frames(a[1]);
        const creator = ctx.frames(a[2]);
        const start = startFrames[0]?.func ?? "?";
        const at = creator.find((f) => !f.func.startsWith("runtime.")) ??
          creator[0];
        const site = this.#internSite(
          start,
          at ? `${at.func} ${at.file}:${at.line}` : "?",
          [...startFrames.slice(0, 1), ...creator],
        );
        this.sites[site].goroutines++;
        this.#gSite.set(a[0], site);
        this.#lastG = -1;
        break;
      }
      case Ev.GoStatusStack: {
        // A goroutine that existed before this generation, with its stack:
        // its outermost frame is where it started.
        if (this.#gSite.has(a[0]) || a[0] === 1) break;
        const frames = this.#ctx!.frames(a[3]).filter((f) =>
          f.func !== "runtime.goexit"
        );
        const outer = frames.at(-1);
        if (outer === undefined) break;
        const site = this.#internSite(outer.func, "(before tracing)", [outer]);
        this.sites[site].goroutines++;
        this.#gSite.set(a[0], site);
        this.#lastG = -1;
        break;
      }
    }
  }

  #spanAlloc(
    id: number,
    npages: number,
    kindClass: number,
    c: EventCursor,
  ): void {
    const old = this.#spans.get(id);
    if (old !== 0) {
      // Its free sorted after this allocation: threads' clocks differ by
      // tens of microseconds, and the sweeper that frees a span's last
      // objects and then the span may run on another M than the one that
      // allocates the span again. Its objects are dead: end them now, and
      // skip their frees when they come, before the next GC ends. (A manual
      // span, a stack's, holds no objects.)
      if (old % 512 !== 1) {
        this.#retired.set(id, old);
        this.#endObjects(id, old, c);
      }
      this.#spanFree(id);
    }
    this.#spans.set(id, npages * 512 + kindClass);
    if (kindClass === 1) return; // not a heap span: stacks, runtime metadata
    const sizeClass = kindClass >>> 2;
    const last = sizeClass === 0 ? id : id + npages - 1;
    for (let p = id; p <= last; p++) this.#pageSpan.set(p, id + 1);
  }

  // Ends every live object of span `sid` (geometry `v`), remembering their
  // addresses for their late frees.
  #endObjects(sid: number, v: number, c: EventCursor): void {
    const kindClass = v % 512;
    const npages = (v - kindClass) / 512;
    const elem = kindClass >>> 2 === 0
      ? npages * this.#pageSize
      : CLASS_TO_SIZE[kindClass >>> 2] ?? 0;
    if (elem === 0) return;
    const base = this.#minAddr + sid * this.#pageSize;
    const end = base + npages * this.#pageSize;
    for (let a = base; a + elem <= end; a += elem) {
      const slot = this.#live.take(a);
      if (slot >= 0) {
        this.#release(slot, c, a);
        this.#retiredAddrs.add(a);
      }
    }
  }

  #spanFree(id: number): void {
    const v = this.#spans.get(id);
    if (v === 0) return;
    this.#spans.set(id, 0);
    const kindClass = v % 512;
    if (kindClass === 1) return;
    const npages = (v - kindClass) / 512;
    const last = kindClass >>> 2 === 0 ? id : id + npages - 1;
    for (let p = id; p <= last; p++) {
      if (this.#pageSpan.get(p) === id + 1) this.#pageSpan.set(p, 0);
    }
  }

  // Slot of the object with id `id`: its address and size (size 0 when no
  // span holds it), in #addr and #size.
  #addr = 0;
  #size = 0;
  #slot(id: number): void {
    const sid = this.#pageSpan.get(Math.floor(id / this.#objsPerPage)) - 1;
    if (sid < 0) {
      this.#addr = this.#minAddr + id * this.#align;
      this.#size = 0;
      return;
    }
    this.#inSpan(id, sid, this.#spans.get(sid));
  }

  // The slot of object `id` in span `sid` of geometry `v` (npages * 512 +
  // type/class), in #addr and #size.
  #inSpan(id: number, sid: number, v: number): void {
    const off = id * this.#align;
    const kindClass = v % 512;
    const sizeClass = kindClass >>> 2;
    const base = sid * this.#pageSize;
    if (sizeClass === 0) {
      this.#addr = this.#minAddr + base;
      this.#size = ((v - kindClass) / 512) * this.#pageSize;
      return;
    }
    const elem = CLASS_TO_SIZE[sizeClass] ?? 0;
    this.#addr = this.#minAddr + base +
      Math.floor((off - base) / elem) * elem;
    this.#size = elem;
  }

  // Whether freed object `id` is one of a retired span's, already ended.
  #retiredFree(id: number): boolean {
    const page = Math.floor(id / this.#objsPerPage);
    for (const [sid, v] of this.#retired) {
      const npages = (v - (v % 512)) / 512;
      if (page < sid || page >= sid + npages) continue;
      this.#inSpan(id, sid, v);
      if (this.#retiredAddrs.delete(this.#addr)) return true;
    }
    return false;
  }

  #alloc(id: number, localType: number, c: EventCursor, existing: boolean) {
    this.#slot(id);
    const addr = this.#addr;
    const size = this.#size;
    if (size === 0) this.anomalies.noSpan++;
    const ids = this.#typeIds;
    const type = localType < ids.length ? ids[localType] : 0;
    const site = existing ? NO_SITE : this.#siteOfG(c.g);
    const slot = this.#objs.take();
    const prev = this.#live.put(addr, slot);
    if (prev >= 0) {
      // The slot's free is still to come: threads' clocks tick at 64 ns and
      // differ a little, so the sweeper's free on one M can sort after the
      // new allocation on another. End the old object now; the late free
      // is expected before the next GC ends (no object allocated now can be
      // swept before then) and then skipped.
      this.#release(prev, c, addr);
      this.#staleFrees.set(addr, this.#cycle);
    }
    const o = this.#objs.cols;
    o.type[slot] = type;
    o.site[slot] = site;
    o.cycle[slot] = this.#cycle;
    o.size[slot] = size;
    o.time[slot] = c.time;
    o.existing[slot] = existing ? 1 : 0;
    const e = this.#allocEv;
    e.addr = addr;
    e.size = size;
    e.type = this.#types[type]?.name ?? null;
    e.goroutine = c.g;
    e.stack = existing ? 0 : this.stackOf(type, site);
    e.time = c.time;
    e.typeIndex = type;
    e.site = site;
    e.existing = existing;
    this.#emit(e);
  }

  #free(id: number, c: EventCursor): void {
    // A retired span's objects first: the new span's cannot be swept
    // before the next GC ends, when the retired ones are forgotten.
    if (this.#retired.size > 0 && this.#retiredFree(id)) return;
    this.#slot(id);
    const addr = this.#addr;
    if (this.#staleFrees.size > 0 && this.#staleFrees.has(addr)) {
      this.#staleFrees.delete(addr);
      return;
    }
    const slot = this.#live.take(addr);
    if (slot < 0) {
      this.anomalies.unmatchedFrees++;
      return;
    }
    this.#release(slot, c, addr);
  }

  #release(slot: number, c: EventCursor, addr: number): void {
    this.#objs.release(slot);
    const o = this.#objs.cols;
    const e = this.#freeEv;
    e.addr = addr;
    e.size = o.size[slot];
    e.goroutine = c.g;
    e.time = c.time;
    e.typeIndex = o.type[slot];
    e.site = o.site[slot];
    e.allocTime = o.time[slot];
    e.allocCycle = o.cycle[slot];
    e.existing = o.existing[slot] === 1;
    this.#emit(e);
  }

  /** Calls `f(type, size, site, allocTime, allocCycle, existing)` for every live object. */
  forEachLive(
    f: (
      type: number,
      size: number,
      site: number,
      allocTime: number,
      allocCycle: number,
      existing: boolean,
    ) => void,
  ): void {
    const o = this.#objs.cols;
    for (const s of this.#live.values()) {
      f(
        o.type[s],
        o.size[s],
        o.site[s],
        o.time[s],
        o.cycle[s],
        o.existing[s] === 1,
      );
    }
  }

  /** Goroutine stacks live now: count and bytes. */
  liveStacks(): { count: number; bytes: number } {
    let bytes = 0;
    for (const s of this.#gstacks.values()) bytes += s;
    return { count: this.#gstacks.size, bytes };
  }
}
