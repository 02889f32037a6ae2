/**
 * Binary-trees, side by side: simulated allocations per second on the
 * simulated heap against real Go's native allocations per second (the
 * shared `binarytrees` program, `-stats`), measured in the same run, in
 * turns: for each depth, `--runs` rounds of (simulated, real Go), each
 * round printing its own ratio, then the median ratio.
 *
 *   deno run -A bench/binarytrees.ts [--depth 16,18] [--runs 3] [--go go1.19]
 *
 * The simulated run checks every pointer store and load (the default);
 * `--trusted` also times the same run with `checkPointers: false` (the
 * trusted mode for built-in workloads) and prints its ratio beside it.
 *
 * `--against DIR` (another checkout, e.g. a `git worktree` of an older
 * commit) instead times this checkout's simulation against DIR's, in turns
 * in one process, and prints the speedup per round in CPU time (user +
 * sys, which a loaded machine distorts less than wall time) and wall time;
 * with `--trusted` it then does the same in the trusted mode. `--js-mark`
 * does the same against this checkout with `linearMemory: false` (plain
 * typed arrays, the mark in JavaScript) in place of DIR.
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { Runtime } from "../lib/runtime/runtime.ts";
import { binarytrees } from "../lib/workload/binarytrees.ts";
import { buildGoProgram, findGo } from "./_go.ts";
import { fileUrl } from "../scripts/_file_url.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    depth: { type: "string", default: "16,18" },
    runs: { type: "string", default: "3" },
    go: { type: "string", default: "go1.19" },
    trusted: { type: "boolean", default: false },
    against: { type: "string" },
    "js-mark": { type: "boolean", default: false },
  },
});
const depths = values.depth.split(",").map(Number);
const runs = Number(values.runs);

function simulate(
  d: number,
  checkPointers: boolean,
): { mallocs: number; seconds: number; gcs: number } {
  const rt = new Runtime({ preset: values.go, checkPointers });
  const t0 = performance.now();
  binarytrees(rt, { depth: d });
  const seconds = (performance.now() - t0) / 1000;
  return { mallocs: rt.readMemStats().Mallocs, seconds, gcs: rt.numGC };
}

/** Simulated binary-trees of depth `d` with `Runtime` and `run` (one checkout's). */
function simulateWith(
  R: typeof Runtime,
  run: typeof binarytrees,
  d: number,
  checkPointers: boolean,
): { mallocs: number; cpu: number; wall: number } {
  const rt = new R({ preset: values.go, checkPointers });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run(rt, { depth: d });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return {
    mallocs: rt.readMemStats().Mallocs,
    cpu: (c.user + c.system) / 1e6,
    wall,
  };
}

function rate(r: { mallocs: number; seconds: number }): number {
  return r.mallocs / r.seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const M = (r: number) => (r / 1e6).toFixed(1);

/** This checkout's runtime with the mark in JavaScript over plain arrays. */
class JsMarkRuntime extends Runtime {
  constructor(opts: ConstructorParameters<typeof Runtime>[0] = {}) {
    super({ ...opts, linearMemory: false });
  }
}

if (values.against !== undefined || values["js-mark"]) {
  const against = values.against ?? "--js-mark";
  const other = values.against === undefined
    ? { R: JsMarkRuntime, run: binarytrees }
    : await (async () => {
      const dir = fileUrl(`${values.against!.replace(/\/$/, "")}/`);
      return {
        R: (await import(new URL("lib/runtime/runtime.ts", dir).href))
          .Runtime,
        run: (await import(new URL("lib/workload/binarytrees.ts", dir).href))
          .binarytrees,
      };
    })();
  const modes = values.trusted ? [true, false] : [true];
  for (const checked of modes) {
    simulateWith(Runtime, binarytrees, 12, checked); // warm-up
    simulateWith(other.R, other.run, 12, checked);
  }
  for (const checked of modes) {
    const mode = checked ? "checked" : "trusted";
    for (const depth of depths) {
      const cpu: number[] = [];
      const wall: number[] = [];
      for (let run = 1; run <= runs; run++) {
        // Alternate which goes first: the machine's load changes over time.
        const mine = run % 2 === 1
          ? simulateWith(Runtime, binarytrees, depth, checked)
          : null;
        const theirs = simulateWith(other.R, other.run, depth, checked);
        const ours = mine ?? simulateWith(Runtime, binarytrees, depth, checked);
        if (ours.mallocs !== theirs.mallocs) {
          console.log(
            `depth ${depth}: allocation counts differ (${ours.mallocs} vs ${theirs.mallocs})`,
          );
        }
        cpu.push(theirs.cpu / ours.cpu);
        wall.push(theirs.wall / ours.wall);
        console.log(
          `depth ${depth} ${mode} run ${run}: this checkout ${
            M(ours.mallocs / ours.wall)
          } M/s (${ours.cpu.toFixed(2)} s CPU), ${against} ${
            M(theirs.mallocs / theirs.wall)
          } M/s (${theirs.cpu.toFixed(2)} s CPU); speedup CPU ${
            cpu.at(-1)!.toFixed(2)
          }×, wall ${wall.at(-1)!.toFixed(2)}×`,
        );
      }
      console.log(
        `depth ${depth} ${mode}: speedup over ${against}, CPU ${
          cpu.map((r) => r.toFixed(2)).join(", ")
        } (median ${median(cpu).toFixed(2)}), wall median ${
          median(wall).toFixed(2)
        }`,
      );
    }
  }
  Deno.exit(0);
}

simulate(12, true); // warm-up
if (values.trusted) simulate(12, false);

const go = await findGo();
const dir = await Deno.makeTempDir({ prefix: "alloctrace-bench-" });
try {
  const bin = go === null ? null : await buildGoProgram(go, "binarytrees", dir);
  if (bin === null) {
    console.log(
      "real Go: skipped (no go on PATH; apt-get install golang-1.19-go)",
    );
  }
  for (const depth of depths) {
    const ratios: number[] = [];
    const trustedRatios: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const sim = simulate(depth, true);
      let line = `depth ${depth} run ${run}: simulated ${values.go} ${
        sim.mallocs.toLocaleString("en-US")
      } allocations in ${sim.seconds.toFixed(2)} s = ${
        M(rate(sim))
      } M/s (${sim.gcs} GCs, checked stores and loads)`;
      const trusted = values.trusted ? simulate(depth, false) : null;
      if (trusted !== null) {
        line += `, trusted ${trusted.seconds.toFixed(2)} s = ${
          M(rate(trusted))
        } M/s`;
      }
      if (bin !== null) {
        const out = await new Deno.Command(bin, {
          args: ["-depth", String(depth), "-stats", "-quiet"],
        }).output();
        const stats = JSON.parse(new TextDecoder().decode(out.stdout).trim());
        const goRate = stats.mallocs_per_s as number;
        ratios.push(rate(sim) / goRate);
        line += `; real ${stats.go} ${
          stats.mallocs.toLocaleString("en-US")
        } in ${stats.wall_s.toFixed(2)} s = ${
          M(goRate)
        } M/s (${stats.num_gc} GCs, GOMAXPROCS=${stats.gomaxprocs}); ratio ${
          ratios.at(-1)!.toFixed(2)
        }`;
        if (trusted !== null) {
          trustedRatios.push(rate(trusted) / goRate);
          line += `, trusted ${trustedRatios.at(-1)!.toFixed(2)}`;
        }
      }
      console.log(line);
    }
    if (ratios.length > 0) {
      console.log(
        `depth ${depth}: ratio simulated/real per run ${
          ratios.map((r) => r.toFixed(2)).join(", ")
        } (median ${median(ratios).toFixed(2)}${
          trustedRatios.length > 0
            ? `; trusted ${
              trustedRatios.map((r) => r.toFixed(2)).join(", ")
            }, median ${median(trustedRatios).toFixed(2)}`
            : ""
        }; target >= 1)`,
      );
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
