/**
 * allocfreetrace printing throughput, side by side: our go1.19 printer on
 * binary-trees writing to a file, and real Go 1.19's own
 * `GODEBUG=allocfreetrace=1` on the shared binarytrees program (stderr to a
 * file), in events (tracealloc + tracefree + tracegc records) per second
 * and MB/s. Target: at least 100× Go's events per second.
 *
 *   deno run -A bench/trace_throughput.ts [--depth 6] [--sim-depth 12]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../lib/runtime/runtime.ts";
import { binarytrees } from "../lib/workload/binarytrees.ts";
import { TracePrinter } from "../lib/trace/printer.ts";
import { buildGoProgram, findGo } from "./_go.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    depth: { type: "string", default: "6" },
    "sim-depth": { type: "string", default: "12" },
  },
});
const dir = await Deno.makeTempDir({ prefix: "alloctrace-trace-bench-" });
try {
  const simulate = (depth: number) => {
    const rt = new Runtime();
    const file = Deno.openSync(`${dir}/sim.trace`, {
      write: true,
      create: true,
      truncate: true,
    });
    let bytes = 0;
    const p = new TracePrinter(rt, (chunk) => {
      let b = chunk;
      bytes += b.length;
      while (b.length > 0) b = b.subarray(file.writeSync(b));
    });
    p.attach();
    const t0 = performance.now();
    binarytrees(rt, { depth });
    p.flush();
    const s = (performance.now() - t0) / 1000;
    file.close();
    const events = p.counts.allocs + p.counts.frees + p.counts.gcs;
    return { events, bytes, s };
  };
  simulate(8); // warm-up
  const sim = simulate(Number(values["sim-depth"]));
  const simRate = sim.events / sim.s;
  console.log(
    `simulated go1.19 printer, binarytrees depth ${values["sim-depth"]}: ${
      sim.events.toLocaleString("en-US")
    } events, ${(sim.bytes / 1e6).toFixed(1)} MB in ${sim.s.toFixed(2)} s = ${
      Math.round(simRate).toLocaleString("en-US")
    } events/s, ${
      (sim.bytes / 1e6 / sim.s).toFixed(1)
    } MB/s (simulation included)`,
  );
  const go = await findGo();
  if (go === null) {
    console.log(
      "real Go: skipped (no go on PATH; apt-get install golang-1.19-go)",
    );
  } else {
    const bin = await buildGoProgram(go, "binarytrees", dir);
    const out = await Deno.open(`${dir}/real.trace`, {
      write: true,
      create: true,
      truncate: true,
    });
    const t0 = performance.now();
    const child = new Deno.Command(bin, {
      args: ["-depth", values.depth!, "-quiet"],
      env: { GODEBUG: "allocfreetrace=1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await child.stderr.pipeTo(out.writable);
    await child.status;
    const s = (performance.now() - t0) / 1000;
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
