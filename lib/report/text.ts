/**
 * An analysis ({@link AnalysisResult}) as terminal text: the summary lines
 * and each table on its own, so a command can print the ones that fit its
 * input (`analyze` prints them all through {@link analysisText}; `native`
 * may leave out the Go-only ones), and each top site and leak candidate
 * followed by its allocation stack, as heaptrack prints backtraces:
 *
 * ```text
 * objects   bytes   cycles  site
 *     300  76,800  1/1.0/1  main.makePayload leak/main.go:30
 *                             ← main.newRecord leak/main.go:38
 *                             ← main.main leak/main.go:52
 * ```
 *
 * Pure: returns strings, prints nothing.
 *
 * @module
 */

import {
  type AnalysisResult,
  BYTES_BUCKETS,
  CYCLE_BUCKETS,
  type SiteStats,
} from "../trace/analyze.ts";
import { frameText, type SiteFrame } from "../trace/sites.ts";
import { countOf, fmtBytes, printable } from "./units.ts";

/** Options of the text tables. */
export interface TextOptions {
  /** Rows per table (default 10). */
  top?: number;
  /** Order of the top-sites table, as a heap profile's sample type (default alloc_space). */
  order?: "alloc_objects" | "alloc_space" | "inuse_objects" | "inuse_space";
  /** Frames of each stack shown under a site, the site frame included (default 4; 0 or 1: none). */
  frames?: number;
  /**
   * Whether the source has GC cycles to count (default true). A C program's
   * trace (`native --trace-out`) has none, so its summary names none.
   */
  gc?: boolean;
}

const n = (x: number) => x.toLocaleString("en-US");

/**
 * Lines of a table: every column right-aligned except the last (the site),
 * two spaces apart; under a row, `stacks[i]`'s frames past the first, each
 * on its own line starting with `← ` below the site column. A table with
 * no site column (`numbers`) right-aligns its last column too.
 */
export function siteTable(
  head: string[],
  rows: string[][],
  stacks: (SiteFrame[] | undefined)[] = [],
  frames = 0,
  numbers = false,
): string[] {
  // (Names come from traces and programs: none acts on the terminal.)
  rows = rows.map((r) => r.map(printable));
  const w = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const indent = " ".repeat(
    w.slice(0, -1).reduce((a, b) => a + b + 2, 0) + 2,
  );
  const line = (cells: string[]) =>
    cells.map((c, i) =>
      i === cells.length - 1 && !numbers ? c : c.padStart(w[i])
    ).join("  ");
  const out = [line(head)];
  rows.forEach((r, i) => {
    out.push(line(r));
    const st = stacks[i];
    if (st === undefined || frames <= 1) return;
    for (const f of st.slice(1, frames)) {
      out.push(
        `${indent}← ${printable(frameText(f))}${f.inlined ? " (inlined)" : ""}`,
      );
    }
    if (st.length > frames) {
      out.push(`${indent}  … ${st.length - frames} more`);
    }
  });
  return out;
}

/** The summary lines: totals, peak, live at the end. */
export function summaryLines(
  name: string,
  r: AnalysisResult,
  gc = true,
): string[] {
  const out = [
    `trace         ${name}: ${countOf(r.allocs, "allocation")} (${
      n(r.allocBytes)
    } bytes), ${countOf(r.frees, "free")}${
      gc ? `, ${countOf(r.gcs, "GC cycle")}` : ""
    }`,
  ];
  if (r.unmatchedFrees > 0) {
    out.push(
      `              ${
        n(r.unmatchedFrees)
      } frees of objects allocated before tracing started`,
    );
  }
  if (r.allocsAtLive > 0) {
    out.push(
      `              ${
        n(r.allocsAtLive)
      } allocations at an address still live (a free not traced?)`,
    );
  }
  out.push(
    `peak live     ${n(r.peakLiveBytes)} bytes${
      r.peakAt.line > 0 ? ` at line ${n(r.peakAt.line)}` : ""
    } (record ${n(r.peakAt.record)}${
      gc ? `, after ${countOf(r.peakAt.cycle, "GC cycle")}` : ""
    })`,
    `live at end   ${n(r.liveBytes)} bytes in ${
      countOf(r.liveObjects, "object")
    }`,
  );
  return out;
}

const ORDER = {
  alloc_objects: ["allocations", (s: SiteStats) => s.allocs],
  alloc_space: ["bytes allocated", (s: SiteStats) => s.allocBytes],
  inuse_objects: ["objects live at the end", (s: SiteStats) => s.live],
  inuse_space: ["bytes live at the end", (s: SiteStats) => s.liveBytes],
} as const;

/** Top sites by bytes allocated (or `opts.order`), each with its heaviest stack. */
export function topSitesTable(
  r: AnalysisResult,
  opts: TextOptions = {},
): string[] {
  const [what, key] = ORDER[opts.order ?? "alloc_space"];
  const sites =
    (opts.order === undefined || opts.order === "alloc_space"
      ? r.sites
      : [...r.sites].filter((s) => key(s) > 0).sort((a, b) => key(b) - key(a)))
      .slice(0, opts.top ?? 10);
  return [
    `top sites by ${what}`,
    ...siteTable(
      ["allocs", "bytes", "frees", "live", "live bytes", "site"],
      sites.map((s) => [
        n(s.allocs),
        n(s.allocBytes),
        n(s.frees),
        n(s.live),
        n(s.liveBytes),
        s.site,
      ]),
      sites.map((s) => s.stack),
      opts.frames ?? 4,
    ),
  ];
}

/** Top sites by number of allocations (no stacks: the table above has them). */
export function topCountTable(
  r: AnalysisResult,
  opts: TextOptions = {},
): string[] {
  return [
    "top sites by allocations",
    ...siteTable(
      ["allocs", "bytes", "site"],
      [...r.sites].sort((a, b) => b.allocs - a.allocs).slice(0, opts.top ?? 10)
        .map((s) => [n(s.allocs), n(s.allocBytes), s.site]),
    ),
  ];
}

/** The sites with objects live at the end, by live bytes. */
export function leakSites(r: AnalysisResult): SiteStats[] {
  return r.sites.filter((s) => s.live > 0).sort((a, b) =>
    b.liveBytes - a.liveBytes
  );
}

/**
 * Leak candidates: live at the end, with the GC cycles they survived
 * (`cycles: false` leaves that column out, for traces with no GC) and the
 * stack holding most of their live bytes.
 */
export function leakTable(
  r: AnalysisResult,
  opts: TextOptions & { cycles?: boolean } = {},
): string[] {
  const cycles = opts.cycles ?? true;
  const leaks = leakSites(r).slice(0, opts.top ?? 10);
  return [
    cycles
      ? "leak candidates (allocated, never freed; GC cycles survived min/mean/max)"
      : "leak candidates (allocated, never freed)",
    ...siteTable(
      cycles
        ? ["objects", "bytes", "cycles", "site"]
        : ["objects", "bytes", "site"],
      leaks.map((s) =>
        cycles
          ? [
            n(s.live),
            n(s.liveBytes),
            `${s.liveCyclesMin}/${
              (s.liveCyclesSum / s.live).toFixed(1)
            }/${s.liveCyclesMax}`,
            s.site,
          ]
          : [n(s.live), n(s.liveBytes), s.site]
      ),
      leaks.map((s) => s.liveStack),
      opts.frames ?? 4,
    ),
  ];
}

/** Lifetimes of freed objects in GC cycles ({@link CYCLE_BUCKETS}). */
export function lifetimeCyclesTable(
  r: AnalysisResult,
  opts: TextOptions = {},
): string[] {
  const cyc = [
    ...CYCLE_BUCKETS.map((b, i) => (i === 0 ? "0" : `≤${b}`)),
    `>${CYCLE_BUCKETS.at(-1)}`,
  ];
  return [
    "lifetimes of freed objects: GC cycles between allocation and free",
    ...siteTable(
      [...cyc, "site"],
      r.sites.filter((s) => s.frees > 0).slice(0, opts.top ?? 10).map((
        s,
      ) => [...s.lifetimeCycles.map(n), s.site]),
    ),
  ];
}

/** Lifetimes of freed objects in bytes allocated between ({@link BYTES_BUCKETS}). */
export function lifetimeBytesTable(
  r: AnalysisResult,
  opts: TextOptions = {},
): string[] {
  return [
    "lifetimes of freed objects: bytes allocated between allocation and free",
    ...siteTable(
      [
        ...BYTES_BUCKETS.map((b) => `≤${fmtBytes(b)}`),
        `>${fmtBytes(BYTES_BUCKETS.at(-1)!)}`,
        "site",
      ],
      r.sites.filter((s) => s.frees > 0).slice(0, opts.top ?? 10).map((
        s,
      ) => [...s.lifetimeBytes.map(n), s.site]),
    ),
  ];
}

/** Go's size classes with internal fragmentation (every rounded size seen). */
export function sizeClassTable(r: AnalysisResult): string[] {
  return [
    "size classes (fragmentation: rounded size against mallocgc's requested size, where the trace shows it)",
    ...siteTable(
      ["size", "count", "bytes", "fragmentation"],
      r.sizes.map((s) => [
        n(s.size),
        n(s.count),
        n(s.size * s.count),
        s.known > 0 ? `${(100 * s.fragmentation).toFixed(1)}%` : "-",
      ]),
    ),
  ];
}

/**
 * Renders an analysis as text: the summary, then the tables, each top
 * site and leak candidate with up to `frames` frames of its stack.
 * `opts` may be a number: the rows per table (older callers).
 *
 * @example
 * ```ts
 * import { analysisText } from "./text.ts";
 * import { TraceAnalyzer } from "../trace/analyze.ts";
 * import { StackTable } from "../trace/events.ts";
 * const st = new StackTable();
 * const f = (func: string, line: number) => ({ func, file: "m.go", line, pc: 0, inlined: false });
 * const s = st.intern([f("runtime.mallocgc", 1), f("main.leaf", 7), f("main.main", 3)]);
 * const a = new TraceAnalyzer(st);
 * a.add({ kind: "alloc", addr: 1, size: 64, type: null, requested: 0, goroutine: 1, stack: s, lineNo: 1 });
 * const text = analysisText("t", a.finish(), { top: 5, frames: 3 });
 * if (!text.includes("main.leaf m.go:7\n") || !text.includes("← main.main m.go:3")) throw new Error(text);
 * ```
 */
export function analysisText(
  name: string,
  r: AnalysisResult,
  opts: TextOptions | number = {},
): string {
  const o: TextOptions = typeof opts === "number" ? { top: opts } : opts;
  return [
    summaryLines(name, r, o.gc ?? true),
    topSitesTable(r, o),
    topCountTable(r, o),
    leakTable(r, o),
    lifetimeCyclesTable(r, o),
    lifetimeBytesTable(r, o),
    sizeClassTable(r),
  ].map((t) => t.join("\n")).join("\n\n");
}
