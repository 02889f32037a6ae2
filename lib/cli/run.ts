/**
 * `alloctrace run`: simulate a built-in workload on the simulated heap and
 * print a summary.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../runtime/runtime.ts";
import { PRESET_NAMES } from "../runtime/presets.ts";
import { parseGodebug } from "../runtime/godebug.ts";
import { formatGCTrace } from "../runtime/gctrace.ts";
import { findWorkload, WORKLOADS } from "../workload/registry.ts";
import { heapProfileProto, heapSamples } from "../profile/heap.ts";
import { folded, HEAP_SAMPLE_TYPES } from "../profile/proto.ts";
import { writeHeapProfileText } from "../profile/text.ts";
import {
  gogcOption,
  intOption,
  presetOption,
  sampleTypeOption,
  UsageError,
} from "./_usage.ts";
import {
  openOutput,
  Outputs,
  type OutputStream,
  stdoutColor,
} from "./_output.ts";
import { fmtBytes } from "./_top.ts";
import { TracePrinter } from "../trace/printer.ts";
import {
  isScriptSpecifier,
  loadScriptWorkload,
  type ScriptWorkload,
} from "../workload/loader.ts";
import { OutOfMemoryError } from "../runtime/mheap.ts";
import { Progress } from "./_progress.ts";
import { attachEvents } from "../trace/sim_events.ts";
import { renderReport } from "../report/html.ts";
import { callTree } from "../report/tree.ts";
import { StackTable } from "../trace/events.ts";
import { type SiteStats, TraceAnalyzer } from "../trace/analyze.ts";
import { topSitesTable } from "../report/text.ts";
import { siteOptions } from "./_site_options.ts";

/**
 * One help line per workload parameter; a name several workloads share
 * (`--n`) says what it means for each, since that differs.
 */
function _paramHelp(): string {
  const uses = new Map<string, string[]>();
  for (const w of WORKLOADS) {
    for (const p of w.params) {
      uses.set(p.name, [...uses.get(p.name) ?? [], `${w.name}: ${p.help}`]);
    }
  }
  return [...uses].map(([name, helps]) =>
    `  --${name} N`.padEnd(23) + "workload parameter: " +
    (helps.length === 1 ? helps[0].replace(/^[^:]*: /, "") : helps.join("; "))
  ).join("\n");
}

/** A rate with two or more significant digits: `6.7 M`, `45 k`, `850`. */
function _rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M`;
  if (perSecond >= 1e4) return `${Math.round(perSecond / 1e3)} k`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return `${Math.round(perSecond)}`;
}

/** Help text of `alloctrace run`. */
export const RUN_HELP = `Usage: alloctrace run [WORKLOAD] [options]

Simulate WORKLOAD on the simulated Go heap and print a summary.

WORKLOAD is a built-in workload, or the path or URL of a script whose
default export receives the runtime: export default function (rt, args) {…}
(arguments after the script's path are passed to it).

Workloads (alloctrace workloads lists their parameters):
${WORKLOADS.map((w) => `  ${w.name.padEnd(14)} ${w.summary}`).join("\n")}

Options:
  --go PRESET          runtime preset: ${
  PRESET_NAMES.join(", ")
} (default go1.19)
  --gogc N|off         GOGC (default: $GOGC, else 100)
  --godebug LIST       GODEBUG settings, after those of $GODEBUG (e.g. gctrace=1)
  --gomaxprocs N       number of Ps (default: the preset's)
  --heap-limit BYTES   fatal heap limit (default: none)
  --memprofilerate N   runtime.MemProfileRate: bytes per sample (default 524288; 1 = all, 0 = off)
  --memprofile FILE    write the heap profile (gzipped profile.proto, for go tool pprof)
  --memprofile-text FILE  write the legacy text heap profile (debug=1)
  --folded FILE        write folded stacks (flamegraph.pl, inferno, speedscope)
  --html FILE          write a self-contained HTML report (flame graph, live heap, sites)
  --folded-type TYPE   sample type of --folded and the order of the top table: ${
  HEAP_SAMPLE_TYPES.join(", ")
} (default alloc_space)
  --seed N             seed of the random draws (default 1)
  --trace-out FILE     with GODEBUG allocfreetrace=1: write the trace here instead of stderr
  --stacks go|js       trace frames: the simulated Go frames (default) or the JS stack
  --by func|line|stack what a site of the summary and report is (default line: function and file:line)
  --frames N           frames of each top site's stack in the summary (default 3)
${_paramHelp()}
  --json               print the summary as JSON
  -q, --quiet          no warnings or progress on stderr
  -h, --help           show this help

Examples:
  alloctrace run
  alloctrace run binarytrees --depth 14 --go go1.2-seed --json
  alloctrace run ./my_workload.ts 1000
  GODEBUG=gctrace=1 alloctrace run leak --n 100000
`;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env for it: as if unset
  }
}

const SITE_VALUE = {
  alloc_objects: (s: SiteStats) => s.allocs,
  alloc_space: (s: SiteStats) => s.allocBytes,
  inuse_objects: (s: SiteStats) => s.live,
  inuse_space: (s: SiteStats) => s.liveBytes,
} as const;

function exactTotal(
  sites: SiteStats[],
  type: keyof typeof SITE_VALUE,
): number {
  return sites.reduce((a, s) => a + SITE_VALUE[type](s), 0);
}

/** The top `n` sites by `type`, for JSON: numbers as numbers, file, line and stack. */
function topSites(
  sites: SiteStats[],
  type: keyof typeof SITE_VALUE,
  n: number,
) {
  const v = SITE_VALUE[type];
  return sites.filter((s) => v(s) > 0).sort((a, b) => v(b) - v(a)).slice(0, n)
    .map((s) => ({
      site: s.site,
      func: s.func,
      file: s.file,
      line: s.line,
      value: v(s),
      allocs: s.allocs,
      allocBytes: s.allocBytes,
      frees: s.frees,
      live: s.live,
      liveBytes: s.liveBytes,
      stack: s.stack,
    }));
}

/** Runs `alloctrace run` with `args`; returns the exit code. */
export async function runCommand(args: string[]): Promise<number> {
  const paramNames = [
    ...new Set(WORKLOADS.flatMap((w) => w.params.map((p) => p.name))),
  ];
  const { values: parsed, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      go: { type: "string", default: "go1.19" },
      gogc: { type: "string" },
      godebug: { type: "string" },
      gomaxprocs: { type: "string" },
      "heap-limit": { type: "string" },
      memprofilerate: { type: "string" },
      memprofile: { type: "string" },
      "memprofile-text": { type: "string" },
      folded: { type: "string" },
      "folded-type": { type: "string" },
      html: { type: "string" },
      seed: { type: "string" },
      "trace-out": { type: "string" },
      stacks: { type: "string", default: "go" },
      by: { type: "string" },
      frames: { type: "string" },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...Object.fromEntries(
        paramNames.map((n) => [n, { type: "string" as const }]),
      ),
    },
  });
  const values = parsed as Record<string, string | boolean | undefined>;
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const name = positionals[0] ?? "binarytrees";
  const script = isScriptSpecifier(name);
  if (!script && positionals.length > 1) {
    throw new UsageError(
      `run takes one built-in workload, got ${positionals.length}: ${
        positionals.join(" ")
      } (arguments after a script's path go to the script)`,
    );
  }
  const workload = script ? undefined : findWorkload(name);
  if (!script && workload === undefined) {
    throw new UsageError(
      `unknown workload "${name}": built-in workloads are ${
        WORKLOADS.map((w) => w.name).join(", ")
      } (or give a script's path or URL)`,
    );
  }
  const preset = presetOption(values.go as string);
  const wargs: Record<string, number> = {};
  for (const p of workload?.params ?? []) {
    wargs[p.name] = intOption(
      p.name,
      values[p.name] as string | undefined,
      p.default,
      p.min,
      p.max,
    );
  }
  for (const n of paramNames) {
    if (
      values[n] !== undefined && !workload?.params.some((p) => p.name === n)
    ) {
      throw new UsageError(
        `--${n} is not a parameter of ${name} (see alloctrace workloads)`,
      );
    }
  }
  let runWorkload: (rt: Runtime) => void | Promise<void>;
  if (script) {
    const url = /^(https?|file):\/\//.test(name)
      ? name
      : new URL(name, `file://${Deno.cwd()}/`).href;
    let fn: ScriptWorkload;
    try {
      fn = await loadScriptWorkload(url);
    } catch (e) {
      const err = e as Error;
      // The loader's own "no default export" error already names the script.
      if (err instanceof TypeError && err.message.includes("default export")) {
        throw err;
      }
      throw new Error(
        `cannot load workload script ${name}: ${err.message.split("\n")[0]}`,
      );
    }
    const sargs = positionals.slice(1);
    runWorkload = async (rt) => {
      try {
        await fn(rt, sargs);
      } catch (e) {
        if (e instanceof OutOfMemoryError) throw e;
        throw new Error(
          `workload script ${name} failed: ${
            (e as Error)?.message ?? String(e)
          }`,
        );
      }
    };
  } else {
    runWorkload = (rt) => workload!.run(rt, wargs);
  }
  const gogcText = (values.gogc as string | undefined) ?? env("GOGC");
  // An empty GOGC is unset, as in Go.
  const gogc = gogcText === undefined || gogcText === ""
    ? 100
    : gogcOption(gogcText);
  const godebugText = [env("GODEBUG"), values.godebug as string | undefined]
    .filter((s) => s !== undefined && s !== "").join(",");
  const godebug = parseGodebug(preset, godebugText);
  for (const u of values.quiet ? [] : godebug.unknown) {
    console.error(
      `alloctrace: warning: GODEBUG setting "${u}" is not known to ${preset} (ignored, as Go ignores it)`,
    );
  }
  const foldedType = sampleTypeOption(
    "folded-type",
    values["folded-type"] as string | undefined,
  );
  const stacks = values.stacks as string;
  if (stacks !== "go" && stacks !== "js") {
    throw new UsageError(`--stacks must be go or js, got "${stacks}"`);
  }
  const traceOut = values["trace-out"] as string | undefined;
  const outs = Outputs.check(
    Object.fromEntries(
      ["trace-out", "memprofile", "memprofile-text", "folded", "html"].map((
        o,
      ) => [`--${o}`, values[o] as string | undefined]),
    ),
    script ? [name] : [],
  );
  const rt = new Runtime({
    preset,
    gogc,
    godebug: godebugText,
    memProfileRate: intOption(
      "memprofilerate",
      values.memprofilerate as string | undefined,
      524288,
    ),
    seed: intOption("seed", values.seed as string | undefined, 1),
    gomaxprocs: values.gomaxprocs === undefined
      ? undefined
      : intOption("gomaxprocs", values.gomaxprocs as string, 1, 1, 256),
    heapLimit: intOption(
      "heap-limit",
      values["heap-limit"] as string | undefined,
      0,
    ),
  });
  let peak = 0;
  const gctrace = godebug.vars.gctrace > 0;
  const progress = new Progress(
    values.quiet === true ||
      (traceOut === undefined && godebug.vars.allocfreetrace > 0) ||
      gctrace,
  );
  rt.events.subscribe({
    gc: (ev) => {
      if (ev.kind === "start") peak = Math.max(peak, ev.heapAlloc);
      if (ev.kind === "end") {
        progress.update(() =>
          `${name}: ${
            ev.mallocs.toLocaleString("en-US")
          } allocations, ${ev.cycle} GCs, heap ${
            (ev.heapAlloc / 1048576).toFixed(1)
          } MB`
        );
      }
      if (ev.kind === "end" && gctrace) {
        console.error(
          formatGCTrace(rt.preset.name, ev.cycle, ev.stats, ev.forced),
        );
      }
    },
  });
  let printer: TracePrinter | null = null;
  // The trace goes to a temporary name and is renamed when the run is over
  // (a device or pipe is written directly), like every other output.
  let traceFile: OutputStream | null = null;
  if (godebug.vars.allocfreetrace > 0) {
    const sink = traceOut === undefined
      ? (b: Uint8Array) => {
        let bytes = b;
        while (bytes.length > 0) {
          bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
        }
      }
      : (traceFile = openOutput(traceOut), (b: Uint8Array) => {
        traceFile!.write(b);
      });
    printer = new TracePrinter(rt, sink, { stacks });
    printer.attach();
  }
  // Every allocation, free and GC cycle goes to the analyzer: the summary's
  // tables and the report use these exact figures; the sampled heap profile
  // is shown as such, beside them.
  const siteStacks = new StackTable();
  const sites = siteOptions({
    by: values.by as string | undefined,
    frames: (values.frames as string | undefined) ?? "3",
  });
  const analyzer = new TraceAnalyzer(siteStacks, {
    by: sites.by,
    now: () => rt.clock / 1e9,
    dense: true,
  });
  attachEvents(rt, siteStacks, (e) => analyzer.add(e));
  const t0 = performance.now();
  try {
    await runWorkload(rt);
    printer?.flush();
    traceFile?.commit();
  } catch (e) {
    // Whatever was traced reaches the output, even when the run failed
    // (unless writing the trace itself failed: no half-written file then).
    try {
      printer?.flush();
      traceFile?.commit();
    } catch {
      traceFile?.abort();
    }
    throw e;
  } finally {
    progress.done();
  }
  const seconds = (performance.now() - t0) / 1000;
  const stats = rt.readMemStats();
  peak = Math.max(peak, stats.HeapAlloc);
  const profile = heapSamples(rt);
  const { samples } = profile;
  const analysis = analyzer.finish();
  const exact = analyzer.samples();
  // Tiny allocations combined into an existing 16-byte block: mallocgc
  // returns before tracing/profiling for them, so no table, profile or report
  // sees them, yet MemStats.Mallocs (and Frees) count them. Shown apart.
  const tinyCombined = rt.mcaches.reduce((a, c) => a + c.tinyAllocs, 0);
  const k = HEAP_SAMPLE_TYPES.indexOf(foldedType);
  const sampledTotal = samples.reduce((a, s) => a + s.values[k], 0);
  await outs.write("--memprofile", () =>
    heapProfileProto(rt, {
      mappingFile: `/alloctrace/${name}`,
      samples: profile,
    }));
  await outs.write("--memprofile-text", () => writeHeapProfileText(rt));
  await outs.write("--folded", () => folded(samples, foldedType));
  await outs.write("--html", () =>
    renderReport({
      title: `alloctrace run ${name}`,
      subtitle:
        `${rt.preset.name} (${rt.preset.goVersion} model), GOMAXPROCS=${rt.gomaxprocs}, GOGC=${
          rt.gcpercent < 0 ? "off" : rt.gcpercent
        }`,
      note: "exact: every allocation",
      by: sites.by,
      timeLabel: "simulated time",
      samples: exact,
      sampled: rt.memProfileRate > 0
        ? { rate: rt.memProfileRate, samples }
        : undefined,
      analysis,
    }));
  const written: Record<string, string> = Object.fromEntries(
    outs.written.map(([o, path]) => [o.slice(2), path]),
  );
  const summary = {
    workload: name,
    args: wargs,
    preset: rt.preset.name,
    go: rt.preset.goVersion,
    gomaxprocs: rt.gomaxprocs,
    gogc: rt.gcpercent,
    seconds,
    simulatedSeconds: rt.clock / 1e9,
    allocsPerSecond: Math.round(stats.Mallocs / seconds),
    peakHeapAlloc: peak,
    memstats: stats,
    memProfileRate: rt.memProfileRate,
    written,
    // Exact, from every allocation: the same figures as the summary's table.
    exact: {
      allocs: analysis.allocs,
      allocBytes: analysis.allocBytes,
      frees: analysis.frees,
      liveObjects: analysis.liveObjects,
      liveBytes: analysis.liveBytes,
    },
    // Not in `exact` nor in any table: counted by MemStats.Mallocs and Frees
    // only (memstats.Mallocs = exact.allocs + tinyAllocsCombined).
    tinyAllocsCombined: tinyCombined,
    top: topSites(analysis.sites, foldedType, 10),
    // The heap profile at MemProfileRate, un-sampled as pprof does: an estimate.
    sampledProfile: rt.memProfileRate === 0 ? null : {
      rate: rt.memProfileRate,
      type: foldedType,
      total: sampledTotal,
    },
  };
  if (outs.toStdout) {
    // An output went to stdout: the summary would be mixed into it.
    outs.finish();
    return 0;
  }
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    outs.finish();
    return 0;
  }
  const fmt = (n: number) => n.toLocaleString("en-US");
  const unit = (v: number) =>
    foldedType.endsWith("space") ? fmtBytes(v) : fmt(v);
  const argText = Object.entries(wargs).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log([
    `workload      ${name} (${argText}) on ${rt.preset.name} (${rt.preset.goVersion} model), GOMAXPROCS=${rt.gomaxprocs}, GOGC=${
      rt.gcpercent < 0 ? "off" : rt.gcpercent
    }`,
    `allocations   ${fmt(analysis.allocs)} (${fmt(analysis.allocBytes)} bytes)${
      tinyCombined === 0
        ? ""
        : ` + ${
          fmt(tinyCombined)
        } tiny allocations combined into earlier blocks (MemStats.Mallocs ${
          fmt(stats.Mallocs)
        })`
    }`,
    `frees         ${fmt(analysis.frees)}${
      tinyCombined === 0
        ? ""
        : ` (MemStats.Frees ${fmt(stats.Frees)} also counts the tiny ones)`
    }`,
    `GC cycles     ${stats.NumGC}`,
    `live heap     peak ${fmt(peak)} bytes (at a GC start or the end), final ${
      fmt(stats.HeapAlloc)
    } bytes in ${fmt(stats.HeapObjects)} object${
      stats.HeapObjects === 1 ? "" : "s"
    }`,
    `heap          ${fmt(stats.HeapInuse)} bytes in use of ${
      fmt(stats.HeapSys)
    } mapped; next GC at ${fmt(stats.NextGC)}`,
    `time          ${(rt.clock / 1e6).toFixed(1)} ms simulated; ${
      seconds.toFixed(2)
    } s real, ${_rate(summary.allocsPerSecond)} simulated allocations/s`,
    "",
    ...topSitesTable(analysis, {
      top: 10,
      frames: sites.frames,
      order: foldedType,
    })
      .map((l, i) => i === 0 ? `${l} (exact: every allocation)` : l),
    ...(exact.length === 0 ? [] : [
      "",
      `call tree by ${foldedType} (exact):`,
      ...callTree(exact, { type: foldedType, color: stdoutColor() }),
    ]),
    "",
    rt.memProfileRate === 0
      ? "heap profile  off (--memprofilerate 0)"
      : `heap profile  sampled at MemProfileRate=${rt.memProfileRate}: ${foldedType} ${
        unit(sampledTotal)
      } estimated from its samples, un-sampled as pprof does (exact: ${
        unit(exactTotal(analysis.sites, foldedType))
      })`,
    ...Object.entries(written).map(([opt, path]) => `wrote ${path} (--${opt})`),
    ...(printer && traceOut
      ? [
        `wrote ${traceOut} (allocfreetrace: ${printer.counts.allocs} allocations, ${printer.counts.frees} frees, ${printer.counts.gcs} GCs)`,
      ]
      : []),
  ].join("\n"));
  outs.finish();
  return 0;
}
