/**
 * What limits `analyze` against `LC_ALL=C grep -c tracealloc`, in CPU
 * time, stage by stage, on one trace (default: the real depth-10 trace
 * `analyze_vs_grep.ts --real-depth 10` writes). Each run is one process
 * that times, with its own CPU clock (user + sys, all its threads):
 *
 * - start-up: Deno and the reader's modules, until the first read;
 * - read only: the file read into the scanner's memory, nothing parsed;
 * - parse, cold: a fresh parser on the trace (cold JIT, every stack new);
 * - parse, warm, new stacks: another fresh parser on it (warm JIT);
 * - parse, warm, known stacks: that parser on it again (every record is in
 *   the scanner's record table: the WebAssembly pass and the glue alone);
 * - the same with a fresh analyzer as the sink, once its code is warm.
 *
 * grep's CPU and wall time come from /usr/bin/time, in turns with the runs;
 * medians of `--runs` (default 3). The last lines say what the stages add
 * up to: the warm known-stacks parse is the least any JavaScript design of
 * this reader pays, so against grep's CPU it bounds what two cores can give.
 *
 *   deno run -A bench/analyze_floor.ts [--file /tmp/alloctrace-real-d10.trace] [--runs 3]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { ByteTraceParser } from "../lib/trace/byte_parser.ts";
import { TraceAnalyzer } from "../lib/trace/analyze.ts";
import { fileURLToPath } from "node:url";
import type { EventSink } from "../lib/trace/events.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    file: { type: "string", default: "/tmp/alloctrace-real-d10.trace" },
    runs: { type: "string", default: "3" },
    stage: { type: "boolean", default: false },
  },
});
const file = values.file!;
/** Process CPU milliseconds so far (user + sys, every thread). */
const cpu = () => {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The stages, in one process: their CPU milliseconds, printed as JSON. */
function stages(): Record<string, number> {
  const out: Record<string, number> = { "start-up": cpu() };
  let events = 0;
  const counting: EventSink = {
    alloc: () => void events++,
    free: () => void events++,
    gc: () => void events++,
  };
  // One sink object for every pass (a call site that stays monomorphic).
  let to: EventSink = counting;
  const sink: EventSink = {
    alloc: (a, s, t, r, g, k, l) => to.alloc(a, s, t, r, g, k, l),
    free: (a, s, g, k, l) => to.free(a, s, g, k, l),
    gc: (l) => to.gc(l),
  };
  const fresh = () => new ByteTraceParser(() => events++, undefined, { sink });
  const pass = (p: ByteTraceParser, parse: boolean) => {
    const f = Deno.openSync(file);
    const c0 = cpu();
    for (;;) {
      const buf = p.reserve(4 << 20);
      const n = f.readSync(buf);
      if (n === null) break;
      p.commit(parse ? n : 0);
    }
    f.close();
    return cpu() - c0;
  };
  out["read only"] = pass(fresh(), false);
  out["parse, cold"] = pass(fresh(), true);
  const p = fresh();
  out["parse, warm, new stacks"] = pass(p, true);
  out["parse, warm, known stacks"] = pass(p, true);
  for (let i = 0; i < 3; i++) {
    const an = new TraceAnalyzer(p.stacks);
    to = {
      alloc: (a, s, t, r, g, k, l) => void an.alloc(a, s, t, r, g, k, l),
      free: (a) => void an.free(a),
      gc: () => void an.gc(),
    };
    out["known stacks + analyzer (warm)"] = pass(p, true);
  }
  return out;
}

if (values.stage) {
  console.log(JSON.stringify(stages()));
  Deno.exit(0);
}

const runs = Math.max(1, Number(values.runs));
const rows: Record<string, number>[] = [];
const greps: { cpu: number; s: number }[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const g = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S", "grep", "-c", "tracealloc", file],
    env: { LC_ALL: "C" },
    // (Not "null": GNU grep stops at the first match when its output is /dev/null.)
    stdout: "piped",
    stderr: "piped",
  }).output();
  const s = (performance.now() - t0) / 1000;
  const [u, sy] = new TextDecoder().decode(g.stderr).trim().split("\n").at(-1)!
    .split(" ").map(Number);
  greps.push({ cpu: (u + sy) * 1000, s });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fileURLToPath(import.meta.url),
      "--stage",
      "--file",
      file,
    ],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("a stage run failed");
  rows.push(JSON.parse(new TextDecoder().decode(out.stdout)));
}
const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (await Deno.stat(file)).size / 1e6;
console.log(`trace: ${file}, ${mb.toFixed(0)} MB; medians of ${runs} runs`);
const grepCpu = median(greps.map((g) => g.cpu));
console.log(
  `grep -c tracealloc: CPU ${grepCpu.toFixed(0)} ms, wall ${
    (median(greps.map((g) => g.s)) * 1000).toFixed(0)
  } ms`,
);
const m: Record<string, number> = {};
for (const k of Object.keys(rows[0])) {
  m[k] = median(rows.map((r) => r[k]));
  console.log(`${k.padEnd(32)} CPU ${m[k].toFixed(0).padStart(5)} ms`);
}
const warm = m["known stacks + analyzer (warm)"];
console.log(
  `warm known-stacks parse and analysis: ${
    (grepCpu / warm).toFixed(2)
  }× grep's CPU on one core; ` +
    `on two cores at best start-up + half of it: ${
      (m["start-up"] + warm / 2).toFixed(0)
    } ms against grep's ${grepCpu.toFixed(0)} ms of CPU`,
);
console.log(
  `new stacks cost ${
    (m["parse, warm, new stacks"] - m["parse, warm, known stacks"]).toFixed(0)
  } ms warm, cold JIT ${
    (m["parse, cold"] - m["parse, warm, new stacks"]).toFixed(0)
  } ms more (each isolate that reads a part pays both)`,
);
