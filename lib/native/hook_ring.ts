/**
 * The tracer's side of the injected hooks (inject.ts): reading the ring
 * buffer the stubs fill inside the program, turning its records into calls
 * and events in the order they happened, unwinding the stacks the stubs
 * copied, freeing the slots that hold those copies, and keeping the
 * sampling countdowns drawn ahead.
 *
 * @module
 */

import type { Sampler } from "../runtime/sampling.ts";
import { CopyUnwinder } from "./copy_unwind.ts";
import {
  DRAWS,
  type Injection,
  LAYOUT,
  MAX_CODE_RANGES,
  REC_ENTER,
  REC_FREE,
  REC_KNOWN,
  REC_STACK,
  RECORD_BYTES,
  RING_RECORDS,
  SLOTS,
  SNAPSHOT_BYTES,
  STACK_IDS,
  STACK_PROBES,
  THREAD_SLOTS,
} from "./inject.ts";
import type { RemoteMemory } from "./remote.ts";
import type { ModuleAt } from "./proc_maps.ts";
import { FREE_KIND, NATIVE_KINDS, type NativeFrame } from "./event.ts";

/** What the ring reader needs from the tracer. */
export interface RingOptions {
  mem: RemoteMemory;
  /**
   * The region's first SHARED_BYTES as the tracer maps them (ring_map.ts):
   * records read where the stubs wrote them. Null: by system call.
   */
  view: Uint8Array | null;
  pid: number;
  /** Where the region is mapped in the program. */
  region: number;
  code: Injection;
  /** Entry address of each record kind's function (where unwinding starts). */
  entryOf: Map<number, number>;
  sampler: Sampler | null;
  rate: number;
  wantStacks: boolean;
  /** The mapped file holding `pc` and the address to look up in it. */
  moduleOf: (pc: number) => ModuleAt;
  /** Where events go. */
  out: RingOut;
  /** The code of the mapped files now (see ProcMaps.codeRanges). */
  codeRanges: () => [number, number][];
  /** The stack holding `rsp` now, as [lo, hi), or null (see ProcMaps.stackAt). */
  stackAt: (rsp: number) => [number, number] | null;
  /** Use the stack table and the thread table (false: every copy by system call, unwound). */
  stackCache: boolean;
  /** Counted here. */
  stats: StackStats;
}

/** How stacks were had (the in-process hooks' stack cache at work). */
export interface StackStats {
  /** Copies unwound. */
  unwound: number;
  /** Stacks known by their hash (in the program's table, or the tracer's). */
  reused: number;
}

/** What the ring reader hands its events to (see {@link HookedProcess}). */
export interface RingOut {
  /**
   * An event (`kind`: index in NATIVE_KINDS; `stack`: a stack id or -1;
   * `stamp`: when the stub saw the call, see inject.ts's STAMP_SHIFT).
   */
  put(
    kind: number,
    tid: number,
    addr: number,
    size: number,
    old: number,
    stack: number,
    sampled: boolean,
    stamp: number,
  ): void;
  /** The id of a stack (the same PCs, the same id). */
  stackId(frames: NativeFrame[]): number;
}

// Indices in NATIVE_KINDS.
const REALLOC = NATIVE_KINDS.indexOf("realloc");
const POSIX_MEMALIGN = NATIVE_KINDS.indexOf("posix_memalign");
const REALLOCARRAY = NATIVE_KINDS.indexOf("reallocarray");

const CONTROL = 0x30; // head … drawIndex
// Countdowns kept written ahead of the stubs' index when sampling. A stub
// takes one only with a slot holding a stack copy, which the tracer frees
// in drain() after refilling: between two refills the stubs take at most
// the slots free at the first plus those freed after it, 2 * SLOTS. Not all
// DRAWS up front: drawing 65,536 at the start cost ~35 ms of a sampled run.
const DRAWS_AHEAD = 4 * SLOTS;
// Countdowns written before the program runs, while it waits: before the
// first refill the stubs take at most SLOTS (every slot free, none freed
// until a drain has refilled), and this keeps DRAWS_AHEAD's twofold margin
// over that (the other half is drawn at the first refills; each draw is on
// the tracer's path: ~0.5 µs each in BigInt arithmetic, now ~40 ns).
const DRAWS_FIRST = 2 * SLOTS;
// How much of a copy the stubs hash: all of it until a stack is unwound,
// then a little past the deepest any unwinding has looked (a shallow
// stack's hash then costs its depth, not ~2 KB).
const COPY_ROOM = SNAPSHOT_BYTES - 64;
const HASH_LIMIT0 = COPY_ROOM;
const CHUNK = 1024; // records read at once
const BIG = 2 ** 62;

/** The reader of one program's hook ring. */
export class HookRing {
  readonly code: Injection;
  readonly #o: RingOptions;
  #tail = 0;
  #tailWritten = 0;
  #drawsFilled = 0;
  /** How many bytes of a copy the stubs hash (see inject.ts stackHash). */
  #hashLimit = HASH_LIMIT0;
  /** Whether it was set from an unwinding (then it only grows). */
  #limitSet = false;
  /** The deepest any unwinding has looked, in bytes from the entry's rsp. */
  #reach = 0;
  /**
   * Per thread pointer (fs base): its tid (an unknown one is the main
   * thread's) and its calls entered and not yet returned.
   */
  readonly #threads = new Map<number, { tid: number; depth: number }>();
  // NaN, no thread pointer (not -1: V8 would keep it as a small integer
  // until the first pointer, then change the object's shape, and the
  // optimized code that relied on it was thrown away, once a run).
  #lastFs = NaN;
  #last = { tid: 0, depth: 0 };
  // The records of a chunk: a copy (the control words, then the chunk), or
  // the shared view itself; #base is where the chunk's first record is.
  readonly #recBuf: Uint8Array;
  readonly #recView: DataView;
  readonly #recU32: Uint32Array;
  #base = CONTROL;
  readonly #drawBuf = new Uint8Array(8 * 4096);
  readonly #drawU32 = new Uint32Array(this.#drawBuf.buffer);
  readonly #snapBatch = new Uint8Array(CHUNK * SNAPSHOT_BYTES);
  /** The code ranges the stubs were given. */
  #ranges: [number, number][] = [];
  /** Stack hashes seen → stack id (-1: no frame). */
  #hashIds = new Map<bigint, number>();
  /** Entries of the program's stack table in use. */
  #tblUsed = new Uint8Array(STACK_IDS + STACK_PROBES);
  /** Table entries to write at the end of the drain: id first, then hash. */
  readonly #inserts: [Uint8Array, number][] = [];
  /** Thread table: entry of each thread pointer given its stack. */
  #threadEntry = new Map<number, number>();
  #threadUsed = new Uint8Array(THREAD_SLOTS + STACK_PROBES);
  /** Record index in the chunk → its stack copy's index in the batch. */
  readonly #preloaded = new Map<number, number>();
  /** Indices in the chunk of the records that hold a stack copy. */
  readonly #copies = new Int32Array(CHUNK);
  /** Record index in the chunk → the stack id of its copy (see #preloadStacks). */
  readonly #copyIds = new Int32Array(CHUNK);
  /** Records of this chunk whose stack the program's table knew (see #record). */
  #reused = 0;
  readonly #toRelease: number[] = [];
  readonly #zero8 = new Uint8Array(8);
  readonly #unwinder: CopyUnwinder;

  /** A reader for the region `o.region`, whose code `o.code` is written. */
  constructor(o: RingOptions) {
    this.#o = o;
    this.code = o.code;
    this.#unwinder = new CopyUnwinder(o.moduleOf, (pc) => this.#isCode(pc));
    this.#recBuf = o.view ?? new Uint8Array(CONTROL + CHUNK * RECORD_BYTES);
    const b = this.#recBuf;
    this.#recView = new DataView(b.buffer, b.byteOffset, b.length);
    this.#recU32 = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  }

  /** Writes the control words the stubs read; false when the memory is not there. */
  init(): boolean {
    const o = this.#o;
    if (!o.mem.writeWord(o.region + LAYOUT.pid, BigInt(o.pid))) return false;
    const first = o.sampler !== null
      ? Math.floor(o.sampler.nextSample)
      : this.#nextBudget();
    if (!o.mem.writeWord(o.region + LAYOUT.budget, BigInt(first))) {
      return false;
    }
    if (!this.#writeRanges()) return false;
    if (
      !o.mem.writeWord(o.region + LAYOUT.hashLimit, BigInt(this.#hashLimit))
    ) {
      return false;
    }
    if (o.sampler === null) return !o.wantStacks || this.#fillDraws(DRAWS);
    return this.#fillDraws(DRAWS_FIRST);
  }

  /**
   * The program's code changed (a library was loaded or unloaded; its
   * threads may run): new code ranges, and the stack table emptied, since
   * its hashes were made with the old ranges.
   */
  codeChanged(): void {
    const o = this.#o;
    const now = o.codeRanges().slice(0, MAX_CODE_RANGES);
    if (now.join() === this.#ranges.join()) return; // nothing new
    if (!o.stackCache) {
      this.#writeRanges();
      return;
    }
    // Hashes first (a stub finding none copies the stack), then the ranges.
    const zeros = new Uint8Array(this.#tblUsed.length * 16);
    o.mem.transfer(true, [[zeros, o.region + LAYOUT.stackIds]]);
    this.#tblUsed.fill(0);
    this.#hashIds.clear();
    this.#inserts.length = 0;
    this.#writeRanges();
  }

  #writeRanges(): boolean {
    const o = this.#o;
    this.#ranges = o.codeRanges().slice(0, MAX_CODE_RANGES);
    const r = this.#ranges;
    const buf = new BigUint64Array(1 + 2 * MAX_CODE_RANGES);
    buf[0] = BigInt(r.length);
    r.forEach(([lo, hi], i) => {
      buf[1 + 2 * i] = BigInt(lo);
      buf[2 + 2 * i] = BigInt(hi);
    });
    const bounds = new BigUint64Array([
      BigInt(r[0]?.[0] ?? 0),
      BigInt(r.at(-1)?.[1] ?? 0),
    ]);
    return o.mem.transfer(true, [
      [new Uint8Array(buf.buffer), o.region + LAYOUT.ranges],
      [new Uint8Array(bounds.buffer), o.region + LAYOUT.codeLo],
    ]);
  }

  /** Whether `pc` is in the code ranges the stubs were given (what their hashes keep by value). */
  #isCode(pc: number): boolean {
    for (const [lo, hi] of this.#ranges) if (pc >= lo && pc < hi) return true;
    return false;
  }

  /**
   * The reader of a fork child's copy of this ring (`o`: the child's
   * memory, pid and callbacks): it starts at the head the copy holds (the
   * records before it are the parent's), with the countdowns already
   * written.
   */
  forked(o: RingOptions): HookRing | null {
    const r = new HookRing(o);
    const head = o.mem.readWord(o.region + LAYOUT.head);
    r.#tail = r.#tailWritten = head;
    r.#drawsFilled = this.#drawsFilled;
    r.#hashLimit = this.#hashLimit;
    r.#limitSet = this.#limitSet;
    r.#reach = this.#reach;
    // Its memory holds the stack table and ranges as they were at the fork.
    r.#ranges = this.#ranges;
    r.#hashIds = new Map(this.#hashIds);
    r.#tblUsed = this.#tblUsed.slice();
    r.#threadEntry = new Map(this.#threadEntry);
    r.#threadUsed = this.#threadUsed.slice();
    // The stubs copy stacks with process_vm_readv on their own pid.
    const ok = o.mem.writeWord(o.region + LAYOUT.tail, BigInt(head)) &&
      o.mem.writeWord(o.region + LAYOUT.pid, BigInt(o.pid));
    return ok ? r : null;
  }

  /**
   * Names the thread whose thread pointer is `fs` (at its first stop,
   * before it runs; `rsp`: its stack pointer then, to tell the stubs its
   * stack).
   */
  thread(fs: number, tid: number, rsp?: number): void {
    const th = this.#threads.get(fs);
    if (th === undefined) this.#threads.set(fs, { tid, depth: 0 });
    else th.tid = tid;
    if (rsp !== undefined) this.#setStack(fs, rsp);
  }

  // Tells the stubs the stack of the thread whose pointer is `fs` (the
  // mapping holding `rsp`), so that they copy it without a system call:
  // the bounds first, then the thread pointer that makes them valid.
  #setStack(fs: number, rsp: number): void {
    const o = this.#o;
    if (fs === 0 || !o.stackCache) return;
    const st = o.stackAt(rsp);
    let e = this.#threadEntry.get(fs);
    if (e === undefined) {
      if (st === null) return;
      const home = Number(
        BigInt.asUintN(64, BigInt(fs) * 0x9e3779b97f4a7c15n) >>
          BigInt(64 - Math.log2(THREAD_SLOTS)),
      );
      for (let p = home; p < home + STACK_PROBES; p++) {
        if (this.#threadUsed[p] === 0) {
          e = p;
          break;
        }
      }
      if (e === undefined) return; // full: this thread's copies use the system call
      this.#threadUsed[e] = 1;
      this.#threadEntry.set(fs, e);
    }
    // Unknown now: an empty stack, which no rsp is in.
    const [lo, hi] = st ?? [0, 0];
    const w = new BigUint64Array([BigInt(lo), BigInt(hi), BigInt(fs)]);
    const b = new Uint8Array(w.buffer);
    const addr = o.region + LAYOUT.threads + e * 32;
    o.mem.transfer(true, [
      [b.subarray(0, 16), addr + 8],
      [b.subarray(16), addr],
    ]);
  }

  /**
   * Reads the ring from the tail to the head and turns records into events;
   * frees the slots of finished calls with stack copies; with `forceTail`
   * (a stub is waiting for room) writes the tail even when little was read.
   * Returns the number of records read.
   */
  drain(forceTail: boolean): number {
    const o = this.#o;
    const from = this.#tail;
    if (!this.#readRecords()) return this.#tail - from;
    this.#releaseSlots();
    if (this.#inserts.length > 0) {
      o.mem.transfer(true, this.#inserts);
      this.#inserts.length = 0;
    }
    if (forceTail || this.#tail - this.#tailWritten >= RING_RECORDS / 4) {
      if (o.mem.writeWord(o.region + LAYOUT.tail, BigInt(this.#tail))) {
        this.#tailWritten = this.#tail;
      }
    }
    return this.#tail - from;
  }

  // Reads the records from the tail to the head; false when the memory is
  // not there. Apart from drain(), with nothing after its loop, and each
  // chunk in #readChunk, whose loops are outermost: the first drain keeps
  // up with a program that keeps writing, so V8 compiles these loops while
  // they run (OSR) before they ever end. Code after a loop then had no type
  // feedback (in drain(), it deoptimized at every call's end, ~10 times a
  // run, until a full compile replaced it), and code compiled from an inner
  // loop deoptimizes each time that loop exits.
  #readRecords(): boolean {
    for (;;) {
      const more = this.#readChunk();
      if (more !== 1) return more === 0;
    }
  }

  // Reads one chunk of records at the tail: -1 when the memory is not
  // there, 0 when the head is reached, 1 when more records are there.
  #readChunk(): number {
    const o = this.#o;
    const at = this.#tail % RING_RECORDS;
    const count = Math.min(CHUNK, RING_RECORDS - at);
    if (o.view !== null) this.#base = LAYOUT.ring + at * RECORD_BYTES;
    else if (!this.#copyChunk(at, count)) return -1;
    const base = this.#base;
    // (The control words are where they are in the region: head at 0.)
    const head = o.view !== null
      ? Atomics.load(this.#recU32, 0) +
        Atomics.load(this.#recU32, 1) * 4294967296
      : this.#u64(0);
    // The records written, and which of them hold a stack copy (noted
    // for every record, without a branch: the rare copy is no path of its
    // own that V8 compiles this loop without and deoptimizes at).
    const w = this.#recU32;
    const copies = this.#copies;
    let done = 0;
    let n = 0;
    // The "written" marker, a stub's last store to its record: its low
    // word read with Atomics.load, so that no read of the record's other
    // words (the stub's earlier stores) can be moved before it (in a
    // shared ring, read while the stubs write).
    while (
      done < count && this.#tail + done < head &&
      Atomics.load(w, (base + done * RECORD_BYTES) >>> 2) +
            w[((base + done * RECORD_BYTES) >>> 2) + 1] * 4294967296 ===
        this.#tail + done + 1
    ) {
      copies[n] = done;
      n += (w[(base + done * RECORD_BYTES + 8) >>> 2] & REC_STACK) === 0
        ? 0
        : 1;
      done++;
    }
    this.#preloadStacks(n);
    for (let i = 0; i < done; i++) this.#record(i);
    o.stats.reused += this.#reused;
    this.#reused = 0;
    this.#tail += done;
    if (o.sampler !== null) {
      this.#fillDraws(this.#u64(LAYOUT.drawIndex) + DRAWS_AHEAD);
    }
    return done < count || this.#tail >= head ? 0 : 1;
  }

  // Copies the control words and `count` records from index `at` into
  // #recBuf; false when the memory is not there.
  #copyChunk(at: number, count: number): boolean {
    const o = this.#o;
    return o.mem.transfer(false, [
      [this.#recBuf.subarray(0, CONTROL), o.region + LAYOUT.head],
      [
        this.#recBuf.subarray(CONTROL, CONTROL + count * RECORD_BYTES),
        o.region + LAYOUT.ring + at * RECORD_BYTES,
      ],
    ]);
  }

  // (Words are 8-byte aligned: two 32-bit loads, no DataView.)
  #u64(o: number): number {
    const w = this.#recU32;
    return w[o >>> 2] + w[(o >>> 2) + 1] * 4294967296;
  }

  // The countdown to the next stack: Go's sampler's, or always, or never
  // (an integer, below 2^53 or ±2^62).
  #nextBudget(): number {
    const o = this.#o;
    return o.sampler !== null
      ? Math.floor(o.sampler.draw(o.rate))
      : o.wantStacks
      ? -BIG
      : BIG;
  }

  // Keeps the countdowns up to index `upTo` written ahead of the stubs.
  #fillDraws(upTo: number): boolean {
    const o = this.#o;
    while (this.#drawsFilled < upTo) {
      const at = this.#drawsFilled % DRAWS;
      const n = Math.min(upTo - this.#drawsFilled, DRAWS - at, 4096);
      this.#drawInto(n);
      if (
        !o.mem.transfer(true, [[
          this.#drawBuf.subarray(0, n * 8),
          o.region + LAYOUT.draws + at * 8,
        ]])
      ) return false;
      this.#drawsFilled += n;
    }
    return true;
  }

  // The next `n` countdowns into #drawBuf, each as two 32-bit halves, two's
  // complement (no BigInt: 65,536 of them at the start made ~0.1 s of
  // garbage collection). A loop with nothing after it: V8 compiles it
  // while it runs (OSR), and in #fillDraws the transfer after it had no
  // type feedback then (a deopt, once a run).
  #drawInto(n: number): void {
    const w = this.#drawU32;
    for (let i = 0; i < n; i++) {
      const v = this.#nextBudget();
      const hi = Math.floor(v / 4294967296);
      w[2 * i] = v - hi * 4294967296;
      w[2 * i + 1] = hi >>> 0;
    }
  }

  #record(i: number): void {
    const o = this.#o;
    // Every word, whatever the record's kind, read here (not by #u64,
    // whose one feedback serves every caller): a word read only on a rare
    // path (the first stack copy, known stack, realloc or new thread met
    // after V8 compiled this method) had no type feedback, and its read
    // threw the optimized code away, ~3 times a sampled run.
    const w = this.#recU32;
    const q = (this.#base + i * RECORD_BYTES) >>> 2;
    const type = w[q + 2];
    const stamp = w[q + 3];
    const fs = w[q + 4] + w[q + 5] * 4294967296;
    const a = w[q + 6] + w[q + 7] * 4294967296;
    const size = w[q + 8] + w[q + 9] * 4294967296;
    const w40 = w[q + 10] + w[q + 11] * 4294967296;
    const w48 = w[q + 12] + w[q + 13] * 4294967296;
    const w56 = w[q + 14] + w[q + 15] * 4294967296;
    const kind = type & 0x3f;
    const slot = type >>> 8;
    const copyId = this.#copyIds[i];
    let th = this.#last;
    if (fs !== this.#lastFs) {
      const t = this.#threads.get(fs);
      if (t === undefined) {
        th = { tid: o.pid, depth: 0 };
        this.#threads.set(fs, th);
      } else th = t;
      if (!this.#threadEntry.has(fs) && kind !== REC_ENTER) {
        this.#setStack(fs, w48); // a thread not met at its start
      }
      this.#lastFs = fs;
      this.#last = th;
    }
    const tid = th.tid;
    const depth = th.depth;
    if (kind === REC_FREE) {
      // free inside realloc is part of the realloc.
      if (depth === 0) o.out.put(FREE_KIND, tid, a, 0, 0, -1, false, stamp);
      return;
    }
    if (kind === REC_ENTER) {
      th.depth = depth + 1; // a realloc or reallocarray began
      return;
    }
    // An allocation that returned `a`: its record says all.
    const k = kind - 1;
    if (k < 0 || k >= NATIVE_KINDS.length || slot >= SLOTS) return;
    const copied = (type & REC_STACK) !== 0;
    const known = (type & REC_KNOWN) !== 0;
    let nested = depth > 0;
    if (k === REALLOC || k === REALLOCARRAY) {
      // Its own REC_ENTER counted it (unless it began before we read).
      if (depth > 0) th.depth = depth - 1;
      nested = depth > 1;
    }
    // Counted for every record, without a branch, and added to the stats
    // once a chunk: `o.stats.reused++` where the first known stack came
    // (after V8 had compiled this method) threw its optimized code away.
    this.#reused += known ? 1 : 0;
    const knownId = w56 - 1;
    const stack = !o.wantStacks ? -1 : known ? knownId : copied ? copyId : -1;
    // A slot holding a stack copy is freed by us, once the call is over.
    if (copied && !o.wantStacks) this.#toRelease.push(slot);
    if (nested) return;
    const sampled = o.sampler === null || copied || known;
    const out = o.out;
    let result = a;
    let old = 0;
    if (k === POSIX_MEMALIGN) {
      // It returns an error number; the block goes to *memptr.
      if (result === 0) result = w40;
      else result = 0;
    } else if (k === REALLOC || k === REALLOCARRAY) {
      // realloc frees the old block when it moves it, and realloc(p, 0) frees p.
      old = w40;
      if (old !== 0 && (result !== 0 || size === 0)) {
        out.put(FREE_KIND, tid, old, 0, 0, -1, false, stamp);
      }
    }
    if (result !== 0) {
      out.put(k, tid, result, size, old, stack, sampled, stamp);
    }
  }

  // The stack id of record `i`'s copied stack (-1 when it gave no frame):
  // its hash's, or unwound, and then the hash goes into the program's table.
  // The call's slot is freed once the drain is over.
  #stackIdOf(i: number, kind: number, rsp: number): number {
    const type = this.#recU32[(this.#base + i * RECORD_BYTES + 8) >>> 2];
    this.#toRelease.push(type >>> 8);
    const entry = this.#o.entryOf.get(kind) ?? 0;
    const hash = this.#recView.getBigUint64(
      this.#base + i * RECORD_BYTES + 56,
      true,
    );
    const o = this.#o;
    const seen = o.stackCache ? this.#hashIds.get(hash) : undefined;
    if (seen !== undefined) {
      o.stats.reused++;
      return seen;
    }
    const reach = { bytes: 0 };
    const frames = this.#stackOf(i, entry, rsp, reach);
    const id = frames.length === 0 ? -1 : o.out.stackId(frames);
    o.stats.unwound++;
    // Not read: no hash to trust.
    const k = this.#preloaded.get(i);
    if (k === undefined || !o.stackCache) return id;
    // The hash covers the copy up to the limit the stub used: a stack whose
    // unwinding looked past it (and whose copy goes on) is not known by it.
    // The limit follows the deepest look so far, for the next copies.
    const snap = new DataView(this.#snapBatch.buffer, k * SNAPSHOT_BYTES, 64);
    const used = Number(snap.getBigUint64(48, true));
    const copied = Math.max(0, Number(snap.getBigInt64(56, true))) & ~7;
    this.#reach = Math.max(this.#reach, reach.bytes);
    const limit = Math.min(COPY_ROOM, Math.ceil(this.#reach / 64) * 64 + 64);
    if (this.#limitSet ? limit > this.#hashLimit : limit !== this.#hashLimit) {
      this.#hashLimit = limit;
      this.#limitSet = true;
      o.mem.writeWord(o.region + LAYOUT.hashLimit, BigInt(limit));
    }
    if (copied > used && reach.bytes > used) return id;
    this.#hashIds.set(hash, id);
    const home = Number(hash & BigInt(STACK_IDS - 1));
    for (let p = home; p < home + STACK_PROBES; p++) {
      if (this.#tblUsed[p] !== 0) continue;
      this.#tblUsed[p] = 1;
      const e = new BigUint64Array([BigInt(id + 1), hash]);
      const b = new Uint8Array(e.buffer);
      const addr = this.#o.region + LAYOUT.stackIds + p * 16;
      this.#inserts.push([b.subarray(0, 8), addr + 8], [b.subarray(8), addr]);
      break;
    }
    return id;
  }

  // The stack copies of a chunk's calls (the records at the first `n` of
  // #copies), read in one system call, and their stack ids. Not a pass over every record: in a
  // sampled run that pass was hot, compiled three times (two deopts at its
  // first copies) for ~130 copies in 2 M records.
  #preloadStacks(n: number): void {
    const o = this.#o;
    this.#preloaded.clear();
    if (!o.wantStacks) return; // no record has a copy
    const parts: [Uint8Array, number][] = [];
    for (let j = 0; j < n; j++) {
      const i = this.#copies[j];
      const at = this.#base + i * RECORD_BYTES;
      const type = this.#recU32[(at + 8) >>> 2];
      const kind = type & 0x3f;
      if (kind === 0 || kind > 9) continue;
      if (
        o.stackCache &&
        this.#hashIds.has(this.#recView.getBigUint64(at + 56, true))
      ) {
        continue; // unwound before
      }
      const slot = type >>> 8;
      const k = this.#preloaded.size;
      parts.push([
        this.#snapBatch.subarray(k * SNAPSHOT_BYTES, (k + 1) * SNAPSHOT_BYTES),
        o.region + LAYOUT.snapshots + slot * SNAPSHOT_BYTES,
      ]);
      this.#preloaded.set(i, k);
    }
    if (parts.length > 0 && !o.mem.transfer(false, parts)) {
      this.#preloaded.clear();
    }
    // Their stack ids, in the records' order, before #record reads them:
    // the call from there, met first after V8 compiled #record, threw its
    // optimized code away.
    for (let j = 0; j < n; j++) {
      const i = this.#copies[j];
      const at = this.#base + i * RECORD_BYTES;
      const type = this.#recU32[(at + 8) >>> 2];
      const kind = type & 0x3f;
      if (kind === 0 || kind > 9 || type >>> 8 >= SLOTS) continue;
      this.#copyIds[i] = this.#stackIdOf(i, kind, this.#u64(at + 48));
    }
  }

  // A copied stack, unwound (see CopyUnwinder.frames).
  #stackOf(
    i: number,
    entry: number,
    rsp: number,
    reach: { bytes: number },
  ): NativeFrame[] {
    const k = this.#preloaded.get(i);
    if (k === undefined) return [];
    const snap = this.#snapBatch.subarray(
      k * SNAPSHOT_BYTES,
      (k + 1) * SNAPSHOT_BYTES,
    );
    return this.#unwinder.frames(snap, entry, rsp, reach);
  }

  #releaseSlots(): void {
    if (this.#toRelease.length === 0) return;
    const o = this.#o;
    o.mem.transfer(
      true,
      this.#toRelease.map((slot) => [
        this.#zero8,
        o.region + LAYOUT.slots + slot * 64,
      ]),
    );
    this.#toRelease.length = 0;
  }
}
