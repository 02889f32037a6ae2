/**
 * The injected stubs' clock: when a stub sees a call (an allocation's
 * return, a free's entry) it stores bits 10…41 of the time-stamp counter
 * (`rdtsc`, ~20 cycles: the cheapest clock there is, and the one the
 * kernel's own CLOCK_MONOTONIC counts with when its clocksource is `tsc`) in
 * the high half of the record's type word (inject.ts). The tracer pairs the
 * same counter (a 15-byte function it assembles in its own memory and calls
 * through FFI) with its own clock at every turn of its loop, before it reads
 * a ring, and converts each record's stamp to its own clock's time.
 * Without it, every event carried the time its ring was read: a short
 * program's calls looked like one step at the first reading, 35–50 ms late.
 *
 * What {@link StubClock.at} promises: a record's time is the tracer's clock
 * (CLOCK_MONOTONIC, performance.now()) at the moment its stub read the
 * counter, within {@link StubClock.error}, whether the record was made
 * before the latest pairing or after it (while the ring was being read: the
 * tracer, preempted or busy, can read a ring milliseconds after its pairing;
 * such records were once given the pairing's time, up to 2.5 ms early);
 * and never earlier than the time it gave before (threads' records can
 * reach a ring a few ticks out of their stamps' order: the later one in the
 * ring is then given the earlier one's time). It is the anchor pairing's
 * time plus the ticks from it to the record, at the rate from the first
 * pairing to the anchor. That assumes the two clocks keep one rate over the
 * trace (NTP slews CLOCK_MONOTONIC, slowly), and that no record is older
 * than the first pairing (the clock is made before any hook is planted).
 *
 * The counter must tick at a constant rate, the same on every core
 * (`constant_tsc`, `nonstop_tsc`: every x86-64 CPU of the last fifteen
 * years; {@link steadyCounter} asks the kernel first); where the machine
 * does not say so, an event's time is the latest pairing's, as before the
 * stubs had a clock. A 32-bit stamp of
 * 1,024 ticks wraps in about 24 minutes at 3 GHz; a record is read within
 * milliseconds of its stamp, and is taken as at most 2^31 stamps (~12
 * minutes) from the anchor.
 *
 * @module
 */

import { type Libc, REG } from "./ffi.ts";
import type { Tracee } from "./tracee.ts";
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
/**
 * Most tries for a pairing not split by a preemption: a try is good when
 * its two counter reads are at most {@link GOOD} times the closest two
 * ever seen apart (the first pairing makes every try, to find that).
 */
const TRIES = 8;
const GOOD = 2;
const STAMP_UNIT = 2 ** STAMP_SHIFT;
const CLOCKSOURCE =
  "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/** The two clocks a {@link StubClock} pairs. */
export interface ClockReaders {
  /** The time-stamp counter now (ticks). */
  tsc(): number;
  /** The tracer's clock now (ms since the trace began). */
  ms(): number;
}

/**
 * The tracer's reading of the stubs' clock (see the module's doc for what
 * a record's time is).
 *
 * @example
 * ```ts
 * import { StubClock } from "./stub_clock.ts";
 * // A counter of 3 ticks per ns and a clock that agree exactly.
 * let ns = 0;
 * const clock = new StubClock({ tsc: () => 3 * ns, ms: () => ns / 1e6 }, true);
 * ns = 5e6;
 * clock.sync(); // 5 ms
 * // A record stamped at 4 ms (bits 10… of its counter), and one at 6 ms.
 * console.log(clock.at(Math.floor(3 * 4e6 / 1024))); // ≈ 4 ms
 * console.log(clock.at(Math.floor(3 * 6e6 / 1024))); // ≈ 6 ms
 * ```
 */
export class StubClock {
  readonly #read: ClockReaders;
  // Whether the counter can be trusted (see the module's doc).
  readonly #steady: boolean;
  // The first pairing: the counter, the tracer's time, and its error
  // (ticks: half its two counter reads' distance).
  #tsc0 = 0;
  #ms0 = 0;
  #err0 = 0;
  // The anchor: the pairing times are given from, and its error.
  #tscA = 0;
  #msA = 0;
  #errA = 0;
  // The anchor's stamp (its counter's bits 10…41), and the ticks from its
  // counter to the middle of that stamp's 1,024: a record's counter is
  // within half a stamp of its stamp's middle.
  #stamp = 0;
  #mid = 0;
  // The rate from the first pairing to the anchor.
  #msPerTick = 0;
  // The most ticks a record given a time from the anchor was past it
  // (-Infinity: none yet); the worst error (ms) of times given from
  // earlier anchors.
  #ahead = -Infinity;
  #worst = 0;
  // The closest two counter reads of a pairing ever seen (ticks).
  #bestGap = Infinity;
  // The pair the last pairing found: the counter, the tracer's time, its
  // two counter reads' distance.
  #pairTsc = 0;
  #pairMs = 0;
  #pairGap = 0;
  // The last time handed out: events stay in order.
  #last = 0;

  /**
   * Pairs `clocks` (the counter, and the tracer's time in ms since the
   * trace began) for the first time; `steady`: whether the counter ticks
   * at one rate on every core.
   */
  constructor(clocks: ClockReaders, steady: boolean) {
    this.#read = clocks;
    this.#steady = steady;
    // Each number field holds a fraction once, first: it is a double from
    // the start. One first given a small integer (an even pairing gap's
    // half, an anchor's middle) and a fraction later changed this object's
    // hidden class mid-run, which threw away the code at() is inlined in
    // (the ring's hot loop): a deopt at a random moment of a run.
    this.#tsc0 = this.#ms0 = this.#err0 = 0.5;
    this.#tscA =
      this.#msA =
      this.#errA =
      this.#stamp =
      this.#mid =
        0.5;
    this.#msPerTick = this.#worst = this.#last = 0.5;
    this.#pairTsc = this.#pairMs = this.#pairGap = 0.5;
    this.#msPerTick = this.#worst = this.#last = 0;
    this.#pair(TRIES);
    this.#tsc0 = this.#tscA = this.#pairTsc;
    this.#ms0 = this.#msA = this.#pairMs;
    this.#err0 = this.#errA = this.#pairGap / 2;
    this.#anchor();
  }

  /**
   * Pairs the two clocks again (before a ring is read); the tracer's time
   * now (ms since the trace began). The pairing becomes the anchor when it
   * is good, or better there than the anchor's extrapolation, or the
   * anchor is a second old; a poor one (preempted at every try) is left.
   */
  sync(): number {
    this.#pair(1);
    const ticks = this.#pairTsc - this.#tsc0;
    if (!this.#steady) this.#msA = this.#pairMs; // times are the readings
    if (!this.#steady || ticks <= 0) return this.#pairMs;
    const err = this.#pairGap / 2;
    if (
      this.#pairGap <= GOOD * this.#bestGap ||
      err <= this.#errAt(this.#pairTsc) || this.#pairMs - this.#msA > 1000
    ) {
      // Times given from the old anchor keep their bound.
      if (this.#ahead > -Infinity) {
        this.#worst = Math.max(this.#worst, this.#errGiven());
      }
      this.#tscA = this.#pairTsc;
      this.#msA = this.#pairMs;
      this.#errA = err;
      this.#msPerTick = (this.#pairMs - this.#ms0) / ticks;
      this.#anchor();
    }
    return this.#pairMs;
  }

  /** The time-stamp counter now. */
  tsc(): bigint {
    return BigInt(Math.round(this.#read.tsc()));
  }

  /**
   * The time (ms since the trace began, the tracer's clock) of a record
   * stamped `stamp`: when its stub read the counter, within
   * {@link StubClock.error}, and never before the last time given.
   */
  at(stamp: number): number {
    // Every field loaded and stored whatever the branches (this is inlined
    // in the ring's hot loop): a load or store made only on a rare path
    // (a record out of order) had no type feedback there, and meeting it
    // threw the loop's optimized code away, once a run.
    let t = this.#msA;
    const last = this.#last;
    if (this.#steady) {
      // Ticks from the anchor to the record (signed: it may be made after).
      const d = ((stamp - this.#stamp) | 0) * STAMP_UNIT + this.#mid;
      const ahead = this.#ahead;
      this.#ahead = d > ahead ? d : ahead;
      t += d * this.#msPerTick;
    }
    if (t < last) t = last;
    this.#last = t;
    return t;
  }

  /**
   * The most (ms) a time given so far can be off from the tracer's clock
   * when the record's stub read the counter (a record's own order kept: a
   * time moved later to keep the order is off by the records' disorder
   * too). A pairing's error is half its two counter reads' distance; a
   * time between the first pairing and the anchor is off by at most the
   * worse of theirs (it lies between them in proportion); one past the
   * anchor, by the anchor's error plus the rate's error over the ticks
   * past it; a record's counter is within half a stamp of its stamp's
   * middle; and those ticks are ms at the true rate, which is the measured
   * one give or take the two pairings' errors over the ticks between them
   * (a part `rel` of it: the true ms per tick is at most 1 / (1 − rel)
   * times the measured).
   * Without a steady counter: NaN (times are readings); for a time given
   * before the second pairing (no rate yet): Infinity.
   */
  get error(): number {
    if (!this.#steady) return NaN;
    return Math.max(this.#worst, this.#errGiven());
  }

  // The error (ms) of the times given from the anchor so far.
  #errGiven(): number {
    if (this.#ahead === -Infinity) return 0;
    const span = this.#tscA - this.#tsc0;
    if (span <= 0) return Infinity;
    const ticks = Math.max(
      this.#err0,
      this.#errA,
      this.#errAt(this.#tscA + this.#ahead + STAMP_UNIT / 2),
    ) + STAMP_UNIT / 2;
    // The measured rate is within (err0 + errA) / span of the true one.
    const rel = (this.#err0 + this.#errA) / span;
    return rel < 1 ? ticks * this.#msPerTick / (1 - rel) : Infinity;
  }

  // The error (ticks) of a time extrapolated from the anchor to counter
  // `tsc` (at or past it).
  #errAt(tsc: number): number {
    const span = this.#tscA - this.#tsc0;
    if (span <= 0) return Infinity;
    return this.#errA + (tsc - this.#tscA) * (this.#err0 + this.#errA) / span;
  }

  #anchor(): void {
    this.#stamp = (this.#tscA / STAMP_UNIT) >>> 0;
    this.#mid = STAMP_UNIT / 2 - this.#tscA % STAMP_UNIT;
    this.#ahead = -Infinity;
  }

  // Both clocks at one moment: the tracer's between two readings of the
  // counter, the closest pair of up to TRIES; the first good one ends it
  // after `least` tries (a thread preempted in between would pair a late
  // clock with an early count).
  #pair(least: number): void {
    let gap = Infinity;
    for (let i = 0; i < TRIES; i++) {
      const a = this.#read.tsc();
      const ms = this.#read.ms();
      const b = this.#read.tsc();
      if (b - a < gap) {
        gap = b - a;
        this.#pairTsc = a + gap / 2;
        this.#pairMs = ms;
      }
      if (gap < this.#bestGap) this.#bestGap = gap;
      if (i + 1 >= least && gap <= GOOD * this.#bestGap) break;
    }
    this.#pairGap = gap;
  }
}

/**
 * The stubs' clock for the tracer: the counter read by code assembled in
 * this process, paired with performance.now() less `t0` (when the trace
 * began).
 */
export function stubClock(
  c: Libc,
  t0: number,
  steady = steadyCounter(),
): StubClock {
  const tsc = _tscReader(c);
  return new StubClock({ tsc, ms: () => performance.now() - t0 }, steady);
}

/**
 * Whether this machine's time-stamp counter ticks at one rate on every
 * core, whatever the frequency and sleep states. The kernel's word first:
 * its clock counts with the counter (`current_clocksource` is `tsc`) only
 * after checking it, and drops it when its watchdog finds it drifting; a
 * VM's CPU flags often lack `nonstop_tsc` where the host's counter is
 * steady (kvm: `tsc_known_freq`), or claim it where the kernel found
 * otherwise. Where sysfs does not say: `constant_tsc` and `nonstop_tsc` in
 * `/proc/cpuinfo`. `read` reads a file (tests give their own).
 *
 * @example
 * ```ts
 * import { steadyCounter } from "./stub_clock.ts";
 * const files: Record<string, string> = {
 *   "/sys/devices/system/clocksource/clocksource0/current_clocksource":
 *     "kvm-clock\n",
 *   "/proc/cpuinfo": "flags\t\t: fpu tsc constant_tsc nonstop_tsc\n",
 * };
 * console.log(steadyCounter((path) => files[path])); // false: not the kernel's clock
 * ```
 */
export function steadyCounter(
  read: (path: string) => string = Deno.readTextFileSync,
): boolean {
  try {
    return read(CLOCKSOURCE).trim() === "tsc";
  } catch {
    // no sysfs here: the CPU's flags
  }
  try {
    const flags = /^flags\s*:(.*)$/m.exec(read("/proc/cpuinfo"))?.[1] ?? "";
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

/**
 * Runs a stub's `rdtsc` for thread `tid` of a program that turned the
 * counter off for itself (prctl PR_SET_TSC, PR_TSC_SIGSEGV: the read
 * faulted, the thread is stopped at it with its registers in `t.regs`):
 * the same counter read here, and the thread set past the instruction.
 */
export function readCounterFor(
  t: Tracee,
  tid: number,
  clock: StubClock,
): void {
  const tsc = clock.tsc();
  t.regs[REG.rax] = BigInt.asUintN(32, tsc);
  t.regs[REG.rdx] = tsc >> 32n;
  t.regs[REG.rip] += 2n;
  t.setRegs(tid);
}
