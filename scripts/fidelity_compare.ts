/**
 * Side-by-side fidelity figures of the simulated go1.19 against real Go 1.19
 * (issue 16). Builds the shared programs
 * (`tests/testdata/shared/go1.19/programs`) with Go 1.19, runs each with
 * `GODEBUG=allocfreetrace=1,gctrace=1` (streamed, never stored), untraced
 * with `gctrace=1` several times (the GC count's median), and the simulator
 * (`main.ts run WORKLOAD`) with the same settings, then prints:
 *
 * - allocations and frees per size class;
 * - the GC count and each cycle's gctrace `X->Y->Z MB, G MB goal`;
 * - per cycle, the live heap (the bytes the cycle marked, gctrace's Z at
 *   object grain) and the heap at its `tracegc` (gctrace's Y: what the
 *   trigger and the mark's length decide), both replayed by address, against
 *   the pooled real traced runs: the committed ones
 *   (tests/testdata/fidelity/PROGRAM-VALUE-traced.txt, ≥ 20 per target case,
 *   made under different loads) and the `--runs` fresh ones. Real Go is
 *   itself noisy (what a mark allocates black, and the sign of the cons/mark
 *   ratio its pacer measures, swing with scheduling: temporaries marks
 *   0.12–0.49 MB per cycle, leak's third cycle starts in one of two places),
 *   so each cycle is held to [0.9 × P10, 1.1 × P90] of those runs
 *   (scripts/_real_runs.ts), not to one run or three. Untraced, gctrace's Z
 *   in whole MB against the fresh untraced runs' range;
 * - peak live;
 * - frees by sweeper kind (who is on the stack of each `tracefree`), the
 *   model within 10 points of the pooled runs' mean share;
 * - the set difference of normalized line shapes (hex → 0xX, decimal → N);
 * - a verdict on each target of issue 16;
 * - apart from the targets, each per-cycle figure read against the real
 *   runs' median (±10%, the other reading of the issue's "live at each GC
 *   within 10%"), with how many real runs are themselves within 10% of it.
 *
 * Usage:
 *
 *     deno run -A scripts/fidelity_compare.ts [--runs 3] [--trace-big] [--only leak] [--shapes 40]
 *     deno run -A scripts/fidelity_compare.ts --save tests/testdata/fidelity [--runs 3] [--append]
 *     deno run -A scripts/fidelity_compare.ts --save tests/testdata/fidelity --only leak --size 300 --runs 7
 *     deno run -A scripts/fidelity_compare.ts --real-traces /tmp/real [--only leak]
 *
 * `--real-traces DIR` reads a traced case's real runs from
 * `DIR/PROGRAM-VALUE-*.gz` (gzipped stderr of
 * `GODEBUG=allocfreetrace=1,gctrace=1`, as many as there are) instead of
 * running them: the model can then be compared again against the same runs.
 *
 * `--save DIR` only records the traced target cases' real figures (`--runs`
 * traced runs each) in DIR for the fidelity test; with `--size N` (and
 * `--only`), the traced case of that size, target or not. `--size` also
 * narrows a comparison to one size.
 *
 * `--trace-big` also traces binarytrees depth 14 (a 3 GB trace, ~10 min);
 * without it that case compares the untraced figures only.
 *
 * @module
 */

import { buildGoProgram } from "../bench/_go.ts";
import { traceStream } from "./_traces.ts";
import {
  analyze,
  type GCLine,
  type Sweeper,
  SWEEPERS,
  type TraceFigures,
} from "./_trace_figures.ts";
import {
  committedGCTraces,
  committedRuns,
  medianReading,
  percentile,
  type RunFigures,
  runsWithinMedian,
  spread,
} from "./_real_runs.ts";

const GO = "/usr/lib/go-1.19/bin/go";
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MiB = 1 << 20;

/** One program at one size: the shared program's flag and the workload's. */
interface Case {
  program: string;
  flag: string;
  value: number;
  /** A target case of issue 16 (else: a small size of the shared testdata). */
  target: boolean;
  /** Trace it (the big binarytrees only with --trace-big). */
  traced: boolean;
}

/**
 * Runs the real program once. A run that fails or prints no gctrace line
 * (every shared program ends with runtime.GC()) is reported and run again,
 * up to twice: under load a run was once counted as "0 GCs" because its
 * exit status and its stderr's end were never looked at.
 */
async function runReal(
  bin: string,
  c: Case,
  godebug: string,
): Promise<TraceFigures> {
  for (let attempt = 1;; attempt++) {
    const child = new Deno.Command(bin, {
      args: [`-${c.flag}`, String(c.value)],
      // GODEBUG alone: goenvs copies every variable onto the heap before
      // tracing starts (its spans count in heapLive), and the simulator
      // models a program run with GODEBUG as its only variable.
      env: { GODEBUG: godebug },
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const f = await analyze(child.stderr);
    const st = await child.status;
    if (st.success && f.gc.length > 0) return f;
    const why = `${c.program} -${c.flag} ${c.value} (GODEBUG=${godebug}) ${
      st.success
        ? "printed no gctrace line"
        : `exited with ${st.code}${st.signal ? ` (${st.signal})` : ""}`
    }; its stderr ended: ${JSON.stringify(f.tail.join("\n").slice(-300))}`;
    if (attempt === 3) throw new Error(`real run failed 3 times: ${why}`);
    console.log(`  (real run ${attempt} failed and is run again: ${why})`);
  }
}

async function runSim(c: Case, godebug: string): Promise<TraceFigures> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-env=GODEBUG,GOGC,ALLOCTRACE_DEBUG,NO_COLOR",
      MAIN,
      "run",
      c.program,
      `--${c.flag === "depth" ? "depth" : "n"}`,
      String(c.value),
      "--godebug",
      godebug,
      "--quiet",
    ],
    env: { GODEBUG: "", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const f = await analyze(child.stderr);
  const st = await child.status;
  if (!st.success) throw new Error(`main.ts run ${c.program} failed`);
  return f;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const pct = (a: number, b: number) =>
  b === 0 ? (a === 0 ? "0.0%" : "inf") : `${((a - b) / b * 100).toFixed(1)}%`;
const pad = (s: string | number, n: number) => String(s).padStart(n);
const mb = (b: number) => (b / MiB).toFixed(2);
/** MiB with three decimals: a cycle's marked bytes can be tens of KiB. */
const mb3 = (b: number) => (b / MiB).toFixed(3);

const fmtGC = (g?: GCLine) =>
  g === undefined
    ? "-"
    : g.cut
    ? "(line cut off at exit)"
    : `${g.before}->${g.atTerm}->${g.marked} MB, ${g.goal} MB goal${
      g.forced ? " (forced)" : ""
    }`;

function sideBySide(
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

interface Verdict {
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
function rangeVerdict(
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
    } (cycles: real ${cycles.join(" ")}, sim ${sim.length})`,
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

/** The stored real traced runs of case `c` in `dir` (`PROGRAM-VALUE-*.gz`), by name. */
async function storedRuns(
  c: Case,
  dir: string,
): Promise<{ name: string; figures: TraceFigures }[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (
      e.name.startsWith(`${c.program}-${c.value}-`) && e.name.endsWith(".gz")
    ) {
      names.push(e.name);
    }
  }
  const out = [];
  for (const name of names.sort()) {
    const url = new URL(`file://${dir}/${name}`);
    out.push({ name, figures: await analyze(await traceStream(url)) });
  }
  return out;
}

/** Share (%) of a run's frees that sweeper `k` made. */
const share = (f: RunFigures, k: Sweeper) =>
  f.frees === 0 ? 0 : (f.sweepers.get(k) ?? 0) / f.frees * 100;

/** A trace's figures as a committed run's. */
const runFigures = (t: TraceFigures): RunFigures => ({
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
function sweeperShares(
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
 * The committed shapes of real Go 1.19 (scripts/gen_startup.ts: seven
 * fresh runs of each shared program at the shared traces' sizes): shape →
 * "program k/7" for each program whose runs print it.
 */
async function committedShapes(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const text = await Deno.readTextFile(
    new URL("../tests/testdata/fidelity/shapes-go1.19.txt", import.meta.url),
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
 * the committed real runs (tests/testdata/fidelity/shapes-go1.19.txt)
 * prints it. Each model shape some but not all real runs print is listed
 * with how many do; real-only shapes are those every real run here prints.
 */
async function shapeReport(
  c: Case,
  reals: TraceFigures[],
  sim: TraceFigures,
  shown: number,
): Promise<Verdict> {
  const committed = await committedShapes();
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
      `${simOnly.length} shapes no real run prints (${reals.length} runs of ${c.program} -${c.flag} ${c.value} and the committed data)`,
  };
}

async function compareCase(
  c: Case,
  bin: string,
  runs: number,
  shapesShown: number,
  realTraces: string,
): Promise<Verdict[]> {
  const name = `${c.program} -${c.flag} ${c.value}`;
  console.log(`\n=== ${name} ===`);
  const verdicts: Verdict[] = [];
  const untraced: GCLine[][] = [];
  for (let i = 0; i < runs; i++) {
    untraced.push((await runReal(bin, c, "gctrace=1")).gc);
  }
  const counts = untraced.map((g) => g.length);
  // The GC count's and the untraced marked bytes' yardstick: the committed
  // untraced runs of the same command
  // (tests/testdata/fidelity/PROGRAM-VALUE-gctrace.txt, made under
  // different loads) pooled with the fresh ones.
  const stored = c.target
    ? await committedGCTraces(c.program, c.value, name)
    : [];
  const pooledUntraced = [...stored, ...untraced];
  const med = median(pooledUntraced.map((g) => g.length));
  const simUntraced = await runSim(c, "gctrace=1");
  const simGCs = simUntraced.gc.length;
  console.log(
    `  GC count: real untraced ${counts.join(", ")}${
      stored.length > 0
        ? ` and ${stored.length} committed: ${
          stored.map((g) => g.length).join(", ")
        }`
        : ""
    } (median ${med}), sim ${simGCs}`,
  );
  const medRun = untraced.find((g) => g.length === med) ??
    untraced[counts.indexOf(median(counts))];
  console.log("  gctrace X->Y->Z MB, goal (real untraced median run | sim):");
  for (let i = 0; i < Math.max(medRun.length, simGCs); i++) {
    const r = medRun[i];
    const s = simUntraced.gc[i];
    console.log(
      `    gc ${i + 1}: ${fmtGC(r).padEnd(34)} | ${fmtGC(s)}`,
    );
  }
  if (c.target) {
    verdicts.push({
      target:
        `GC count within ±1 of the untraced median of ${pooledUntraced.length} real runs`,
      met: Math.abs(simGCs - med) <= 1,
      detail: `real ${med}, sim ${simGCs}`,
    });
  }
  if (!c.traced) {
    if (c.target) {
      // Untraced, gctrace's "live heap" (Z, whole MB) is all there is:
      // each cycle against the range of the real runs, 1 MB of grain.
      const [v, m] = rangeVerdict(
        "live (marked) at each GC, gctrace Z MB, untraced",
        pooledUntraced.map((run) => run.map((g) => g.marked)),
        simUntraced.gc.map((g) => g.marked),
        1,
        (x) => String(x),
      );
      verdicts.push(v, { ...m, median: true });
    }
    return verdicts;
  }
  const godebug = "allocfreetrace=1,gctrace=1";
  const reals: TraceFigures[] = [];
  if (realTraces !== "") {
    for (const r of await storedRuns(c, realTraces)) reals.push(r.figures);
    console.log(`  ${reals.length} stored real traced runs from ${realTraces}`);
  }
  if (reals.length === 0) {
    for (let i = 0; i < runs; i++) reals.push(await runReal(bin, c, godebug));
  }
  // The side-by-side figures are of the fresh run with the median
  // allocation count: real Go's start-up varies from run to run (one
  // binarytrees -depth 6 run under load made 95 start-up records, two
  // goroutines and a 1 KB block fewer than its usual 98, 1.6% of its bytes).
  const byCount = reals.map((r, i) => [r.allocCount, i]).sort((a, b) =>
    a[0] - b[0]
  );
  const medianAt = byCount[(byCount.length - 1) >> 1][1];
  const real = reals[medianAt];
  const sim = await runSim(c, godebug);
  console.log(
    `  allocations: real ${real.allocCount} (${real.allocBytes} B), sim ${sim.allocCount} (${sim.allocBytes} B): ${
      pct(sim.allocCount, real.allocCount)
    } records, ${pct(sim.allocBytes, real.allocBytes)} bytes`,
  );
  console.log(
    `  start-up (records before main.main's first): real ${real.startup.count} (${real.startup.bytes} B), sim ${sim.startup.count} (${sim.startup.bytes} B)`,
  );
  console.log(
    `  frees: real ${real.freeCount} (${real.orphanFrees} of unseen objects), sim ${sim.freeCount} (${sim.orphanFrees})`,
  );
  sideBySide("allocations", real.allocs, sim.allocs);
  sideBySide("frees", real.frees, sim.frees);
  console.log(
    `  GCs in the traced run (real run ${
      medianAt + 1
    } of ${reals.length}, the median by allocations): real ${real.gc.length}, sim ${sim.gc.length}`,
  );
  console.log(
    "  traced gctrace | allocated, live at tracegc MB (real | sim):",
  );
  for (let i = 0; i < Math.max(real.gc.length, sim.gc.length); i++) {
    const at = (f: TraceFigures) =>
      i < f.liveAtGC.length
        ? `${mb(f.allocAtGC[i])}, ${mb(f.liveAtGC[i])}`
        : "-";
    console.log(
      `    gc ${i + 1}: ${fmtGC(real.gc[i]).padEnd(34)} ${
        at(real).padEnd(12)
      } | ${fmtGC(sim.gc[i]).padEnd(34)} ${at(sim)}`,
    );
  }
  console.log(
    `  live at each tracegc (MB): real ${
      real.liveAtGC.map(mb).join(" ")
    } | sim ${sim.liveAtGC.map(mb).join(" ")}`,
  );
  console.log(
    `  peak live: real ${mb(real.peakLive)} MB, sim ${mb(sim.peakLive)} MB (${
      pct(sim.peakLive, real.peakLive)
    })`,
  );
  // The yardstick of the per-cycle figures and the sweeper shares: every
  // committed run (made under different loads) and the fresh ones.
  const fresh = reals.map(runFigures);
  const pooled = c.target
    ? [...await committedRuns(c.program, c.value), ...fresh]
    : fresh;
  const sweep = sweeperShares(fresh, pooled, runFigures(sim));
  const shapes = await shapeReport(c, reals, sim, shapesShown);
  if (c.target) {
    console.log(
      `  traced GC cycles: real ${
        reals.map((r) => r.liveAtGC.length).join(", ")
      }, sim ${sim.liveAtGC.length}`,
    );
    const [marked, markedMedian] = rangeVerdict(
      "live (marked) at each GC, traced, MB",
      pooled.map((r) => r.marked),
      sim.markedAtGC,
      0,
      mb3,
    );
    const [heap, heapMedian] = rangeVerdict(
      "heap at each tracegc, traced, MB",
      pooled.map((r) => r.live),
      sim.liveAtGC,
      0,
      mb3,
    );
    verdicts.push(
      marked,
      heap,
      sweep,
      shapes,
      { ...markedMedian, median: true },
      { ...heapMedian, median: true },
    );
  } else {
    verdicts.push({
      target: `allocations within 1% of the real run of median allocations (${
        medianAt + 1
      } of ${reals.length})`,
      met: Math.abs(sim.allocCount - real.allocCount) <=
          real.allocCount * 0.01 &&
        Math.abs(sim.allocBytes - real.allocBytes) <= real.allocBytes * 0.01,
      detail: `records ${pct(sim.allocCount, real.allocCount)}, bytes ${
        pct(sim.allocBytes, real.allocBytes)
      }`,
    }, shapes);
  }
  return verdicts;
}

/**
 * Writes what `runs` traced real runs of a case show into
 * `DIR/PROGRAM-VALUE-traced.txt`, small enough to commit (the fidelity
 * test compares the model against it): per cycle the gctrace line and the
 * live bytes at its `tracegc`, then the frees by sweeper.
 */
async function saveTraced(
  bin: string,
  c: Case,
  runs: number,
  dir: string,
  append: boolean,
  realTraces: string,
) {
  const go = new TextDecoder().decode(
    (await new Deno.Command(GO, { args: ["version"] }).output()).stdout,
  ).trim().replace(/^go version /, "");
  const file = `${dir}/${c.program}-${c.value}-traced.txt`;
  // --append adds runs to what is there: real Go's spread depends on the
  // machine's load (how far the mutator gets while a mark waits), so the
  // test's range keeps runs made under different loads.
  let text = append ? await Deno.readTextFile(file).catch(() => "") : "";
  const first = (text.match(/^# run /gm) ?? []).length + 1;
  // --real-traces: the stored runs, else `runs` fresh ones.
  const stored = realTraces === "" ? [] : await storedRuns(c, realTraces);
  const n = stored.length > 0 ? stored.length : runs;
  for (let r = first; r < first + n; r++) {
    const f = stored.length > 0
      ? stored[r - first].figures
      : await runReal(bin, c, "allocfreetrace=1,gctrace=1");
    const load = stored.length > 0
      ? `of the stored run ${stored[r - first].name}`
      : (await Deno.readTextFile("/proc/loadavg").catch(() => ""))
        .split(" ")[0];
    text +=
      `# run ${r}: GODEBUG=allocfreetrace=1,gctrace=1 ${c.program} -${c.flag} ${c.value} (${go}, GOMAXPROCS=2, GODEBUG its only environment variable, load ${load})\n`;
    for (let i = 0; i < f.liveAtGC.length; i++) {
      const g = f.gc[i];
      text += `tracegc ${i + 1} live=${f.liveAtGC[i]} marked=${
        f.markedAtGC[i]
      } allocated=${f.allocAtGC[i]}${
        g === undefined ? "" : ` | ${fmtGC(g)}`
      }\n`;
    }
    text += `frees ${f.freeCount}: ${
      SWEEPERS.map((k) => `${k}=${f.sweepers.get(k) ?? 0}`).join(", ")
    }\n`;
  }
  await Deno.writeTextFile(file, text);
  console.log(`wrote ${file}`);
}

async function main() {
  const args = Deno.args;
  const opt = (name: string, def: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : def;
  };
  const runs = +opt("--runs", "3");
  const only = opt("--only", "");
  const size = opt("--size", "");
  const shapesShown = +opt("--shapes", "40");
  const traceBig = args.includes("--trace-big");
  const realTraces = opt("--real-traces", "");
  const cases: Case[] = [
    { program: "leak", flag: "n", value: 20000, target: true, traced: true },
    {
      program: "binarytrees",
      flag: "depth",
      value: 9,
      target: true,
      traced: true,
    },
    {
      program: "binarytrees",
      flag: "depth",
      value: 14,
      target: true,
      traced: traceBig,
    },
    {
      program: "temporaries",
      flag: "n",
      value: 300,
      target: true,
      traced: true,
    },
    { program: "leak", flag: "n", value: 300, target: false, traced: true },
    {
      program: "temporaries",
      flag: "n",
      value: 40,
      target: false,
      traced: true,
    },
    {
      program: "binarytrees",
      flag: "depth",
      value: 6,
      target: false,
      traced: true,
    },
  ].filter((c) =>
    (only === "" || c.program === only) &&
    (size === "" || c.value === +size)
  );
  const dir = await Deno.makeTempDir({ prefix: "fidelity-" });
  try {
    const bins = new Map<string, string>();
    for (const p of new Set(cases.map((c) => c.program))) {
      bins.set(p, await buildGoProgram(GO, p, dir));
    }
    const save = opt("--save", "");
    if (save !== "") {
      for (const c of cases) {
        // The target cases, or any traced case named with --size.
        if ((c.target || size !== "") && c.traced) {
          await saveTraced(
            bins.get(c.program)!,
            c,
            runs,
            save,
            args.includes("--append"),
            realTraces,
          );
        }
      }
      return;
    }
    const all: [string, Verdict][] = [];
    for (const c of cases) {
      for (
        const v of await compareCase(
          c,
          bins.get(c.program)!,
          runs,
          shapesShown,
          realTraces,
        )
      ) {
        all.push([`${c.program} -${c.flag} ${c.value}`, v]);
      }
    }
    const line = ([name, v]: [string, Verdict]) =>
      console.log(
        `${v.met ? "MET    " : "NOT MET"}  ${
          name.padEnd(22)
        } ${v.target}: ${v.detail}`,
      );
    console.log("\n=== targets ===");
    all.filter(([, v]) => !v.median).forEach(line);
    // Issue 16's "live at each GC within 10%" does not say of what: the
    // targets read it against real Go's spread, this against its median.
    console.log(
      "\n=== the per-cycle figures against the real median (±10%) ===",
    );
    all.filter(([, v]) => v.median).forEach(line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
