/**
 * The self-contained HTML report: one file with its data and code inline
 * (no network, no CDN, no library: see {@link PAGE}'s module for why),
 * that opens offline:
 *
 * - allocation stacks as an icicle, a flame graph, or inverted (bottom-up:
 *   sites first, then their callers) — click to zoom (the ancestors stay
 *   visible above), search highlights, file:line in tooltips, grouped by
 *   function or by function and line; the selected function's callers and
 *   callees with their file:line;
 * - the exact profile, and beside it the sampled one labelled with its rate
 *   when the producer had one;
 * - the live heap over time with real axes and ticks (simulated or wall
 *   time, bytes allocated, or GC cycles), GC cycles marked, ≤ 2,000 points;
 *   hovering shows the live bytes of the top sites at that moment;
 * - top sites and leak candidates whose rows expand to their stacks,
 *   lifetimes, size classes;
 * - for `diff`: a table of per-site deltas in both directions and a
 *   differential flame graph where a node's width is the larger of A and B,
 *   so stacks only in A stay visible (blue: shrank, red: grew).
 *
 * The data model is general: samples are lists of frames with four values
 * (alloc/inuse × objects/bytes), sites are keyed by a frame list
 * ({@link SiteStats}), so any producer (allocfreetrace, native, execution
 * traces) renders through {@link renderReport}.
 *
 * @module
 */

import type { AnalysisResult, SiteStats } from "../trace/analyze.ts";
import {
  BYTES_BUCKETS,
  CYCLE_BUCKETS,
  MAX_TIMELINE,
} from "../trace/analyze.ts";
import type { HeapSample } from "../profile/proto.ts";
import type { SiteBy, SiteFrame } from "../trace/sites.ts";
import { PAGE } from "./_page.ts";
import { fmtBytes } from "./units.ts";

/** One site's change for the diff page: values are alloc/inuse × objects/bytes. */
export interface DiffSite {
  /** The site's key. */
  site: string;
  /** Values in A. */
  a: readonly number[];
  /** Values in B. */
  b: readonly number[];
}

/** What a report shows. */
export interface ReportInput {
  /** Page title. */
  title: string;
  /** One line under the title (what was run or read, settings). */
  subtitle: string;
  /** Flame-graph samples (leaf-first frames, four values each). */
  samples: readonly HeapSample[];
  /** A sampled heap profile of the same run, shown beside the exact samples, labelled with its rate. */
  sampled?: { rate: number; samples: readonly HeapSample[] };
  /**
   * Which profile the flame graph opens on (default exact): `replay`'s
   * subject is the profile sampled at its MemProfileRate.
   */
  show?: "exact" | "sampled";
  /** Base samples for a differential view (diff A B: these are A's). */
  base?: readonly HeapSample[];
  /** Per-site deltas for the diff page's table. */
  diffSites?: readonly DiffSite[];
  /** The analysis (timeline, sites, lifetimes, sizes), when there is one. */
  analysis?: AnalysisResult;
  /** Where the flame graph's values come from (e.g. "exact" or "sampled at 524288"). */
  note?: string;
  /** How the sites were keyed (default line): the flame graph groups frames by line unless `func`. */
  by?: SiteBy;
  /** What the timeline's time axis is ("simulated time", "wall time"), when points carry a time. */
  timeLabel?: string;
  /**
   * When the analysis' peak (its `peakLiveBytes`) happened, when the
   * producer knows: bytes allocated and GC cycles until then, and the time
   * on the timeline's clock (seconds). The page then marks the exact peak
   * (a point of its own where the timeline has none) and gives its time.
   */
  peak?: { time?: number; alloc: number; cycle: number };
  /**
   * Which sites are leak candidates and the section's title, when the
   * producer defines them otherwise than "allocated, never freed" (an
   * execution trace: types whose live count only grew).
   */
  leaks?: { title: string; keep: (site: SiteStats) => boolean };
  /**
   * False when the producer has no GC cycles nor size classes (native
   * malloc/free): the page leaves out the GC sections, shows lifetimes in
   * bytes allocated in between and sizes rounded up to a power of two.
   */
  gc?: boolean;
  /**
   * The processes of a native run (a table when there are two or more, as
   * in the text report).
   */
  processes?: readonly ReportProcess[];
  /**
   * Lifetimes in bytes allocated in between as the producer buckets them,
   * when otherwise than the analysis (native: buckets up to 64 MB, as its
   * text and JSON show; the rule is the same, the other objects' bytes, not
   * the object's own): the buckets' upper bounds (the last bucket is open)
   * and each site's counts by name.
   */
  lifetimeBytes?: {
    buckets: readonly number[];
    sites: ReadonlyMap<string, readonly number[]>;
  };
  /**
   * MemStats' peak beside the exact one (`run`): HeapAlloc at its largest
   * GC start (gctrace's figure) or at the end, and the bytes of it no
   * record shows (untraced start-up objects, Go 1.22's allocation headers).
   * The page names them where the two peaks differ.
   */
  heapAlloc?: { peak: number; at: "gc start" | "end"; untraced: number };
  /**
   * Frees the producer skipped, of objects allocated before tracing
   * started (`replay`: its text and JSON name them); the summary names them
   * beside its frees.
   */
  skippedFrees?: number;
}

/** One process of a native run, for the processes table. */
export interface ReportProcess {
  /** Process id. */
  pid: number;
  /** Its images (executables), in order. */
  images: readonly string[];
  /** Allocations. */
  allocs: number;
  /** Bytes allocated. */
  allocBytes: number;
  /** Frees. */
  frees: number;
  /** Bytes live at the end. */
  liveBytes: number;
}

interface PageSample {
  f: number[];
  v: number[];
}

/** Interns frames as [func, file, line] in a shared table. */
class _Frames {
  readonly list: [string, string, number][] = [];
  readonly #ids = new Map<string, number>();
  id(f: { func: string; file: string; line: number }): number {
    const k = `${f.func}\u0000${f.file}\u0000${f.line}`;
    let i = this.#ids.get(k);
    if (i === undefined) {
      i = this.list.length;
      this.list.push([f.func, f.file, f.line]);
      this.#ids.set(k, i);
    }
    return i;
  }
  /** Root-first frame ids of leaf-first frames. */
  samples(samples: readonly HeapSample[]): PageSample[] {
    return samples.map((s) => ({
      f: [...s.frames].reverse().map((fr) => this.id(fr)),
      v: [...s.values],
    }));
  }
  stack(st: readonly SiteFrame[]): (number | [number, 1])[] {
    return st.map((f) => (f.inlined ? [this.id(f), 1] : this.id(f)));
  }
}

function _cycles(s: SiteStats): string {
  return s.live > 0
    ? `${s.liveCyclesMin}/${
      (s.liveCyclesSum / s.live).toFixed(1)
    }/${s.liveCyclesMax}`
    : "";
}

/**
 * Renders the report page.
 *
 * @example
 * ```ts
 * import { renderReport } from "./html.ts";
 * const html = renderReport({ title: "t", subtitle: "s", samples: [{ values: [1, 64, 1, 64], frames: [{ func: "main.f", file: "m.go", line: 1 }] }] });
 * if (!html.startsWith("<!DOCTYPE html>") || html.includes("http://") || html.includes("https://")) throw new Error();
 * if (!html.includes('"m.go",1')) throw new Error("frames carry file:line");
 * ```
 */
export function renderReport(input: ReportInput): string {
  const fr = new _Frames();
  const samples = fr.samples(input.samples);
  const base = input.base ? fr.samples(input.base) : null;
  const sampled = input.sampled
    ? { rate: input.sampled.rate, samples: fr.samples(input.sampled.samples) }
    : null;
  const a = input.analysis;
  const gc = input.gc !== false;
  const sites = (a?.sites ?? []).slice(0, 500);
  // Leak candidates: every site with live objects, by live bytes (up to 500).
  const keep = input.leaks?.keep ?? ((s: SiteStats) => s.live > 0);
  const leaks = (a?.sites ?? []).filter(keep)
    .sort((x, y) => y.liveBytes - x.liveBytes).slice(0, 500);
  const lb = input.lifetimeBytes;
  const bytesBuckets = lb?.buckets ?? BYTES_BUCKETS;
  const siteRow = (s: SiteStats) => ({
    site: s.site,
    loc: s.file ? (s.line > 0 ? `${s.file}:${s.line}` : s.file) : "",
    allocs: s.allocs,
    allocBytes: s.allocBytes,
    frees: s.frees,
    live: s.live,
    liveBytes: s.liveBytes,
    cycles: _cycles(s),
    lifetime: s.lifetimeCycles,
    lifetimeBytes: lb === undefined
      ? s.lifetimeBytes
      : lb.sites.get(s.site) ?? new Array(lb.buckets.length + 1).fill(0),
    stack: fr.stack(s.stack),
    liveStack: fr.stack(s.liveStack),
  });
  const data = {
    title: input.title,
    subtitle: input.subtitle,
    note: input.note ?? "",
    by: input.by ?? "line",
    timeLabel: input.timeLabel ?? "time",
    types: ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"],
    frames: fr.list,
    samples,
    sampled,
    show: sampled !== null && input.show === "sampled" ? "sampled" : "exact",
    base,
    diffSites: input.diffSites
      ? input.diffSites.slice(0, 2000).map((d) => ({
        site: d.site,
        a: [...d.a],
        b: [...d.b],
      }))
      : null,
    gc,
    ..._namedOnce(_withStart(a?.timeline ?? [], input.peak?.time)),
    peak: input.peak ?? null,
    heapAlloc: input.heapAlloc ?? null,
    gcMarks: a?.gcMarks ?? [],
    summary: a
      ? {
        allocs: a.allocs,
        allocBytes: a.allocBytes,
        frees: a.frees,
        skippedFrees: input.skippedFrees ?? 0,
        gcs: a.gcs,
        peakLive: a.peakLiveBytes,
        liveBytes: a.liveBytes,
        liveObjects: a.liveObjects,
      }
      : null,
    sites: sites.map(siteRow),
    leaks: leaks.map(siteRow),
    leakTitle: input.leaks?.title ?? null,
    cycleBuckets: [
      ...CYCLE_BUCKETS.map((b, i) => (i === 0 ? "0" : `≤${b}`)),
      `>${CYCLE_BUCKETS.at(-1)}`,
    ],
    bytesBuckets: [
      ...bytesBuckets.map((b) => `≤${fmtBytes(b)}`),
      `>${fmtBytes(bytesBuckets.at(-1)!)}`,
    ],
    sizes: gc ? a?.sizes ?? [] : _pow2Sizes(a?.sizes ?? []),
    processes: _processes(input.processes ?? []),
  };
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  // Function replacers: a string replacement would read `$&`, `$'`… in
  // the data as patterns.
  return PAGE.replace("/*DATA*/", () => json).replace(
    "<!--TITLE-->",
    () => escapeHtml(input.title),
  );
}

/**
 * The timeline starts from the empty heap: a short run (no GC cycle, all
 * its points at its end) would otherwise draw as a dot. The start takes the
 * first point's time (producers' clocks do not all start at 0), or the
 * exact peak's, `peakTime`, when that is earlier: a small peak before the
 * first point was drawn before the start, the line running backwards
 * (review1 #5).
 */
function _withStart(
  t: AnalysisResult["timeline"],
  peakTime?: number,
): unknown[] {
  if (t.length === 0 || t[0].alloc === 0 || t.length >= MAX_TIMELINE) return t;
  const start = { alloc: 0, cycle: 0, live: 0, at: "start", top: [] };
  const time = t[0].time;
  return [
    time === undefined ? start : {
      ...start,
      time: peakTime !== undefined && peakTime < time ? peakTime : time,
    },
    ...t,
  ];
}

/**
 * The timeline with each point's top sites as indices into `topNames`, each
 * name written once: a long name (a C++ template's) at up to 2,000 points
 * made the page tens of megabytes. The page puts the names back.
 */
function _namedOnce(
  t: unknown[],
): { timeline: unknown[]; topNames: string[] } {
  const index = new Map<string, number>();
  const timeline = (t as { top: [string, number][] }[]).map((p) => ({
    ...p,
    top: p.top.map(([site, bytes]) => {
      let i = index.get(site);
      if (i === undefined) index.set(site, i = index.size);
      return [i, bytes];
    }),
  }));
  return { timeline, topNames: [...index.keys()] };
}

/**
 * The processes table's rows in pid order, none for a single process; a
 * forking server can make thousands: the 500 with most bytes.
 */
function _processes(ps: readonly ReportProcess[]): unknown[] {
  if (ps.length < 2) return [];
  const shown = ps.length <= 500 ? ps : [...ps]
    .sort((x, y) => y.allocBytes - x.allocBytes || x.pid - y.pid).slice(0, 500);
  return [...shown].sort((x, y) => x.pid - y.pid).map((p) => ({
    pid: p.pid,
    allocs: p.allocs,
    allocBytes: p.allocBytes,
    frees: p.frees,
    liveBytes: p.liveBytes,
    image: p.images.join(" → "),
  }));
}

/** Byte sizes (malloc's requests) gathered by the power of two above them. */
function _pow2Sizes(sizes: AnalysisResult["sizes"]): AnalysisResult["sizes"] {
  const by = new Map<number, [number, number]>();
  for (const s of sizes) {
    let p = 1;
    while (p < s.size) p *= 2;
    const b = by.get(p) ?? [0, 0];
    by.set(p, [b[0] + s.count, b[1] + s.count * s.size]);
  }
  // `requested`: the bytes asked for (the page shows them, not size × count).
  return [...by].sort((x, y) => x[0] - y[0]).map(([size, [count, bytes]]) => ({
    size,
    count,
    requested: bytes,
    known: 0,
    fragmentation: 0,
  }));
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}
