/**
 * The native tracer's event model: one {@link NativeEvent} per traced call,
 * and the columnar {@link EventBatch} in which events cross from the
 * tracer's worker to their consumers. A batch holds each stack once (by id,
 * sent the first time it is seen), so a long run moves and keeps numbers,
 * not objects: what a consumer holds is bounded by the live allocations
 * and the distinct stacks, never by the number of events.
 *
 * @module
 */

/** The hooked functions; an allocation's record kind in the ring is its index + 1. */
export const NATIVE_KINDS = [
  "malloc",
  "calloc",
  "realloc",
  "free",
  "posix_memalign",
  "aligned_alloc",
  "memalign",
  "valloc",
  "reallocarray",
] as const;

/** A hooked function's name. */
export type NativeKind = typeof NATIVE_KINDS[number];

/** One native allocation event. */
export interface NativeEvent {
  /** The function called (`realloc` that moves also gives a `free`). */
  kind: NativeKind;
  /** Thread id. */
  tid: number;
  /** Process id (a fork or vfork child's own). */
  pid: number;
  /** The executable the process ran then (`/proc/PID/exe`). */
  image: string;
  /** Result (allocations) or argument (free). */
  addr: number;
  /** Bytes (allocations; `calloc`: n × size). */
  size: number;
  /** `realloc`'s old pointer. */
  old: number;
  /** The stack at entry: PCs with names, innermost first (empty without stacks or when not sampled). */
  frames: NativeFrame[];
  /** Whether the heap-profile sampler chose it (always, without a sampling rate). */
  sampled: boolean;
  /**
   * When the tracer saw it, in milliseconds since the trace started (the
   * in-process hooks' records are read every few milliseconds, so this is
   * that exact for them; a breakpoint's is the call's own).
   */
  time: number;
}

/** A native frame: its PC, symbol, module, and the address inside the module's file. */
export interface NativeFrame {
  /** Program counter (return address, except the first frame). */
  pc: number;
  /** Symbol name (empty when the module has none). */
  name: string;
  /** Offset from the symbol's start. */
  off: number;
  /** Path of the mapped file. */
  module: string;
  /** Address to look up in the module's ELF file (for addr2line). */
  rel: number;
}

/** Events in columns; stack ids refer to {@link EventBatch.stacks} of this or an earlier batch. */
export interface EventBatch {
  /** Events in the batch. */
  n: number;
  /** Index in {@link NATIVE_KINDS}. */
  kind: Uint8Array;
  /** Thread id. */
  tid: Int32Array;
  /** Process id. */
  pid: Int32Array;
  /** Image id (see {@link EventBatch.images}). */
  image: Int32Array;
  /** Result or freed address. */
  addr: Float64Array;
  /** Bytes. */
  size: Float64Array;
  /** realloc's old pointer. */
  old: Float64Array;
  /** Stack id, -1 for none. */
  stack: Int32Array;
  /** 1 when sampled. */
  sampled: Uint8Array;
  /** Milliseconds since the start. */
  time: Float64Array;
  /** Stacks first seen in this batch: [id, frames]. */
  stacks: [number, NativeFrame[]][];
  /** Images first seen in this batch: [id, path]. */
  images: [number, string][];
}

/** Events per batch. */
export const BATCH_EVENTS = 8192;

/**
 * Packs events into batches, giving each distinct stack (by its PCs) an id
 * once.
 *
 * @example
 * ```ts
 * import { BatchEncoder, decodeBatch } from "./event.ts";
 * const enc = new BatchEncoder();
 * const frames = [{ pc: 0x401000, name: "main", off: 0, module: "/bin/x", rel: 0x401000 }];
 * const e = { kind: "malloc", tid: 1, pid: 1, image: "/bin/x", size: 8, old: 0, sampled: true, time: 0 } as const;
 * enc.add({ ...e, addr: 16, frames });
 * enc.add({ ...e, addr: 32, frames: [...frames] });
 * const b = enc.take();
 * if (b.n !== 2 || b.stacks.length !== 1 || b.stack[0] !== b.stack[1]) throw new Error();
 * if (decodeBatch(b, new Map(b.stacks))[1].frames[0].name !== "main") throw new Error();
 * ```
 */
export class BatchEncoder {
  #b: EventBatch = BatchEncoder.#empty();
  readonly #ids = new Map<number, { pcs: number[]; id: number }[]>();
  #nextId = 0;
  readonly #images = new Map<string, number>();

  static #empty(): EventBatch {
    const n = BATCH_EVENTS;
    return {
      n: 0,
      kind: new Uint8Array(n),
      tid: new Int32Array(n),
      pid: new Int32Array(n),
      image: new Int32Array(n),
      addr: new Float64Array(n),
      size: new Float64Array(n),
      old: new Float64Array(n),
      stack: new Int32Array(n),
      sampled: new Uint8Array(n),
      time: new Float64Array(n),
      stacks: [],
      images: [],
    };
  }

  /** Adds `e`; true when the batch is full (take it). */
  add(e: NativeEvent): boolean {
    const b = this.#b;
    const i = b.n++;
    b.kind[i] = NATIVE_KINDS.indexOf(e.kind);
    b.tid[i] = e.tid;
    b.pid[i] = e.pid;
    let img = this.#images.get(e.image);
    if (img === undefined) {
      img = this.#images.size;
      this.#images.set(e.image, img);
      b.images.push([img, e.image]);
    }
    b.image[i] = img;
    b.addr[i] = e.addr;
    b.size[i] = e.size;
    b.old[i] = e.old;
    b.stack[i] = e.frames.length === 0 ? -1 : this.#stackId(e.frames);
    b.sampled[i] = e.sampled ? 1 : 0;
    b.time[i] = e.time;
    return b.n === BATCH_EVENTS;
  }

  /** The batch so far (its arrays are handed over; a new batch starts). */
  take(): EventBatch {
    const b = this.#b;
    this.#b = BatchEncoder.#empty();
    return b;
  }

  #stackId(frames: NativeFrame[]): number {
    let h = frames.length;
    for (const f of frames) h = (Math.imul(h, 31) + (f.pc % 0x7fffffff)) | 0;
    let chain = this.#ids.get(h);
    if (chain === undefined) {
      chain = [];
      this.#ids.set(h, chain);
    }
    for (const s of chain) {
      if (
        s.pcs.length === frames.length &&
        s.pcs.every((pc, j) => pc === frames[j].pc)
      ) return s.id;
    }
    const id = this.#nextId++;
    chain.push({ pcs: frames.map((f) => f.pc), id });
    this.#b.stacks.push([id, frames]);
    return id;
  }
}

/**
 * The events of a batch as objects (`stacks`, `images`: every stack and
 * image seen so far, by id).
 */
export function decodeBatch(
  b: EventBatch,
  stacks: ReadonlyMap<number, NativeFrame[]>,
  images: ReadonlyMap<number, string> = new Map(b.images),
): NativeEvent[] {
  const out: NativeEvent[] = [];
  for (let i = 0; i < b.n; i++) {
    out.push({
      kind: NATIVE_KINDS[b.kind[i]],
      tid: b.tid[i],
      pid: b.pid[i],
      image: images.get(b.image[i]) ?? "?",
      addr: b.addr[i],
      size: b.size[i],
      old: b.old[i],
      frames: b.stack[i] < 0 ? [] : stacks.get(b.stack[i]) ?? [],
      sampled: b.sampled[i] === 1,
      time: b.time[i],
    });
  }
  return out;
}
