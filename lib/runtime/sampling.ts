/**
 * Heap-profile sampling (`runtime.MemProfileRate`), per preset (reference
 * section 3): Go 1.2's uniform countdown drawn by `fastrand1() % (2*rate)`,
 * and Go 1.19's exponential countdown (`fastexprand`, with the `fastlog2`
 * table and the wyrand `fastrand`). All randomness comes from a seed, so a
 * run reproduces exactly.
 *
 * @module
 */

/**
 * `fastlog2Table` of Go 1.19 (`log2(1 + i/32)` for i = 0..32, the exact
 * float64 values of runtime/fastlog2table.go; data, not code).
 */
export const FASTLOG2_TABLE: readonly number[] = [
  0,
  0.0443941193584535,
  0.08746284125033943,
  0.12928301694496647,
  0.16992500144231248,
  0.2094533656289499,
  0.24792751344358555,
  0.28540221886224837,
  0.3219280948873623,
  0.3575520046180837,
  0.39231742277876036,
  0.4262647547020979,
  0.4594316186372973,
  0.4918530963296748,
  0.5235619560570128,
  0.5545888516776374,
  0.5849625007211563,
  0.6147098441152082,
  0.6438561897747247,
  0.6724253419714956,
  0.7004397181410922,
  0.7279204545631992,
  0.7548875021634686,
  0.7813597135246596,
  0.8073549220576042,
  0.8328900141647417,
  0.8579809951275721,
  0.8826430493618412,
  0.9068905956085185,
  0.9307373375628862,
  0.9541963103868752,
  0.9772799234999164,
  1,
];

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Go's approximate `fastlog2(x)`: exponent from the IEEE bits, the top 5
 * mantissa bits index the table, the next 20 interpolate linearly.
 *
 * @example
 * ```ts
 * import { fastlog2 } from "./sampling.ts";
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
 * Go 1.19's per-M `fastrand` on 64-bit platforms (wyrand), seeded.
 *
 * @example
 * ```ts
 * import { WyRand } from "./sampling.ts";
 * const a = new WyRand(1n), b = new WyRand(1n);
 * if (a.next() !== b.next() || a.fastrandn(10) >= 10) throw new Error();
 * ```
 */
export class WyRand {
  #s: bigint;

  /** Makes a generator with 64-bit state `seed`. */
  constructor(seed: bigint) {
    this.#s = seed & MASK64;
  }

  /** The next uint32. */
  next(): number {
    this.#s = (this.#s + 0xa0761d6478bd642fn) & MASK64;
    const p = this.#s * (this.#s ^ 0xe7037ed1a0b428dbn);
    return Number(((p >> 64n) ^ p) & 0xffffffffn);
  }

  /** `fastrandn(n)`: uniform in [0, n) by multiply-shift. */
  fastrandn(n: number): number {
    return Number((BigInt(this.next()) * BigInt(n)) >> 32n);
  }
}

/**
 * Go 1.2's per-M `fastrand1`: `x += x`, and when the top bit is then set,
 * `x ^= 0x88888eef`.
 *
 * @example
 * ```ts
 * import { FastRand1 } from "./sampling.ts";
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
 * import { Sampler } from "./sampling.ts";
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
