/**
 * The readings of scripts/fidelity_compare.ts: how the simulated figures
 * are set beside real Go's and judged (per-cycle ranges and medians, frees
 * by sweeper, line shapes), each printing its lines and returning its
 * verdicts. The runs themselves (building, running real Go and the
 * simulator, saving) stay in fidelity_compare.ts.
 *
 * @module
 */

import {
  type GCLine,
  type Sweeper,
  SWEEPERS,
  type TraceFigures,
} from "./_trace_figures.ts";
import {
  type GoVersion,
  medianReading,
  percentile,
  type RunFigures,
  runsWithinMedian,
  runsWithinSpread,
  spread,
} from "./_real_runs.ts";

const MiB = 1 << 20;

export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[xs.length >> 1];
export const pct = (a: number, b: number) =>
  b === 0 ? (a === 0 ? "0.0%" : "inf") : `${((a - b) / b * 100).toFixed(1)}%`;
const pad = (s: string | number, n: number) => String(s).padStart(n);
export const mb = (b: number) => (b / MiB).toFixed(2);
/** MiB with three decimals: a cycle's marked bytes can be tens of KiB. */
export const mb3 = (b: number) => (b / MiB).toFixed(3);

export const fmtGC = (g?: GCLine) =>
  g === undefined
    ? "-"
    : g.cut
    ? "(line cut off at exit)"
    : `${g.before}->${g.atTerm}->${g.marked} MB, ${g.goal} MB goal${
      g.forced ? " (forced)" : ""
    }`;

export function sideBySide(
  title: string,
  real: Map<number, number>,
  sim: Map<number, number>,
) {
  console.log(`  ${title} per size (bytes: real / sim):`);
  const keys = [...new Set([...real.keys(), ...sim.keys()])].sort((a, b) =>
    a - b
  );
  const cells = keys.map((k) => `${k}: ${real.get(k) ?? 0}/${sim.get(k) ?? 0}`);
  for (let i = 0; i < cells.length; i += 6) {
    console.log("    " + cells.slice(i, i + 6).join("  "));
  }
}

export interface Verdict {
  target: string;
  met: boolean;
  detail: string;
  /**
   * A per-cycle figure read against the real median (printed apart, not
   * among the targets: the targets read "within 10%" against the spread).
   */
  median?: true;
}

/**
 * Compares a per-cycle figure against real Go's runs (real Go is itself
 * noisy: what a mark allocates black and where the pacer triggers swing
 * with scheduling, see scripts/_real_runs.ts): cycle i of the simulation is
 * met when it lies within [0.9 × P10, 1.1 × P90] of the real runs that have
 * a cycle i (min–max below ten runs), widened by `grain` (gctrace's whole
 * MB). Prints one line per cycle, with the simulated figure's rank among
 * the real runs.
 */
export function rangeVerdict(
  title: string,
  real: number[][],
  sim: number[],
  grain: number,
  fmt: (x: number) => string,
): [Verdict, Verdict] {
  console.log(
    `  ${title} (real runs: P10–P90, median, min–max | sim, rank among the real runs | sim against the median, real runs within 10% of it):`,
  );
  const n = Math.max(sim.length, ...real.map((r) => r.length));
  let out = 0;
  let worst = 0;
  /** Cycles more than 10% from the real median, as "gc N ±x%". */
  const medianOut: string[] = [];
  let compared = 0;
  for (let i = 0; i < n; i++) {
    // A cut-off gctrace line (NaN) has no figure to compare.
    const r = real.filter((x) => i < x.length).map((x) => x[i])
      .filter((x) => !Number.isNaN(x));
    const s = sim[i];
    let mark = "";
    let figures = "-";
    if (r.length > 0) {
      const sp = spread(r, s ?? NaN, grain);
      figures = `${pad(sp.n, 2)} runs: ${fmt(sp.p10)}–${fmt(sp.p90)}, median ${
        fmt(sp.median)
      } (${fmt(sp.min)}–${fmt(sp.max)})`;
      if (s === undefined) mark = "  (no counterpart)";
      else {
        mark = ` (rank ${sp.rank.toFixed(0)}%)`;
        if (!sp.ok) {
          // How far outside, relative to the real P10 or P90.
          const off = s < sp.lo
            ? (sp.p10 - s) / Math.max(sp.p10, 1)
            : (s - sp.p90) / Math.max(sp.p90, 1);
          out++;
          worst = Math.max(worst, off);
          mark += `  OUT (${(off * 100).toFixed(1)}% beyond P10–P90)`;
        }
        // The other reading of "within 10%": of the real median.
        const md = medianReading(r, s, grain);
        const off = `${md.off >= 0 ? "+" : ""}${(md.off * 100).toFixed(1)}%`;
        compared++;
        if (!md.ok) {
          medianOut.push(`gc ${i + 1} ${off} (real ${md.near}/${md.n} within)`);
        }
        mark += ` | median ${off} ${
          md.ok ? "ok" : "OUT"
        } (real ${md.near}/${md.n} within)`;
      }
    } else mark = "  (no counterpart)";
    console.log(
      `    gc ${pad(i + 1, 2)}: ${figures} | ${
        s === undefined ? "-" : fmt(s)
      }${mark}`,
    );
  }
  // A cycle count off by one (its own target) leaves a cycle without a
  // counterpart; that is not counted here.
  const counts = real.map((r) => r.length);
  const cycles = [...new Set(counts)].sort((a, b) => a - b).map((k) =>
    `${counts.filter((x) => x === k).length}×${k}`
  );
  return [{
    target: `${title} within [0.9 P10, 1.1 P90] of ${real.length} real runs`,
    met: out === 0,
    detail: `${out} of ${sim.length} cycles outside${
      out > 0 ? `, worst ${(worst * 100).toFixed(1)}% beyond` : ""
    } (cycles: real ${
      cycles.join(" ")
    }, sim ${sim.length}); real runs meeting it on every cycle (each against the others' spread): ${
      runsWithinSpread(real, grain)
    }/${real.length}`,
  }, {
    target: `${title} within 10% of the median of ${real.length} real runs${
      grain > 0 ? ` (± ${grain} of grain)` : ""
    }`,
    met: medianOut.length === 0,
    detail: `${medianOut.length} of ${compared} cycles outside${
      medianOut.length > 0 ? `: ${medianOut.join(", ")}` : ""
    }; real runs meeting it on every cycle (each against the others' median): ${
      runsWithinMedian(real, grain)
    }/${real.length}`,
  }];
}

/** Share (%) of a run's frees that sweeper `k` made. */
const share = (f: RunFigures, k: Sweeper) =>
  f.frees === 0 ? 0 : (f.sweepers.get(k) ?? 0) / f.frees * 100;

/** A trace's figures as a committed run's. */
export const runFigures = (t: TraceFigures): RunFigures => ({
  live: t.liveAtGC,
  marked: t.markedAtGC,
  allocated: t.allocAtGC,
  frees: t.freeCount,
  sweepers: t.sweepers,
});

/**
 * Frees by sweeper kind: the fresh real runs' shares and the pooled runs'
 * (committed and fresh) beside the model's. Who sweeps is a race in real
 * Go (leak's page reclaimer frees 0–26% per run, binarytrees' final
 * runtime.GC against bgsweep), so the target is the model within 10 points
 * of the pooled runs' mean share, and the line says of how many single
 * runs it is within 10 points too.
 */
export function sweeperShares(
  fresh: RunFigures[],
  pooled: RunFigures[],
  sim: RunFigures,
): Verdict {
  console.log(
    `  frees by sweeper, share % (fresh real runs | ${pooled.length} runs: P10–P90 [mean] | sim, frees fresh run 1 / sim):`,
  );
  let worst = 0;
  let worstKind = "";
  let within = 0;
  for (const k of SWEEPERS) {
    const rs = pooled.map((r) => share(r, k));
    const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
    const ss = share(sim, k);
    if (Math.abs(mean - ss) > worst) {
      worst = Math.abs(mean - ss);
      worstKind = k;
    }
    console.log(
      `    ${k.padEnd(15)} ${
        fresh.map((r) => pad(share(r, k).toFixed(1), 5)).join(" ")
      } | ${pad(percentile(rs, 10).toFixed(1), 5)}–${
        percentile(rs, 90).toFixed(1).padEnd(5)
      } [${pad(mean.toFixed(1), 5)}] | ${pad(ss.toFixed(1), 5)}   ${
        pad(fresh[0].sweepers.get(k) ?? 0, 7)
      } / ${sim.sweepers.get(k) ?? 0}`,
    );
  }
  for (const r of pooled) {
    if (SWEEPERS.every((k) => Math.abs(share(r, k) - share(sim, k)) <= 10)) {
      within++;
    }
  }
  return {
    target: "each sweeper kind's share within 10 points",
    met: worst <= 10,
    detail: `worst ${worstKind} ${
      worst.toFixed(1)
    } points from the mean of ${pooled.length} runs; all kinds within 10 of ${within}/${pooled.length} single runs`,
  };
}

/**
 * The committed shapes of real Go `go` (scripts/gen_startup.ts: seven
 * fresh runs of each shared program at the shared traces' sizes): shape →
 * "program k/7" for each program whose runs print it.
 */
async function committedShapes(
  go: GoVersion,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const text = await Deno.readTextFile(
    new URL(`../tests/testdata/fidelity/shapes-go${go}.txt`, import.meta.url),
  );
  let program = "";
  let runs = "";
  for (const l of text.split("\n")) {
    const h = /^# (\S+).*: (\d+) runs$/.exec(l);
    if (h !== null) {
      [program, runs] = [h[1], h[2]];
      continue;
    }
    const m = /^(\d+) (.*)$/.exec(l);
    if (m === null) continue;
    const seen = out.get(m[2]) ?? [];
    seen.push(`${program} ${m[1]}/${runs}`);
    out.set(m[2], seen);
  }
  return out;
}

/**
 * Line shapes against every real run: real Go prints a different set from
 * run to run (a tiny block, a map overflow bucket from the hash seed, which
 * path started an M or flushed an mcache, whether the reclaimer ran), so a
 * shape is sim-only when none of the `--runs` real runs here and none of
 * the committed real runs (tests/testdata/fidelity/shapes-go1.19.txt, or
 * the version's `go`) prints it (`withCommitted` false: none of the real runs here). Each
 * model shape some but not all real runs print is listed with how many do;
 * real-only shapes are those every real run here prints.
 */
export async function shapeReport(
  name: string,
  reals: TraceFigures[],
  sim: TraceFigures,
  shown: number,
  withCommitted = true,
  go: GoVersion = "1.19",
): Promise<Verdict> {
  const committed = withCommitted ? await committedShapes(go) : new Map();
  const runsOf = (s: string) => reals.filter((r) => r.shapes.has(s)).length;
  const simShapes = [...sim.shapes.keys()];
  const simOnly = simShapes.filter((s) => runsOf(s) === 0 && !committed.has(s));
  const elsewhere = simShapes.filter((s) =>
    runsOf(s) === 0 && committed.has(s)
  );
  const some = simShapes.filter((s) => {
    const n = runsOf(s);
    return n > 0 && n < reals.length;
  });
  const union = new Set(reals.flatMap((r) => [...r.shapes.keys()]));
  const realAll = [...union].filter((s) => runsOf(s) === reals.length);
  const realOnly = realAll.filter((s) => !sim.shapes.has(s));
  console.log(
    `  line shapes: real ${
      reals.map((r) => r.shapes.size).join("/")
    } (union ${union.size}, in all ${realAll.length}), sim ${sim.shapes.size}; sim only ${simOnly.length} (in no real run of ${reals.length} nor the committed data; ${elsewhere.length} more only in the committed data), printed by some real runs ${some.length}, real only (in all ${reals.length} runs) ${realOnly.length}`,
  );
  const byCount = (m: Map<string, number>) => (a: string, b: string) =>
    m.get(b)! - m.get(a)!;
  for (const s of simOnly.sort(byCount(sim.shapes)).slice(0, shown)) {
    console.log(`    sim only ×${sim.shapes.get(s)}: ${s}`);
  }
  for (const s of elsewhere.sort(byCount(sim.shapes)).slice(0, shown)) {
    console.log(
      `    committed only ×${sim.shapes.get(s)} (${
        committed.get(s)!.join(", ")
      }): ${s}`,
    );
  }
  for (const s of some.sort(byCount(sim.shapes)).slice(0, shown)) {
    console.log(
      `    in ${runsOf(s)}/${reals.length} real runs ×${
        sim.shapes.get(s)
      }: ${s}`,
    );
  }
  const real = reals[0];
  for (const s of realOnly.sort(byCount(real.shapes)).slice(0, shown)) {
    console.log(`    real only ×${real.shapes.get(s)}: ${s}`);
  }
  return {
    target: "no line shape only in the simulated trace",
    met: simOnly.length === 0,
    detail:
      `${simOnly.length} shapes no real run prints (${reals.length} runs of ${name}${
        withCommitted ? " and the committed data" : ", fresh only"
      })`,
  };
}
