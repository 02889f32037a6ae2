/**
 * The `GODEBUG=gctrace=1` line of each preset's Go version, from a cycle's
 * statistics (reference section 10.2 and 10.3).
 *
 * @module
 */

import { formatGCms } from "./clock.ts";
import type { GCCycleStats } from "./events.ts";
import { getPreset } from "./presets.ts";

const MB = 20;

/**
 * Formats the gctrace line of cycle `n` (without the newline).
 *
 * @example
 * ```ts
 * import { formatGCTrace } from "../../mod.ts";
 * const line = formatGCTrace("go1.19", 1, {
 *   startNs: 3_000_000, clockNs: [47_000, 270_000, 3_000], cpuNs: [94_000, 0, 59_000, 170_000, 6_000],
 *   cpuFraction: 0.012, heapBefore: 3 << 20, heapAtMarkTermination: 3 << 20, heapMarked: 3 << 20,
 *   goal: 4 << 20, stacks: 0, globals: 0, procs: 2, objectsBefore: 0, objectsAfter: 0, sweepNs: 0,
 * }, true);
 * if (line !== "gc 1 @0.003s 1%: 0.047+0.27+0.003 ms clock, 0.094+0/0.059/0.17+0.006 ms cpu, 3->3->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)") throw new Error(line);
 * ```
 */
export function formatGCTrace(
  preset: string,
  n: number,
  s: GCCycleStats,
  forced: boolean,
): string {
  if (getPreset(preset).gctraceFormat === "stw") {
    const ms = (ns: number) => Math.floor(ns / 1e6);
    return `gc${n}(${s.procs}): ${ms(s.clockNs[1])}+${ms(s.sweepNs)}+${
      ms(s.clockNs[0] + s.clockNs[2] - s.sweepNs)
    } ms, ${Math.floor(s.heapBefore / 2 ** MB)} -> ${
      Math.floor(s.heapMarked / 2 ** MB)
    } MB ${s.objectsBefore} -> ${s.objectsAfter} (${s.mallocs}-${s.frees}) objects, 0(0) handoff, 0(0) steal, 0/0/0 yields`;
  }
  const startMs = Math.floor(s.startNs / 1e6);
  const secs = `${Math.floor(startMs / 1000)}.${
    String(startMs % 1000).padStart(3, "0")
  }`;
  const [d, e, f, g, h] = s.cpuNs.map(formatGCms);
  const mb = (b: number) => Math.floor(b / 2 ** MB);
  return `gc ${n} @${secs}s ${Math.floor(s.cpuFraction * 100)}%: ${
    s.clockNs.map(formatGCms).join("+")
  } ms clock, ${d}+${e}/${f}/${g}+${h} ms cpu, ${mb(s.heapBefore)}->${
    mb(s.heapAtMarkTermination)
  }->${mb(s.heapMarked)} MB, ${mb(s.goal)} MB goal, ${
    mb(s.stacks)
  } MB stacks, ${mb(s.globals)} MB globals, ${s.procs} P${
    forced ? " (forced)" : ""
  }`;
}
