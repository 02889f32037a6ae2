/**
 * The injected stubs' clock: when a stub sees a call (an allocation's
 * return, a free's entry) it stores bits 10…41 of the time-stamp counter
 * (`rdtsc`, ~20 cycles: the cheapest clock there is, and the one the
 * kernel's own CLOCK_MONOTONIC counts with when its clocksource is `tsc`) in
 * the high half of the record's type word (inject.ts). The tracer reads
 * the same counter (a 10-byte function it assembles in its own memory and
 * calls through FFI) beside its own clock at every turn of its loop, before
 * it reads a ring; a record's time is then that reading's time less the
 * ticks between the record and the reading, at the rate measured from the
 * first reading to the latest. Without it, every event carried the time
 * its ring was read: a short program's calls looked like one step at the
 * first reading, 35–50 ms late.
 *
 * The counter must tick at a constant rate, the same on every core
 * (`constant_tsc`, `nonstop_tsc`: every x86-64 CPU of the last fifteen
 * years); where `/proc/cpuinfo` does not say so, an event's time is the
 * reading's, as before the stubs had a clock. A 32-bit stamp of 1,024 ticks wraps in about 24 minutes at
 * 3 GHz; a record is read within milliseconds of its stamp, and is taken
 * as at most 2^31 stamps (~12 minutes) older than the reading that read
 * it.
 *
 * @module
 */

import type { Libc } from "./ffi.ts";
import { STAMP_SHIFT } from "./inject.ts";

const PROT_RW = 3;
const PROT_RX = 5;
const MAP_PRIVATE_ANONYMOUS = 0x22;
/**
 * rdtsc; shl rdx, 32; or rax, rdx; cvtsi2sd xmm0, rax; ret: the whole
 * counter as a double (exact below 2^53 ticks, five weeks at 3 GHz; then
 * to a few ticks), so that no BigInt is made at every turn of the loop.
 */
const READ_TSC = [
  ...[0x0f, 0x31],
  ...[0x48, 0xc1, 0xe2, 0x20],
  ...[0x48, 0x09, 0xd0],
  ...[0xf2, 0x48, 0x0f, 0x2a, 0xc0],
  0xc3,
];
/** Tries for a reading of both clocks not split by a preemption. */
const TRIES = 2;
const STAMP_UNIT = 2 ** STAMP_SHIFT;

/** The tracer's reading of the stubs' clock. */
export class StubClock {
  /** ms since the trace began, at the last {@link StubClock.sync}. */
  now = 0;
  readonly #t0: number;
  readonly #tsc: () => number;
  readonly #tsc0: number;
  readonly #ms0: number;
  // The last reading's stamp (its low 32 bits), and the rate so far.
  #stamp = 0;
  #msPerStamp = 0;
  // The last time handed out: events stay in order (two threads' stamps
  // can be a few ticks apart from their order in the ring).
  #last = 0;
  // Whether the counter can be trusted (see the module's doc).
  readonly #steady: boolean;
  // The pair #read found: the counter and the tracer's time.
  #pairTsc = 0;
  #pairMs = 0;

  /**
   * The stubs' clock for a trace that began at `t0` (performance.now());
   * `steady`: whether the counter ticks at one rate on every core.
   */
  constructor(c: Libc, t0: number, steady = steadyCounter()) {
    this.#t0 = t0;
    this.#steady = steady;
    this.#tsc = _tscReader(c);
    this.#read();
    this.#tsc0 = this.#pairTsc;
    this.#ms0 = this.#pairMs;
  }

  /**
   * Reads both clocks (before a ring is read: every record in it is older);
   * the tracer's time in ms since the trace began.
   */
  sync(): number {
    this.#read();
    const ms = this.#pairMs;
    this.now = ms;
    const ticks = this.#pairTsc - this.#tsc0;
    this.#stamp = (this.#pairTsc / STAMP_UNIT) >>> 0;
    if (ticks > 0) this.#msPerStamp = (ms - this.#ms0) / ticks * STAMP_UNIT;
    return ms;
  }

  /** The time-stamp counter now. */
  tsc(): bigint {
    return BigInt(Math.round(this.#tsc()));
  }

  /** The time (ms since the trace began) of a record stamped `stamp`. */
  at(stamp: number): number {
    // Stamps since the record, signed: a record made after the reading
    // (the ring is read after it) is taken as at the reading.
    const back = this.#steady ? (this.#stamp - stamp) | 0 : 0;
    let t = back > 0 ? this.now - back * this.#msPerStamp : this.now;
    if (t < this.#last) t = this.#last;
    this.#last = t;
    return t;
  }

  // Both clocks at one moment: the tracer's between two readings of the
  // counter, the closest pair of a few (a thread preempted in between
  // would pair a late clock with an early count).
  #read(): void {
    let gap = Infinity;
    for (let i = 0; i < TRIES; i++) {
      const a = this.#tsc();
      const ms = performance.now() - this.#t0;
      const b = this.#tsc();
      if (b - a < gap) {
        gap = b - a;
        this.#pairTsc = a + gap / 2;
        this.#pairMs = ms;
      }
    }
  }
}

/**
 * Whether this machine's time-stamp counter ticks at one rate on every
 * core, whatever the frequency and sleep states (`constant_tsc` and
 * `nonstop_tsc` in `/proc/cpuinfo`).
 */
export function steadyCounter(): boolean {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(
      Deno.readTextFileSync("/proc/cpuinfo"),
    )?.[1] ?? "";
    return /\bconstant_tsc\b/.test(flags) && /\bnonstop_tsc\b/.test(flags);
  } catch {
    return false;
  }
}

/** A function reading the time-stamp counter, assembled in our memory. */
function _tscReader(c: Libc): () => number {
  const p = c.mmap(null, 4096n, PROT_RW, MAP_PRIVATE_ANONYMOUS, -1, 0n);
  if (p === null || Deno.UnsafePointer.value(p) === -1n) {
    throw new Error("cannot map a page for the clock");
  }
  new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, 4096)).set(READ_TSC);
  if (c.mprotect(p, 4096n, PROT_RX) !== 0) {
    throw new Error("cannot make the clock's page executable");
  }
  const def = { parameters: [], result: "f64" } as const;
  const fn = new Deno.UnsafeFnPointer(
    p as Deno.PointerObject<typeof def>,
    def,
  );
  return () => fn.call();
}
