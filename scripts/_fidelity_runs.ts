/**
 * The fidelity comparison's runs: real Go's (built from the shared
 * programs, run with GODEBUG as its only environment variable), the
 * simulator's (`main.ts run`), the stored ones of `--real-traces`, and
 * `--save`'s summary of traced real runs. Split from fidelity_compare.ts
 * (one concept per file: running, not comparing).
 *
 * @module
 */

import { traceStream } from "./_traces.ts";
import { analyze, SWEEPERS, type TraceFigures } from "./_trace_figures.ts";
import type { GoVersion } from "./_real_runs.ts";
import { fmtGC } from "./_fidelity_readings.ts";
import { fileURLToPath } from "node:url";
import { fileUrl } from "./_file_url.ts";
/** Debian's Go of version `go`. */
export const goBin = (go: GoVersion) => `/usr/lib/go-${go}/bin/go`;
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** One program at one size: the shared program's flag and the workload's. */
export interface Case {
  program: string;
  flag: string;
  value: number;
  /** A target case of issue 16 (else: a small size of the shared testdata). */
  target: boolean;
  /** Trace it (the big binarytrees only with --trace-big). */
  traced: boolean;
}

/** `go version`'s answer, `go1.19.8 linux/amd64`. */
export async function goVersion(go: GoVersion): Promise<string> {
  return new TextDecoder().decode(
    (await new Deno.Command(goBin(go), { args: ["version"] }).output()).stdout,
  ).trim().replace(/^go version /, "");
}

/**
 * Runs the real program once. A run that fails or prints no gctrace line
 * (every shared program ends with runtime.GC()) is reported and run again,
 * up to twice: under load a run was once counted as "0 GCs" because its
 * exit status and its stderr's end were never looked at.
 */
export async function runReal(
  bin: string,
  c: Case,
  godebug: string,
  nice: boolean,
  go: GoVersion,
): Promise<TraceFigures> {
  for (let attempt = 1;; attempt++) {
    const args = [`-${c.flag}`, String(c.value)];
    const child = new Deno.Command(nice ? "nice" : bin, {
      args: nice ? ["-n", "19", bin, ...args] : args,
      // GODEBUG alone: goenvs copies every variable onto the heap before
      // tracing starts (its spans count in heapLive), and the simulator
      // models a program run with GODEBUG as its only variable.
      env: { GODEBUG: godebug },
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const f = await analyze(child.stderr, { allocHeaders: go !== "1.19" });
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

export async function runSim(
  c: Case,
  godebug: string,
  go: GoVersion,
): Promise<TraceFigures> {
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
      "--go",
      `go${go}`,
      "--quiet",
    ],
    env: { GODEBUG: "", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const f = await analyze(child.stderr, { allocHeaders: go !== "1.19" });
  const st = await child.status;
  if (!st.success) throw new Error(`main.ts run ${c.program} failed`);
  return f;
}

/** The stored real traced runs of case `c` in `dir` (`PROGRAM-VALUE-*.gz`), by name. */
export async function storedRuns(
  c: Case,
  dir: string,
  go: GoVersion,
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
    const url = fileUrl(`${dir}/${name}`);
    out.push({
      name,
      figures: await analyze(await traceStream(url), {
        allocHeaders: go !== "1.19",
      }),
    });
  }
  return out;
}

/**
 * Writes what `runs` traced real runs of a case show into
 * `DIR/PROGRAM-VALUE-traced.txt`, small enough to commit (the fidelity
 * test compares the model against it): per cycle the gctrace line and the
 * live bytes at its `tracegc`, then the frees by sweeper.
 */
export async function saveTraced(
  bin: string,
  c: Case,
  runs: number,
  dir: string,
  append: boolean,
  realTraces: string,
  goV: GoVersion,
) {
  const go = await goVersion(goV);
  const file = `${dir}/${c.program}-${c.value}-traced.txt`;
  // --append adds runs to what is there: real Go's spread depends on the
  // machine's load (how far the mutator gets while a mark waits), so the
  // test's range keeps runs made under different loads.
  let text = append ? await Deno.readTextFile(file).catch(() => "") : "";
  const first = (text.match(/^# run /gm) ?? []).length + 1;
  // --real-traces: the stored runs, else `runs` fresh ones.
  const stored = realTraces === "" ? [] : await storedRuns(c, realTraces, goV);
  const n = stored.length > 0 ? stored.length : runs;
  for (let r = first; r < first + n; r++) {
    const f = stored.length > 0
      ? stored[r - first].figures
      : await runReal(bin, c, "allocfreetrace=1,gctrace=1", false, goV);
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
