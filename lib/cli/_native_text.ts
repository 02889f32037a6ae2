/**
 * `alloctrace native`'s report, in malloc's terms: sites, leaks at exit
 * with their age, lifetimes in wall time and in bytes allocated between,
 * and a power-of-two size histogram; no GC cycles, no size classes (a Go
 * trace's report has those, lib/cli/analyze.ts).
 *
 * @module
 */

import type { AnalysisResult, SiteStats } from "../trace/analyze.ts";
import { countOf, fmtBytes } from "../report/units.ts";
import { shown } from "./_usage.ts";
import { endOf, signalName } from "./_program_end.ts";
import {
  leakSites,
  siteTable,
  topCountTable,
  topSitesTable,
} from "../report/text.ts";
import {
  BETWEEN_BUCKETS,
  type NativeSiteLifetimes,
  type SizeBucket,
  WALL_BUCKETS,
} from "./_native_buckets.ts";
import type { ProcessStats } from "./_native_sink.ts";

/** Everything the native report shows. */
export interface NativeReport {
  /** The traced command. */
  command: string[];
  /** Its exit code. */
  exitCode: number;
  /** The signal that killed it (0 or absent: it exited). */
  signal?: number;
  /** Wall time of the run, in seconds. */
  seconds: number;
  /** The analysis of every call. */
  analysis: AnalysisResult;
  /** Lifetimes per site. */
  lifetimes: NativeSiteLifetimes[];
  /** Sizes by power of two. */
  sizes: SizeBucket[];
  /** Per process (fork children, exec'd images). */
  processes: ProcessStats[];
  /** A process attached to (`-p`): it was detached from, not ended. */
  attached?: boolean;
  /** Blocks live at an exec, dropped with their image (not leaks). */
  droppedAtExec: { blocks: number; bytes: number };
  /** Frees by fork children of blocks inherited from their parent. */
  inheritedFrees: number;
}

const n = (x: number) => x.toLocaleString("en-US");

/** A duration in ms as a short label (1ms, 10s). */
function msLabel(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The sizes to show: the `top` buckets with most allocations, in size order. */
export function topSizes(
  sizes: readonly SizeBucket[],
  top: number,
): SizeBucket[] {
  return [...sizes].sort((a, b) => b.count - a.count || a.limit - b.limit)
    .slice(0, top).sort((a, b) => a.limit - b.limit);
}

/** A site's figures without the Go-only ones (GC cycles, requested sizes). */
function nativeSite(s: SiteStats) {
  const {
    liveCyclesMin: _a,
    liveCyclesMax: _b,
    liveCyclesSum: _c,
    lifetimeCycles: _d,
    lifetimeBytes: _e,
    requestedBytes: _f,
    requestedKnown: _g,
    ...rest
  } = s;
  return rest;
}

/** The report as a JSON document (numbers as numbers). */
export function nativeJson(r: NativeReport, top: number): unknown {
  const a = r.analysis;
  return {
    command: r.command,
    exitCode: r.exitCode,
    signal: r.signal ? signalName(r.signal) : null,
    seconds: r.seconds,
    allocs: a.allocs,
    allocBytes: a.allocBytes,
    frees: a.frees,
    unmatchedFrees: a.unmatchedFrees,
    peakLiveBytes: a.peakLiveBytes,
    liveBytes: a.liveBytes,
    liveObjects: a.liveObjects,
    droppedAtExec: r.droppedAtExec,
    inheritedFrees: r.inheritedFrees,
    sites: a.sites.map(nativeSite),
    lifetimes: {
      wallMsBuckets: WALL_BUCKETS,
      bytesBetweenBuckets: BETWEEN_BUCKETS,
      sites: r.lifetimes,
    },
    sizes: topSizes(r.sizes, top),
    processes: r.processes,
  };
}

/** The report as text tables, `top` rows each, `frames` frames of each site's stack. */
export function nativeText(
  r: NativeReport,
  top: number,
  frames = 4,
): string {
  const a = r.analysis;
  const out: string[] = [];
  out.push(
    r.attached
      ? `program       ${r.command.map(shown).join(" ")}: detached after ${
        r.seconds.toFixed(2)
      } s, runs on`
      : `program       ${r.command.map(shown).join(" ")}: ${
        endOf(r.exitCode, r.signal)
      }, ${r.seconds.toFixed(2)} s`,
    `calls         ${countOf(a.allocs, "allocation")} (${
      countOf(a.allocBytes, "byte")
    }), ${countOf(a.frees, "free")}`,
  );
  if (a.unmatchedFrees > 0) {
    out.push(
      `              ${
        a.unmatchedFrees === 1
          ? "1 free of a block"
          : `${n(a.unmatchedFrees)} frees of blocks`
      } allocated before tracing started`,
    );
  }
  if (r.inheritedFrees > 0) {
    out.push(
      `              ${
        r.inheritedFrees === 1
          ? "1 free by a fork child of a block inherited from its parent"
          : `${
            n(r.inheritedFrees)
          } frees by fork children of blocks inherited from their parent`
      }`,
    );
  }
  if (r.droppedAtExec.blocks > 0) {
    out.push(
      `              ${countOf(r.droppedAtExec.blocks, "block")} (${
        countOf(r.droppedAtExec.bytes, "byte")
      }) live at an exec, ${
        r.droppedAtExec.blocks === 1
          ? "dropped with its image (not a leak)"
          : "dropped with their image (not leaks)"
      }`,
    );
  }
  out.push(
    `peak live     ${countOf(a.peakLiveBytes, "byte")} (call ${
      n(a.peakAt.record)
    })`,
    `live at ${r.attached ? "end " : "exit"}  ${
      countOf(a.liveBytes, "byte")
    } in ${countOf(a.liveObjects, "block")}`,
  );
  const table = (
    title: string,
    head: string[],
    rows: string[][],
    numbers = false,
  ) => {
    out.push("", title, ...siteTable(head, rows, [], 0, numbers));
  };
  if (r.processes.length > 1) {
    // A forking server can make thousands: the `top` with most bytes.
    const shown = r.processes.length <= top ? r.processes : [...r.processes]
      .sort((x, y) => y.allocBytes - x.allocBytes || x.pid - y.pid)
      .slice(0, top).sort((x, y) => x.pid - y.pid);
    table(
      shown.length < r.processes.length
        ? `processes (the ${shown.length} of ${r.processes.length} with most bytes; --pid PID reports one)`
        : "processes (--pid PID reports one)",
      ["pid", "allocs", "bytes", "frees", "live bytes", "image"],
      shown.map((p) => [
        String(p.pid),
        n(p.allocs),
        n(p.allocBytes),
        n(p.frees),
        n(p.liveBytes),
        p.images.join(" → "),
      ]),
    );
  }
  out.push("", ...topSitesTable(a, { top, frames }));
  out.push("", ...topCountTable(a, { top }));
  const age = new Map(r.lifetimes.map((l) => [l.site, l.oldestLiveMs]));
  const leaks = leakSites(a).slice(0, top);
  out.push(
    "",
    "leaks at exit (allocated, never freed; age of the oldest block)",
    ...siteTable(
      ["blocks", "bytes", "oldest", "site"],
      leaks.map((s) => [
        n(s.live),
        n(s.liveBytes),
        `${((age.get(s.site) ?? 0) / 1000).toFixed(3)} s`,
        s.site,
      ]),
      leaks.map((s) => s.liveStack),
      frames,
    ),
  );
  const freed = r.lifetimes.filter((l) => l.wall.some((v) => v > 0)).slice(
    0,
    top,
  );
  table(
    "lifetimes of freed blocks: wall time from allocation to free",
    [
      ...WALL_BUCKETS.map((b) => `≤${msLabel(b)}`),
      `>${msLabel(WALL_BUCKETS.at(-1)!)}`,
      "site",
    ],
    freed.map((l) => [...l.wall.map(n), l.site]),
  );
  table(
    "lifetimes of freed blocks: bytes allocated between allocation and free",
    [
      ...BETWEEN_BUCKETS.map((b) => `≤${fmtBytes(b)}`),
      `>${fmtBytes(BETWEEN_BUCKETS.at(-1)!)}`,
      "site",
    ],
    freed.map((l) => [...l.between.map(n), l.site]),
  );
  const sizes = topSizes(r.sizes, top);
  table(
    `sizes by power of two (the ${sizes.length} of ${r.sizes.length} with most allocations)`,
    ["size", "allocs", "bytes"],
    sizes.map((s) => [
      s.limit === 0 ? "0" : `≤${fmtBytes(s.limit)}`,
      n(s.count),
      n(s.bytes),
    ]),
    true,
  );
  return out.join("\n");
}
