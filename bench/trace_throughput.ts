/**
 * allocfreetrace printing throughput, side by side: our go1.19 printer on
 * binary-trees writing to a file, and real Go 1.19's own
 * `GODEBUG=allocfreetrace=1` on the shared binarytrees program (stderr to a
 * file), in events (tracealloc + tracefree + tracegc records) per second
 * and MB/s. Target: at least 100× Go's events per second.
 *
 * Both print the same workload (binary-trees at `--depth`, default 6); Go's
 * run takes about a second, ours a few milliseconds, so ours is repeated
 * `--reps` times into one file (a fresh runtime each time) and timed as a
 * whole, after a warm-up. It also prints, measured alternating, the
 * rate without each fresh runtime's replay of Go's start-up records
 * (`binarytrees`' `startup: false`), the fixed cost per run.
 *
 *   deno run -A bench/trace_throughput.ts [--depth 6] [--reps 100]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../lib/runtime/runtime.ts";
import { binarytrees } from "../lib/workload/binarytrees.ts";
import { TracePrinter } from "../lib/trace/printer.ts";
import { buildGoProgram, findGo, writeRealTrace } from "./_go.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    depth: { type: "string", default: "6" },
    reps: { type: "string", default: "100" },
  },
});
const dir = await Deno.makeTempDir({ prefix: "alloctrace-trace-bench-" });
try {
  const depth = Number(values.depth);
  const simulate = (reps: number, startup = true) => {
    const file = Deno.openSync(`${dir}/sim.trace`, {
      write: true,
      create: true,
      truncate: true,
    });
    let bytes = 0;
    let events = 0;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const rt = new Runtime();
      const p = new TracePrinter(rt, (chunk) => {
        let b = chunk;
        bytes += b.length;
        while (b.length > 0) b = b.subarray(file.writeSync(b));
      });
      p.attach();
      binarytrees(rt, { depth, startup });
      p.flush();
      events += p.counts.allocs + p.counts.frees + p.counts.gcs;
    }
    const s = (performance.now() - t0) / 1000;
    file.close();
    return { events, bytes, s };
  };
  const reps = Number(values.reps);
  // Warm-up at full size: the JIT, and the page cache (the first write of
  // hundreds of MB into a fresh file waits for the kernel to reclaim pages,
  // which made single runs vary by 3×; the timed run reuses them).
  simulate(reps);
  const sim = simulate(reps);
  const simRate = sim.events / sim.s;
  console.log(
    `simulated go1.19 printer, binarytrees depth ${depth} × ${reps}: ${
      sim.events.toLocaleString("en-US")
    } events, ${(sim.bytes / 1e6).toFixed(1)} MB in ${sim.s.toFixed(2)} s = ${
      Math.round(simRate).toLocaleString("en-US")
    } events/s, ${
      (sim.bytes / 1e6 / sim.s).toFixed(1)
    } MB/s (simulation included)`,
  );
  // What each fresh runtime's replay of Go's start-up records costs: with
  // and without them, alternating (events/s of the records printed).
  const rates: { on: number[]; off: number[] } = { on: [], off: [] };
  for (let round = 0; round < 2; round++) {
    for (const startup of [true, false]) {
      const r = simulate(reps, startup);
      rates[startup ? "on" : "off"].push(r.events / r.s);
    }
  }
  const span = (xs: number[]) =>
    xs.map((x) => Math.round(x).toLocaleString("en-US")).join(", ");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `start-up records' cost, alternating: with ${span(rates.on)}, without ${
      span(rates.off)
    } events/s; with/without ${(mean(rates.on) / mean(rates.off)).toFixed(2)}×`,
  );
  const go = await findGo();
  if (go === null) {
    console.log(
      "real Go: skipped (no go on PATH; apt-get install golang-1.19-go)",
    );
  } else {
    const bin = await buildGoProgram(go, "binarytrees", dir);
    const s = await writeRealTrace(
      bin,
      ["-depth", values.depth!, "-quiet"],
      `${dir}/real.trace`,
    );
    const text = await Deno.readTextFile(`${dir}/real.trace`);
    let events = 0;
    for (const line of text.split("\n")) {
      if (
        line.startsWith("tracealloc(") || line.startsWith("tracefree(") ||
        line === "tracegc()"
      ) events++;
    }
    const bytes = new TextEncoder().encode(text).length;
    const goRate = events / s;
    console.log(
      `real Go 1.19 allocfreetrace, binarytrees depth ${values.depth}: ${
        events.toLocaleString("en-US")
      } events, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s = ${
        Math.round(goRate).toLocaleString("en-US")
      } events/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s`,
    );
    console.log(
      `ratio (events/s): ${(simRate / goRate).toFixed(0)}× (target >= 100×)`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
