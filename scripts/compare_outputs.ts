/**
 * Writes every output of the tool for every workload × preset into one
 * directory, so that two versions of the code can be compared byte for byte
 * (a refactoring must not change a single byte):
 *
 *   deno run -A scripts/compare_outputs.ts OUTDIR [--root DIR]
 *   diff -r OLD_OUTDIR NEW_OUTDIR
 *
 * `--root` runs the `main.ts` of another checkout (say a worktree of main),
 * so old and new are produced by the same script. Per workload and preset it
 * runs `run` twice (GOGC=100 at the default MemProfileRate, and GOGC=5 at
 * MemProfileRate=1 so that small sizes still see many GC cycles and every
 * allocation in the profiles), with `GODEBUG=allocfreetrace=1,gctrace=1`
 * and every output file: the trace, gctrace (stderr), the text and proto
 * heap profiles, folded stacks, the HTML report and the JSON summary (its
 * wall-clock fields removed); then `replay` of the shared testdata under every
 * preset (from a copy in OUTDIR, so that its printed path is the same in
 * every checkout) and `analyze --json` of the leak traces it produced. Profiles
 * are kept decoded (`.pb`) with `time_nanos` zeroed. Sizes are
 * small: the whole set runs in well under a minute.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Profile } from "npm:pprof-format@2.3.2";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { root: { type: "string" } },
});
const outArg = positionals[0];
if (outArg === undefined) {
  console.error("usage: compare_outputs.ts OUTDIR [--root DIR]");
  Deno.exit(2);
}
await Deno.mkdir(outArg, { recursive: true });
const out = await Deno.realPath(outArg);
const root = await Deno.realPath(
  values.root ?? fileURLToPath(new URL("../", import.meta.url)),
);
const main = `${root.replace(/\/$/, "")}/main.ts`;
const testdata = fileURLToPath(
  new URL("../tests/testdata/shared/go1.19/", import.meta.url),
);

const WORKLOADS: [string, string[]][] = [
  ["binarytrees", ["--depth", "7"]],
  ["leak", ["--n", "600"]],
  ["temporaries", ["--n", "200"]],
  ["heapprofile", ["--small", "3000", "--large", "40"]],
  ["multigo", ["--workers", "3", "--jobs", "300"]],
  ["cache", ["--requests", "1500", "--capacity", "100"]],
];
// Every preset: go1.22 shares go1.19's collector calibrations (the 2-P mark
// end, the sweeper's), so a change to them moves go1.22's outputs too.
const PRESETS = ["go1.19", "go1.22", "go1.2-seed"];
const CONFIGS: [string, string[]][] = [
  ["default", []],
  ["gogc5-rate1", ["--gogc", "5", "--memprofilerate", "1"]],
];

/**
 * `run`'s default heap limit is half this machine's memory, and `run --json`
 * reports it: a fixed limit keeps the outputs the same on every machine.
 */
const HEAP_LIMIT = ["--heap-limit", String(2 ** 32)];

interface Job {
  name: string;
  args: string[];
  files: string[];
}

const jobs: Job[] = [];
for (const [w, wargs] of WORKLOADS) {
  for (const preset of PRESETS) {
    for (const [config, cargs] of CONFIGS) {
      const name = `run-${w}-${preset}-${config}`;
      const f = (ext: string) => `${name}.${ext}`;
      jobs.push({
        name,
        args: [
          "run",
          w,
          ...wargs,
          "--go",
          preset,
          ...cargs,
          "--godebug",
          "allocfreetrace=1,gctrace=1",
          ...HEAP_LIMIT,
          "--trace-out",
          f("trace"),
          "--memprofile",
          f("pb.gz"),
          "--memprofile-text",
          f("heap.txt"),
          "--folded",
          f("folded"),
          "--html",
          f("html"),
          "--json",
        ],
        files: ["trace", "pb.gz", "heap.txt", "folded", "html"].map(f),
      });
    }
  }
}
// Bigger, untraced: many go1.19 cycles past its 4 MB minimum goal.
for (const preset of PRESETS) {
  const name = `run-binarytrees-d13-${preset}`;
  const f = (ext: string) => `${name}.${ext}`;
  jobs.push({
    name,
    args: [
      "run",
      "binarytrees",
      "--depth",
      "13",
      "--go",
      preset,
      "--gogc",
      "50",
      "--godebug",
      "gctrace=1",
      ...HEAP_LIMIT,
      "--memprofilerate",
      "4096",
      "--memprofile",
      f("pb.gz"),
      "--memprofile-text",
      f("heap.txt"),
      "--json",
    ],
    files: ["pb.gz", "heap.txt"].map(f),
  });
}
// The shared trace is replayed from a copy in OUTDIR, by a relative name:
// `replay` prints the path it read, which must not name this checkout. (The
// copy is removed once every run is done.)
const REPLAYED = "leak-n300.trace";
await Deno.copyFile(`${testdata}${REPLAYED}`, `${out}/${REPLAYED}`);
for (const preset of PRESETS) {
  const name = `replay-leak-${preset}`;
  const f = (ext: string) => `${name}.${ext}`;
  jobs.push({
    name,
    args: [
      "replay",
      REPLAYED,
      "--go",
      preset,
      "--memprofilerate",
      "1",
      "--memprofile",
      f("pb.gz"),
      "--memprofile-text",
      f("heap.txt"),
      "--folded",
      f("folded"),
    ],
    files: ["pb.gz", "heap.txt", "folded"].map(f),
  });
}

/** Fields of `run --json` that measure the machine, not the simulation. */
const WALL_CLOCK = /^ {2}"(seconds|allocsPerSecond)": .*\n/gm;

async function runJob(job: Job): Promise<void> {
  for (const file of job.files) {
    await Deno.remove(`${out}/${file}`).catch(() => {});
  }
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...job.args],
    cwd: out,
    env: { NO_COLOR: "1", GOGC: "", GODEBUG: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(r.stdout).replace(WALL_CLOCK, "");
  await Deno.writeTextFile(`${out}/${job.name}.stdout`, stdout);
  await Deno.writeTextFile(
    `${out}/${job.name}.stderr`,
    `exit ${r.code}\n${dec.decode(r.stderr)}`,
  );
  for (const file of job.files.filter((f) => f.endsWith(".pb.gz"))) {
    await _stripTime(`${out}/${file}`);
  }
}

/**
 * A profile records when it was written (`time_nanos`) and gzip may differ
 * in its header: keep the decoded profile with the time zeroed instead.
 */
async function _stripTime(path: string): Promise<void> {
  const gz = await Deno.readFile(path).catch(() => null);
  if (gz === null) return;
  const raw = new Uint8Array(
    await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const p = Profile.decode(raw);
  p.timeNanos = 0;
  await Deno.writeFile(path.replace(/\.gz$/, ""), p.encode());
  await Deno.remove(path);
}

const t0 = performance.now();
let next = 0;
await Promise.all(
  [0, 1].map(async () => {
    while (next < jobs.length) await runJob(jobs[next++]);
  }),
);
// The seed format is read back: analyze the seed traces just written.
const analyses = PRESETS.map((preset) => ({
  name: `analyze-leak-${preset}`,
  args: ["analyze", `run-leak-${preset}-default.trace`, "--json"],
  files: [],
}));
for (const job of analyses) await runJob(job);
await Deno.remove(`${out}/${REPLAYED}`);
console.log(
  `${jobs.length + analyses.length} runs into ${out} in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
