/**
 * Heap-profile sampling (`runtime.MemProfileRate`), per preset (reference
 * section 3): Go 1.2's uniform countdown drawn by `fastrand1() % (2*rate)`,
 * and Go 1.19's exponential countdown (`fastexprand`, with the `fastlog2`
 * table and the wyrand `fastrand`). All randomness comes from a seed, so a
 * run reproduces exactly.
 *
 * @module
 */

import { FASTLOG2_TABLE } from "./fastlog2table.ts";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Go's approximate `fastlog2(x)`: exponent from the IEEE bits, the top 5
 * mantissa bits index the table, the next 20 interpolate linearly.
 *
 * @example
 * ```ts
 * import { fastlog2 } from "../../mod.ts";
 * if (fastlog2(8) !== 3 || Math.abs(fastlog2(10) - Math.log2(10)) > 1e-3) throw new Error();
 * ```
 */
export function fastlog2(x: number): number {
  f64[0] = x;
  const lo = u32[0];
  const hi = u32[1];
  const exp = ((hi >>> 20) & 0x7ff) - 1023;
  const idx = (hi >>> 15) & 31; // bits 47..51
  const frac = ((hi & 0x7fff) << 5) | (lo >>> 27); // bits 27..46
  const t = FASTLOG2_TABLE;
  return exp + t[idx] + (t[idx + 1] - t[idx]) * frac * (1 / (1 << 20));
}

const MASK64 = (1n << 64n) - 1n;

/**
 * Go 1.19's per-M `fastrand` on 64-bit platforms (wyrand), seeded. The
 * 64-bit state is kept as two uint32 halves and the 128-bit product is
 * made from 16-bit limbs in doubles (each column sum stays below 2^35,
 * exact): the same values as BigInt arithmetic, without its allocations
 * (a BigInt draw cost ~0.5 µs, several before V8 compiled it, on the
 * critical path of a sampled native run's start).
 *
 * @example
 * ```ts
 * import { WyRand } from "../../mod.ts";
 * const a = new WyRand(1n), b = new WyRand(1n);
 * if (a.next() !== b.next() || a.fastrandn(10) >= 10) throw new Error();
 * ```
 */
export class WyRand {
  #hi: number;
  #lo: number;

  /** Makes a generator with 64-bit state `seed` (taken modulo 2^64). */
  constructor(seed: bigint) {
    this.#lo = Number(seed & 0xffffffffn);
    this.#hi = Number((seed >> 32n) & 0xffffffffn);
  }

  /** The next uint32. */
  next(): number {
    // s += 0xa0761d6478bd642f (mod 2^64)
    const l = this.#lo + 0x78bd642f;
    const lo = l >>> 0;
    const hi = (this.#hi + 0xa0761d64 + (l > 0xffffffff ? 1 : 0)) >>> 0;
    this.#lo = lo;
    this.#hi = hi;
    // p = s * (s ^ 0xe7037ed1a0b428db), 128 bits; the result is the low
    // 32 bits of (p >> 64) ^ p: limbs 0-1 and 4-5 of p.
    const xl = (lo ^ 0xa0b428db) >>> 0;
    const xh = (hi ^ 0xe7037ed1) >>> 0;
    const a0 = lo & 0xffff, a1 = lo >>> 16, a2 = hi & 0xffff, a3 = hi >>> 16;
    const b0 = xl & 0xffff, b1 = xl >>> 16, b2 = xh & 0xffff, b3 = xh >>> 16;
    let c = a0 * b0;
    const p0 = c % 65536;
    c = Math.floor(c / 65536) + a0 * b1 + a1 * b0;
    const p1 = c % 65536;
    c = Math.floor(c / 65536) + a0 * b2 + a1 * b1 + a2 * b0;
    c = Math.floor(c / 65536) + a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
    c = Math.floor(c / 65536) + a1 * b3 + a2 * b2 + a3 * b1;
    const p4 = c % 65536;
    c = Math.floor(c / 65536) + a2 * b3 + a3 * b2;
    const p5 = c % 65536;
    return (((p5 ^ p1) << 16) | (p4 ^ p0)) >>> 0;
  }

  /** `fastrandn(n)` for a uint32 `n`: uniform in [0, n) by multiply-shift. */
  fastrandn(n: number): number {
    // (x * n) >> 32, exact: x * n may pass 2^53, its 16-bit halves do not.
    const x = this.next();
    return Math.floor(
      ((x >>> 16) * n + Math.floor((x & 0xffff) * n / 65536)) / 65536,
    );
  }
}

/**
 * Go 1.2's per-M `fastrand1`: `x += x`, and when the top bit is then set,
 * `x ^= 0x88888eef`.
 *
 * @example
 * ```ts
 * import { FastRand1 } from "../../mod.ts";
 * const r = new FastRand1(0x49f6428a);
 * if (r.next() !== ((0x49f6428a * 2) ^ 0x88888eef) >>> 0) throw new Error();
 * ```
 */
export class FastRand1 {
  #x: number;

  /** Makes a generator with state `seed` (uint32). */
  constructor(seed: number) {
    this.#x = seed >>> 0;
  }

  /** The next uint32. */
  next(): number {
    let x = (this.#x + this.#x) >>> 0;
    if (x & 0x80000000) x = (x ^ 0x88888eef) >>> 0;
    this.#x = x;
    return x;
  }
}

/**
 * `fastexprand(mean)`: an exponentially distributed countdown with the
 * given mean, as Go 1.19 draws it.
 */
export function fastexprand(rng: WyRand, mean: number): number {
  if (mean > 0x7000000) mean = 0x7000000;
  else if (mean === 0) return 0;
  const q = rng.fastrandn(1 << 26) + 1;
  let qlog = fastlog2(q) - 26;
  if (qlog > 0) qlog = 0;
  return Math.trunc(qlog * (-0.6931471805599453 * mean)) + 1;
}

/** The sampling rule of a preset. */
export type SamplingRule = "uniform" | "exponential";

/**
 * The per-P sampler: the countdown and the random state of the M running
 * the P. `sample(size, rate)` is called for every allocation that reaches
 * the profiling step (not for combined tiny allocations or size 0).
 *
 * @example
 * ```ts
 * import { Sampler } from "../../mod.ts";
 * const s = new Sampler("exponential", 42, 0, 524288);
 * let n = 0;
 * for (let i = 0; i < 100000; i++) if (s.sample(64, 524288)) n++;
 * // 6.4 MB at one sample per 512 KiB: about 12
 * if (n < 3 || n > 30) throw new Error(String(n));
 * ```
 */
export class Sampler {
  /** Bytes until the next sample (`mcache.nextSample` / `next_sample`). */
  nextSample: number;
  readonly #rule: SamplingRule;
  readonly #wy: WyRand;
  readonly #fr: FastRand1;

  /**
   * Makes the sampler of P `p`, seeded from `seed`, with its first
   * countdown drawn at rate `rate` (the mcache is made before `main` can
   * change the rate).
   */
  constructor(rule: SamplingRule, seed: number, p: number, rate: number) {
    this.#rule = rule;
    this.#wy = new WyRand(
      (BigInt(Math.trunc(seed)) * 0x9e3779b97f4a7c15n + BigInt(p + 1)) &
        MASK64,
    );
    this.#fr = new FastRand1((0x49f6428a + p + Math.trunc(seed)) >>> 0);
    this.nextSample = 0;
    this.nextSample = this.draw(rate);
  }

  /** A fresh countdown at `rate` (`nextSample()` / `fastrand1() % (2*rate)`). */
  draw(rate: number): number {
    if (this.#rule === "exponential") {
      return rate === 1 ? 0 : fastexprand(this.#wy, rate);
    }
    if (rate > 0x3fffffff) rate = 0x3fffffff;
    return rate === 0 ? 0 : this.#fr.next() % (2 * rate);
  }

  /** Whether an allocation of `size` (rounded) bytes is sampled at `rate`; updates the countdown. */
  sample(size: number, rate: number): boolean {
    if (rate <= 0) return false;
    if (this.#rule === "exponential") {
      if (rate !== 1 && size < this.nextSample) {
        this.nextSample -= size;
        return false;
      }
      this.nextSample = this.draw(rate);
      return true;
    }
    // Go 1.2: objects of at least `rate` bytes are always sampled and leave the countdown alone.
    if (size >= rate) return true;
    if (this.nextSample > size) {
      this.nextSample -= size;
      return false;
    }
    this.nextSample = this.draw(rate);
    return true;
  }
}

/**
 * Where a P's Go 1.19 sampling countdown lives: its mcache's `nextSample`
 * field (mcache.ts's `MCache`), as in Go.
 */
export interface SampleCountdown {
  /** Bytes until the next sample. */
  nextSample: number;
}

/**
 * The sampling policy of one runtime (malloc.go's `MemProfileRate`,
 * `nextSample` per mcache, and the seed's forced profiling): which
 * allocations go to the profiler. Go 1.19's countdown is each P's mcache's
 * `nextSample` ({@link countdowns}), which mallocgc, holding the mcache,
 * decrements inline in {@link mode} 1.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime({ memProfileRate: 1 });
 * rt.mallocgc(64, null);
 * rt.memProfileRate = 0;
 * rt.mallocgc(64, null);
 * if (rt.MemProfile().length !== 1) throw new Error("sampling");
 * ```
 */
export class ProfileSampling {
  /** 0: no profiling; 1: the exponential countdown decides inline; 2: every allocation goes to {@link due}. */
  mode = 1;
  /**
   * Each P's countdown in bytes (Go 1.19's `mcache.nextSample`): the
   * runtime's mcaches, or plain holders for a policy made without them.
   */
  readonly countdowns: readonly SampleCountdown[];
  readonly #exponential: boolean;
  readonly #samplers: Sampler[] = [];
  #rate = 524288;
  #force = false;

  /**
   * The policy for `procs` Ps under `rule`, seeded from `seed`, at `rate`,
   * keeping each P's countdown in `countdowns[p]` (its mcache; by default
   * holders of its own). Each mcache draws its first countdown at the
   * default rate: it is made before the program can change MemProfileRate.
   */
  constructor(
    rule: SamplingRule,
    seed: number,
    procs: number,
    rate: number,
    countdowns?: readonly SampleCountdown[],
  ) {
    this.#exponential = rule === "exponential";
    for (let p = 0; p < procs; p++) {
      this.#samplers.push(new Sampler(rule, seed, p, 524288));
    }
    this.countdowns = countdowns ??
      this.#samplers.map(() => ({ nextSample: 0 }));
    for (let p = 0; p < procs; p++) {
      this.countdowns[p].nextSample = this.#samplers[p].nextSample;
    }
    this.rate = rate;
  }

  /** `runtime.MemProfileRate`, read at every allocation (it may change during a run). */
  get rate(): number {
    return this.#rate;
  }

  /** Sets `runtime.MemProfileRate`. @throws {RangeError} for a negative or non-integer rate. */
  set rate(rate: number) {
    if (!Number.isSafeInteger(rate) || rate < 0) {
      throw new RangeError(
        `MemProfileRate must be a non-negative integer (bytes per sample; 1 = every allocation, 0 = off), got ${rate}`,
      );
    }
    this.#rate = rate;
    this.#updateMode();
  }

  /** Forces every allocation into the profile (the seed's allocfreetrace). */
  get force(): boolean {
    return this.#force;
  }

  /** Sets forced profiling. */
  set force(on: boolean) {
    this.#force = on;
    this.#updateMode();
  }

  #updateMode(): void {
    const rate = this.#rate;
    this.mode = this.#force || (rate > 0 && (!this.#exponential || rate === 1))
      ? 2
      : rate > 0
      ? 1
      : 0;
  }

  /**
   * The decision past the inline countdown, for an allocation of `size`
   * bytes on P `p`: forced profiling, Go 1.19's fresh draw, or Go 1.2's
   * rule. True when the allocation is profiled.
   */
  due(size: number, p: number): boolean {
    if (this.#force) return true;
    if (this.#exponential) {
      this.countdowns[p].nextSample = this.#samplers[p].draw(this.#rate);
      return true;
    }
    return this.#samplers[p].sample(size, this.#rate);
  }
}
