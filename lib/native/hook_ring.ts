/**
 * The tracer's side of the injected hooks (inject.ts): reading the ring
 * buffer the stubs fill inside the program, turning its records into calls
 * and events in the order they happened, unwinding the stacks the stubs
 * copied, freeing the slots that hold those copies, and keeping the
 * sampling countdowns drawn ahead.
 *
 * @module
 */

import type { Sampler } from "../profile/sampling.ts";
import { ElfUnwindInfo, unwindCopy, type UnwindModule } from "./eh_unwind.ts";
import {
  DRAWS,
  type HookSpec,
  type Injection,
  LAYOUT,
  REC_FREE,
  REC_RETURN,
  REC_STACK,
  RECORD_BYTES,
  RING_RECORDS,
  SNAPSHOT_BYTES,
} from "./inject.ts";
import type { RemoteMemory } from "./remote.ts";
import { NATIVE_KINDS, type NativeEvent, type NativeFrame } from "./event.ts";

/** How each allocation function's byte count is computed (default `rdi`). */
export const SIZE_EXPR: Partial<
  Record<NativeEvent["kind"], HookSpec["size"]>
> = {
  calloc: "rdi*rsi",
  realloc: "rsi",
  posix_memalign: "rdx",
  aligned_alloc: "rsi",
  memalign: "rsi",
  reallocarray: "rsi*rdx",
};

/**
 * The bytes an allocation call asks for, from its arguments: what
 * {@link SIZE_EXPR} says, the same rule the stubs' sampling budget uses.
 */
export function requestedSize(
  kind: NativeEvent["kind"],
  rdi: number,
  rsi: number,
  rdx: number,
): number {
  switch (SIZE_EXPR[kind] ?? "rdi") {
    case "rsi":
      return rsi;
    case "rdx":
      return rdx;
    case "rdi*rsi":
      return rdi * rsi;
    case "rsi*rdx":
      return rsi * rdx;
    default:
      return rdi;
  }
}

/** An allocation call whose result is awaited. */
export interface Call {
  kind: NativeEvent["kind"];
  size: number;
  old: number;
  frames: NativeEvent["frames"];
  sampled: boolean;
}

/** What the ring reader needs from the tracer. */
export interface RingOptions {
  mem: RemoteMemory;
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
  moduleOf: (pc: number) => { path: string; rel: number };
  /** An allocation call returned `result` (`stored`: what posix_memalign stored). */
  finish: (tid: number, call: Call, result: number, stored: number) => void;
  /** A free. */
  free: (tid: number, addr: number) => void;
}

const CONTROL = 0x30; // head … drawIndex
const CHUNK = 256; // records read at once
const BIG = 2n ** 62n;

/** The reader of one program's hook ring. */
export class HookRing {
  readonly code: Injection;
  readonly #o: RingOptions;
  #tail = 0;
  #tailWritten = 0;
  #drawsFilled = 0;
  /** Thread pointer (fs base) → tid; an unknown one is the main thread's. */
  readonly #fsTid = new Map<number, number>();
  /** Per thread (fs base): calls entered and not yet returned, innermost last. */
  readonly #open = new Map<
    number,
    (Call & { slot: number; nested: boolean; copied: boolean })[]
  >();
  readonly #recBuf = new Uint8Array(CONTROL + CHUNK * RECORD_BYTES);
  readonly #recView = new DataView(this.#recBuf.buffer);
  readonly #drawBuf = new Uint8Array(8 * 4096);
  readonly #drawView = new DataView(this.#drawBuf.buffer);
  readonly #snapBatch = new Uint8Array(CHUNK * SNAPSHOT_BYTES);
  readonly #retBatch = new Uint8Array(CHUNK * 8);
  /** Record index in the chunk → its stack copy's index in the batch. */
  readonly #preloaded = new Map<number, number>();
  readonly #toRelease: number[] = [];
  readonly #zero8 = new Uint8Array(8);
  readonly #frameCache = new Map<number, NativeFrame>();
  readonly #ehInfos = new Map<string, ElfUnwindInfo | null>();

  /** A reader for the region `o.region`, whose code `o.code` is written. */
  constructor(o: RingOptions) {
    this.#o = o;
    this.code = o.code;
  }

  /** Writes the control words the stubs read; false when the memory is not there. */
  init(): boolean {
    const o = this.#o;
    if (!o.mem.writeWord(o.region + LAYOUT.pid, BigInt(o.pid))) return false;
    const first = o.sampler !== null
      ? BigInt(Math.floor(o.sampler.nextSample))
      : this.#nextBudget();
    if (!o.mem.writeWord(o.region + LAYOUT.budget, first)) return false;
    return (o.sampler === null && !o.wantStacks) || this.#fillDraws(DRAWS);
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
    // The stubs copy stacks with process_vm_readv on their own pid.
    const ok = o.mem.writeWord(o.region + LAYOUT.tail, BigInt(head)) &&
      o.mem.writeWord(o.region + LAYOUT.pid, BigInt(o.pid));
    return ok ? r : null;
  }

  /** Names the thread whose thread pointer is `fs` (at its first stop, before it runs). */
  thread(fs: number, tid: number): void {
    this.#fsTid.set(fs, tid);
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
    for (;;) {
      const at = this.#tail % RING_RECORDS;
      const count = Math.min(CHUNK, RING_RECORDS - at);
      const recs = this.#recBuf.subarray(
        CONTROL,
        CONTROL + count * RECORD_BYTES,
      );
      if (
        !o.mem.transfer(false, [
          [this.#recBuf.subarray(0, CONTROL), o.region + LAYOUT.head],
          [recs, o.region + LAYOUT.ring + at * RECORD_BYTES],
        ])
      ) return this.#tail - from;
      const head = this.#u64(0);
      let done = 0;
      while (
        done < count && this.#tail + done < head &&
        this.#u64(CONTROL + done * RECORD_BYTES) === this.#tail + done + 1 // written
      ) done++;
      this.#preloadStacks(done);
      for (let i = 0; i < done; i++) this.#record(i);
      this.#tail += done;
      if (o.sampler !== null) {
        this.#fillDraws(this.#u64(LAYOUT.drawIndex) + DRAWS);
      }
      if (done < count || this.#tail >= head) break;
    }
    this.#releaseSlots();
    if (forceTail || this.#tail - this.#tailWritten >= RING_RECORDS / 4) {
      if (o.mem.writeWord(o.region + LAYOUT.tail, BigInt(this.#tail))) {
        this.#tailWritten = this.#tail;
      }
    }
    return this.#tail - from;
  }

  #u64(o: number): number {
    const v = this.#recView;
    return v.getUint32(o, true) + v.getUint32(o + 4, true) * 4294967296;
  }

  // The countdown to the next stack: Go's sampler's, or always, or never.
  #nextBudget(): bigint {
    const o = this.#o;
    return o.sampler !== null
      ? BigInt(Math.floor(o.sampler.draw(o.rate)))
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
      for (let i = 0; i < n; i++) {
        this.#drawView.setBigUint64(
          i * 8,
          BigInt.asUintN(64, this.#nextBudget()),
          true,
        );
      }
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

  #record(i: number): void {
    const o = this.#o;
    const at = CONTROL + i * RECORD_BYTES;
    const type = this.#recView.getUint32(at + 8, true);
    const kind = type & 0x3f;
    const slot = type >>> 8;
    const fs = this.#u64(at + 16);
    const a = this.#u64(at + 24);
    let tid = this.#fsTid.get(fs);
    if (tid === undefined) {
      tid = o.pid;
      this.#fsTid.set(fs, tid);
    }
    let calls = this.#open.get(fs);
    if (calls === undefined) {
      calls = [];
      this.#open.set(fs, calls);
    }
    if (kind === REC_FREE) {
      // free inside realloc is part of the realloc.
      if (calls.length === 0) o.free(tid, a);
      return;
    }
    if (kind === REC_RETURN) {
      const j = calls.findLastIndex((x) => x.slot === slot);
      if (j < 0) return;
      const call = calls.splice(j, 1)[0];
      // A slot holding a stack copy is freed by us, once the call is over.
      if (call.copied) this.#toRelease.push(slot);
      if (!call.nested) o.finish(tid, call, a, this.#u64(at + 32));
      return;
    }
    const k = NATIVE_KINDS[kind - 1];
    if (k === undefined) return;
    const copied = (type & REC_STACK) !== 0;
    const frames = copied && o.wantStacks
      ? this.#stackOf(i, o.entryOf.get(kind) ?? 0, this.#u64(at + 48))
      : undefined;
    calls.push({
      kind: k,
      size: requestedSize(k, a, this.#u64(at + 32), this.#u64(at + 40)),
      old: k === "realloc" || k === "reallocarray" || k === "posix_memalign"
        ? a
        : 0,
      frames: frames ?? [],
      sampled: o.sampler === null || copied,
      slot,
      nested: calls.length > 0,
      copied,
    });
  }

  // The stack copies of a chunk's calls, read in one system call.
  #preloadStacks(n: number): void {
    const o = this.#o;
    this.#preloaded.clear();
    const parts: [Uint8Array, number][] = [];
    for (let i = 0; i < n; i++) {
      const at = CONTROL + i * RECORD_BYTES;
      const type = this.#recView.getUint32(at + 8, true);
      const kind = type & 0x3f;
      if ((type & REC_STACK) === 0 || kind === 0 || kind > 9) continue;
      const slot = type >>> 8;
      const k = this.#preloaded.size;
      parts.push(
        [
          this.#snapBatch.subarray(
            k * SNAPSHOT_BYTES,
            (k + 1) * SNAPSHOT_BYTES,
          ),
          o.region + LAYOUT.snapshots + slot * SNAPSHOT_BYTES,
        ],
        [
          this.#retBatch.subarray(k * 8, k * 8 + 8),
          o.region + LAYOUT.slots + slot * 64 + 8,
        ],
      );
      this.#preloaded.set(i, k);
    }
    if (parts.length > 0 && !o.mem.transfer(false, parts)) {
      this.#preloaded.clear();
    }
  }

  // A copied stack, unwound: the snapshot holds rbp, rbx, r12–r15, the
  // byte count, then the stack from the entry's rsp up.
  #stackOf(i: number, entry: number, rsp: number): NativeFrame[] {
    const k = this.#preloaded.get(i);
    if (k === undefined) return [];
    const snap = this.#snapBatch.subarray(
      k * SNAPSHOT_BYTES,
      (k + 1) * SNAPSHOT_BYTES,
    );
    const view = new DataView(snap.buffer, snap.byteOffset, snap.length);
    const word = (o: number) => Number(view.getBigUint64(o, true));
    const n = Number(view.getBigInt64(56, true));
    if (n <= 0) return [];
    // The copy was made after the return address was swapped for the
    // slot's trampoline: put the real one back.
    snap.set(this.#retBatch.subarray(k * 8, k * 8 + 8), 64);
    const regs = new Map<number, number>([
      [7, rsp],
      [6, word(0)],
      [3, word(8)],
      [12, word(16)],
      [13, word(24)],
      [14, word(32)],
      [15, word(40)],
    ]);
    const pcs = unwindCopy(
      entry,
      regs,
      snap.subarray(64, 64 + n),
      (pc) => this.#ehModuleOf(pc),
    );
    return pcs.map((pc, j) => this.#frameOf(pc, j > 0));
  }

  #ehModuleOf(pc: number): UnwindModule | null {
    const mod = this.#o.moduleOf(pc);
    if (mod.path === "?" || mod.path.startsWith("[")) return null;
    let info = this.#ehInfos.get(mod.path);
    if (info === undefined) {
      info = ElfUnwindInfo.load(mod.path);
      this.#ehInfos.set(mod.path, info);
    }
    return info === null ? null : { info, bias: pc - mod.rel };
  }

  #frameOf(pc: number, isReturn: boolean): NativeFrame {
    const key = isReturn ? pc : -pc;
    let f = this.#frameCache.get(key);
    if (f === undefined) {
      const mod = this.#o.moduleOf(pc);
      const m = this.#ehModuleOf(pc);
      // Names like libunwind's: the symbol at or before the address (the
      // call's, for a return address).
      const sym = m?.info.symbol(pc - m.bias - (isReturn ? 1 : 0));
      f = {
        pc,
        name: sym?.name ?? "",
        off: sym?.off ?? 0,
        module: mod.path,
        rel: mod.rel,
      };
      this.#frameCache.set(key, f);
    }
    return f;
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
