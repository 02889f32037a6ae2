/**
 * Binary-trees, side by side: simulated allocations per second on the
 * simulated heap against real Go's native allocations per second (the
 * shared `binarytrees` program, `-stats`), measured in the same run.
 *
 *   deno run -A bench/binarytrees.ts [--depth 18] [--go go1.19]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../lib/runtime/runtime.ts";
import { binarytrees } from "../lib/workload/binarytrees.ts";
import { buildGoProgram, findGo } from "./_go.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    depth: { type: "string", default: "18" },
    go: { type: "string", default: "go1.19" },
  },
});
const depth = Number(values.depth);

function simulate(
  d: number,
): { mallocs: number; seconds: number; gcs: number } {
  const rt = new Runtime({ preset: values.go });
  const t0 = performance.now();
  binarytrees(rt, { depth: d });
  const seconds = (performance.now() - t0) / 1000;
  return { mallocs: rt.readMemStats().Mallocs, seconds, gcs: rt.numGC };
}

simulate(Math.min(depth, 12)); // warm-up
const sim = simulate(depth);
const simRate = sim.mallocs / sim.seconds;
console.log(
  `simulated ${values.go}: ${
    sim.mallocs.toLocaleString("en-US")
  } allocations in ${sim.seconds.toFixed(2)} s = ${
    (simRate / 1e6).toFixed(1)
  } M/s (${sim.gcs} GCs; tracing mark, sweep, checked pointer stores and loads)`,
);

const go = await findGo();
if (go === null) {
  console.log(
    "real Go: skipped (no go on PATH; apt-get install golang-1.19-go)",
  );
} else {
  const dir = await Deno.makeTempDir({ prefix: "alloctrace-bench-" });
  try {
    const bin = await buildGoProgram(go, "binarytrees", dir);
    const out = await new Deno.Command(bin, {
      args: ["-depth", String(depth), "-stats", "-quiet"],
    }).output();
    const stats = JSON.parse(new TextDecoder().decode(out.stdout).trim());
    const goRate = stats.mallocs_per_s as number;
    console.log(
      `real ${stats.go}: ${
        stats.mallocs.toLocaleString("en-US")
      } allocations in ${stats.wall_s.toFixed(2)} s = ${
        (goRate / 1e6).toFixed(1)
      } M/s (${stats.num_gc} GCs, GOMAXPROCS=${stats.gomaxprocs})`,
    );
    console.log(
      `ratio simulated/real: ${(simRate / goRate).toFixed(2)} (target >= 1)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
