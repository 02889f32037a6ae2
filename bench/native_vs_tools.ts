/**
 * Native tracing cost, side by side: one program making N malloc/free
 * pairs (built at `-O0 -g` and at `-O2 -g`), run plain, under `alloctrace
 * native` without stacks, with a stack per allocation and sampled
 * (`--memprofilerate 524288`), under `heaptrack`, and (for the smaller
 * sizes) under `ltrace -e malloc+free`. Wall time, CPU time (user +
 * system, of every process of the run: the program, the tracer's threads,
 * heaptrack's interpreter) and peak RSS of each whole run (start-up and
 * report included) come from `/usr/bin/time`; the ratios to heaptrack are
 * of runs made one right after the other, repeated `--repeat` times, and
 * the last lines give each ratio's median over the repeats, with the
 * single runs' range and how many were over 1× (the machine is
 * shared: read the ratios, not the times; on a loaded machine the CPU
 * ratio is the steadier one).
 *
 * `--against DIR` runs another checkout's `native` (DIR/main.ts) right
 * after each of ours, for before/after figures side by side, and prints
 * the median of ours over its; `--only sampled,stacks,no-stacks` keeps
 * those of the three native rows.
 *
 *   deno run -A bench/native_vs_tools.ts [--pairs 100000,1000000] [--repeat 2] [--no-ltrace]
 *     [--against ../baseline] [--only sampled]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { fileUrl } from "../scripts/_file_url.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pairs: { type: "string", default: "100000,1000000" },
    repeat: { type: "string", default: "2" },
    "no-ltrace": { type: "boolean", default: false },
    against: { type: "string" },
    only: { type: "string", default: "no-stacks,stacks,sampled" },
  },
});
/** The label's mark of the `--against` checkout's rows. */
const AGAINST = "(against)";
const dir = await Deno.makeTempDir({ prefix: "alloctrace-native-bench-" });
const root = fileURLToPath(new URL("../", import.meta.url));

interface Run {
  s: number;
  cpu: number;
  rssMB: number;
}

/** Runs `cmd` under /usr/bin/time: wall seconds and peak RSS (NaN when it failed). */
async function measure(cmd: string, args: string[]): Promise<Run> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M %U %S", cmd, ...args],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => null);
  if (out === null || !out.success) return { s: NaN, cpu: NaN, rssMB: NaN };
  const last = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!;
  const [s, kb, user, sys] = last.split(" ").map(Number);
  return { s, cpu: user + sys, rssMB: kb / 1024 };
}

try {
  await Deno.writeTextFile(
    `${dir}/prog.c`,
    `#include <stdlib.h>
void *volatile sink;
int main(int argc, char **argv) { int n = atoi(argv[1]); for (int i = 0; i < n; i++) { sink = malloc(64); free(sink); } return 0; }
`,
  );
  for (const opt of ["-O0", "-O2"]) {
    const cc = await new Deno.Command("cc", {
      args: [opt, "-g", "-o", `${dir}/prog${opt}`, `${dir}/prog.c`],
    }).output();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  }
  const native = (opts: string[], from = root) => (prog: string, n: string) =>
    measure(Deno.execPath(), [
      "run",
      "-A",
      `${from}main.ts`,
      "native",
      "-q",
      ...opts,
      "--",
      prog,
      n,
    ]);
  const tools: [string, (prog: string, n: string) => Promise<Run>][] = [
    ["plain", (prog, n) => measure(prog, [n])],
    [
      "heaptrack",
      (prog, n) => measure("heaptrack", ["-o", `${dir}/ht`, prog, n]),
    ],
  ];
  const only = values.only!.split(",");
  const against = values.against === undefined
    ? undefined
    : fileURLToPath(fileUrl(values.against.replace(/\/?$/, "/")));
  for (
    const [key, label, opts] of [
      ["no-stacks", "native --no-stacks", ["--no-stacks"]],
      ["stacks", "native (stacks)", []],
      ["sampled", "native --memprofilerate 524288", [
        "--memprofilerate",
        "524288",
      ]],
    ] as const
  ) {
    if (!only.includes(key)) continue;
    tools.push([label, native([...opts])]);
    if (against !== undefined) {
      tools.push([`${label} ${AGAINST}`, native([...opts], against)]);
    }
  }
  const repeat = Number(values.repeat);
  const median = (xs: number[]) => {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const h = v.length >> 1;
    return v.length === 0 ? NaN : v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
  };
  // The single runs' range and how many passed 1× (a target holds for
  // every run, not only the median).
  const spread = (xs: number[]) => {
    const v = xs.filter((x) => !Number.isNaN(x));
    return v.length === 0
      ? "no run"
      : `runs ${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}×, ${
        v.filter((x) => x > 1).length
      } of ${v.length} over 1×`;
  };
  const summary: string[] = [];
  for (const n of values.pairs!.split(",")) {
    const withLtrace = !values["no-ltrace"] && Number(n) <= 100_000;
    const rows = withLtrace
      ? [
        ...tools,
        [
          "ltrace -e malloc+free",
          (prog: string, n: string) =>
            measure("ltrace", [
              "-e",
              "malloc+free",
              "-o",
              "/dev/null",
              prog,
              n,
            ]),
        ] as [string, (prog: string, n: string) => Promise<Run>],
      ]
      : tools;
    for (const opt of ["-O0", "-O2"]) {
      const title = `${Number(n).toLocaleString("en-US")} pairs, cc ${opt} -g`;
      console.log(`\n${title}`);
      const ratios = new Map<string, { wall: number[]; cpu: number[] }>();
      for (let r = 0; r < repeat; r++) {
        const got = new Map<string, Run>();
        for (const [label, f] of rows) {
          for await (const f of Deno.readDir(dir)) {
            if (f.name.startsWith("ht")) await Deno.remove(`${dir}/${f.name}`);
          }
          got.set(label, await f(`${dir}/prog${opt}`, n));
        }
        const ht = got.get("heaptrack")!;
        for (const [label, run] of got) {
          let ratio = "";
          if (label !== "plain" && label !== "heaptrack") {
            const rt = ratios.get(label) ?? { wall: [], cpu: [] };
            rt.wall.push(run.s / ht.s);
            rt.cpu.push(run.cpu / ht.cpu);
            ratios.set(label, rt);
            ratio = `  ${(run.s / ht.s).toFixed(2)}× heaptrack (CPU ${
              (run.cpu / ht.cpu).toFixed(2)
            }×)`;
          }
          console.log(
            `  run ${r + 1}  ${label.padEnd(42)} ${run.s.toFixed(2)} s  CPU ${
              run.cpu.toFixed(2)
            } s  ${
              (run.s * 1e6 / (2 * Number(n))).toFixed(2)
            } µs/event  peak RSS ${run.rssMB.toFixed(0)} MB${ratio}`,
          );
        }
      }
      for (const [label, rt] of ratios) {
        const base = ratios.get(`${label} ${AGAINST}`);
        if (base !== undefined) {
          // Ours over the other checkout's, run by run, then the median.
          const mine = (k: "wall" | "cpu") =>
            median(rt[k].map((x, i) => x / base[k][i])).toFixed(2);
          summary.push(
            `${title.padEnd(24)} ${label.padEnd(42)} ${
              mine("wall")
            }× the other checkout's wall, ${mine("cpu")}× CPU`,
          );
        }
        summary.push(
          `${title.padEnd(24)} ${label.padEnd(42)} ${
            median(rt.wall).toFixed(2)
          }× heaptrack wall, ${median(rt.cpu).toFixed(2)}× CPU; ${
            spread(rt.wall)
          } wall, ${spread(rt.cpu)} CPU`,
        );
      }
    }
  }
  console.log(`\nmedian ratios over ${repeat} run(s), side by side:`);
  for (const line of summary) console.log(`  ${line}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
