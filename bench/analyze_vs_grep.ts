/**
 * `alloctrace analyze` throughput on a large trace, side by side with
 * `LC_ALL=C grep -c tracealloc` on the same file, and analyze's peak RSS.
 * Builds the trace first when missing (scripts/make_large_trace.ts: the
 * shared testdata traces repeated, as the issue asks).
 *
 * With `--real-depth N`, also a trace that real Go 1.19 prints for one
 * binary-trees run at depth N (10: ~300 MB, a minute to write), where
 * nearly every traceback differs from the others in its arguments and frame
 * pointers: the harder case.
 *
 *   deno run -A bench/analyze_vs_grep.ts [--file /tmp/alloctrace-large.trace] [--mb 512] [--real-depth 10]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildGoProgram, findGo, writeRealTrace } from "./_go.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    file: { type: "string", default: "/tmp/alloctrace-large.trace" },
    mb: { type: "string", default: "512" },
    "real-depth": { type: "string", default: "0" },
  },
});
const file = values.file!;
const root = new URL("../", import.meta.url).pathname;
try {
  await Deno.stat(file);
} catch {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      `${root}scripts/make_large_trace.ts`,
      file,
      values.mb!,
    ],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}
const time = async (
  cmd: string,
  args: string[],
  env?: Record<string, string>,
) => {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const s = (performance.now() - t0) / 1000;
  if (!out.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return {
    s,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
};
async function measure(file: string): Promise<void> {
  const size = (await Deno.stat(file)).size;
  // Warm the page cache once so neither run pays for the disk.
  await time("cat", [file]);
  // Each side runs three times, alternating; the median run of each counts
  // (single runs on this 2-core VM vary by ±15 %).
  const median = <T extends { s: number }>(xs: T[]) =>
    [...xs].sort((a, b) => a.s - b.s)[Math.floor(xs.length / 2)];
  const greps = [];
  const analyzes = [];
  for (let i = 0; i < 3; i++) {
    greps.push(await time("grep", ["-c", "tracealloc", file], { LC_ALL: "C" }));
    // /usr/bin/time reports the child's peak RSS (maximum resident set size, KiB).
    analyzes.push(
      await time("/usr/bin/time", [
        "-f",
        "%M",
        Deno.execPath(),
        "run",
        "-A",
        `${root}main.ts`,
        "analyze",
        file,
        "--json",
        "--quiet",
      ]),
    );
  }
  const grep = median(greps);
  const analyze = median(analyzes);
  const rssKiB = Number(analyze.stderr.trim().split("\n").at(-1));
  const mb = size / 1e6;
  const grepRate = mb / grep.s;
  const anRate = mb / analyze.s;
  console.log(`trace: ${file}, ${mb.toFixed(0)} MB`);
  console.log(
    `grep -c tracealloc: ${grep.s.toFixed(2)} s = ${
      grepRate.toFixed(0)
    } MB/s (${grep.stdout.trim()} records; runs: ${
      greps.map((g) => g.s.toFixed(2)).join(", ")
    } s)`,
  );
  console.log(
    `alloctrace analyze: ${analyze.s.toFixed(2)} s = ${
      anRate.toFixed(0)
    } MB/s (runs: ${analyzes.map((a) => a.s.toFixed(2)).join(", ")} s)`,
  );
  console.log(
    `ratio analyze/grep: ${(anRate / grepRate).toFixed(2)} (target >= 0.5)`,
  );
  console.log(
    `analyze peak RSS: ${(rssKiB / 1024).toFixed(0)} MiB (target <= 256 MiB)`,
  );
}

await measure(file);
const realDepth = Number(values["real-depth"]);
if (realDepth > 0) {
  const go = await findGo();
  if (go === null) {
    console.log(
      "real trace: skipped (no go on PATH; apt-get install golang-1.19-go)",
    );
  } else {
    const real = `/tmp/alloctrace-real-d${realDepth}.trace`;
    try {
      await Deno.stat(real);
    } catch {
      const dir = await Deno.makeTempDir();
      const bin = await buildGoProgram(go, "binarytrees", dir);
      await writeRealTrace(bin, ["-depth", String(realDepth), "-quiet"], real);
      await Deno.remove(dir, { recursive: true });
    }
    console.log("");
    await measure(real);
  }
}
