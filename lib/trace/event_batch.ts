/**
 * Trace events packed into numbers, to cross from a Worker that parses one
 * part of a trace to the thread that analyses the whole trace in order (a
 * free matches its allocation by address, so the parts are applied one
 * after the other). A batch carries its events as 8 numbers each, and the
 * stacks and type names first seen in it; the receiver interns those stacks
 * in its own {@link StackTable} in the order the sender did, which is the
 * order of their first event, so stack ids come out as one parser reading
 * the whole trace would give them.
 *
 * @module
 */

import { grown } from "../runtime/grow.ts";
import {
  type EventSink,
  type Frame,
  sinkOf,
  type StackTable,
  type TraceEvent,
} from "./events.ts";

/** Numbers per event: kind (0 alloc, 1 free, 2 gc), addr, size, type (-1: none), requested, goroutine, stack, line. */
const FIELDS = 8;

/** Events of one batch, and what the receiver needs to read them. */
export interface EventBatch {
  /** {@link FIELDS} numbers per event (its buffer may be transferred). */
  data: Float64Array;
  /** Events in {@link data}. */
  count: number;
  /**
   * The sender's stacks first referenced in this batch, by ascending id
   * from {@link firstStack}: each as the indexes of its frames among all
   * the frames sent so far ({@link frames} of this batch and the earlier).
   */
  stacks: number[][];
  /** The frames first used by {@link stacks} (their indexes follow the previous batches'). */
  frames: Frame[];
  /** The id of `stacks[0]` in the sender's table. */
  firstStack: number;
  /** Type names first seen in this batch (their ids follow the previous batches'). */
  types: string[];
}

/**
 * Packs events into batches of `size` events, handing each full batch to
 * `flush` (call {@link EventPacker.flush} at the end for the last one).
 *
 * @example
 * ```ts
 * import { EventPacker, EventUnpacker } from "./event_batch.ts";
 * import { StackTable } from "./events.ts";
 * const from = new StackTable();
 * const s = from.intern([{ func: "main.f", file: "m.go", line: 3, pc: 0, inlined: false }]);
 * const to = new StackTable();
 * const un = new EventUnpacker(to);
 * const got: string[] = [];
 * const p = new EventPacker(from, (b) => un.unpack(b, 100, (e) => got.push(`${e.kind}@${e.lineNo}`)));
 * p.add({ kind: "alloc", addr: 16, size: 16, type: "main.T", requested: 12, goroutine: 1, stack: s, lineNo: 1 });
 * p.add({ kind: "gc", lineNo: 6 });
 * p.flush();
 * if (got.join() !== "alloc@101,gc@106" || to.get(1)[0].func !== "main.f") throw new Error();
 * ```
 */
export class EventPacker implements EventSink {
  readonly #stacks: StackTable;
  readonly #flush: (b: EventBatch) => void;
  readonly #size: number;
  #data: Float64Array;
  #n = 0;
  /** Stacks below this id were sent. */
  #sentStacks = 1;
  /** The index of each frame sent, by its frame id in the stack table (-1: not sent). */
  #frameIndex = new Int32Array(1024).fill(-1);
  /** Frames sent. */
  #frameCount = 0;
  readonly #types = new Map<string, number>();
  #newTypes: string[] = [];
  /** Our type ids by the ids {@link packed} was handed (of its `types`). */
  readonly #typeOf: number[] = [];

  /** Packs events whose stacks are in `stacks`. */
  constructor(
    stacks: StackTable,
    flush: (b: EventBatch) => void,
    size = 8192,
  ) {
    this.#stacks = stacks;
    this.#flush = flush;
    this.#size = size;
    this.#data = new Float64Array(size * FIELDS);
  }

  /** Adds one event. */
  add(e: TraceEvent): void {
    if (e.kind === "alloc") {
      this.alloc(
        e.addr,
        e.size,
        e.type,
        e.requested,
        e.goroutine,
        e.stack,
        e.lineNo,
      );
    } else if (e.kind === "free") {
      this.free(e.addr, e.size, e.goroutine, e.stack, e.lineNo);
    } else this.gc(e.lineNo);
  }

  /** Adds an allocation (see {@link EventSink}). */
  alloc(
    addr: number,
    size: number,
    type: string | null,
    requested: number,
    goroutine: number,
    stack: number,
    lineNo: number,
  ): void {
    const d = this.#data;
    const i = this.#n * FIELDS;
    d[i] = 0;
    d[i + 1] = addr;
    d[i + 2] = size;
    d[i + 3] = type === null ? -1 : this.#typeId(type);
    d[i + 4] = requested;
    d[i + 5] = goroutine;
    d[i + 6] = stack;
    d[i + 7] = lineNo;
    if (++this.#n === this.#size) this.flush();
  }

  /** Adds a free (see {@link EventSink}). */
  free(
    addr: number,
    size: number,
    goroutine: number,
    stack: number,
    lineNo: number,
  ): void {
    const d = this.#data;
    const i = this.#n * FIELDS;
    d[i] = 1;
    d[i + 1] = addr;
    d[i + 2] = size;
    d[i + 5] = goroutine;
    d[i + 6] = stack;
    d[i + 7] = lineNo;
    if (++this.#n === this.#size) this.flush();
  }

  /**
   * Adds `count` events packed from `d[from]` on, as {@link unpackEvents}
   * reads them (no stack id mapping; a type id is an index of `types`),
   * `lineBase` added to each line number: copied in bulk, with no call per
   * event (the Worker's records the scanner's table knows). Returns how
   * many were allocations.
   */
  packed(
    d: Float64Array,
    from: number,
    count: number,
    lineBase: number,
    types: readonly string[],
  ): number {
    let allocs = 0;
    const typeOf = this.#typeOf;
    while (count > 0) {
      const n = Math.min(count, this.#size - this.#n);
      const out = this.#data;
      const at = this.#n * FIELDS;
      const end = at + n * FIELDS;
      out.set(d.subarray(from, from + n * FIELDS), at);
      for (let i = at; i < end; i += FIELDS) {
        out[i + 7] += lineBase;
        if (out[i] !== 0) continue;
        allocs++;
        const t = out[i + 3];
        if (t < 0) continue;
        let u = typeOf[t];
        if (u === undefined) u = typeOf[t] = this.#typeId(types[t]);
        out[i + 3] = u;
      }
      from += n * FIELDS;
      count -= n;
      this.#n += n;
      if (this.#n === this.#size) this.flush();
    }
    return allocs;
  }

  /** The id of `type` in the batches (sent with the next batch when new). */
  #typeId(type: string): number {
    let t = this.#types.get(type);
    if (t === undefined) {
      t = this.#types.size;
      this.#types.set(type, t);
      this.#newTypes.push(type);
    }
    return t;
  }

  /** Adds a GC cycle (see {@link EventSink}). */
  gc(lineNo: number): void {
    const d = this.#data;
    const i = this.#n * FIELDS;
    d[i] = 2;
    d[i + 7] = lineNo;
    if (++this.#n === this.#size) this.flush();
  }

  /** Hands the events added since the last batch on (if any). */
  flush(): void {
    if (this.#n === 0) return;
    const first = this.#sentStacks;
    const stacks: number[][] = [];
    const frames: Frame[] = [];
    const table = this.#stacks;
    // (By the table's frame ids: no lookup by frame object per frame.)
    for (let id = first; id < table.size; id++) {
      const ids = table.frameIdsOf(id);
      const of = table.get(id);
      const sent: number[] = [];
      for (let k = 0; k < ids.length; k++) {
        const f = ids[k];
        if (f >= this.#frameIndex.length) {
          let n = 2 * this.#frameIndex.length;
          while (n <= f) n *= 2;
          this.#frameIndex = grown(this.#frameIndex, n, -1);
        }
        let i = this.#frameIndex[f];
        if (i < 0) {
          i = this.#frameIndex[f] = this.#frameCount++;
          frames.push(of[k]);
        }
        sent.push(i);
      }
      stacks.push(sent);
    }
    this.#sentStacks = this.#stacks.size;
    const b: EventBatch = {
      data: this.#data.subarray(0, this.#n * FIELDS),
      count: this.#n,
      stacks,
      frames,
      firstStack: first,
      types: this.#newTypes,
    };
    this.#data = new Float64Array(this.#size * FIELDS);
    this.#n = 0;
    this.#newTypes = [];
    this.#flush(b);
  }
}

/** Reads the batches of one {@link EventPacker}, in order, into events over `stacks`. */
export class EventUnpacker {
  readonly #stacks: StackTable;
  /** The sender's stack id → ours (0, the empty stack, is 0 in both). */
  readonly #stackIds: number[] = [0];
  readonly #types: string[] = [];
  /** Our frame id ({@link StackTable.frameId}) of each frame the sender sent, by its index. */
  #frameIds = new Int32Array(1024);
  #frameCount = 0;
  /** A stack's frame ids, ours. */
  #scratch = new Int32Array(64);

  /** Unpacks into events whose stacks are interned in `stacks`. */
  constructor(stacks: StackTable) {
    this.#stacks = stacks;
  }

  /** Hands each event of `b` to `emit`, `lineBase` added to its line number. */
  unpack(
    b: EventBatch,
    lineBase: number,
    emit: (e: TraceEvent) => void,
  ): void {
    this.unpackTo(b, lineBase, sinkOf(emit));
  }

  /** {@link EventUnpacker.unpack} into `sink`, with no object per event. */
  unpackTo(b: EventBatch, lineBase: number, sink: EventSink): void {
    const table = this.#stacks;
    for (const f of b.frames) {
      if (this.#frameCount === this.#frameIds.length) {
        this.#frameIds = grown(this.#frameIds, 2 * this.#frameCount);
      }
      // (Rebuilt: one object shape per frame, as a parser's.)
      this.#frameIds[this.#frameCount++] = table.frameId({
        func: f.func,
        file: f.file,
        line: f.line,
        pc: f.pc,
        inlined: f.inlined,
      });
    }
    const frameIds = this.#frameIds;
    for (let k = 0; k < b.stacks.length; k++) {
      const sent = b.stacks[k];
      const n = sent.length;
      if (n > this.#scratch.length) {
        this.#scratch = new Int32Array(Math.max(n, 2 * this.#scratch.length));
      }
      const ids = this.#scratch;
      for (let i = 0; i < n; i++) ids[i] = frameIds[sent[i]];
      this.#stackIds[b.firstStack + k] = table.internFrameIds(ids, n);
    }
    for (const t of b.types) this.#types.push(t);
    unpackEvents(
      b.data,
      0,
      b.count,
      lineBase,
      this.#types,
      this.#stackIds,
      sink,
    );
  }
}

/**
 * Hands `count` events packed from `d[from]` on ({@link FIELDS} numbers
 * each, as in an {@link EventBatch}) to `sink`, in order: a type id is
 * looked up in `types`, a stack id in `stackIds` when given, and
 * `lineBase` is added to each line number. Returns how many were
 * allocations. (The byte parser's scanner writes its events this way too.)
 *
 * @example
 * ```ts
 * import { unpackEvents } from "./event_batch.ts";
 * import { sinkOf, type TraceEvent } from "./events.ts";
 * const got: TraceEvent[] = [];
 * const d = new Float64Array([0, 16, 16, 0, 12, 1, 1, 3, 1, 16, 16, -1, 0, 1, 1, 9]);
 * const allocs = unpackEvents(d, 0, 2, 100, ["main.T"], null, sinkOf((e) => got.push(e)));
 * if (allocs !== 1 || got[0].kind !== "alloc" || got[0].type !== "main.T" || got[1].lineNo !== 109) throw new Error();
 * ```
 */
export function unpackEvents(
  d: Float64Array,
  from: number,
  count: number,
  lineBase: number,
  types: readonly string[],
  stackIds: readonly number[] | null,
  sink: EventSink,
): number {
  let allocs = 0;
  const end = from + count * FIELDS;
  for (let i = from; i < end; i += FIELDS) {
    const kind = d[i];
    const lineNo = d[i + 7] + lineBase;
    const stack = stackIds === null ? d[i + 6] : stackIds[d[i + 6]];
    if (kind === 0) {
      const t = d[i + 3];
      allocs++;
      sink.alloc(
        d[i + 1],
        d[i + 2],
        t < 0 ? null : types[t],
        d[i + 4],
        d[i + 5],
        stack,
        lineNo,
      );
    } else if (kind === 1) {
      sink.free(d[i + 1], d[i + 2], d[i + 5], stack, lineNo);
    } else sink.gc(lineNo);
  }
  return allocs;
}

/**
 * {@link unpackEvents} of events whose stack ids are the sink's own (none
 * mapped), or, into an {@link EventPacker}, its bulk {@link EventPacker.packed}
 * (`types` the same list at every call). Returns how many were allocations.
 *
 * @example
 * ```ts
 * import { EventPacker, passEvents } from "./event_batch.ts";
 * import { StackTable } from "./events.ts";
 * const sent: number[] = [];
 * const p = new EventPacker(new StackTable(), (b) => sent.push(...b.data.subarray(0, 8)));
 * const d = new Float64Array([0, 16, 16, 0, 12, 1, 0, 3]);
 * const allocs = passEvents(d, 0, 1, 100, ["main.T"], p);
 * p.flush();
 * if (allocs !== 1 || sent[7] !== 103 || sent[3] !== 0) throw new Error();
 * ```
 */
export function passEvents(
  d: Float64Array,
  from: number,
  count: number,
  lineBase: number,
  types: readonly string[],
  sink: EventSink,
): number {
  return sink instanceof EventPacker
    ? sink.packed(d, from, count, lineBase, types)
    : unpackEvents(d, from, count, lineBase, types, null, sink);
}
