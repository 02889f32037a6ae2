import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertThrows, assertTrue } from "../_assert.ts";
import {
  fastexprand,
  fastlog2,
  Runtime,
  Sampler,
  stackHash,
  WyRand,
} from "../../mod.ts";
import { FASTLOG2_TABLE } from "../../lib/runtime/fastlog2table.ts";

const GO_TABLE = "/usr/share/go-1.19/src/runtime/fastlog2table.go";

Deno.test({
  name: "fastlog2 table equals Go 1.19's runtime/fastlog2table.go",
  ignore: (() => {
    try {
      Deno.statSync(GO_TABLE);
      return false;
    } catch {
      console.log(
        `sampling_test: skipped the table comparison: ${GO_TABLE} is missing (apt-get install golang-1.19-src)`,
      );
      return true;
    }
  })(),
  fn() {
    const src = Deno.readTextFileSync(GO_TABLE);
    const body = src.slice(
      src.indexOf("{", src.indexOf("fastlog2Table")) + 1,
      src.lastIndexOf("}"),
    );
    const values = body.split(",").map((s) => s.trim()).filter((s) => s !== "")
      .map(Number);
    assertEquals(values, [...FASTLOG2_TABLE]);
  },
});

Deno.test("fastlog2 is exact at powers of two and close elsewhere", () => {
  for (let e = 0; e < 30; e++) assertEquals(fastlog2(2 ** e), e);
  for (let x = 1; x < 1 << 26; x = x * 3 + 1) {
    assertTrue(Math.abs(fastlog2(x) - Math.log2(x)) < 0.01, String(x));
  }
});

Deno.test("fastexprand has mean `rate` and is reproducible from the seed", () => {
  for (const rate of [4096, 524288]) {
    const a = new WyRand(7n);
    const b = new WyRand(7n);
    let sum = 0;
    const n = 40000;
    for (let i = 0; i < n; i++) {
      const v = fastexprand(a, rate);
      assertEquals(v, fastexprand(b, rate));
      assertTrue(v >= 1 && v <= 18.1 * rate + 1, String(v));
      sum += v;
    }
    assertTrue(
      Math.abs(sum / n / rate - 1) < 0.03,
      `mean ${sum / n} at rate ${rate}`,
    );
  }
  assertEquals(fastexprand(new WyRand(1n), 0), 0);
});

Deno.test("Go 1.2 uniform sampling: objects of at least `rate` bytes are always sampled, countdown untouched", () => {
  const s = new Sampler("uniform", 1, 0, 1000);
  const before = s.nextSample;
  assertTrue(before >= 0 && before < 2000);
  for (let i = 0; i < 10; i++) assertTrue(s.sample(1000, 1000));
  assertEquals(s.nextSample, before);
  // A small object decrements the countdown or, reaching it, is sampled with a fresh draw.
  let sampled = 0;
  for (let i = 0; i < 100000; i++) if (s.sample(10, 1000)) sampled++;
  assertTrue(Math.abs(sampled - 1000) < 150, String(sampled)); // one per ~1000 bytes
});

Deno.test("MemProfileRate: 1 samples every allocation, 0 none, and a change takes effect at once", () => {
  const rt = new Runtime({ memProfileRate: 1 });
  const t = rt.types.define("main.T", { size: 48 });
  rt.call("main.f", "main.go", 1, () => {
    for (let i = 0; i < 100; i++) rt.newobject(t);
    rt.memProfileRate = 0;
    for (let i = 0; i < 100; i++) rt.newobject(t);
  });
  const recs = rt.MemProfile(true);
  assertEquals(recs.reduce((a, r) => a + r.AllocObjects, 0), 100);
  assertThrows(
    () => (rt.memProfileRate = -1),
    RangeError,
    /non-negative integer/,
  );
  assertThrows(() => (rt.memProfileRate = 1.5), RangeError, /got 1.5/);
  assertThrows(() => new Runtime({ memProfileRate: -2 }), RangeError, /got -2/);
});

Deno.test("the same seed gives the same profile; another seed another", () => {
  const run = (seed: number) => {
    const rt = new Runtime({ seed });
    const t = rt.types.define("main.T", { size: 64 });
    rt.call("main.f", "main.go", 1, () => {
      for (let i = 0; i < 200000; i++) rt.newobject(t);
    });
    rt.GC();
    return rt.MemProfile(true).map((r) => r.AllocObjects).join();
  };
  assertEquals(run(3), run(3));
  assertTrue(run(3) !== run(4));
});

Deno.test("stack hash: the two-halves uint64 arithmetic equals BigInt's", () => {
  const M = (1n << 64n) - 1n;
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 2 ** 47 }), { maxLength: 32 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.boolean(),
      (stk, size, withSize) => {
        let h = 0n;
        for (const v of withSize ? [...stk, size] : stk) {
          h = (h + BigInt(v)) & M;
          h = (h + (h << 10n)) & M;
          h ^= h >> 6n;
        }
        h = (h + (h << 3n)) & M;
        h ^= h >> 11n;
        const [hi, lo] = stackHash(stk, size, withSize);
        assertEquals((BigInt(hi) << 32n) | BigInt(lo), h);
      },
    ),
    { numRuns: 500 },
  );
});

// Go's wyrand (runtime/stubs.go, 64-bit fastrand) and fastrandn, in BigInt
// arithmetic as written there: the reference WyRand's halves must equal.
class BigWyRand {
  #s: bigint;
  constructor(seed: bigint) {
    this.#s = BigInt.asUintN(64, seed);
  }
  next(): number {
    this.#s = BigInt.asUintN(64, this.#s + 0xa0761d6478bd642fn);
    const p = this.#s * (this.#s ^ 0xe7037ed1a0b428dbn);
    return Number(((p >> 64n) ^ p) & 0xffffffffn);
  }
  fastrandn(n: number): number {
    return Number((BigInt(this.next()) * BigInt(n)) >> 32n);
  }
}

Deno.test("WyRand without BigInt gives Go's wyrand values (BigInt reference), next and fastrandn", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.array(
        fc.oneof(
          fc.constant(-1), // next()
          fc.constant(1 << 26), // fastexprand's n
          fc.constant(0xffffffff),
          fc.integer({ min: 1, max: 0xffffffff }),
        ),
        { minLength: 1, maxLength: 200 },
      ),
      (seed, ops) => {
        const a = new WyRand(seed);
        const b = new BigWyRand(seed);
        for (const n of ops) {
          if (n < 0) assertEquals(a.next(), b.next());
          else assertEquals(a.fastrandn(n), b.fastrandn(n));
        }
      },
    ),
    { numRuns: 2000 },
  );
  // States where the 64-bit add carries, and extreme limbs.
  for (
    const seed of [
      0n,
      (1n << 64n) - 1n,
      (1n << 64n) - 0xa0761d6478bd642fn,
      0x87898e9b21f4219bn,
      0xffffffffn,
      0xffffffff00000000n,
    ]
  ) {
    const a = new WyRand(seed);
    const b = new BigWyRand(seed);
    for (let i = 0; i < 10000; i++) assertEquals(a.next(), b.next());
  }
});

Deno.test("Sampler's draws equal those made with the BigInt wyrand", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.integer({ min: 0, max: 7 }),
      fc.constantFrom(1, 2, 4096, 524288, 0x7000000, 1e9),
      (seed, p, rate) => {
        const s = new Sampler("exponential", seed, p, rate);
        const ref = new BigWyRand(
          BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(p + 1),
        );
        const refDraw = () => {
          if (rate === 1) return 0;
          const mean = Math.min(rate, 0x7000000);
          const q = ref.fastrandn(1 << 26) + 1;
          const qlog = Math.min(0, fastlog2(q) - 26);
          return Math.trunc(qlog * (-0.6931471805599453 * mean)) + 1;
        };
        assertEquals(s.nextSample, refDraw());
        for (let i = 0; i < 50; i++) assertEquals(s.draw(rate), refDraw());
      },
    ),
    { numRuns: 300 },
  );
});
