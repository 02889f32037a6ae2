/**
 * Real Go 1.19's traced runs as committed for issue 16
 * (`tests/testdata/fidelity/PROGRAM-VALUE-traced.txt`, written by
 * `scripts/fidelity_compare.ts --save DIR [--append]`), and the rule a
 * simulated cycle is held to against them. scripts/fidelity_compare.ts and
 * tests/workload/fidelity_traced_test.ts both use it, so the script's
 * verdict and the test's assertion are one rule.
 *
 * Why a spread and not one run: a traced real run's cycles depend on
 * scheduling. How far the mutator gets while a mark waits for the trace
 * lock decides what is allocated black (temporaries' marked bytes swing
 * from 3 to 12 live 40 KB temporaries, 0.12–0.49 MB, over 20 runs) and the
 * cons/mark ratio the pacer measures, whose sign puts leak's third trigger
 * early or late (two modes). Three fresh runs often all fall in one mode or
 * one end, so the yardstick is the pooled distribution of every committed
 * run (made under different loads) and the fresh ones.
 *
 * @module
 */

import { cutGCLine, type GCLine, gcLines } from "./_trace_figures.ts";
import { fileUrl } from "./_file_url.ts";

/** What one real traced run shows, per cycle and in its frees. */
export interface RunFigures {
  /** Heap at each `tracegc` (the trace replayed by address). */
  live: number[];
  /**
   * Bytes each cycle marked: its heap at `tracegc` minus what its sweep
   * freed (every free before the next `tracegc`).
   */
  marked: number[];
  /** Bytes allocated before each `tracegc`. */
  allocated: number[];
  /** Frees in the whole run. */
  frees: number;
  /** Frees by sweeper kind (scripts/_trace_figures.ts `SWEEPERS`). */
  sweepers: Map<string, number>;
}

/**
 * Parses a committed `*-traced.txt`: `# run` headers, one `tracegc` line
 * per cycle, one `frees` line per run.
 */
export function parseTracedRuns(text: string): RunFigures[] {
  const runs: RunFigures[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# run")) {
      runs.push({
        live: [],
        marked: [],
        allocated: [],
        frees: 0,
        sweepers: new Map(),
      });
    }
    const run = runs.at(-1);
    if (run === undefined) continue;
    const t = /^tracegc \d+ live=(\d+)(?: marked=(\d+))? allocated=(\d+)/
      .exec(line);
    if (t !== null) {
      const n = run.live.length;
      // Runs saved before `marked=` was written: a cycle's marked bytes are
      // the next tracegc's heap less what was allocated in between (what
      // the cycle's sweep freed is its heap less the marked bytes). The
      // last cycle of such a run has none.
      if (n > 0 && run.marked.length < n) {
        run.marked.push(+t[1] - (+t[3] - run.allocated[n - 1]));
      }
      run.live.push(+t[1]);
      run.allocated.push(+t[3]);
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

/** The Go versions whose real runs are committed (`--go` of fidelity_compare). */
export type GoVersion = "1.19" | "1.22";

/**
 * Where the committed real runs of Go `go` are: Go 1.19's in
 * tests/testdata/fidelity, another version's in a folder of its own there
 * (`go1.22/`).
 */
export function fidelityDir(go: GoVersion = "1.19"): URL {
  return new URL(
    `../tests/testdata/fidelity/${go === "1.19" ? "" : `go${go}/`}`,
    import.meta.url,
  );
}

/** The committed real runs of `program` at `value` (none: an empty list). */
export async function committedRuns(
  program: string,
  value: number,
  go: GoVersion = "1.19",
): Promise<RunFigures[]> {
  const url = new URL(`${program}-${value}-traced.txt`, fidelityDir(go));
  const text = await Deno.readTextFile(url).catch(() => "");
  return parseTracedRuns(text);
}

/**
 * The committed untraced real runs of `command` (`PROGRAM -FLAG VALUE` as
 * fidelity_compare runs it) in `PROGRAM-VALUE-gctrace.txt` (`# run`
 * headers naming the command, then gctrace lines), each run's cycles. Runs
 * of another command are left out (`dir`: the same file in another
 * folder, e.g. fresh runs of fidelity_compare's `--real-traces DIR`, a
 * path, or a folder's URL such as {@link fidelityDir}'s, never its
 * `.pathname`, whose escapes a path would keep): binarytrees' committed runs are of
 * `-depth 14 -quiet`, without the fmt.Printf lines whose allocations move
 * its cycles (median 17 cycles where the printing program's is 18).
 */
export async function committedGCTraces(
  program: string,
  value: number,
  command: string,
  dir?: string | URL,
): Promise<GCLine[][]> {
  const name = `${program}-${value}-gctrace.txt`;
  const url = dir === undefined
    ? new URL(name, fidelityDir())
    : dir instanceof URL
    ? new URL(name, dir)
    : fileUrl(`${dir}/${name}`);
  const text = await Deno.readTextFile(url).catch(() => "");
  const heads = [...text.matchAll(/^# run .*$/gm)].map((m) => m[0]);
  return text.split(/^# run .*$/m).slice(1).filter((_, i) =>
    heads[i].includes(` ${command} (`)
  ).map((run) => {
    const lines = gcLines(run);
    // A line cut off at exit is a cycle still, with no figures.
    for (const m of run.matchAll(/^gc \d+ @[^\n]*$/gm)) {
      const cut = cutGCLine(m[0]);
      if (cut !== null && cut.n > lines.length) lines.push(cut);
    }
    return lines;
  });
}

/** Nearest-rank percentile `p` (0–100) of `xs` (not empty). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p / 100 * s.length) - 1)];
}

/** Where a simulated figure lies against real runs' figures for one cycle. */
export interface Spread {
  /** Real runs with this cycle. */
  n: number;
  p10: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  /** The bounds the simulated figure is held to. */
  lo: number;
  hi: number;
  /** Share (%) of real runs at or below the simulated figure. */
  rank: number;
  ok: boolean;
}

/**
 * The rule: a simulated cycle's figure is met when it lies within
 * [0.9 × P10, 1.1 × P90] of the real runs' figures for that cycle, widened
 * by `grain` (gctrace's whole MB when only that is known). P10–P90 and not
 * min–max, so that one outlying run (a mark stretched 100 ms by load: 0.98
 * MB marked where the rest mark 0.12–0.49) does not widen the yardstick;
 * with fewer than 10 runs it is min–max. A bimodal figure keeps both modes
 * when each holds over a tenth of the runs.
 */
export function spread(real: number[], sim: number, grain = 0): Spread {
  const p10 = percentile(real, 10);
  const p90 = percentile(real, 90);
  const lo = p10 * 0.9 - grain;
  const hi = p90 * 1.1 + grain;
  return {
    n: real.length,
    p10,
    median: percentile(real, 50),
    p90,
    min: Math.min(...real),
    max: Math.max(...real),
    lo,
    hi,
    rank: real.filter((x) => x <= sim).length / real.length * 100,
    ok: sim >= lo && sim <= hi,
  };
}

/** A simulated figure against the real runs' median, for one cycle. */
export interface MedianReading {
  /** Real runs with this cycle. */
  n: number;
  median: number;
  /** (sim − median) / median. */
  off: number;
  /** Within 10% of the median, widened by `grain`. */
  ok: boolean;
  /**
   * Real runs themselves within 10% (and `grain`) of their median: how
   * reachable the reading is for real Go, run to run.
   */
  near: number;
}

/**
 * Issue 16's "live at each GC within 10%" read against the real runs'
 * median instead of their spread: met when |sim − median| ≤ 10% of the
 * median (+ `grain`, gctrace's whole MB where only that is known). `near`
 * says how many real runs would meet it themselves.
 *
 * @example
 * ```ts
 * import { medianReading } from "./_real_runs.ts";
 * const r = medianReading([90, 100, 100, 130, 200], 108);
 * if (r.median !== 100 || !r.ok || r.near !== 3) throw new Error("median");
 * ```
 */
export function medianReading(
  real: number[],
  sim: number,
  grain = 0,
): MedianReading {
  const median = percentile(real, 50);
  const within = (x: number) => Math.abs(x - median) <= median * 0.1 + grain;
  return {
    n: real.length,
    median,
    off: median === 0 ? (sim === 0 ? 0 : Infinity) : (sim - median) / median,
    ok: within(sim),
    near: real.filter(within).length,
  };
}

/**
 * How many real runs meet the median reading themselves on every cycle
 * they have, each against the median of the other runs (leave one out):
 * what "within 10% of the median" asks of real Go, run to run.
 *
 * @example
 * ```ts
 * import { runsWithinMedian } from "./_real_runs.ts";
 * // The third run's second cycle is 50% above the others' median.
 * const runs = [[10, 20], [10, 21], [11, 30], [10, 20]];
 * if (runsWithinMedian(runs) !== 3) throw new Error("leave one out");
 * ```
 */
export function runsWithinMedian(real: number[][], grain = 0): number {
  return _leaveOneOut(real, (others, x) => medianReading(others, x, grain).ok);
}

/**
 * Runs of `real` whose every cycle `within` accepts against that cycle's
 * figures in the other runs (a cut-off gctrace line, NaN, is no figure; a
 * cycle no other run has holds a run to nothing).
 */
function _leaveOneOut(
  real: number[][],
  within: (others: number[], x: number) => boolean,
): number {
  return real.filter((run, j) =>
    run.every((x, i) => {
      const others = real.filter((r, k) => k !== j && i < r.length)
        .map((r) => r[i]).filter((v) => !Number.isNaN(v));
      return Number.isNaN(x) || others.length === 0 || within(others, x);
    })
  ).length;
}

/**
 * How many real runs meet the spread reading themselves on every cycle
 * they have, each against [0.9 × P10, 1.1 × P90] of the other runs (leave
 * one out; `spread`'s rule, min–max below ten runs): what holding the
 * model to the real spread asks of real Go, run to run. A cycle no other
 * run has, or a cut-off gctrace line (NaN), holds a run to nothing.
 *
 * @example
 * ```ts
 * import { runsWithinSpread } from "./_real_runs.ts";
 * // The third run's second cycle is beyond 1.1 × the others' maximum.
 * const runs = [[10, 20], [10, 21], [11, 30], [10, 20]];
 * if (runsWithinSpread(runs) !== 3) throw new Error("leave one out");
 * ```
 */
export function runsWithinSpread(real: number[][], grain = 0): number {
  return _leaveOneOut(real, (others, x) => spread(others, x, grain).ok);
}
