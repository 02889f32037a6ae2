/**
 * `alloctrace run`: simulate a built-in workload on the simulated heap and
 * print a summary.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../runtime/runtime.ts";
import { PRESET_NAMES } from "../runtime/presets.ts";
import { binarytrees } from "../workload/binarytrees.ts";
import { intOption, UsageError } from "./_usage.ts";

/** Help text of `alloctrace run`. */
export const RUN_HELP = `Usage: alloctrace run [WORKLOAD] [options]

Simulate WORKLOAD on the simulated Go heap and print a summary.

Workloads:
  binarytrees     the binary-trees benchmark (default)

Options:
  --go PRESET          runtime preset: ${
  PRESET_NAMES.join(", ")
} (default go1.19)
  --depth N            binarytrees maximum depth (default 10)
  --gomaxprocs N       number of Ps (default: the preset's)
  --heap-limit BYTES   fatal heap limit (default: none)
  --json               print the summary as JSON
  -h, --help           show this help

Examples:
  alloctrace run
  alloctrace run binarytrees --depth 14 --go go1.2-seed --json
`;

/** Runs `alloctrace run` with `args`; returns the exit code. */
export function runCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      go: { type: "string", default: "go1.19" },
      depth: { type: "string" },
      gomaxprocs: { type: "string" },
      "heap-limit": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const workload = positionals[0] ?? "binarytrees";
  if (positionals.length > 1) {
    throw new UsageError(
      `run takes one workload, got ${positionals.length}: ${
        positionals.join(" ")
      }`,
    );
  }
  if (workload !== "binarytrees") {
    throw new UsageError(
      `unknown workload "${workload}": built-in workloads are binarytrees`,
    );
  }
  if (!PRESET_NAMES.includes(values.go as never)) {
    throw new UsageError(
      `unknown preset "${values.go}" for --go: use one of ${
        PRESET_NAMES.join(", ")
      }`,
    );
  }
  const depth = intOption("depth", values.depth, 10, 0, 30);
  const rt = new Runtime({
    preset: values.go,
    gomaxprocs: values.gomaxprocs === undefined
      ? undefined
      : intOption("gomaxprocs", values.gomaxprocs, 1, 1, 256),
    heapLimit: intOption("heap-limit", values["heap-limit"], 0),
  });
  const t0 = performance.now();
  const result = binarytrees(rt, { depth });
  const seconds = (performance.now() - t0) / 1000;
  const stats = rt.readMemStats();
  const summary = {
    workload,
    preset: rt.preset.name,
    go: rt.preset.goVersion,
    depth: result.depth,
    nodes: result.nodes,
    live: result.live,
    seconds,
    allocsPerSecond: Math.round(stats.Mallocs / seconds),
    memstats: stats,
  };
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  const lines = [
    `workload      ${workload} (depth ${result.depth}) on ${rt.preset.name} (${rt.preset.goVersion} model), GOMAXPROCS=${rt.gomaxprocs}`,
    `allocations   ${stats.Mallocs.toLocaleString("en-US")} (${
      stats.TotalAlloc.toLocaleString("en-US")
    } bytes)`,
    `frees         ${stats.Frees.toLocaleString("en-US")}`,
    `live          ${stats.HeapObjects.toLocaleString("en-US")} objects, ${
      stats.HeapAlloc.toLocaleString("en-US")
    } bytes; heap in use ${stats.HeapInuse.toLocaleString("en-US")} of ${
      stats.HeapSys.toLocaleString("en-US")
    } mapped`,
    `speed         ${
      (summary.allocsPerSecond / 1e6).toFixed(1)
    } M simulated allocations/s (${seconds.toFixed(2)} s)`,
  ];
  console.log(lines.join("\n"));
  return 0;
}
