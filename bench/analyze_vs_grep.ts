/**
 * `alloctrace analyze` throughput on a large trace, side by side with
 * `LC_ALL=C grep -c tracealloc` on the same file, and analyze's peak RSS.
 * Builds the trace first when missing (scripts/make_large_trace.ts: the
 * shared testdata traces repeated, as the issue asks).
 *
 * With `--real-depth N`, also traces that real Go 1.19 prints for one
 * binary-trees run (`-quiet`), where nearly every traceback differs from
 * the others in its arguments and frame pointers: the harder case. Two of
 * them: at depth N and the default GOGC (10: ~300 MB, minutes to write),
 * and at GOGC=10 and depth `--gogc-depth` (default N + 1; 11: ~780 MB).
 * The GOGC=10 run is one depth deeper because depth 10 allocates only
 * ~2.2 MB in all: at GOGC=10 Go 1.19 runs 2 cycles before the final
 * `runtime.GC()` (`gctrace`; 0 at the default GOGC), and its trace had 3
 * `tracegc` blocks and its frees in 4 runs. At depth 11 and GOGC=10 the
 * untraced run has 4 cycles; traced, it runs for minutes, and sysmon's
 * forced GC (every 2 minutes) adds more: one such trace had 9 `tracegc`
 * blocks listing every goroutine and its frees in 12 runs between the
 * allocations, 8 of them of 1,000 or more (the default-GOGC depth-10 trace
 * has all its frees in one run after the final GC). So its counts depend
 * on how long the run took: each trace's allocations, frees and GC cycles
 * (as `analyze` counts them) are printed, for a reader to check.
 *
 * Each side's CPU time (user + sys, from /usr/bin/time) is printed too: on
 * a shared machine the wall times swing with the load, CPU time much less.
 * Each side runs `--runs` times (default 3), alternating; the median run of
 * each counts. A summary at the end gives every trace's ratios together
 * (the repeated-testdata figure is never quoted alone).
 *
 * `--against DIR` (another checkout, e.g. a `git worktree` of an older
 * commit) also runs DIR's `analyze` in the same turns, so both checkouts'
 * ratios come from the same load.
 *
 * After each trace's timed runs, one more run of `analyze` is watched from
 * outside: its threads' on-CPU time (`/proc/PID/task/TID/schedstat`, read
 * every 2 ms until it exits) by what they are: the main thread (tid = pid),
 * the Worker that reads the later part, V8's background compiler threads
 * and the rest, each by the name it last had (`_threads.ts`).
 * That split says what limits the run (Linux only; not a timed run).
 *
 *   deno run -A bench/analyze_vs_grep.ts [--file /tmp/alloctrace-large.trace] [--mb 512] [--real-depth 10] [--gogc-depth 11] [--runs 3] [--against DIR]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildGoProgram, findGo, writeRealTrace } from "./_go.ts";
import { fileURLToPath } from "node:url";
import { fileUrl } from "../scripts/_file_url.ts";
import { threadSplit } from "./_threads.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    file: { type: "string", default: "/tmp/alloctrace-large.trace" },
    mb: { type: "string", default: "512" },
    "real-depth": { type: "string", default: "0" },
    "gogc-depth": { type: "string" },
    runs: { type: "string", default: "3" },
    against: { type: "string" },
  },
});
const against = values.against === undefined
  ? null
  : fileURLToPath(fileUrl(`${values.against.replace(/\/$/, "")}/`));
const file = values.file!;
const root = fileURLToPath(new URL("../", import.meta.url));
try {
  await Deno.stat(file);
} catch {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      `${root}scripts/make_large_trace.ts`,
      file,
      values.mb!,
    ],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}
/** Runs `cmd` under /usr/bin/time: wall seconds, CPU seconds (user + sys), peak RSS (KiB). */
const time = async (
  cmd: string,
  args: string[],
  env?: Record<string, string>,
) => {
  const t0 = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", cmd, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const s = (performance.now() - t0) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} failed: ${stderr}`);
  const [user, sys, rss] = stderr.trim().split("\n").at(-1)!.split(" ")
    .map(Number);
  return {
    s,
    cpu: user + sys,
    rssKiB: rss,
    stdout: new TextDecoder().decode(out.stdout),
  };
};
const runs = Math.max(1, Number(values.runs));
/** One line per trace measured, for the summary. */
const summary: string[] = [];
async function measure(file: string, label: string): Promise<void> {
  const size = (await Deno.stat(file)).size;
  // Warm the page cache once so neither run pays for the disk. (Its
  // output not kept: a trace past 512 MB is longer than a string may be.)
  await new Deno.Command("cat", { args: [file], stdout: "null" }).output();
  // Each side runs three times, alternating; the median run of each counts
  // (single runs on this 2-core VM vary by ±15 %).
  const median = <T extends { s: number }>(xs: T[]) =>
    [...xs].sort((a, b) => a.s - b.s)[Math.floor(xs.length / 2)];
  type Run = Awaited<ReturnType<typeof time>>;
  const greps: Run[] = [];
  const analyzes: Run[] = [];
  const others: Run[] = [];
  const analyzeIn = (dir: string) =>
    time(Deno.execPath(), [
      "run",
      "-A",
      `${dir}main.ts`,
      "analyze",
      file,
      "--json",
      "--quiet",
    ]);
  for (let i = 0; i < runs; i++) {
    greps.push(await time("grep", ["-c", "tracealloc", file], { LC_ALL: "C" }));
    analyzes.push(await analyzeIn(root));
    if (against !== null) others.push(await analyzeIn(against));
  }
  const grep = median(greps);
  const analyze = median(analyzes);
  const rssKiB = Math.max(...analyzes.map((a) => a.rssKiB));
  const cpu = (xs: { cpu: number }[]) =>
    [...xs].map((x) => x.cpu).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mb = size / 1e6;
  const grepRate = mb / grep.s;
  const anRate = mb / analyze.s;
  const vsAgainst = () => {
    if (against === null) return "";
    const o = median(others);
    return `; ${against}: wall ${(grep.s / o.s).toFixed(2)}×, CPU ${
      (cpu(greps) / cpu(others)).toFixed(2)
    }× (runs: ${others.map((a) => a.s.toFixed(2)).join(", ")} s)`;
  };
  console.log(`trace: ${file}, ${mb.toFixed(0)} MB`);
  console.log(
    `grep -c tracealloc: ${grep.s.toFixed(2)} s = ${
      grepRate.toFixed(0)
    } MB/s (${grep.stdout.trim()} records; runs: ${
      greps.map((g) => g.s.toFixed(2)).join(", ")
    } s)`,
  );
  console.log(
    `alloctrace analyze: ${analyze.s.toFixed(2)} s = ${
      anRate.toFixed(0)
    } MB/s (runs: ${analyzes.map((a) => a.s.toFixed(2)).join(", ")} s)`,
  );
  console.log(
    `ratio analyze/grep: ${
      (anRate / grepRate).toFixed(2)
    } (target >= 1.0); CPU seconds: analyze ${cpu(analyzes).toFixed(2)}, grep ${
      cpu(greps).toFixed(2)
    }, ratio ${(cpu(greps) / cpu(analyzes)).toFixed(2)}`,
  );
  console.log(
    `analyze peak RSS: ${(rssKiB / 1024).toFixed(0)} MiB (target <= 256 MiB)`,
  );
  const counted = JSON.parse(analyze.stdout) as {
    allocs: number;
    frees: number;
    gcs: number;
  };
  const n = (x: number) => x.toLocaleString("en-US");
  console.log(
    `analyze counted: ${n(counted.allocs)} allocations, ${
      n(counted.frees)
    } frees, ${n(counted.gcs)} GC cycles (tracegc blocks)`,
  );
  const split = await threadSplit(Deno.execPath(), [
    "run",
    "-A",
    `${root}main.ts`,
    "analyze",
    file,
    "--json",
    "--quiet",
  ]);
  const splitText = split === null
    ? ""
    : ["main", "Worker", "V8 background", "other"]
      .filter((k) => split[k] !== undefined)
      .map((k) => `${k} ${split[k].toFixed(2)}`)
      .join(", ");
  if (split !== null) {
    console.log(
      `analyze CPU seconds by thread (one more run, watched): ${splitText}`,
    );
  }
  summary.push(
    `${label.padEnd(28)} ${mb.toFixed(0).padStart(5)} MB  wall ${
      (anRate / grepRate).toFixed(2)
    }×  CPU ${(cpu(greps) / cpu(analyzes)).toFixed(2)}×  RSS ${
      (rssKiB / 1024).toFixed(0)
    } MiB${vsAgainst()}${splitText === "" ? "" : `; threads: ${splitText}`}`,
  );
}

await measure(file, "repeated testdata");
const realDepth = Number(values["real-depth"]);
if (realDepth > 0) {
  const go = await findGo();
  if (go === null) {
    console.log(
      "real trace: skipped (no go on PATH; apt-get install golang-1.19-go)",
    );
  } else {
    const gogcDepth = Number(values["gogc-depth"] ?? realDepth + 1);
    for (const gogc of ["", "10"]) {
      const depth = gogc === "" ? realDepth : gogcDepth;
      const real = `/tmp/alloctrace-real-d${depth}${
        gogc === "" ? "" : `-gogc${gogc}`
      }.trace`;
      try {
        await Deno.stat(real);
      } catch {
        const dir = await Deno.makeTempDir();
        const bin = await buildGoProgram(go, "binarytrees", dir);
        // (Renamed when whole: a run cut short leaves no trace to reuse.)
        await writeRealTrace(
          bin,
          ["-depth", String(depth), "-quiet"],
          `${real}.part`,
          gogc === "" ? {} : { GOGC: gogc },
        );
        await Deno.rename(`${real}.part`, real);
        await Deno.remove(dir, { recursive: true });
      }
      console.log(gogc === "" ? "" : `\nGOGC=${gogc}, depth ${depth}:`);
      await measure(
        real,
        `real d${depth}${gogc === "" ? "" : ` GOGC=${gogc}`}`,
      );
    }
  }
}
console.log(
  `\nsummary (analyze vs LC_ALL=C grep -c tracealloc, median of ${runs} alternating runs; > 1 is faster than grep):`,
);
for (const line of summary) console.log(`  ${line}`);
