/**
 * The stubs' clock (lib/native/stub_clock.ts): a record's time is the
 * tracer's clock when its stub read the counter, within the clock's own
 * error bound, made before the latest pairing or after it; never earlier
 * than the time given before it.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { skip } from "./_support.ts";
import { loadLibc } from "../../lib/native/ffi.ts";
import { STAMP_SHIFT } from "../../lib/native/inject.ts";
import {
  steadyCounter,
  StubClock,
  stubClock,
} from "../../lib/native/stub_clock.ts";

const stampOf = (tsc: number) =>
  Number(BigInt.asUintN(32, BigInt(Math.floor(tsc)) >> BigInt(STAMP_SHIFT)));

/**
 * Two clocks that agree exactly (the truth, in ns) read with scripted
 * delays: `delays` are taken one per read (ns spent before the read: a
 * preemption is a long one), then `step` each.
 */
class World {
  ns = 0;
  delays: number[] = [];
  constructor(
    readonly ticksPerNs: number,
    readonly base: number,
    readonly step: number,
  ) {}
  #next(): void {
    this.ns += this.delays.shift() ?? this.step;
  }
  counterAt(ns: number): number {
    return this.base + Math.floor(ns * this.ticksPerNs);
  }
  readers = {
    tsc: () => (this.#next(), this.counterAt(this.ns)),
    ms: () => (this.#next(), this.ns / 1e6),
  };
}

Deno.test("stub clock: exact clocks give each record its time within half a stamp, before and after the anchor, and the error says so", () => {
  const w = new World(3, 2 ** 40, 30);
  const clock = new StubClock(w.readers, true);
  w.ns = 5e6;
  assertTrue(Math.abs(clock.sync() - 5) < 1e-4);
  const halfStamp = 2 ** STAMP_SHIFT / 2 / 3 / 1e6; // ms
  for (const ms of [0.5, 2, 4.999, 5.001, 6, 9]) {
    const t = clock.at(stampOf(w.counterAt(ms * 1e6)));
    assertTrue(Math.abs(t - ms) <= halfStamp + 1e-6, `${t} for ${ms} ms`);
  }
  // Pairings of 30 ns reads: 3 ticks per ns, a read's 90 ticks apart.
  assertTrue(clock.error >= halfStamp, `error ${clock.error}`);
  assertTrue(clock.error < halfStamp + 0.0002, `error ${clock.error}`);
});

Deno.test("stub clock: a pairing preempted at every try is left while the anchor extrapolates better; the error stays the good pairings'", () => {
  const w = new World(2.5, 12345, 40);
  const clock = new StubClock(w.readers, true);
  w.ns = 20e6;
  clock.sync();
  clock.at(stampOf(w.counterAt(19e6)));
  const good = clock.error;
  w.ns = 21e6;
  // Each of the 8 tries preempted for 1 ms between its counter reads.
  w.delays = Array.from({ length: 24 }, (_, i) => i % 3 === 2 ? 1e6 : 40);
  clock.sync();
  const t = clock.at(stampOf(w.counterAt(w.ns)));
  assertTrue(Math.abs(t - w.ns / 1e6) <= clock.error, `${t} vs ${w.ns / 1e6}`);
  assertTrue(clock.error < 2 * good, `error ${clock.error} (was ${good})`);
});

Deno.test("stub clock: without a steady counter a record's time is the latest pairing's, and no error is claimed", () => {
  const w = new World(3, 0, 30);
  const clock = new StubClock(w.readers, false);
  w.ns = 7e6;
  const now = clock.sync();
  assertEquals(clock.at(stampOf(w.counterAt(1e6))), now);
  assertEquals(clock.at(stampOf(w.counterAt(9e6))), now);
  assertTrue(Number.isNaN(clock.error));
});

Deno.test("stub clock: times never go back (a record stamped before the last one given is given its time)", () => {
  const w = new World(3, 0, 30);
  const clock = new StubClock(w.readers, true);
  w.ns = 10e6;
  clock.sync();
  const late = clock.at(stampOf(w.counterAt(8e6)));
  assertEquals(clock.at(stampOf(w.counterAt(3e6))), late);
});

Deno.test("stub clock (property): whatever the pairings' preemptions, the counter's rate and where it wraps, every record's time is within the clock's error of when it was made", () => {
  // Delays before reads (ns): short, or a preemption; or every read of
  // all 8 tries preempted.
  const long = fc.integer({ min: 1e4, max: 3e6 });
  const preempts = fc.oneof(
    fc.array(fc.oneof(fc.integer({ min: 10, max: 200 }), long), {
      maxLength: 24,
    }),
    fc.array(long, { minLength: 24, maxLength: 24 }),
  );
  const op = fc.oneof(
    // Pair again, after `gap` ns, with these reads preempted (ns).
    fc.record({
      kind: fc.constant("sync" as const),
      gap: fc.integer({ min: 0, max: 5e6 }),
      preempt: preempts,
    }),
    // A record made after `gap` ns (queued until a drain).
    fc.record({
      kind: fc.constant("record" as const),
      gap: fc.integer({ min: 0, max: 3e6 }),
    }),
    fc.record({ kind: fc.constant("drain" as const) }),
  );
  fc.assert(
    fc.property(
      fc.double({ min: 0.8, max: 4.5, noNaN: true }),
      // Near where the stamps' 32 bits wrap, or not.
      fc.oneof(
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.integer({ min: 2 ** 42 - 2 ** 34, max: 2 ** 42 + 2 ** 20 }),
      ),
      fc.integer({ min: 15, max: 400 }),
      fc.array(op, { maxLength: 60 }),
      preempts,
      (rate, base, step, ops, first) => {
        const w = new World(rate, base, step);
        w.delays = [...first];
        const clock = new StubClock(w.readers, true);
        w.delays = [];
        const queued: number[] = [];
        // The worst time given: the error bounds every time given so far.
        let worst = 0;
        const drain = () => {
          for (const ns of queued) {
            const t = clock.at(stampOf(w.counterAt(ns)));
            worst = Math.max(worst, Math.abs(t - ns / 1e6));
            if (!(worst <= clock.error)) {
              throw new Error(`${t} ms for ${ns / 1e6}, error ${clock.error}`);
            }
          }
          queued.length = 0;
        };
        for (const o of ops) {
          if (o.kind === "drain") drain();
          else if (o.kind === "record") {
            w.ns += o.gap;
            queued.push(w.ns);
          } else {
            w.ns += o.gap;
            w.delays = [...o.preempt];
            clock.sync();
            w.delays = [];
            if (!(worst <= clock.error)) {
              throw new Error(`worst ${worst} ms, error ${clock.error}`);
            }
          }
        }
        drain();
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test({
  name:
    "stub clock on this machine's counter: a record stamped 1 ms after the latest pairing (made while the ring was being read) gets the time it was made, not the pairing's (wall_time_test's misses of 0.09-2.5 ms)",
  ignore: skip !== "",
  fn() {
    const t0 = performance.now();
    const clock = stubClock(loadLibc(), t0, true);
    const spin = (ms: number) => {
      for (const from = performance.now(); performance.now() - from < ms;);
    };
    spin(2);
    const paired = clock.sync();
    spin(1);
    // A record stamped now, 1 ms after the pairing.
    const before = performance.now() - t0;
    const t = clock.at(stampOf(Number(clock.tsc())));
    const after = performance.now() - t0;
    // (0.05 ms: far above the error of a pairing, far below the 1 ms.)
    assertTrue(
      before - 0.05 <= t && t <= after + 0.05,
      `record at ${t} ms, made between ${before} and ${after} (paired at ${paired})`,
    );
  },
});

Deno.test("steadyCounter: the kernel's clocksource decides where sysfs says (a VM's flags lack nonstop_tsc, or claim it for a counter the kernel dropped); the CPU's flags where it does not", () => {
  const SOURCE =
    "/sys/devices/system/clocksource/clocksource0/current_clocksource";
  const both = "flags\t\t: fpu tsc msr constant_tsc rep_good nonstop_tsc\n";
  const constantOnly = "flags\t\t: fpu tsc constant_tsc tsc_known_freq\n";
  const rows: [string | undefined, string | undefined, boolean][] = [
    ["tsc\n", both, true],
    ["tsc\n", constantOnly, true],
    ["kvm-clock\n", both, false],
    ["hpet\n", both, false],
    [undefined, both, true],
    [undefined, constantOnly, false],
    [undefined, undefined, false],
  ];
  for (const [source, cpuinfo, steady] of rows) {
    const files: Record<string, string | undefined> = {
      [SOURCE]: source,
      "/proc/cpuinfo": cpuinfo,
    };
    const read = (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Deno.errors.NotFound(path);
      return text;
    };
    assertEquals(steadyCounter(read), steady, `${source} / ${cpuinfo}`);
  }
});
