/**
 * Issue 16's traced figures against committed real runs: a program traced
 * with GODEBUG=allocfreetrace=1 spends its time printing (the model charges
 * 190 ns per byte printed), so Go 1.19's pacer measures a cons/mark ratio
 * near 0 and its cycles start late, and the background sweeper prints its
 * frees while the mutator prints its allocations. The real figures
 * (tests/testdata/fidelity/*-traced.txt, six go1.19.8 runs each, written
 * by `scripts/fidelity_compare.ts --save [--append]`) hold per cycle the
 * heap at its tracegc and the bytes it marked (the trace replayed by
 * address), and the frees by sweeper.
 *
 * - GC cycles within ±1 of the real runs' median;
 * - the live heap (bytes marked) and the heap at each tracegc within the
 *   real runs' spread, widened by 10%;
 * - each sweeper kind's share of the frees within 5 points of the real
 *   runs' mean, and within 10 points of at least two thirds of the runs
 *   (issue 16's target is 10 points of a real run, but real runs differ by
 *   up to 20 points: on leak the page reclaimer frees 0–21%, as the
 *   background sweeper starts before or after the mutator first needs a
 *   fresh span; on temporaries 6–18%).
 */
import { assertTrue } from "../_assert.ts";
import {
  binarytrees,
  leak,
  Runtime,
  type SweepWho,
  temporaries,
  TracePrinter,
} from "../../mod.ts";

/** The kinds the real figures name, and the model's sweepers in each. */
const KINDS: Record<string, SweepWho[]> = {
  "mcache flush": ["uncacheSpan", "acquirep", "gcstopm"],
  "reclaimer": ["reclaim"],
  "proportional": ["deductSweepCredit"],
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

async function realRuns(name: string): Promise<Figures[]> {
  const text = await Deno.readTextFile(
    new URL(`../testdata/fidelity/${name}`, import.meta.url),
  );
  const runs: Figures[] = [];
  let allocated: number[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# run")) {
      allocated = [];
      runs.push({ live: [], marked: [], frees: 0, sweepers: new Map() });
    }
    const run = runs.at(-1)!;
    const t = /^tracegc \d+ live=(\d+)(?: marked=(\d+))? allocated=(\d+)/
      .exec(line);
    if (t !== null) {
      const n = run.live.length;
      // Runs saved before `marked=` was written: a cycle's marked bytes are
      // the next tracegc's heap less what was allocated in between.
      if (n > 0 && run.marked.length < n) {
        run.marked.push(run.live[n - 1] - (+t[3] - allocated.at(-1)!));
      }
      run.live.push(+t[1]);
      allocated.push(+t[3]);
      if (t[2] !== undefined) run.marked.push(+t[2]);
    }
    const f = /^frees (\d+): (.*)$/.exec(line);
    if (f !== null) {
      run.frees = +f[1];
      for (const kv of f[2].split(", ")) {
        const [k, v] = kv.split("=");
        run.sweepers.set(k, +v);
      }
    }
  }
  return runs;
}

function simulated(run: (rt: Runtime) => void): Figures {
  const rt = new Runtime({ preset: "go1.19", seed: 1 });
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
    free: (addr, _size, who) => {
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

// Real traced runs, three made on a quiet machine and three under load
// (the load is in each run's header): how far the mutator gets while a mark
// waits for the trace lock decides both what is allocated black and the
// cons/mark ratio the pacer measures, whose sign flips leak's third and
// fifth triggers and temporaries' third between two places. The model,
// deterministic, sits in one of them; every cycle is held to the union.
const CASES: [string, string, (rt: Runtime) => void][] = [
  [
    "leak -n 20000",
    "leak-20000-traced.txt",
    (rt) => leak(rt, { n: 20000 }),
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

const MiB = (b: number) => (b / 2 ** 20).toFixed(3);

/**
 * Each simulated cycle within [0.9 × min, 1.1 × max] of the real runs that
 * have that cycle: real Go's own spread is the yardstick, not one run.
 */
function inRealRange(
  what: string,
  real: number[][],
  sim: number[],
) {
  const all = real.map((r) => r.map(MiB).join(" ")).join(" | ");
  for (let i = 0; i < sim.length; i++) {
    const r = real.filter((x) => i < x.length).map((x) => x[i]);
    if (r.length === 0) break;
    assertTrue(
      sim[i] >= Math.min(...r) * 0.9 && sim[i] <= Math.max(...r) * 1.1,
      `GC ${i + 1}: ${MiB(sim[i])} MiB ${what} (real ${all} | sim ${
        sim.map(MiB).join(" ")
      })`,
    );
  }
}

for (const [name, file, run] of CASES) {
  Deno.test(`fidelity: traced ${name} paces and sweeps like traced real Go 1.19`, async () => {
    const real = await realRuns(file);
    const sim = simulated(run);
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
      assertTrue(
        Math.abs(s - mean) <= 5 && near * 3 >= shares.length * 2,
        `${k}: ${s.toFixed(1)}% of frees, real ${
          shares.map((x) => x.toFixed(1)).join("/")
        }% (mean ${
          mean.toFixed(1)
        }; ${near} of ${shares.length} within 10 points)`,
      );
    }
  });
}
