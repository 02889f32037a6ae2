/**
 * `alloctrace analyze` throughput on a large trace, side by side with
 * `LC_ALL=C grep -c tracealloc` on the same file, and analyze's peak RSS.
 * Builds the trace first when missing (scripts/make_large_trace.ts).
 *
 *   deno run -A bench/analyze_vs_grep.ts [--file /tmp/alloctrace-large.trace] [--mb 512]
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    file: { type: "string", default: "/tmp/alloctrace-large.trace" },
    mb: { type: "string", default: "512" },
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
const size = (await Deno.stat(file)).size;
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
