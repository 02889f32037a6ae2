/**
 * Native tracing cost, side by side: one program making N malloc/free
 * pairs, run plain, under `alloctrace native --no-stacks`, under
 * `alloctrace native` (a stack per allocation), under `ltrace -e
 * malloc+free`, and under `heaptrack`.
 *
 *   deno run -A bench/native_vs_tools.ts [--pairs 100000]
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { pairs: { type: "string", default: "100000" } },
});
const dir = await Deno.makeTempDir({ prefix: "alloctrace-native-bench-" });
const root = new URL("../", import.meta.url).pathname;
try {
  await Deno.writeTextFile(
    `${dir}/prog.c`,
    `#include <stdlib.h>
void *volatile sink;
int main(int argc, char **argv) { int n = atoi(argv[1]); for (int i = 0; i < n; i++) { sink = malloc(64); free(sink); } return 0; }
`,
  );
  const cc = await new Deno.Command("cc", {
    args: ["-O2", "-g", "-o", `${dir}/prog`, `${dir}/prog.c`],
  }).output();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  const time = async (label: string, cmd: string, args: string[]) => {
    const t0 = performance.now();
    try {
      const out = await new Deno.Command(cmd, {
        args,
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).output();
      const s = (performance.now() - t0) / 1000;
      if (!out.success) return { label, s: NaN };
      return { label, s };
    } catch {
      return { label, s: NaN };
    }
  };
  const n = values.pairs!;
  const native = (label: string, opts: string[]) =>
    time(label, Deno.execPath(), [
      "run",
      "-A",
      `${root}main.ts`,
      "native",
      ...opts,
      "--json",
      "--",
      `${dir}/prog`,
      n,
    ]);
  const rows = [
    await time("plain", `${dir}/prog`, [n]),
    await native("alloctrace native --no-stacks", ["--no-stacks"]),
    await native("alloctrace native (stacks)", []),
    await native("alloctrace native --memprofilerate", [
      "--memprofilerate",
      "524288",
    ]),
    await time("ltrace -e malloc+free", "ltrace", [
      "-e",
      "malloc+free",
      "-o",
      "/dev/null",
      `${dir}/prog`,
      n,
    ]),
    await time("heaptrack", "heaptrack", ["-o", `${dir}/ht`, `${dir}/prog`, n]),
  ];
  const by = Object.fromEntries(rows.map((r) => [r.label, r.s]));
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(36)} ${
        Number.isNaN(r.s)
          ? "n/a (missing or failed)"
          : `${r.s.toFixed(2)} s, ${
            (r.s * 1e6 / (2 * Number(n))).toFixed(1)
          } µs/event`
      }`,
    );
  }
  const ratio = (a: string, b: string) => (by[a] / by[b]).toFixed(1);
  console.log(
    `ltrace / alloctrace --no-stacks: ${
      ratio("ltrace -e malloc+free", "alloctrace native --no-stacks")
    }× (target >= 4×)`,
  );
  console.log(
    `alloctrace (stacks) / heaptrack: ${
      ratio("alloctrace native (stacks)", "heaptrack")
    }× (target <= 10×)`,
  );
  console.log(
    `alloctrace --memprofilerate 524288 / heaptrack: ${
      ratio("alloctrace native --memprofilerate", "heaptrack")
    }× (target <= 3×)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
