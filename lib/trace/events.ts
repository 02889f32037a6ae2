/**
 * The event model every producer and consumer meets at (DESIGN.md, "Data
 * flow"): allocations, frees and GC cycles, with stacks interned in a
 * {@link StackTable} so each distinct stack is stored once.
 *
 * @module
 */

import { grown } from "../runtime/grow.ts";

/** One frame of a stack, innermost first in a stack. */
export interface Frame {
  /** Function name as Go prints it. */
  readonly func: string;
  /** Source file (as printed: relative with -trimpath, absolute without). */
  readonly file: string;
  /** Line number (0 when unknown). */
  readonly line: number;
  /** Program counter when known (0 otherwise). */
  readonly pc: number;
  /** True for an inlined frame (Go prints `func(...)` with no offset). */
  readonly inlined: boolean;
}

/**
 * The line number a trace's `file:LINE` gives, or 0 (unknown) for text
 * that is not one: a line is a whole number from 1 to 2^31 - 1 (Go's are
 * int32), so a damaged `main.go:99999999999999999999999` or `main.go:-41`
 * gets no line rather than `1e+23` in the report and a wrapped 64-bit
 * number in the pprof.
 *
 * @example
 * ```ts
 * import { lineNumber } from "../../mod.ts";
 * if (lineNumber("41") !== 41 || lineNumber("-41") !== 0) throw new Error();
 * ```
 */
export function lineNumber(text: string): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 && n < 2 ** 31 ? n : 0;
}

/** An allocation. */
export interface AllocEvent {
  /** Discriminant. */
  readonly kind: "alloc";
  /** Object address. */
  readonly addr: number;
  /** Rounded size in bytes. */
  readonly size: number;
  /** Type string, or null when Go printed none. */
  readonly type: string | null;
  /** Requested size (mallocgc's first argument) when known, else 0. */
  readonly requested: number;
  /** Goroutine id (0 for g0 / unknown). */
  readonly goroutine: number;
  /** Interned stack id (see {@link StackTable}). */
  readonly stack: number;
  /** Line of the record's header in the trace (1-based), 0 for simulated events. */
  readonly lineNo: number;
}

/** A free. */
export interface FreeEvent {
  /** Discriminant. */
  readonly kind: "free";
  /** Object address. */
  readonly addr: number;
  /** Size in bytes. */
  readonly size: number;
  /** Goroutine that freed it (the sweeper). */
  readonly goroutine: number;
  /** Interned stack id of the free (the sweeper's, or the allocation's in the seed format). */
  readonly stack: number;
  /** Line of the record's header, 0 for simulated events. */
  readonly lineNo: number;
}

/** A GC cycle (mark termination). */
export interface GCEvent {
  /** Discriminant. */
  readonly kind: "gc";
  /** Line of the record's header, 0 for simulated events. */
  readonly lineNo: number;
}

/** Any trace event. */
export type TraceEvent = AllocEvent | FreeEvent | GCEvent;

/**
 * A consumer of events as plain numbers, with no object per event: the
 * fast readers hand most events of a large trace this way (the fields as
 * in {@link AllocEvent}, {@link FreeEvent} and {@link GCEvent}).
 *
 * @example
 * ```ts
 * import { sinkOf, type TraceEvent } from "../../mod.ts";
 * const got: TraceEvent[] = [];
 * sinkOf((e) => got.push(e)).gc(7);
 * if (got[0].kind !== "gc" || got[0].lineNo !== 7) throw new Error();
 * ```
 */
export interface EventSink {
  /** An allocation. */
  alloc(
    addr: number,
    size: number,
    type: string | null,
    requested: number,
    goroutine: number,
    stack: number,
    lineNo: number,
  ): void;
  /** A free. */
  free(
    addr: number,
    size: number,
    goroutine: number,
    stack: number,
    lineNo: number,
  ): void;
  /** A GC cycle. */
  gc(lineNo: number): void;
}

/** An {@link EventSink} that hands each event to `emit` as an object. */
export function sinkOf(emit: (e: TraceEvent) => void): EventSink {
  return {
    alloc: (addr, size, type, requested, goroutine, stack, lineNo) =>
      emit({
        kind: "alloc",
        addr,
        size,
        type,
        requested,
        goroutine,
        stack,
        lineNo,
      }),
    free: (addr, size, goroutine, stack, lineNo) =>
      emit({ kind: "free", addr, size, goroutine, stack, lineNo }),
    gc: (lineNo) => emit({ kind: "gc", lineNo }),
  };
}

/**
 * Interns stacks: each distinct sequence of frames gets one id (0 is the
 * empty stack).
 *
 * @example
 * ```ts
 * import { StackTable } from "../../mod.ts";
 * const t = new StackTable();
 * const f = { func: "main.f", file: "main.go", line: 3, pc: 0, inlined: false };
 * const a = t.intern([f]);
 * if (t.intern([{ ...f }]) !== a || t.get(a)[0].func !== "main.f" || t.intern([]) !== 0) throw new Error();
 * ```
 */
export class StackTable {
  readonly #stacks: Frame[][] = [[]];
  /**
   * Stacks by a hash of their frames' ids: the first stack of each hash,
   * the next of the same hash in `#next` (-1: none), each stack's
   * frame ids in `#ids` to tell them apart. A number key, not a
   * string of the ids: a stack costs no string built, flattened and hashed
   * (a real binary-trees trace interns thousands).
   */
  readonly #byHash = new Map<number, number>([[_stackHash(_NO_IDS, 0), 0]]);
  #next = new Int32Array(1024).fill(-1);
  /**
   * Every stack's frame ids, one after the other: stack s's are
   * `#ids[#idsAt[s], #idsAt[s + 1])`. (One array, not a typed array per
   * stack: one of more than 16 frames had its own backing store, which
   * cost more to make than the rest of a new stack's interning.)
   */
  #ids = new Int32Array(1 << 14);
  #idsAt = new Int32Array(1024);
  /** The frame ids of the stack being interned. */
  #scratch = new Int32Array(64);
  /** Distinct frames by their fields. */
  readonly #frameIds = new Map<string, number>();
  /** Each frame id's frame (the first object seen with its fields). */
  readonly #frameById: Frame[] = [];
  /** The id of each frame object seen (parsers hand the same objects again). */
  readonly #idOfFrame = new WeakMap<Frame, number>();

  /** The id of this stack, adding it when new. */
  intern(frames: readonly Frame[]): number {
    const n = frames.length;
    const ids = this.#scratchOf(n);
    for (let i = 0; i < n; i++) ids[i] = this.frameId(frames[i]);
    return this.#internIds(frames, ids, n);
  }

  /**
   * {@link StackTable.intern} of `frames` whose ids ({@link StackTable.frameId})
   * the caller kept: `ids(i)` is the id of `frames[i]`. A reader that meets
   * the same frame objects again keeps their ids, and interns a stack with
   * no lookup per frame.
   *
   * @example
   * ```ts
   * import { StackTable } from "../../mod.ts";
   * const t = new StackTable();
   * const f = { func: "main.f", file: "main.go", line: 3, pc: 0, inlined: false };
   * const id = t.frameId(f);
   * if (t.internKnown([f, f], () => id) !== t.intern([f, f])) throw new Error();
   * ```
   */
  internKnown(frames: readonly Frame[], ids: (i: number) => number): number {
    const n = frames.length;
    const own = this.#scratchOf(n);
    for (let i = 0; i < n; i++) own[i] = ids(i);
    return this.#internIds(frames, own, n);
  }

  /**
   * {@link StackTable.intern} of the stack whose frames have the ids
   * ({@link StackTable.frameId}) `ids[0, n)`: a reader that keeps its
   * frames' ids interns a stack with no frame object at hand, and builds
   * none unless the stack is new (its frames are then the objects the
   * table met first with those fields).
   *
   * @example
   * ```ts
   * import { StackTable } from "../../mod.ts";
   * const t = new StackTable();
   * const f = { func: "main.f", file: "main.go", line: 3, pc: 0, inlined: false };
   * const id = t.frameId(f);
   * const s = t.internFrameIds(new Int32Array([id, id]), 2);
   * if (s !== t.intern([f, f]) || t.get(s)[1] !== f) throw new Error();
   * ```
   */
  internFrameIds(ids: Int32Array, n: number): number {
    return this.#internIds(null, ids, n);
  }

  #scratchOf(n: number): Int32Array {
    if (n > this.#scratch.length) {
      this.#scratch = new Int32Array(Math.max(n, 2 * this.#scratch.length));
    }
    return this.#scratch;
  }

  /** The stack of frame ids `ids[0, n)` (its frames `frames`, or by their ids when null). */
  #internIds(
    frames: readonly Frame[] | null,
    ids: Int32Array,
    n: number,
  ): number {
    const h = _stackHash(ids, n);
    const first = this.#byHash.get(h);
    let last = -1;
    const at = this.#idsAt;
    for (let s = first ?? -1; s >= 0; s = this.#next[s]) {
      if (_sameIds(this.#ids, at[s], at[s + 1], ids, n)) return s;
      last = s;
    }
    const id = this.#stacks.length;
    // (Pushed, not sized: a packed array, as the spread made before.)
    const own: Frame[] = [];
    const byId = this.#frameById;
    for (let i = 0; i < n; i++) {
      own.push(frames === null ? byId[ids[i]] : frames[i]);
    }
    this.#stacks.push(own);
    const from = at[id];
    if (from + n > this.#ids.length) {
      this.#ids = grown(this.#ids, Math.max(from + n, 2 * this.#ids.length));
    }
    this.#ids.set(ids.subarray(0, n), from);
    if (id + 1 >= this.#idsAt.length) {
      this.#idsAt = grown(this.#idsAt, 2 * this.#idsAt.length);
    }
    this.#idsAt[id + 1] = from + n;
    if (id >= this.#next.length) {
      this.#next = grown(this.#next, 2 * this.#next.length, -1);
    }
    if (last < 0) this.#byHash.set(h, id);
    else this.#next[last] = id;
    return id;
  }

  /**
   * The id of frame `f` among the table's frames: equal for two frames
   * whose fields are equal.
   *
   * @example
   * ```ts
   * import { StackTable } from "../../mod.ts";
   * const t = new StackTable();
   * const f = { func: "main.f", file: "main.go", line: 3, pc: 0, inlined: false };
   * if (t.frameId(f) !== t.frameId({ ...f }) || t.frameId(f) === t.frameId({ ...f, line: 4 })) throw new Error();
   * ```
   */
  frameId(f: Frame): number {
    let id = this.#idOfFrame.get(f);
    if (id === undefined) {
      const k = `${f.func}\u0000${f.file}\u0000${f.line}\u0000${f.pc}\u0000${
        f.inlined ? 1 : 0
      }`;
      id = this.#frameIds.get(k);
      if (id === undefined) {
        id = this.#frameIds.size;
        this.#frameIds.set(k, id);
        this.#frameById.push(f);
      }
      this.#idOfFrame.set(f, id);
    }
    return id;
  }

  /**
   * The frame ids ({@link StackTable.frameId}) of stack `id`'s frames, in
   * order (a view, valid until the next stack is interned).
   *
   * @example
   * ```ts
   * import { StackTable } from "../../mod.ts";
   * const t = new StackTable();
   * const f = { func: "main.f", file: "main.go", line: 3, pc: 0, inlined: false };
   * const s = t.intern([f, { ...f, line: 4 }, f]);
   * if (t.frameIdsOf(s).join() !== [t.frameId(f), t.frameId({ ...f, line: 4 }), t.frameId(f)].join()) throw new Error();
   * ```
   */
  frameIdsOf(id: number): Int32Array {
    return this.#ids.subarray(this.#idsAt[id], this.#idsAt[id + 1]);
  }

  /** The frames of stack `id`. */
  get(id: number): readonly Frame[] {
    return this.#stacks[id];
  }

  /** Number of distinct stacks (including the empty one). */
  get size(): number {
    return this.#stacks.length;
  }
}

const _NO_IDS = new Int32Array(0);

/** A small-integer hash of the first `n` frame ids in `ids` (a Map key with no boxed number). */
function _stackHash(ids: Int32Array, n: number): number {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ ids[i], 0x01000193);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/** Whether `a` is the first `n` ids of `b`. */
function _sameIds(
  a: Int32Array,
  from: number,
  to: number,
  b: Int32Array,
  n: number,
): boolean {
  if (to - from !== n) return false;
  for (let i = 0; i < n; i++) if (a[from + i] !== b[i]) return false;
  return true;
}

/** Whether a frame is the Go runtime's (`runtime.*`): not an allocation site. */
export function isRuntimeFrame(f: { readonly func: string }): boolean {
  return f.func.startsWith("runtime.");
}

/** The first frame whose function is not the runtime's (the allocation site), or undefined. */
export function siteFrame(frames: readonly Frame[]): Frame | undefined {
  return frames.find((f) => !isRuntimeFrame(f));
}

/** Go 1.22's `mallocHeaderSize` (runtime/mbitmap_allocheaders.go): 8 bytes on 64-bit. */
export const MALLOC_HEADER_SIZE = 8;

/**
 * The start of the heap slot of an object that `tracealloc` printed at
 * `addr` with `size`. Go 1.22 gives a small pointerful object over 512 B
 * an 8-byte allocation header (runtime/malloc.go: the class is chosen for
 * size + 8, the pointer handed out is 8 bytes into the slot and `size` is
 * the class size − 8 when tracealloc prints it), while `tracefree`
 * (mgcsweep.go) prints the slot's start and the full class size. Every
 * other printed size is a size class (multiples of 16 above 8) or a whole
 * number of pages, so a size over 512 that is 8 more than a multiple of
 * 16 is exactly the header case, in any Go version's trace.
 *
 * @example
 * ```ts
 * import { slotAddr } from "../../mod.ts";
 * // Go 1.22: tracealloc(0xc000100008, 0x238, main.P520) ... tracefree(0xc000100000, 0x240)
 * if (slotAddr(0xc000100008, 0x238) !== 0xc000100000) throw new Error();
 * if (slotAddr(0xc000104000, 0x240) !== 0xc000104000) throw new Error(); // noscan [520]uint8
 * ```
 */
export function slotAddr(addr: number, size: number): number {
  return addr - headerBytes(size);
}

/**
 * The allocation header in front of an object printed with `size`:
 * {@link MALLOC_HEADER_SIZE} for a size of class − 8 over 512 B (Go 1.22,
 * see {@link slotAddr}), else 0.
 *
 * @example
 * ```ts
 * import { headerBytes } from "../../mod.ts";
 * if (headerBytes(0x478) !== 8 || headerBytes(0x480) !== 0 || headerBytes(8) !== 0) throw new Error();
 * ```
 */
export function headerBytes(size: number): number {
  return size > 512 && size % 16 === MALLOC_HEADER_SIZE
    ? MALLOC_HEADER_SIZE
    : 0;
}
