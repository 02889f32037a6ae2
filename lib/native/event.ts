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
  /**
   * The file to read for `module` when its path cannot be opened (a program
   * run from a memfd or a deleted file): a temporary copy, read by the
   * unwinder and addr2line but never shown (it differs each run and goes
   * at the end). Absent when `module` is the file.
   */
  file?: string;
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
  /**
   * Fork children that began in this batch: [parent pid, child pid, the
   * image they share, index of the first event after it] (the child's heap
   * is a copy of its parent's; a pid seen before is a new process now).
   */
  forks: [number, number, number, number][];
  /**
   * Execs in this batch: [index of the first event after it, pid, the
   * image it left, the image it runs] (the old image's heap went with it).
   */
  execs: [number, number, number, number][];
}

/** Events per batch (the first ones hold fewer, see {@link BatchEncoder}). */
export const BATCH_EVENTS = 8192;
/** Events of the first batch; each next one holds four times as many, up to BATCH_EVENTS. */
const FIRST_BATCH = 256;

/** Bytes of one batch's columns, all in one buffer (see {@link BatchEncoder}). */
export const BATCH_BYTES = BATCH_EVENTS * (4 * 8 + 4 * 4 + 2);

/**
 * An empty batch whose columns are views of `buf` ({@link BATCH_BYTES}
 * long): a {@link BatchEncoder}'s slot, as its writer or a reader sees it.
 *
 * @example
 * ```ts
 * import { BATCH_BYTES, batchOver, BatchEncoder } from "./event.ts";
 * const slot = new SharedArrayBuffer(BATCH_BYTES);
 * const enc = new BatchEncoder(undefined, [slot]);
 * enc.event(0, 7, 7, 0, 4096, 64, 0, -1, true, 1.5);
 * const seen = batchOver(slot);
 * if (seen.addr[0] !== 4096 || seen.tid[0] !== 7) throw new Error();
 * ```
 */
export function batchOver(buf: ArrayBufferLike): EventBatch {
  const n = BATCH_EVENTS;
  // The 8-byte columns first: every view stays aligned.
  return {
    n: 0,
    addr: new Float64Array(buf, 0, n),
    size: new Float64Array(buf, 8 * n, n),
    old: new Float64Array(buf, 16 * n, n),
    time: new Float64Array(buf, 24 * n, n),
    tid: new Int32Array(buf, 32 * n, n),
    pid: new Int32Array(buf, 36 * n, n),
    image: new Int32Array(buf, 40 * n, n),
    stack: new Int32Array(buf, 44 * n, n),
    kind: new Uint8Array(buf, 48 * n, n),
    sampled: new Uint8Array(buf, 49 * n, n),
    stacks: [],
    images: [],
    forks: [],
    execs: [],
  };
}

/**
 * Where a tracer puts events, field by field (no object per event): the
 * columnar {@link BatchEncoder}, or {@link EventObjects} for callers that
 * want {@link NativeEvent}s.
 */
export interface EventOut {
  /** The id of a stack: the same PCs, the same id. */
  stackId(frames: NativeFrame[]): number;
  /**
   * The id of an image path; with `exec`, a new one even for a path seen
   * before (an exec begins a new image, whose blocks are not the old one's).
   */
  imageId(path: string, exec?: boolean): number;
  /**
   * Process `child` was forked from `parent`, running image `image` (an
   * {@link EventOut.imageId}) until it execs: the blocks it frees without
   * having allocated them are its parent's, inherited.
   */
  forked?(parent: number, child: number, image: number): void;
  /** Process `pid` exec'd: it left image `old` for `image` (ids of {@link EventOut.imageId}). */
  execd?(pid: number, old: number, image: number): void;
  /**
   * One event (`kind`: index in {@link NATIVE_KINDS}; `stack`: a
   * {@link EventOut.stackId}, -1 for none; `image`: an {@link EventOut.imageId}).
   */
  event(
    kind: number,
    tid: number,
    pid: number,
    image: number,
    addr: number,
    size: number,
    old: number,
    stack: number,
    sampled: boolean,
    time: number,
  ): void;
}

/** Index of `free` in {@link NATIVE_KINDS}. */
export const FREE_KIND = 3;

/**
 * Packs events into batches, giving each distinct stack (by its PCs) an id
 * once; `onFull` takes each full batch.
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
export class BatchEncoder implements EventOut {
  readonly #ids = new Map<number, { pcs: number[]; id: number }[]>();
  #nextId = 0;
  readonly #images = new Map<string, number>();
  #nextImage = 0;
  readonly #onFull: (() => void) | undefined;
  readonly #slots: readonly SharedArrayBuffer[];
  #slot = 0;
  #b: EventBatch;
  // The first batches are short: the consumer starts sooner (after 256
  // events, not 8,192, interpreted at ~2-3 µs each), and the full-batch
  // call below runs before V8 optimizes this method (met only at the
  // first full batch, it threw the optimized code away, once a run).
  #limit = FIRST_BATCH;

  /**
   * An encoder; `onFull` is called when a batch is full (it should
   * {@link BatchEncoder.take} it). With `slots` (each
   * {@link BATCH_BYTES} long), batches are written into them in turn
   * instead of into new arrays: a batch's arrays are then reused
   * `slots.length` batches later, so its consumer must be done with it by
   * then.
   */
  constructor(onFull?: () => void, slots: readonly SharedArrayBuffer[] = []) {
    this.#onFull = onFull;
    this.#slots = slots;
    this.#b = this.#empty();
  }

  #empty(): EventBatch {
    if (this.#slots.length === 0) {
      return batchOver(new ArrayBuffer(BATCH_BYTES));
    }
    const buf = this.#slots[this.#slot];
    this.#slot = (this.#slot + 1) % this.#slots.length;
    return batchOver(buf);
  }

  /** Adds `e`; true when the batch is full (take it). */
  add(e: NativeEvent): boolean {
    this.event(
      NATIVE_KINDS.indexOf(e.kind),
      e.tid,
      e.pid,
      this.imageId(e.image),
      e.addr,
      e.size,
      e.old,
      e.frames.length === 0 ? -1 : this.stackId(e.frames),
      e.sampled,
      e.time,
    );
    return this.#b.n >= this.#limit;
  }

  event(
    kind: number,
    tid: number,
    pid: number,
    image: number,
    addr: number,
    size: number,
    old: number,
    stack: number,
    sampled: boolean,
    time: number,
  ): void {
    const b = this.#b;
    const i = b.n++;
    b.kind[i] = kind;
    b.tid[i] = tid;
    b.pid[i] = pid;
    b.image[i] = image;
    b.addr[i] = addr;
    b.size[i] = size;
    b.old[i] = old;
    b.stack[i] = stack;
    b.sampled[i] = sampled ? 1 : 0;
    b.time[i] = time;
    if (b.n >= this.#limit) this.#onFull?.();
  }

  imageId(path: string, exec = false): number {
    let img = exec ? undefined : this.#images.get(path);
    if (img === undefined) {
      img = this.#nextImage++;
      this.#images.set(path, img);
      this.#b.images.push([img, path]);
    }
    return img;
  }

  forked(parent: number, child: number, image: number): void {
    this.#b.forks.push([parent, child, image, this.#b.n]);
  }

  execd(pid: number, old: number, image: number): void {
    this.#b.execs.push([this.#b.n, pid, old, image]);
  }

  /** The batch so far (its arrays are handed over; a new batch starts). */
  take(): EventBatch {
    const b = this.#b;
    this.#b = this.#empty();
    this.#limit = Math.min(BATCH_EVENTS, this.#limit * 4);
    return b;
  }

  stackId(frames: NativeFrame[]): number {
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
 * An {@link EventOut} that hands each event to `onEvent` as a
 * {@link NativeEvent} (for tests and small callers; the CLI uses batches).
 *
 * @example
 * ```ts
 * import { EventObjects, type NativeEvent } from "./event.ts";
 * const got: NativeEvent[] = [];
 * const out = new EventObjects((e) => got.push(e));
 * const s = out.stackId([{ pc: 1, name: "f", off: 0, module: "/x", rel: 1 }]);
 * out.event(0, 7, 7, out.imageId("/x"), 16, 8, 0, s, true, 0);
 * if (got[0].kind !== "malloc" || got[0].frames[0].name !== "f") throw new Error();
 * ```
 */
export class EventObjects implements EventOut {
  readonly #onEvent: (e: NativeEvent) => void;
  readonly #enc = new BatchEncoder();
  readonly #stacks = new Map<number, NativeFrame[]>();
  readonly #images: string[] = [];

  /** Events go to `onEvent`. */
  constructor(onEvent: (e: NativeEvent) => void) {
    this.#onEvent = onEvent;
  }

  stackId(frames: NativeFrame[]): number {
    const id = this.#enc.stackId(frames);
    if (!this.#stacks.has(id)) this.#stacks.set(id, frames);
    return id;
  }

  imageId(path: string, exec = false): number {
    let i = exec ? -1 : this.#images.indexOf(path);
    if (i < 0) i = this.#images.push(path) - 1;
    return i;
  }

  event(
    kind: number,
    tid: number,
    pid: number,
    image: number,
    addr: number,
    size: number,
    old: number,
    stack: number,
    sampled: boolean,
    time: number,
  ): void {
    this.#onEvent({
      kind: NATIVE_KINDS[kind],
      tid,
      pid,
      image: this.#images[image] ?? "?",
      addr,
      size,
      old,
      frames: stack < 0 ? [] : this.#stacks.get(stack) ?? [],
      sampled,
      time,
    });
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
