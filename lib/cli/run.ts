/**
 * `alloctrace run`: simulate a built-in workload on the simulated heap and
 * print a summary. The command in parts: its options, the runtime they
 * configure, the listeners on it (GC progress and gctrace, the
 * allocfreetrace printer, the exact analyzer), the run, the outputs and the
 * summary (`_run_summary.ts`); the workload is chosen in `_run_workload.ts`.
 *
 * @module
 */

import { fmtBytes } from "../report/units.ts";
import { parseArgs } from "./_parse_args.ts";
import { OutOfMemoryError } from "../runtime/mheap.ts";
import {
  type DefaultHeapLimit,
  defaultHeapLimit,
  heapLimitJson,
  watchMemory,
} from "./_heap_limit.ts";
import { Runtime } from "../runtime/runtime.ts";
import { PRESET_NAMES, type PresetName } from "../runtime/presets.ts";
import { type GoDebug, parseGodebug } from "../runtime/godebug.ts";
import { formatGCTrace } from "../runtime/gctrace.ts";
import { WORKLOADS } from "../workload/registry.ts";
import { heapSamples } from "../profile/heap.ts";
import {
  HEAP_SAMPLE_TYPES,
  type HeapSample,
  type HeapSampleType,
} from "../profile/proto.ts";
import {
  envVar,
  intOption,
  sampleTypeOption,
  shown,
  UsageError,
} from "./_usage.ts";
import { gogcOption, presetOption } from "./_runtime_options.ts";
import {
  openOutput,
  Outputs,
  type OutputStream,
  writeProfileOutputs,
} from "./_output.ts";
import { TracePrinter } from "../trace/printer.ts";
import { Progress } from "./_progress.ts";
import { SignalExit, type SignalWatch, watchSignals } from "./_signals.ts";
import { renderReport } from "../report/html.ts";
import type { AnalysisResult } from "../trace/analyze.ts";
import { SimAnalysis } from "./_sim_analysis.ts";
import type { SiteBy } from "../trace/sites.ts";
import { siteOptions } from "./_site_options.ts";
import {
  chooseWorkload,
  PARAM_NAMES,
  paramHelp,
  TraceMaxError,
} from "./_run_workload.ts";
import { gogcText, runJson, type RunResult, runText } from "./_run_summary.ts";
import { formatHelp } from "./_help.ts";

/** Help text of `alloctrace run`. */
export const RUN_HELP = formatHelp(`Usage: alloctrace run [WORKLOAD] [options]

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
  --heap-limit BYTES   fatal heap limit (default: half the memory this process may use, and a stop when its RSS passes 80% of it; 0 = none)
  --memprofilerate N   runtime.MemProfileRate: bytes per sample (default 524288; 1 = all, 0 = off)
  --memprofile FILE    write the heap profile (gzipped profile.proto, for go tool pprof)
  --memprofile-text FILE  write the legacy text heap profile (debug=1)
  --folded FILE        write folded stacks (flamegraph.pl, inferno, speedscope)
  --html FILE          write a self-contained HTML report (flame graph, live heap, sites)
  --folded-type TYPE   sample type of --folded and the order of the top table: ${
  HEAP_SAMPLE_TYPES.join(", ")
} (default alloc_space)
  --seed N             seed of the random draws (default 1)
  --trace-out FILE     write the allocfreetrace trace into FILE, not stderr
                       (turns GODEBUG allocfreetrace=1 on)
  --trace-max BYTES    stop, writing nothing, if the --trace-out file would pass
                       BYTES (default 2 GB, ~1.2 kB a record; 0 = no limit;
                       a regular file only, not a pipe or device)
  --stacks go|js       trace frames: the simulated Go frames (default) or the JS stack
  --by func|line|stack  what a site of the summary and report is (default line: function and file:line)
  --frames N           frames of each top site's stack in the summary (default 3)
${paramHelp()}
  --json               print the summary as JSON
  -q, --quiet          no warnings or progress on stderr
  -h, --help           show this help

Examples:
  alloctrace run
  alloctrace run binarytrees --depth 14 --go go1.2-seed --json
  alloctrace run ./my_workload.ts 1000
  GODEBUG=gctrace=1 alloctrace run leak --n 100000
`);

// (No --allow-env for a variable: as if unset.)
const env = envVar;

/** `run`'s command-line options, as parseArgs gives them. */
type Values = Record<string, string | boolean | undefined>;

/** Parses `run`'s command line. */
function _parse(args: string[]): { values: Values; positionals: string[] } {
  const { values, positionals } = parseArgs({
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
      "trace-max": { type: "string" },
      stacks: { type: "string", default: "go" },
      by: { type: "string" },
      frames: { type: "string" },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...Object.fromEntries(
        PARAM_NAMES.map((n) => [n, { type: "string" as const }]),
      ),
    },
  });
  return { values: values as Values, positionals };
}

/** The settings of the simulated runtime and of what listens to it. */
interface Settings {
  preset: PresetName;
  gogc: number | "off";
  /** $GODEBUG then --godebug, joined. */
  godebugText: string;
  godebug: GoDebug;
  type: HeapSampleType;
  stacks: "go" | "js";
  traceOut: string | undefined;
  /** `--trace-max` (0: none); null when not given. */
  traceMax: number | null;
}

/**
 * GOGC (`--gogc`, else $GOGC), GODEBUG ($GODEBUG then `--godebug`, with a
 * warning per name the preset does not know), `--folded-type`, `--stacks`.
 */
function _settings(values: Values, preset: PresetName): Settings {
  const gogcText = (values.gogc as string | undefined) ?? env("GOGC");
  // An empty GOGC is unset, as in Go.
  const gogc = gogcText === undefined || gogcText === ""
    ? 100
    : gogcOption(gogcText);
  let godebugText = [env("GODEBUG"), values.godebug as string | undefined]
    .filter((s) => s !== undefined && s !== "").join(",");
  let godebug = parseGodebug(preset, godebugText);
  for (const u of values.quiet ? [] : godebug.unknown) {
    console.error(
      `alloctrace: warning: GODEBUG setting "${u}" is not known to ${preset} (ignored, as Go ignores it)`,
    );
  }
  const traceOut = values["trace-out"] as string | undefined;
  if (traceOut !== undefined && godebug.vars.allocfreetrace <= 0) {
    // Asking for a trace file is asking for the trace.
    godebugText = [godebugText, "allocfreetrace=1"].filter((s) => s !== "")
      .join(",");
    godebug = parseGodebug(preset, godebugText);
  }
  const type = sampleTypeOption(
    "folded-type",
    values["folded-type"] as string | undefined,
  );
  const stacks = values.stacks as string;
  if (stacks !== "go" && stacks !== "js") {
    throw new UsageError(`--stacks must be go or js, got "${stacks}"`);
  }
  const max = values["trace-max"] as string | undefined;
  if (max !== undefined && traceOut === undefined) {
    throw new UsageError("--trace-max goes with --trace-out FILE");
  }
  return {
    preset,
    gogc,
    godebugText,
    godebug,
    type,
    stacks,
    traceOut,
    traceMax: max === undefined ? null : intOption("trace-max", max, 0),
  };
}

/**
 * The simulated runtime the options describe; the heap limit `run` chose
 * when `--heap-limit` is not given (null when it is).
 */
function _runtime(
  values: Values,
  s: Settings,
): { rt: Runtime; chosen: DefaultHeapLimit | null; limit: number } {
  const given = values["heap-limit"] as string | undefined;
  const chosen = given === undefined ? defaultHeapLimit() : null;
  const limit = chosen?.bytes ?? intOption("heap-limit", given, 0);
  const rt = new Runtime({
    preset: s.preset,
    gogc: s.gogc,
    godebug: s.godebugText,
    memProfileRate: intOption(
      "memprofilerate",
      values.memprofilerate as string | undefined,
      524288,
    ),
    seed: intOption("seed", values.seed as string | undefined, 1),
    gomaxprocs: values.gomaxprocs === undefined
      ? undefined
      : intOption("gomaxprocs", values.gomaxprocs as string, 1, 1, 256),
    heapLimit: limit,
  });
  return { rt, chosen, limit };
}

/**
 * Listens to GC cycles: the progress line, `gctrace=1`'s lines on stderr
 * (after `flushTrace`, which hands over a trace buffered for stderr), and
 * the largest live heap at a GC start (MemStats.HeapAlloc, gctrace's
 * figure) with the traced bytes live then (`tracedLive`), which it returns.
 */
function _watchGC(
  rt: Runtime,
  name: string,
  progress: Progress,
  gctrace: boolean,
  signals: SignalWatch | null,
  flushTrace: () => void,
  traced: () => number | null,
  tracedLive: () => number,
): () => { heapAlloc: number; traced: number } {
  const peak = { heapAlloc: 0, traced: 0 };
  rt.events.subscribe({
    gc: (ev) => {
      signals?.check();
      if (ev.kind === "start" && ev.heapAlloc > peak.heapAlloc) {
        peak.heapAlloc = ev.heapAlloc;
        peak.traced = tracedLive();
      }
      if (ev.kind === "end") {
        progress.update(() =>
          `${name}: ${
            ev.mallocs.toLocaleString("en-US")
          } allocations, ${ev.cycle} GCs, heap ${fmtBytes(ev.heapAlloc)}${
            traced() === null ? "" : `, trace ${fmtBytes(traced()!)}`
          }`
        );
      }
      if (ev.kind === "end" && gctrace) {
        flushTrace();
        console.error(
          formatGCTrace(rt.preset.name, ev.cycle, ev.stats, ev.forced),
        );
      }
    },
  });
  return () => peak;
}

/** `--trace-max`'s default: 2 GB. */
const TRACE_MAX = 2 * 2 ** 30;

/** Whether `path` is a regular file, or nothing yet (a file to be made). */
function _regular(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return true;
  }
}

/** The allocfreetrace printer and the file it writes into, if any. */
interface Trace {
  printer: TracePrinter;
  /** `--trace-out`'s file; null when the trace goes to stderr. */
  file: OutputStream | null;
  /** Bytes written into the file so far. */
  written: () => number;
}

/**
 * With GODEBUG allocfreetrace=1: a printer on `rt`, writing to stderr or
 * into `--trace-out`. The file is a temporary renamed when the run is over
 * (a device or pipe is written directly), like every other output; a
 * signal noticed between two chunks stops the run (see `_signals.ts`).
 */
function _openTrace(
  rt: Runtime,
  s: Settings,
  signals: SignalWatch | null,
): Trace | null {
  if (s.godebug.vars.allocfreetrace <= 0) return null;
  let file: OutputStream | null = null;
  // binarytrees --depth 16 writes 41 GB (~1.2 kB a record): unasked, a
  // file that size is a mistake. (A pipe or device fills no disk.)
  const max = s.traceOut !== undefined && _regular(s.traceOut)
    ? s.traceMax ?? TRACE_MAX
    : 0;
  let written = 0;
  const sink = s.traceOut === undefined
    ? (b: Uint8Array) => {
      let bytes = b;
      while (bytes.length > 0) {
        bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
      }
    }
    : (file = openOutput(s.traceOut), (b: Uint8Array) => {
      signals?.check();
      written += b.length;
      if (max > 0 && written > max) {
        throw new TraceMaxError(
          `--trace-out ${shown(s.traceOut!)}: the trace would pass ${
            s.traceMax === null
              ? `--trace-max's default, ${fmtBytes(max)}`
              : `--trace-max, ${max} bytes`
          }, after ${
            (printer.counts.allocs + printer.counts.frees)
              .toLocaleString("en-US")
          } records: stopped, nothing written (--trace-max BYTES sets another, 0 none)`,
        );
      }
      file!.write(b);
    });
  const printer = new TracePrinter(rt, sink, { stacks: s.stacks });
  printer.attach();
  return { printer, file, written: () => written };
}

/**
 * Runs the workload; returns its wall seconds. Whatever was traced reaches
 * the output, even when the run failed (unless writing the trace itself
 * failed: no half-written file then), but not when a signal stopped it:
 * then the temporary goes and the old file stays.
 */
async function _execute(
  run: (rt: Runtime) => void | Promise<void>,
  rt: Runtime,
  trace: Trace | null,
  progress: Progress,
  signals: SignalWatch | null,
): Promise<number> {
  const t0 = performance.now();
  try {
    await run(rt);
    trace?.printer.flush();
    signals?.check();
    trace?.file?.commit();
  } catch (e) {
    try {
      // (Past --trace-max, nothing is written.)
      if (e instanceof SignalExit || e instanceof TraceMaxError) throw e;
      trace?.printer.flush();
      trace?.file?.commit();
    } catch {
      trace?.file?.abort();
    }
    throw e;
  } finally {
    progress.done();
    signals?.stop();
  }
  // A signal after the last look but before the watch stopped.
  if (signals !== null && signals.pending() !== 0) {
    throw new SignalExit(signals.pending());
  }
  return (performance.now() - t0) / 1000;
}

/**
 * MemStats' peak, gctrace's figure: HeapAlloc at the largest GC start or
 * at the end, and how much of it no record shows (the start-up's untraced
 * objects live then, go1.22's allocation headers).
 */
function _peak(
  atGC: { heapAlloc: number; traced: number },
  final: number,
  finalTraced: number,
): RunResult["peak"] {
  return final > atGC.heapAlloc
    ? { heapAlloc: final, at: "end", untraced: final - finalTraced }
    : {
      heapAlloc: atGC.heapAlloc,
      at: "gc start",
      untraced: atGC.heapAlloc - atGC.traced,
    };
}

/** The HTML report: exact figures, the sampled profile offered beside them. */
function _report(
  name: string,
  rt: Runtime,
  by: SiteBy,
  analysis: AnalysisResult,
  exact: HeapSample[],
  sampled: HeapSample[],
  peak: RunResult["peak"],
  peakAt: { time: number; alloc: number; cycle: number },
): string {
  return renderReport({
    title: `alloctrace run ${name}`,
    subtitle:
      `${rt.preset.name} (${rt.preset.goVersion} model), GOMAXPROCS=${rt.gomaxprocs}, GOGC=${
        gogcText(rt)
      }`,
    note: "exact: every allocation",
    by,
    timeLabel: "simulated time",
    samples: exact,
    sampled: rt.memProfileRate > 0
      ? { rate: rt.memProfileRate, samples: sampled }
      : undefined,
    analysis,
    peak: peakAt,
    heapAlloc: { peak: peak.heapAlloc, at: peak.at, untraced: peak.untraced },
  });
}

/** Runs `alloctrace run` with `args`; returns the exit code. */
export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = _parse(args);
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const chosen = chooseWorkload(positionals);
  const preset = presetOption(values.go as string);
  const wargs = chosen.args(values);
  const runWorkload = await chosen.load(wargs);
  const s = _settings(values, preset);
  const outs = Outputs.check(
    Object.fromEntries(
      ["trace-out", "memprofile", "memprofile-text", "folded", "html"].map((
        o,
      ) => [`--${o}`, values[o] as string | undefined]),
    ),
    chosen.script ? [chosen.name] : [],
    values.json === true,
  );
  const { rt, chosen: limit, limit: limitBytes } = _runtime(values, s);
  if (limit !== null) watchMemory(rt, limit);
  const gctrace = s.godebug.vars.gctrace > 0;
  const progress = new Progress(
    values.quiet === true ||
      (s.traceOut === undefined && s.godebug.vars.allocfreetrace > 0) ||
      gctrace,
  );
  // While the trace goes into a temporary file, signals are watched so that
  // the temporary can be removed (workloads are synchronous).
  const signals = s.godebug.vars.allocfreetrace > 0 && s.traceOut !== undefined
    ? await watchSignals()
    : null;
  // Every allocation, free and GC cycle goes to the analyzer: the summary's
  // tables and the report use these exact figures; the sampled heap profile
  // is shown as such, beside them.
  const sites = siteOptions({
    by: values.by as string | undefined,
    frames: (values.frames as string | undefined) ?? "3",
  });
  const sim = new SimAnalysis(rt, sites.by);
  const analyzer = sim.analyzer;
  let trace: Trace | null = null;
  // A trace on stderr is buffered: it is handed over before each gctrace
  // line, which Go prints after the cycle's tracegc block.
  const flushTrace = () => {
    if (trace !== null && trace.file === null) trace.printer.flush();
  };
  const peakAtGC = _watchGC(
    rt,
    chosen.name,
    progress,
    gctrace,
    signals,
    flushTrace,
    // The progress line says how large the trace file has grown.
    () => trace?.file ? trace.written() : null,
    // Every event before a GC start has reached the analyzer.
    () => analyzer.liveBytes,
  );
  try {
    trace = _openTrace(rt, s, signals);
  } catch (e) {
    signals?.stop();
    throw e;
  }
  // With --stacks js, the JS stacks the trace carries (one capture per
  // allocation, shared with the trace printer: captureJsFramesOnce).
  sim.attach({ stacks: s.stacks });
  const seconds = await _execute(runWorkload, rt, trace, progress, signals)
    .catch((e) => {
      // Past the limit run chose: say which it is and how to set another.
      if (
        e instanceof OutOfMemoryError && limit !== null &&
        e.message.includes("hard limit")
      ) {
        e.message += ` (${limit.why})`;
      }
      throw e;
    });
  const stats = rt.readMemStats();
  const profile = heapSamples(rt);
  const analysis = analyzer.finish();
  const exact = analyzer.samples();
  await writeProfileOutputs(outs, rt, profile, {
    mappingFile: `/alloctrace/${chosen.name}`,
    type: s.type,
  });
  const peak = _peak(peakAtGC(), stats.HeapAlloc, analysis.liveBytes);
  await outs.write(
    "--html",
    () =>
      _report(
        chosen.name,
        rt,
        sites.by,
        analysis,
        exact,
        profile.samples,
        peak,
        sim.peakAt,
      ),
  );
  const result: RunResult = {
    name: chosen.name,
    heapLimit: heapLimitJson(limitBytes, limit),
    args: wargs,
    scriptArgs: chosen.script ? positionals.slice(1) : undefined,
    rt,
    stats,
    peak,
    seconds,
    analysis,
    exact,
    sampled: profile.samples,
    // Tiny allocations combined into an existing 16-byte block: mallocgc
    // returns before tracing/profiling for them, so no table, profile or
    // report sees them, yet MemStats.Mallocs (and Frees) count them.
    tinyCombined: rt.mcaches.reduce((a, c) => a + c.tinyAllocs, 0),
    type: s.type,
    frames: sites.frames,
    written: Object.fromEntries(
      outs.written.map(([o, path]) => [o.slice(2), path]),
    ),
    trace: trace !== null && s.traceOut !== undefined
      ? { path: s.traceOut, counts: trace.printer.counts }
      : undefined,
  };
  if (outs.toStdout) {
    // An output went to stdout: the summary would be mixed into it.
  } else if (values.json) {
    console.log(JSON.stringify(runJson(result), null, 2));
  } else {
    console.log(runText(result));
  }
  outs.finish();
  return 0;
}
