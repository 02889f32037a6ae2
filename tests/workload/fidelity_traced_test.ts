/**
 * Issue 16's traced figures against committed real runs: a program traced
 * with GODEBUG=allocfreetrace=1 spends its time printing (the model charges
 * 190 ns per byte printed), so Go 1.19's pacer measures a cons/mark ratio
 * near 0 and its cycles start late, and the background sweeper prints its
 * frees while the mutator prints its allocations. The real figures
 * (tests/testdata/fidelity/*-traced.txt, 26 go1.19.8 runs of leak and of
 * temporaries, six of binarytrees, under loads from quiet to 26, written
 * by `scripts/fidelity_compare.ts --save [--append]`) hold per cycle the
 * heap at its tracegc and the bytes it marked (the trace replayed by
 * address), and the frees by sweeper.
 *
 * - GC cycles within ±1 of the real runs' median;
 * - the live heap (bytes marked) and the heap at each tracegc within
 *   [0.9 × P10, 1.1 × P90] of the real runs (scripts/_real_runs.ts; the
 *   rule scripts/fidelity_compare.ts applies): temporaries marks 3 to 12 of
 *   its 40 KB temporaries per cycle from run to run, and leak's third cycle
 *   starts early in 12 of 20 runs and late in 8 (the model: late); and
 *   within 10% of the real median where nine in ten real runs are;
 * - each sweeper kind's share of the frees within 5 points of the real
 *   runs' mean, and within 10 points of at least two thirds of the runs
 *   (issue 16's target is 10 points of a real run, but real runs differ by
 *   up to 20 points: on leak the page reclaimer frees 0–21%, as the
 *   background sweeper starts before or after the mutator first needs a
 *   fresh span; on temporaries 0–26%); a known gap (KNOWN_GAPS, each with
 *   why) within 10.
 */
import { assertTrue } from "../_assert.ts";
import {
  medianReading,
  parseTracedRuns,
  spread,
} from "../../scripts/_real_runs.ts";
import {
  binarytrees,
  leak,
  type PresetName,
  Runtime,
  type SweepWho,
  temporaries,
  TracePrinter,
} from "../../mod.ts";

/** The kinds the real figures name, and the model's sweepers in each. */
const KINDS: Record<string, SweepWho[]> = {
  "mcache flush": ["uncacheSpan", "acquirep", "gcstopm"],
  "reclaimer": ["reclaim"],
  "proportional": ["deductSweepCredit", "allocLarge"],
  "lazy/cacheSpan": ["cacheSpan"],
  "bgsweep": ["bgsweep"],
  "runtime.GC": ["GC"],
};

interface Figures {
  /** Heap at each tracegc (allocated minus freed when it is printed). */
  live: number[];
  /**
   * Bytes each cycle marked: its heap at tracegc minus what its sweep freed
   * (every free before the next tracegc).
   */
  marked: number[];
  frees: number;
  sweepers: Map<string, number>;
}

function simulated(
  run: (rt: Runtime) => void,
  preset: PresetName = "go1.19",
): Figures {
  const rt = new Runtime({ preset, seed: 1 });
  // The printer charges the simulated clock for every byte it prints.
  new TracePrinter(rt, () => {}).attach();
  const live = new Map<number, number>();
  let liveBytes = 0;
  let freed = 0;
  const f: Figures = { live: [], marked: [], frees: 0, sweepers: new Map() };
  const kindOf = new Map<SweepWho, string>();
  for (const [k, whos] of Object.entries(KINDS)) {
    for (const w of whos) kindOf.set(w, k);
  }
  rt.events.subscribe({
    alloc: (addr, size) => {
      live.set(addr, size);
      liveBytes += size;
    },
    free: (slot, _size, who) => {
      // Go 1.22's allocation header: the object is 8 bytes into its slot,
      // which the free names (scripts/_trace_figures.ts reads traces so).
      const addr = rt.preset.allocHeaders && !live.has(slot) ? slot + 8 : slot;
      const had = live.get(addr);
      if (had !== undefined) {
        live.delete(addr);
        liveBytes -= had;
        freed += had;
      }
      f.frees++;
      const k = who === "free" ? "other" : kindOf.get(who) ?? "other";
      f.sweepers.set(k, (f.sweepers.get(k) ?? 0) + 1);
    },
    gc: (ev) => {
      if (ev.kind !== "marktermination") return;
      if (f.live.length > 0) f.marked.push(f.live.at(-1)! - freed);
      freed = 0;
      f.live.push(liveBytes);
    },
  });
  run(rt);
  f.marked.push(f.live.at(-1)! - freed);
  return f;
}

// Real traced runs, three made on a quiet machine and the rest under loads
// up to 26 (the load is in each run's header): how far the mutator gets
// while a mark waits for the trace lock decides both what is allocated
// black and the cons/mark ratio the pacer measures, whose sign flips leak's
// third and fifth triggers and temporaries' third between two places. The
// model, deterministic, sits in one of them; every cycle is held to the
// runs' P10–P90, which keeps a mode that over a tenth of the runs show.
const CASES: [string, string, (rt: Runtime) => void, string?][] = [
  [
    "leak -n 20000",
    "leak-20000-traced.txt",
    (rt) => leak(rt, { n: 20000 }),
  ],
  // One size up (fidcheck: eight fresh runs under nice -n 19 at loads
  // 10–26; the runs' trace names are in each header).
  [
    "leak -n 40000",
    "leak-40000-traced.txt",
    (rt) => leak(rt, { n: 40000 }),
  ],
  // One size up, twenty runs: ten of fidcheck's (nice -n 19, loads
  // 10–26) and ten of fidmark's (nice -n 19, load 9–10, stderr piped to
  // gzip). The mark ends at whichever allocation the mutator is in when the
  // workers' time is up (malloc.ts), so the page reclaimer runs in cycles
  // 1, 2, 4 and 6 (15.8% of frees; real mean 13.5%), where it ran in cycle
  // 1 only (3.9%) when the mark ended only at tmp40000. Each cycle marks
  // 8 temporaries (0.326 MB); a real cycle marks from 2 (its mark got a P
  // at once) to 18 (it waited for preemption), and against fidcheck's ten
  // runs alone cycles 1 and 6 were 4% above 1.1 × P90 (0.314, 0.313 MB).
  [
    "temporaries -n 600",
    "temporaries-600-traced.txt",
    (rt) => temporaries(rt, { n: 600 }),
  ],
  [
    "temporaries -n 300",
    "temporaries-300-traced.txt",
    (rt) => temporaries(rt, { n: 300 }),
  ],
  [
    "binarytrees -depth 9",
    "binarytrees-9-traced.txt",
    (rt) => binarytrees(rt, { depth: 9 }),
  ],
];

// Go 1.22 (tests/testdata/fidelity/go1.22/, fid16: 10 runs of leak, 3 of
// binarytrees, 8 of temporaries, go1.22.12 under nice -n 19 at loads 8–33,
// stderr piped to gzip) against the go1.22 preset.
const CASES_GO122: typeof CASES = [
  [
    "leak -n 20000",
    "go1.22/leak-20000-traced.txt",
    (rt) => leak(rt, { n: 20000 }),
  ],
  [
    "binarytrees -depth 9",
    "go1.22/binarytrees-9-traced.txt",
    (rt) => binarytrees(rt, { depth: 9 }),
  ],
  // Go 1.22 resumes a preempted traced goroutine on another P
  // (presets.ts tracedPreemptMigrates): without that, both Ps' flushes and
  // the marks' start were go1.19's, the mark took in 8 temporaries where
  // go1.22's take 3–4, and the flush freed 55.1% (real mean 67.2) and the
  // page reclaimer 24.6% (13.1).
  [
    "temporaries -n 300",
    "go1.22/temporaries-300-traced.txt",
    (rt) => temporaries(rt, { n: 300 }),
  ],
];

/**
 * Sweeper shares more than 5 points from the real mean, each with why:
 * held to issue 16's own target (10 points) until mended.
 */
const KNOWN_GAPS: Record<string, string> = {
  // go1.22's page reclaimer frees 11.5% of leak's frees, where 10 real
  // go1.22.12 runs free 0% (5 runs) or 4–13% (mean 3.8), and bgsweep 65.4%
  // (real 66.5–81.7%, mean 73.8): the model reclaims in cycles where half
  // the real runs' background sweeper got there first. The same model is
  // within 5 points of go1.19's 26 runs. A known gap is held to issue 16's
  // 10 points of the real mean only (5 and 6 of the 10 runs are within 10
  // points of the model).
  "go1.22 leak -n 20000 reclaimer": "reclaims ahead of bgsweep",
  "go1.22 leak -n 20000 bgsweep": "reclaims ahead of bgsweep",
  // None: temporaries -n 300's reclaimer (7.9% against the real mean 13.8%)
  // and bgsweep (32.3% against 26.9%) were here until the mark ended at any
  // allocation (15.9% and 25.3% now).
};

const MiB = (b: number) => (b / 2 ** 20).toFixed(3);

/**
 * Each simulated cycle within [0.9 × P10, 1.1 × P90] of the real runs that
 * have that cycle (scripts/_real_runs.ts, the rule fidelity_compare
 * applies): real Go's own spread is the yardstick, not one run.
 */
function inRealRange(
  what: string,
  real: number[][],
  sim: number[],
) {
  for (let i = 0; i < sim.length; i++) {
    const r = real.filter((x) => i < x.length).map((x) => x[i]);
    if (r.length === 0) break;
    const s = spread(r, sim[i]);
    assertTrue(
      s.ok,
      `GC ${i + 1}: ${MiB(sim[i])} MiB ${what}, real ${s.n} runs P10–P90 ${
        MiB(s.p10)
      }–${MiB(s.p90)} (median ${MiB(s.median)}; sim ${sim.map(MiB).join(" ")})`,
    );
    // Where real Go is consistent (nine in ten of its runs within 10% of
    // their median), the model is held to that median too. Elsewhere real
    // runs themselves miss it: temporaries marks a whole number of 40 KB
    // temporaries (4–6 of 26 runs within 10% of the median, which is less
    // than one of them), leak's cycles 3–6 follow one of four paths as the
    // cons/mark ratio's sign flips (14–17 of 26 within).
    const m = medianReading(r, sim[i]);
    if (m.near >= 0.9 * m.n) {
      assertTrue(
        m.ok,
        `GC ${i + 1}: ${MiB(sim[i])} MiB ${what}, ${
          (m.off * 100).toFixed(1)
        }% from the median ${
          MiB(m.median)
        } of ${m.n} real runs, ${m.near} of which are within 10% of it`,
      );
    }
  }
}

for (
  const [preset, go, cases] of [
    ["go1.19", "1.19", CASES],
    ["go1.22", "1.22", CASES_GO122],
  ] as const
) {
  for (const [name, file, run, knownFailing] of cases) {
    _tracedTest(preset, go, name, file, run, knownFailing);
  }
}

function _tracedTest(
  preset: PresetName,
  go: string,
  name: string,
  file: string,
  run: (rt: Runtime) => void,
  knownFailing?: string,
) {
  Deno.test({
    name: `fidelity: traced ${name} paces and sweeps like traced real Go ${go}${
      knownFailing === undefined ? "" : ` (known failing: ${knownFailing})`
    }`,
    // A divergence measured and left to the model's owner: run it with
    // FIDELITY_KNOWN_FAILING=1 to see it fail.
    ignore: knownFailing !== undefined &&
      Deno.env.get("FIDELITY_KNOWN_FAILING") === undefined,
  }, async () => {
    const real = parseTracedRuns(
      await Deno.readTextFile(
        new URL(`../testdata/fidelity/${file}`, import.meta.url),
      ),
    );
    const sim = simulated(run, preset);
    const counts = real.map((r) => r.live.length).sort((a, b) => a - b);
    assertTrue(
      Math.abs(sim.live.length - counts[counts.length >> 1]) <= 1,
      `GC cycles: ${sim.live.length}, real ${counts.join("/")}`,
    );
    // The live heap (what each cycle marked) and the heap at each tracegc
    // (where the trigger and the mark's length put it).
    inRealRange("marked", real.map((r) => r.marked), sim.marked);
    inRealRange("heap at tracegc", real.map((r) => r.live), sim.live);
    for (const k of [...Object.keys(KINDS), "other"]) {
      const shares = real.map((r) => (r.sweepers.get(k) ?? 0) / r.frees * 100);
      const s = (sim.sweepers.get(k) ?? 0) / sim.frees * 100;
      const mean = shares.reduce((a, x) => a + x, 0) / shares.length;
      const near = shares.filter((x) => Math.abs(s - x) <= 10).length;
      // A known gap is held to issue 16's 10 points of the mean instead.
      const gap = KNOWN_GAPS[`${preset} ${name} ${k}`];
      assertTrue(
        gap === undefined
          ? Math.abs(s - mean) <= 5 && near * 3 >= shares.length * 2
          : Math.abs(s - mean) <= 10,
        `${k}: ${s.toFixed(1)}% of frees, real ${
          shares.map((x) => x.toFixed(1)).join("/")
        }% (mean ${
          mean.toFixed(1)
        }; ${near} of ${shares.length} within 10 points)`,
      );
    }
  });
}
