/**
 * Access to the shared real Go traces (`../shared/testdata/go1.19`).
 *
 * @module
 */

import { TraceParser } from "../lib/trace/parser.ts";
import type { TraceEvent } from "../lib/trace/events.ts";
import { getPreset } from "../lib/runtime/presets.ts";
import { Runtime } from "../lib/runtime/runtime.ts";

export { GO119, GO122, shapeOf, traceText } from "../scripts/_traces.ts";
import { GO119, traceStream } from "../scripts/_traces.ts";

/** Reads a shared trace (gunzipping `.gz`) through the parser; `dir` defaults to {@link GO119}. */
export async function parseShared(
  name: string,
  dir: URL = GO119,
): Promise<{ events: TraceEvent[]; parser: TraceParser }> {
  const events: TraceEvent[] = [];
  const parser = new TraceParser((e) => events.push(e));
  const stream = await traceStream(new URL(name, dir));
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    parser.feed(chunk);
  }
  parser.end();
  return { events, parser };
}

/** A site of a truth file. */
export interface TruthSite {
  site: string;
  type_printed: string | null;
  size_class_bytes?: number;
  count: number;
  live_at_exit: number;
  traced_individually: boolean;
  traced_records_expected?: number;
  trace_live_expected?: number;
}

/** Reads a shared truth JSON; `dir` defaults to {@link GO119}. */
export async function truth(
  name: string,
  dir: URL = GO119,
): Promise<{ sites: TruthSite[]; args: string[] }> {
  return JSON.parse(await Deno.readTextFile(new URL(name, dir)));
}

/**
 * What the runtime's own allocations add to a run of a workload mirroring
 * `program` on `preset` that collects at least once: `goStartup`'s records
 * and the mark workers' at the first GC (a `runtime.g` and a
 * `gcBgMarkWorkerNode` per P, GOMAXPROCS 2); the objects and bytes of those
 * that stay live; and the objects allocated before GODEBUG was read
 * (counted by MemStats, freed by the first GC, never traced).
 */
export function startupOf(
  program: string,
  preset = "go1.19",
): {
  records: number;
  dead: number;
  liveObjects: number;
  liveBytes: number;
  untraced: number;
} {
  const data = getPreset(preset).startup;
  const p = data?.programs[program];
  const recs = (p?.records ?? []).map((id) => data!.records[id]);
  const live = recs.filter((r) => !r[5]);
  const rt = new Runtime({ preset });
  const workers = getPreset(preset).frames.bgMarkStart === undefined
    ? 0
    : rt.gomaxprocs;
  const workerBytes = workers * (rt.roundupsize(0x188, false) + 32);
  return {
    records: recs.length + 2 * workers,
    dead: recs.length - live.length,
    liveObjects: live.length + 2 * workers,
    liveBytes: live.reduce((a, r) => a + r[3], 0) + workerBytes,
    untraced: p?.untraced.length ?? 0,
  };
}
