/**
 * `alloctrace analyze` on a 100 MB+ Go 1.23 execution trace, side by side
 * with Go's own reader (`go tool trace -d=2 > /dev/null`) on the same file:
 * wall time, CPU time (user + sys, from /usr/bin/time) and peak RSS of
 * each, in one run. Then the checks: HeapObjectAlloc, HeapObjectFree,
 * SpanAlloc and SpanFree totals equal the counts in Go's dump, and the
 * program's own per-type truth equals the analysis.
 *
 * The trace comes from tests/testdata/go1.23/programs/churn run with ROUNDS
 * (1600: about 108 MB).
 *
 *   deno run -A bench/exectrace_vs_gotool.ts [--rounds 1600] [--dir /tmp/alloctrace-exectrace] [--runs 1]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "1600" },
    dir: { type: "string", default: "/tmp/alloctrace-exectrace" },
    runs: { type: "string", default: "1" },
    go: { type: "string", default: "/usr/lib/go-1.23/bin/go" },
  },
});
const go = values.go!;
const dir = values.dir!;
const root = fileURLToPath(new URL("../", import.meta.url));
const trace = `${dir}/churn-${values.rounds}.trace`;
const truthFile = `${dir}/churn-${values.rounds}.truth.json`;
const env: Record<string, string> = { GOTOOLCHAIN: "local" };

async function ok(cmd: string, args: string[], e = env): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env: e, stdout: "piped" })
    .output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

await Deno.mkdir(dir, { recursive: true });
try {
  await Deno.stat(trace);
} catch {
  const bin = `${dir}/churn`;
  await ok(go, [
    "build",
    "-trimpath",
    "-o",
    bin,
    `${root}tests/testdata/go1.23/programs/churn/main.go`,
  ]);
  console.log(`writing ${trace} (${values.rounds} rounds of churn)…`);
  await ok(bin, [trace, truthFile, values.rounds!], {
    ...env,
    GODEBUG: "traceallocfree=1",
  });
}
const size = (await Deno.stat(trace)).size;
console.log(`${trace}: ${(size / 1e6).toFixed(1)} MB`);

interface Timed {
  wall: number;
  cpu: number;
  rssKB: number;
  stdout: string;
}

/** Runs `sh -c script` under /usr/bin/time; stdout of the script is kept. */
async function timed(script: string): Promise<Timed> {
  const tf = await Deno.makeTempFile();
  const t0 = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-o", tf, "-f", "%U %S %M", "sh", "-c", script],
    stdout: "piped",
    stderr: "inherit",
    env,
  }).output();
  const wall = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`${script} failed`);
  const [u, s, m] = (await Deno.readTextFile(tf)).trim().split("\n").at(-1)!
    .split(" ").map(Number);
  await Deno.remove(tf);
  return {
    wall,
    cpu: u + s,
    rssKB: m,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

const deno = Deno.execPath();
const ours =
  `${deno} run --allow-read --allow-env ${root}main.ts analyze ${trace} --json -q`;
const theirs = `${go} tool trace -d=2 ${trace} > /dev/null`;
const rows: string[] = [];
let json = "";
for (let i = 0; i < Number(values.runs); i++) {
  // Alternated, so both see the same machine load.
  const g = await timed(theirs);
  const a = await timed(ours);
  json = a.stdout;
  const mb = size / 1e6;
  rows.push(
    `run ${i + 1}: go tool trace -d=2: ${g.wall.toFixed(1)} s wall (${
      (mb / g.wall).toFixed(1)
    } MB/s), ${g.cpu.toFixed(1)} s CPU, ${
      (g.rssKB / 1024).toFixed(0)
    } MB RSS | alloctrace analyze: ${a.wall.toFixed(1)} s wall (${
      (mb / a.wall).toFixed(1)
    } MB/s), ${a.cpu.toFixed(1)} s CPU, ${
      (a.rssKB / 1024).toFixed(0)
    } MB RSS | ratio ${(g.wall / a.wall).toFixed(2)}× wall, ${
      (g.cpu / a.cpu).toFixed(2)
    }× CPU`,
  );
  console.log(rows.at(-1));
}

// Go's counts, from its dump, streamed (it is gigabytes of text).
const counts: Record<string, number> = {};
const child = new Deno.Command(go, {
  args: ["tool", "trace", "-d=2", trace],
  stdout: "piped",
  env,
}).spawn();
let rest = "";
const dec = new TextDecoder();
const kinds = ["HeapObjectAlloc", "HeapObjectFree", "SpanAlloc", "SpanFree"];
const count = (line: string) => {
  const sp = line.indexOf(" ");
  const k = sp < 0 ? line : line.slice(0, sp);
  if (kinds.includes(k)) counts[k] = (counts[k] ?? 0) + 1;
};
for await (const chunk of child.stdout) {
  const text = rest + dec.decode(chunk, { stream: true });
  const lines = text.split("\n");
  rest = lines.pop()!;
  for (const l of lines) count(l);
}
count(rest);
await child.status;
const j = JSON.parse(json);
let bad = 0;
for (const k of kinds) {
  const same = j.events[k] === counts[k];
  if (!same) bad++;
  console.log(
    `${k}: go tool trace ${counts[k]}, alloctrace ${j.events[k]} ${
      same ? "(equal)" : "(DIFFERENT)"
    }`,
  );
}
const truth = JSON.parse(await Deno.readTextFile(truthFile));
for (
  const [type, t] of Object.entries(truth.types) as [string, {
    allocated: number;
    live: number;
  }][]
) {
  const got = j.types.find((x: { type: string }) => x.type === type);
  const same = got?.allocs === t.allocated && got?.live === t.live;
  if (!same) bad++;
  console.log(
    `${type}: program ${t.allocated} allocated, ${t.live} live; alloctrace ${got?.allocs} allocated, ${got?.live} live ${
      same ? "(equal)" : "(DIFFERENT)"
    }`,
  );
}
console.log(`heap model anomalies: ${JSON.stringify(j.anomalies)}`);
if (bad > 0) Deno.exit(1);
