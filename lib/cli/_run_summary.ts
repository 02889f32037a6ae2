/**
 * `alloctrace run`'s summary, as JSON and as text: the run's figures, the
 * exact per-site tables (every allocation) and, beside them, the heap
 * profile sampled at MemProfileRate.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import type { MemStats } from "../runtime/mstats.ts";
import {
  HEAP_SAMPLE_TYPES,
  type HeapSample,
  type HeapSampleType,
} from "../profile/proto.ts";
import type { AnalysisResult, SiteStats } from "../trace/analyze.ts";
import { topSitesTable } from "../report/text.ts";
import { callTree } from "../report/tree.ts";
import { fmtBytes } from "./_top.ts";
import { stdoutColor } from "./_output.ts";
import { shown } from "./_usage.ts";
import type { heapLimitJson } from "./_heap_limit.ts";

/** What a finished run hands to its summary. */
export interface RunResult {
  /** The workload's name (or script). */
  name: string;
  /** Its parameters. */
  args: Record<string, number>;
  /** A script's arguments (undefined for a built-in workload). */
  scriptArgs?: string[];
  /** The runtime after the run. */
  rt: Runtime;
  /** `rt.readMemStats()` after the run. */
  stats: MemStats;
  /**
   * MemStats' peak, gctrace's figure: the largest HeapAlloc at a GC start,
   * or at the end when larger, and the bytes of it no record shows (the
   * start-up's objects allocated before GODEBUG was read and live then,
   * go1.22's 8-byte allocation headers): HeapAlloc less them is a moment of
   * the exact figures, so never above their peak.
   */
  peak: { heapAlloc: number; at: "gc start" | "end"; untraced: number };
  /** Wall seconds of the run. */
  seconds: number;
  /** The exact analysis of every allocation. */
  analysis: AnalysisResult;
  /** Its samples (every allocation). */
  exact: HeapSample[];
  /** The heap profile's samples at MemProfileRate. */
  sampled: HeapSample[];
  /** Tiny allocations combined into earlier blocks (never traced). */
  tinyCombined: number;
  /** `--folded-type`: the order of the top table. */
  type: HeapSampleType;
  /** Frames of each top site's stack in the text. */
  frames: number;
  /** Outputs written, option (without `--`) → path. */
  written: Record<string, string>;
  /** The heap limit, as `--json` gives it. */
  heapLimit: ReturnType<typeof heapLimitJson>;
  /** `--trace-out`'s path and what went into it, when tracing to a file. */
  trace?: {
    path: string;
    counts: { allocs: number; frees: number; gcs: number };
  };
}

const SITE_VALUE = {
  alloc_objects: (s: SiteStats) => s.allocs,
  alloc_space: (s: SiteStats) => s.allocBytes,
  inuse_objects: (s: SiteStats) => s.live,
  inuse_space: (s: SiteStats) => s.liveBytes,
} as const;

function _exactTotal(sites: SiteStats[], type: HeapSampleType): number {
  return sites.reduce((a, s) => a + SITE_VALUE[type](s), 0);
}

function _sampledTotal(r: RunResult): number {
  const k = HEAP_SAMPLE_TYPES.indexOf(r.type);
  return r.sampled.reduce((a, s) => a + s.values[k], 0);
}

/** The top `n` sites by `type`, for JSON: numbers as numbers, file, line and stack. */
function _topSites(sites: SiteStats[], type: HeapSampleType, n: number) {
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

/** Allocations per second of real time. */
function _allocsPerSecond(r: RunResult): number {
  return Math.round(r.stats.Mallocs / r.seconds);
}

/** A rate with two or more significant digits: `6.7 M`, `45 k`, `850`. */
function _rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M`;
  if (perSecond >= 1e4) return `${Math.round(perSecond / 1e3)} k`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return `${Math.round(perSecond)}`;
}

/** GOGC as Go spells it: a percentage or `off`. */
export function gogcText(rt: Runtime): string {
  return rt.gcpercent < 0 ? "off" : String(rt.gcpercent);
}

/** The summary as `--json` prints it. */
export function runJson(r: RunResult): Record<string, unknown> {
  const { rt, analysis } = r;
  return {
    workload: r.name,
    args: r.args,
    preset: rt.preset.name,
    go: rt.preset.goVersion,
    gomaxprocs: rt.gomaxprocs,
    gogc: rt.gcpercent,
    seconds: r.seconds,
    simulatedSeconds: rt.clock / 1e9,
    allocsPerSecond: _allocsPerSecond(r),
    // MemStats' peak (gctrace's): it counts what no record shows, which
    // peakHeapAllocUntraced names; less those it is never above
    // exact.peakLiveBytes.
    peakHeapAlloc: r.peak.heapAlloc,
    peakHeapAllocAt: r.peak.at,
    peakHeapAllocUntraced: r.peak.untraced,
    memstats: r.stats,
    memProfileRate: rt.memProfileRate,
    heapLimit: r.heapLimit,
    written: r.written,
    // Exact, from every allocation: the same figures as the summary's table.
    exact: {
      allocs: analysis.allocs,
      allocBytes: analysis.allocBytes,
      frees: analysis.frees,
      liveObjects: analysis.liveObjects,
      liveBytes: analysis.liveBytes,
      peakLiveBytes: analysis.peakLiveBytes,
    },
    // Not in `exact` nor in any table: counted by MemStats.Mallocs and Frees
    // only.
    tinyAllocsCombined: r.tinyCombined,
    // The start-up's objects allocated before GODEBUG was read: no record,
    // so not in `exact.allocs`, but their frees (when a GC finds them dead)
    // are in `exact.frees`. So memstats.Mallocs = exact.allocs +
    // tinyAllocsCombined + untraced.allocs, and memstats.TotalAlloc =
    // exact.allocBytes + untraced.bytes (go1.22: + 8 per allocation header).
    untraced: { ...rt.untraced, frees: analysis.unmatchedFrees },
    top: _topSites(analysis.sites, r.type, 10),
    // The heap profile at MemProfileRate, un-sampled as pprof does: an estimate.
    sampledProfile: rt.memProfileRate === 0 ? null : {
      rate: rt.memProfileRate,
      type: r.type,
      total: _sampledTotal(r),
    },
  };
}

/**
 * True when no allocation has a frame of its own: a script that pushes no
 * Go frames (no `rt.call`/`rt.enter`), run without `--stacks js`. Its one
 * site would be the main goroutine's bottom frame, `runtime.main` at the
 * line that calls main.main (or `?` on another goroutine), and its call
 * tree that frame alone.
 */
function _sitesUnknown(r: RunResult): boolean {
  const sites = r.analysis.sites;
  const bottom = r.rt.preset.frames.mainBottom[0];
  return sites.length > 0 && sites.every((s) =>
    s.stack.length === 0 ||
    (s.stack.length === 1 && s.stack[0].func === bottom.func &&
      s.stack[0].line === bottom.line)
  );
}

/** The summary as the terminal shows it. */
export function runText(r: RunResult): string {
  return [
    ..._figureLines(r),
    "",
    ...(_sitesUnknown(r)
      ? [
        "sites         unknown: the workload gives its allocations no Go frames (rt.call, rt.enter);",
        "              run it with --stacks js for its own JS functions and lines",
      ]
      : [
        ...topSitesTable(r.analysis, {
          top: 10,
          frames: r.frames,
          order: r.type,
        }).map((l, i) => i === 0 ? `${l} (exact: every allocation)` : l),
        ...(r.exact.length === 0 ? [] : [
          "",
          `call tree by ${r.type} (exact):`,
          ...callTree(r.exact, { type: r.type, color: stdoutColor() }),
        ]),
      ]),
    "",
    _profileLine(r),
    ...Object.entries(r.written).map(([opt, path]) =>
      `wrote ${shown(path)} (--${opt})`
    ),
    ...(r.trace === undefined ? [] : [
      `wrote ${shown(r.trace.path)} (allocfreetrace: ${
        _n(r.trace.counts.allocs)
      } allocations, ${_n(r.trace.counts.frees)} frees, ${
        _n(r.trace.counts.gcs)
      } GCs)`,
    ]),
  ].join("\n");
}

const _n = (n: number) => n.toLocaleString("en-US");

/** The run's figures: workload, allocations, frees, GCs, heap, time. */
function _figureLines(r: RunResult): string[] {
  const { rt, stats, analysis, tinyCombined } = r;
  // A built-in's parameters, or a script's arguments (quoted where a
  // space would hide where one ends).
  const argText = r.scriptArgs === undefined
    ? Object.entries(r.args).map(([k, v]) => `${k} ${v}`).join(", ")
    : r.scriptArgs.length === 0
    ? ""
    : `arguments: ${
      r.scriptArgs.map((a) => /^[^\s"]+$/.test(a) ? a : JSON.stringify(a))
        .join(" ")
    }`;
  return [
    `workload      ${shown(r.name)}${
      argText === "" ? "" : ` (${argText})`
    } on ${rt.preset.name} (${rt.preset.goVersion} model), GOMAXPROCS=${rt.gomaxprocs}, GOGC=${
      gogcText(rt)
    }`,
    `allocations   ${_n(analysis.allocs)} (${_n(analysis.allocBytes)} bytes)${
      tinyCombined === 0
        ? ""
        : ` + ${
          _n(tinyCombined)
        } tiny allocations combined into earlier blocks (MemStats.Mallocs ${
          _n(stats.Mallocs)
        })`
    }`,
    ..._untracedLine(r),
    `frees         ${_n(analysis.frees)}${
      tinyCombined === 0
        ? ""
        : ` (MemStats.Frees ${_n(stats.Frees)} also counts the tiny ones)`
    }`,
    `GC cycles     ${stats.NumGC}`,
    _liveHeapLine(r),
    `heap          ${_n(stats.HeapInuse)} bytes in use of ${
      _n(stats.HeapSys)
    } mapped; next GC at ${_n(stats.NextGC)}`,
    `time          ${(rt.clock / 1e6).toFixed(1)} ms simulated; ${
      r.seconds.toFixed(2)
    } s real, ${_rate(_allocsPerSecond(r))} simulated allocations/s`,
  ];
}

/**
 * The exact peak (every allocation and free, as the report and --json's
 * exact.peakLiveBytes show it); MemStats' (gctrace's) beside it when it
 * differs, with the bytes of it no record shows, so the two never
 * contradict each other; the final HeapAlloc, with its untraced bytes.
 */
function _liveHeapLine(r: RunResult): string {
  const { stats, analysis, peak } = r;
  const untraced = (u: number) => u === 0 ? "" : `, of which ${_n(u)} untraced`;
  const memPeak =
    peak.heapAlloc === analysis.peakLiveBytes && peak.untraced === 0
      ? ""
      : ` (${_n(peak.heapAlloc)} at ${
        peak.at === "end" ? "the end" : "a GC start"
      }${untraced(peak.untraced)})`;
  const finalUntraced = stats.HeapAlloc - analysis.liveBytes;
  return `live heap     peak ${
    _n(analysis.peakLiveBytes)
  } bytes${memPeak}, final ${_n(stats.HeapAlloc)} bytes${
    finalUntraced === 0 ? "" : ` (of which ${_n(finalUntraced)} untraced)`
  } in ${_n(stats.HeapObjects)} object${stats.HeapObjects === 1 ? "" : "s"}`;
}

/**
 * The objects allocated before GODEBUG was read, as analyze names the frees
 * of such objects: counted by MemStats, not by `allocations`, yet their
 * frees are among `frees` (without this line the figures do not add up to
 * the final objects).
 */
function _untracedLine(r: RunResult): string[] {
  const { allocs, bytes } = r.rt.untraced;
  if (allocs === 0) return [];
  return [
    `              + ${_n(allocs)} allocated before GODEBUG was read (${
      _n(bytes)
    } bytes, untraced), ${_n(r.analysis.unmatchedFrees)} of them freed`,
  ];
}

/** The sampled heap profile's total beside the exact one. */
function _profileLine(r: RunResult): string {
  const { rt, type } = r;
  if (rt.memProfileRate === 0) return "heap profile  off (--memprofilerate 0)";
  const unit = (v: number) => type.endsWith("space") ? fmtBytes(v) : _n(v);
  return `heap profile  sampled at MemProfileRate=${rt.memProfileRate}: ${type} ${
    unit(_sampledTotal(r))
  } estimated from its samples, un-sampled as pprof does (exact: ${
    unit(_exactTotal(r.analysis.sites, type))
  })`;
}
