/**
 * Reading and writing a traced program's memory with process_vm_readv /
 * process_vm_writev: any number of (buffer, address) pieces in one system
 * call, whichever of its threads are running.
 *
 * @module
 */

import { type Libc, ptrOf } from "./ffi.ts";

/** Pieces per system call, at most (IOV_MAX is 1024). */
const MAX_PARTS = 1024;

/** One program's memory. */
export class RemoteMemory {
  readonly #c: Libc;
  #pid: number;
  readonly #iovL = new BigUint64Array(2 * MAX_PARTS);
  readonly #iovR = new BigUint64Array(2 * MAX_PARTS);
  readonly #word = new Uint8Array(8);
  readonly #wordView = new DataView(this.#word.buffer);

  /** Memory of process `pid`, through libc `c`. */
  constructor(c: Libc, pid: number) {
    this.#c = c;
    this.#pid = pid;
  }

  /** The thread the memory is reached through. */
  get pid(): number {
    return this.#pid;
  }

  /**
   * Reaches the memory through thread `tid` of the process from now on:
   * once the thread a process was reached through has ended (a main
   * thread that called pthread_exit while others run on), its id has no
   * memory any more (the calls fail with ESRCH).
   */
  through(tid: number): void {
    this.#pid = tid;
  }

  /**
   * Copies each piece from (write: to) the program's memory at its address;
   * whether every byte went. Pieces beyond 1,024 are done in further calls.
   */
  transfer(write: boolean, parts: readonly [Uint8Array, number][]): boolean {
    for (let from = 0; from < parts.length; from += MAX_PARTS) {
      const batch = parts.slice(from, from + MAX_PARTS);
      let want = 0;
      batch.forEach(([buf, addr], i) => {
        this.#iovL[2 * i] = this.#addressOf(buf);
        this.#iovL[2 * i + 1] = BigInt(buf.length);
        this.#iovR[2 * i] = BigInt(addr);
        this.#iovR[2 * i + 1] = BigInt(buf.length);
        want += buf.length;
      });
      const n = BigInt(batch.length);
      const l = new Uint8Array(this.#iovL.buffer, 0, batch.length * 16);
      const r = new Uint8Array(this.#iovR.buffer, 0, batch.length * 16);
      const got = write
        ? this.#c.process_vm_writev(this.#pid, l, n, r, n, 0n)
        : this.#c.process_vm_readv(this.#pid, l, n, r, n, 0n);
      if (got !== BigInt(want)) return false;
    }
    return true;
  }

  // A buffer's address: its ArrayBuffer's, found once (an FFI pointer object
  // per piece, two per stack copy, made hundreds of MB of garbage). Only
  // buffers too big to live inside V8's heap, whose memory never moves.
  #addressOf(buf: Uint8Array): bigint {
    const ab = buf.buffer as ArrayBuffer;
    if (ab.byteLength <= 64) return ptrOf(buf);
    let base = this.#bases.get(ab);
    if (base === undefined) {
      base = ptrOf(new Uint8Array(ab));
      this.#bases.set(ab, base);
    }
    return base + BigInt(buf.byteOffset);
  }
  readonly #bases = new WeakMap<ArrayBuffer, bigint>();

  /** The 8 bytes at `addr` as a number (0 when unreadable). */
  readWord(addr: number): number {
    return this.transfer(false, [[this.#word, addr]])
      ? Number(this.#wordView.getBigUint64(0, true))
      : 0;
  }

  /** Writes `v` as 8 bytes at `addr`. */
  writeWord(addr: number, v: bigint): boolean {
    this.#wordView.setBigUint64(0, BigInt.asUintN(64, v), true);
    return this.transfer(true, [[this.#word, addr]]);
  }
}
