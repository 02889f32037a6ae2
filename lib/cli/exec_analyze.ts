/**
 * `alloctrace analyze` on a Go 1.23+ execution trace: the per-type
 * analysis as tables or JSON, and the outputs every trace has (pprof,
 * folded stacks, HTML) through the shared event model, whose frames here
 * are the type, the allocating goroutine's start function and the stack
 * that created it.
 *
 * @module
 */

import { TraceAnalyzer } from "../trace/analyze.ts";
import { StackTable, type TraceEvent } from "../trace/events.ts";
import type { HeapSampleType } from "../profile/proto.ts";
import { CYCLE_BUCKETS } from "../trace/analyze.ts";
import {
  type ExecAnalysis,
  ExecAnalyzer,
  type ExecEvent,
  TIME_BUCKETS,
} from "../trace/exectrace/mod.ts";
import type { Input } from "./_input.ts";
import { alignColumns } from "./_top.ts";
import { writeAnalysisOutputs } from "./_output.ts";
import { shown } from "./_usage.ts";
import { eventCounts, type ExecRead, readExecTrace } from "./_readexec.ts";

const n = (x: number) => x.toLocaleString("en-US");

/** Seconds, milliseconds or microseconds, whichever reads best. */
export function fmtNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e3).toFixed(1)} µs`;
}

const TIME_LABELS = [
  "≤1µs",
  "≤10µs",
  "≤100µs",
  "≤1ms",
  "≤10ms",
  "≤100ms",
  "≤1s",
  ">1s",
];

/** The analysis of an execution trace as text tables. */
export function execAnalysisText(
  name: string,
  r: ExecAnalysis,
  read: Pick<ExecRead, "reader">,
  top: number,
): string {
  const st = read.reader.stats;
  const c = eventCounts(read.reader);
  const out: string[] = [];
  const table = (
    title: string,
    head: string[],
    rows: string[][],
    textColumns = 1,
  ) => {
    if (rows.length > 0) {
      out.push("", title, ...alignColumns(head, rows, textColumns));
    }
  };
  out.push(
    `trace         ${name}: go 1.${st.version} execution trace, ${st.generations} generation(s), ${
      fmtNs(r.duration)
    }`,
    `heap objects  ${n(r.allocs)} allocated (${n(r.allocBytes)} bytes), ${
      n(r.frees)
    } freed (${n(r.freeBytes)} bytes), ${n(r.gcs)} GC cycles`,
  );
  if (r.existing > 0) {
    out.push(
      `              ${n(r.existing)} objects (${
        n(r.existingBytes)
      } bytes) existed when tracing began`,
    );
  }
  out.push(
    `live at end   ${n(r.liveBytes)} bytes in ${n(r.liveObjects)} objects`,
    `peak live     ${n(r.peakLiveBytes)} bytes at ${fmtNs(r.peakTime)}`,
    ...(r.existing > 0
      ? [
        `              ${n(r.tracedPeakLiveBytes)} bytes at ${
          fmtNs(r.tracedPeakTime)
        } of the objects allocated while tracing (the HTML report's peak)`,
      ]
      : []),
    `stacks        ${n(r.stacks.allocs)} goroutine stacks allocated (${
      n(r.stacks.allocBytes)
    } bytes), ${n(r.stacks.frees)} freed; ${n(r.stacks.live)} live (${
      n(r.stacks.liveBytes)
    } bytes), apart from the heap objects`,
    `events        ${
      ["HeapObjectAlloc", "HeapObjectFree", "SpanAlloc", "SpanFree"].map((k) =>
        `${k} ${n(c[k] ?? 0)}`
      ).join(", ")
    }`,
  );
  const named = (t: string) => t === "?" ? "? (no type)" : t;
  table(
    "types by bytes allocated",
    ["allocs", "bytes", "frees", "live", "live bytes", "slot", "type"],
    r.types.filter((t) => t.allocs > 0).slice(0, top).map((t) => [
      n(t.allocs),
      n(t.allocBytes),
      n(t.frees),
      n(t.live),
      n(t.liveBytes),
      t.sizes.length === 1 ? n(t.sizes[0][0]) : `${t.sizes.length} sizes`,
      named(t.type),
    ]),
  );
  table(
    "types by live bytes at the end",
    ["live", "live bytes", "of which existed before tracing", "type"],
    [...r.types].filter((t) => t.live > 0).sort((a, b) =>
      b.liveBytes - a.liveBytes
    ).slice(0, top).map((t) => [
      n(t.live),
      n(t.liveBytes),
      n(Math.min(t.existing, t.live)),
      named(t.type),
    ]),
  );
  table(
    "leak candidates (objects that survived a GC, counted at each next GC: only grew)",
    ["live", "live bytes", "survivors at each GC", "type"],
    r.types.filter((t) => t.leakCandidate).slice(0, top).map((t) => [
      n(t.live),
      n(t.liveBytes),
      t.survivors.length > 8
        ? `${t.survivors.slice(0, 4).join(" ")} … ${
          t.survivors.slice(-3).join(" ")
        }`
        : t.survivors.join(" "),
      named(t.type),
    ]),
  );
  const freed = r.types.filter((t) => t.frees > t.existing && t.allocs > 0)
    .slice(0, top);
  table(
    "lifetimes of freed objects: GC cycles between allocation and free",
    [
      ...CYCLE_BUCKETS.map((b, i) => (i === 0 ? "0" : `≤${b}`)),
      `>${CYCLE_BUCKETS.at(-1)}`,
      "type",
    ],
    freed.map((t) => [...t.lifetimeCycles.map(n), named(t.type)]),
  );
  table(
    "lifetimes of freed objects: wall time between allocation and free",
    [...TIME_LABELS.slice(0, TIME_BUCKETS.length + 1), "type"],
    freed.map((t) => [...t.lifetimeTime.map(n), named(t.type)]),
  );
  table(
    "allocations by goroutine creation site (the goroutine running on the M at each allocation)",
    [
      "allocs",
      "bytes",
      "live",
      "goroutines",
      "start function",
      "created at",
      "top types",
    ],
    r.sites.slice(0, top).map((s) => [
      n(s.allocs),
      n(s.allocBytes),
      n(s.live),
      n(s.goroutines),
      s.start,
      s.createdAt || "-",
      s.types.slice(0, 3).map(([t, k]) => `${t} ${n(k)}`).join(", "),
    ]),
    3,
  );
  const gcPoints = r.timeline.filter((p) => p.at === "gc" || p.at === "end");
  const every = Math.max(1, Math.ceil(gcPoints.length / Math.max(top, 10)));
  table(
    "live heap over time (at each GC end; top types)",
    ["time", "GC", "live bytes", "top types"],
    gcPoints.filter((_, i) => i % every === 0 || i === gcPoints.length - 1)
      .map((p) => [
        fmtNs(p.time),
        p.at === "end" ? "end" : `${p.cycle}`,
        n(p.live),
        p.top.slice(0, 3).map(([t, b]) => `${t} ${n(b)}`).join(", "),
      ]),
  );
  return out.join("\n");
}

/**
 * The report's note: its figures are those of what was allocated while
 * tracing; objects that existed before are left out, so it gives the
 * terminal's figures, which include them.
 */
function existingNote(
  r: ExecAnalysis,
  page: { frees: number; liveObjects: number },
): string {
  const note = "exact: every traced allocation";
  if (r.existing === 0) return note;
  return `${note}; the ${n(r.existing)} objects (${
    n(r.existingBytes)
  } bytes) that existed when tracing began are left out of this page, whose figures count the objects allocated while tracing (frees ${
    n(page.frees)
  }, live ${n(page.liveObjects)} objects, peak live ${
    n(r.tracedPeakLiveBytes)
  } bytes at ${
    fmtNs(r.tracedPeakTime)
  }, the red dot); with them, as the terminal shows: frees ${
    n(r.frees)
  }, live at end ${n(r.liveBytes)} bytes in ${
    n(r.liveObjects)
  } objects, peak live ${n(r.peakLiveBytes)} bytes at ${fmtNs(r.peakTime)}`;
}

/** The options `analyze` passes on. */
export interface ExecAnalyzeOptions {
  /** Print JSON. */
  json: boolean;
  /** Rows per table. */
  top: number;
  /** No warnings or progress. */
  quiet: boolean;
  /** Fail on warnings. */
  strict: boolean;
  /** Output files. */
  pprof?: string;
  /** Folded stacks file. */
  folded?: string;
  /** HTML report file. */
  html?: string;
  /** Value of the folded stacks. */
  type: HeapSampleType;
  /** `--go`, which only an allocfreetrace trace's size classes follow. */
  go?: string;
}

/** Analyses an execution trace input; returns the exit code. */
export async function analyzeExecTrace(
  input: Input,
  o: ExecAnalyzeOptions,
): Promise<number> {
  const stacks = new StackTable();
  // The shared consumers (pprof, folded, HTML) see what was allocated while
  // tracing, with the type and the goroutine's creation as its stack. They
  // cost as much as the rest: only when asked for.
  // Its timeline on the trace's clock: the real time axis.
  let now = 0;
  const shared = o.pprof || o.folded || o.html
    ? new TraceAnalyzer(stacks, { now: () => now / 1e9 })
    : null;
  let exec: ExecAnalyzer | undefined;
  const read = await readExecTrace(input, stacks, (e: ExecEvent) => {
    exec!.add(e);
    now = e.time;
    if (shared === null) return;
    if (e.kind === "gc") shared.add(e);
    else if ((e.kind === "alloc" || e.kind === "free") && !e.existing) {
      shared.add(e as TraceEvent);
    }
  }, { quiet: o.quiet, ready: (r) => exec = new ExecAnalyzer(r.types) });
  const result = exec!.finish(read.heap, read.reader.stats.duration);
  // --go picks the rules an allocfreetrace trace's printed sizes are read
  // under; an execution trace has each object's class as its Go ran it.
  // Not a problem of the input: --strict does not fail on it.
  const warnings = o.go === undefined ? read.warnings : [
    ...read.warnings,
    `--go ${o.go} is ignored: an execution trace records each object's size class as its Go ran it`,
  ];
  for (const w of o.quiet && !o.strict ? [] : warnings) {
    console.error(`alloctrace: warning: ${w}`);
  }
  if (o.strict && read.warnings.length > 0) {
    console.error(
      `alloctrace: --strict: ${read.warnings.length} problem(s) in ${input.name}`,
    );
    return 1;
  }
  if (shared !== null) {
    const sharedResult = shared.finish();
    // The same leak candidates as the terminal's (sites are keyed by type).
    const leakTypes = new Set(
      result.types.filter((t) => t.leakCandidate).map((t) => `type:${t.type}`),
    );
    await writeAnalysisOutputs(o, shared.samples(), {
      rate: 1,
      mappingFile: input.name,
      type: o.type,
      report: () => ({
        title: `alloctrace analyze ${input.name}`,
        subtitle: `go 1.${read.reader.stats.version} execution trace, ${
          fmtNs(result.duration)
        }; sites are types, then the allocating goroutine's start and creation`,
        note: existingNote(result, sharedResult),
        analysis: sharedResult,
        leaks: {
          title:
            "Leak candidates (objects that survived a GC, counted at each next GC: only grew; click a row for its stack)",
          keep: (s) => leakTypes.has(s.func),
        },
        timeLabel: "wall time",
        peak: {
          time: result.tracedPeakTime / 1e9,
          ...result.tracedPeakAt,
        },
      }),
    });
  }
  if (o.json) {
    console.log(JSON.stringify(
      {
        file: input.file,
        format: `go 1.${read.reader.stats.version} execution trace`,
        bytes: read.reader.stats.bytes,
        seconds: read.seconds,
        generations: read.reader.stats.generations,
        events: eventCounts(read.reader),
        anomalies: read.heap.anomalies,
        warnings,
        ...result,
      },
      null,
      2,
    ));
  } else {
    console.log(execAnalysisText(input.name, result, read, o.top));
    if (o.html) console.log(`\nwrote ${shown(o.html)} (--html)`);
    if (o.pprof) {
      console.log(
        `\nwrote ${
          shown(o.pprof)
        } (--pprof, exact; frames: type, goroutine start, creation stack)`,
      );
    }
    if (o.folded) console.log(`wrote ${shown(o.folded)} (--folded, ${o.type})`);
  }
  return 0;
}
