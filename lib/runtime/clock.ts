/**
 * The simulated clock's cost model, in nanoseconds. Output that depends on
 * time (`gctrace`, the background sweeper's progress, lifetimes) is then a
 * pure function of the workload and the seed, not of the machine.
 *
 * The figures are of the order Go 1.19 shows on a current x86-64 core; they
 * are a model, not a measurement.
 *
 * @module
 */

/**
 * Costs charged to the simulated clock: calibrations, not Go code. The
 * mutator's and the marker's are set against go1.19.8 runs of the shared programs on linux/amd64 (gctrace
 * and gcpacertrace): a program that allocates spends about 12 ns per
 * allocation plus 0.8 ns per byte (zeroing, first touch of fresh pages:
 * binarytrees ~25 ns per 16-byte node, leak ~0.9 µs per 816-byte
 * iteration, temporaries ~36 µs per 42.7 KB iteration), and the mark about
 * 15 ns per object plus 4 ns per pointer word (~20 ns per object). Their
 * ratio is what Go 1.19's pacer measures as cons/mark (0.2–0.8 on these
 * programs) and places the trigger by.
 */
export const COSTS = {
  /** One small allocation from the mcache's span, plus `allocByte` per byte. */
  allocSmall: 12,
  /** Per byte allocated (small or large): zeroing and touching the memory. */
  allocByte: 0.8,
  /** One allocation combined into a tiny block. */
  allocTiny: 4,
  /** Refilling an mcache span from mcentral. */
  refill: 250,
  /** A large allocation (span from the page heap), plus `perPage`. */
  allocLarge: 400,
  /** Per page of a large allocation (zeroing). */
  perPage: 120,
  /** Marking one object (grey, set bit). */
  markObject: 15,
  /** Scanning one pointer word. */
  scanWord: 4,
  /** Sweeping one span, plus `sweepObject` per freed object. */
  sweepSpan: 90,
  /** Per object freed by sweep. */
  sweepObject: 2,
  /** Stop-the-world sweep termination. */
  sweepTermination: 25_000,
  /** Stop-the-world mark termination. */
  markTermination: 40_000,
  /**
   * Calibration (not Go code): printing one byte of an allocfreetrace
   * record (Go 1.3+ format). Go's
   * runtime print writes each piece straight to fd 2, so a traced program
   * spends most of its time printing: go1.19.8 traced runs of the shared
   * programs take 125–210 µs per record, about 190 ns per byte printed,
   * on whichever thread prints it (the mutator for allocations and its own
   * sweeps, the background sweeper for its frees). That is why a traced
   * run paces differently from an untraced one.
   */
  tracePrintByte: 190,
  /**
   * Calibration (not Go code), after Go's `forcePreemptNS` (proc.go: sysmon
   * preempts a goroutine that ran 10 ms). A
   * traced program's goroutines hold the trace lock nearly all the time
   * and cannot be preempted meanwhile, so the mark workers get a P only at
   * sysmon's preemption: real traced runs show 5–20 ms marks for a fraction
   * of a millisecond of mark CPU.
   */
  forcePreempt: 10_000_000,
  /** Scanning one root word (stack or global). */
  scanRoot: 2,
} as const;

/**
 * Formats a duration the way Go 1.19's gctrace does (`fmtNSAsMS`): ≥ 10 ms
 * as whole milliseconds; otherwise the microseconds cut to two significant
 * digits, shown as milliseconds with at most three decimals (trailing zeros
 * kept); 0 as `0`.
 *
 * @example
 * ```ts
 * import { formatGCms } from "../../mod.ts";
 * const got = [47_000, 270_000, 3_000, 1_234_000, 9_999_000, 12_000_000, 0, 100_000].map(formatGCms);
 * if (got.join(" ") !== "0.047 0.27 0.003 1.2 9.9 12 0 0.10") throw new Error(got.join(" "));
 * ```
 */
export function formatGCms(ns: number): string {
  if (ns >= 10e6) return String(Math.floor(ns / 1e6));
  let x = Math.floor(ns / 1e3);
  if (x === 0) return "0";
  let dec = 3;
  while (x >= 100) {
    x = Math.floor(x / 10);
    dec--;
  }
  const digits = String(x).padStart(dec + 1, "0");
  return dec === 0
    ? digits
    : `${digits.slice(0, digits.length - dec)}.${digits.slice(-dec)}`;
}

/**
 * The simulated clock of one runtime, shared by the allocator, the
 * collector and the sweeper, which charge {@link COSTS} to it.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * rt.mallocgc(64, null);
 * if (!(rt.clock > 0) || rt.clock !== rt.simClock.now) throw new Error("clock");
 * ```
 */
export class Clock {
  /** Simulated ns since start. */
  now = 0;
}
