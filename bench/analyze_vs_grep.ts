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
const grep = await time("grep", ["-c", "tracealloc", file], { LC_ALL: "C" });
// /usr/bin/time reports the child's peak RSS (maximum resident set size, KiB).
const analyze = await time("/usr/bin/time", [
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
]);
const rssKiB = Number(analyze.stderr.trim().split("\n").at(-1));
const mb = size / 1e6;
const grepRate = mb / grep.s;
const anRate = mb / analyze.s;
console.log(`trace: ${file}, ${mb.toFixed(0)} MB`);
console.log(
  `grep -c tracealloc: ${grep.s.toFixed(2)} s = ${
    grepRate.toFixed(0)
  } MB/s (${grep.stdout.trim()} records)`,
);
console.log(
  `alloctrace analyze: ${analyze.s.toFixed(2)} s = ${anRate.toFixed(0)} MB/s`,
);
console.log(
  `ratio analyze/grep: ${(anRate / grepRate).toFixed(2)} (target >= 0.5)`,
);
console.log(
  `analyze peak RSS: ${(rssKiB / 1024).toFixed(0)} MiB (target <= 256 MiB)`,
);
