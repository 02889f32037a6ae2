/**
 * Regenerates the Go 1.23 execution-trace corpus in tests/testdata/go1.23/:
 * builds each program under programs/ with Go 1.23, runs it with
 * GODEBUG=traceallocfree=1 (it writes NAME.trace and its own truth,
 * NAME.truth.json), then counts the events per kind that Go's own reader
 * prints (`go tool trace -d=2`) into NAME.gotool.json. The trace is kept
 * gzipped (NAME.trace.gz): the reader takes gzip as it is.
 *
 * Usage: deno run --allow-all scripts/gen_go123_traces.ts [GO]
 * (GO defaults to /usr/lib/go-1.23/bin/go.)
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const GO = Deno.args[0] ?? "/usr/lib/go-1.23/bin/go";
const dir = fileURLToPath(
  new URL("../tests/testdata/go1.23/", import.meta.url),
);
const programs = Deno.env.get("ONLY_EXTRA") ? [] : [
  "leak",
  "churn",
  "lru",
  "goroutines",
];

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: { GOTOOLCHAIN: "local", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Event counts per kind in `go tool trace -d=2` output (one event a line; data lines are indented). */
export function countKinds(dump: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of dump.split("\n")) {
    const m = /^([A-Za-z]+)(?: |$)/.exec(line);
    if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return Object.fromEntries(
    Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)),
  );
}

if (import.meta.main) {
  const version = (await run(GO, ["version"])).trim();
  const tmp = await Deno.makeTempDir();
  for (const p of programs) {
    const bin = `${tmp}/${p}`;
    await run(GO, ["build", "-trimpath", "-o", bin, "main.go"], {
      cwd: `${dir}programs/${p}`,
    });
    await run(bin, [`${dir}${p}.trace`, `${dir}${p}.truth.json`], {
      env: { GODEBUG: "traceallocfree=1" },
    });
    const dump = await run(GO, ["tool", "trace", "-d=2", `${dir}${p}.trace`]);
    await Deno.writeTextFile(
      `${dir}${p}.gotool.json`,
      JSON.stringify({ go: version, counts: countKinds(dump) }, null, 2) +
        "\n",
    );
    await run("gzip", ["-9", "-f", `${dir}${p}.trace`]);
    console.log(`${p}: ${(await Deno.stat(`${dir}${p}.trace.gz`)).size} bytes`);
  }
  // Two traces that must be refused cleanly, each with Go's own counts: a
  // Go 1.22 execution trace (the same v2 format, no AllocFree events) and a
  // Go 1.23 trace taken without GODEBUG=traceallocfree=1.
  const extra = [
    {
      name: "go122-goroutines",
      go: GO.replace("1.23", "1.22"),
      p: "goroutines",
      godebug: "",
    },
    {
      name: "noallocfree-churn",
      go: GO,
      p: "churn",
      godebug: "traceallocfree=0",
    },
  ];
  for (const x of extra) {
    const bin = `${tmp}/${x.name}`;
    await run(x.go, ["build", "-trimpath", "-o", bin, "main.go"], {
      cwd: `${dir}programs/${x.p}`,
    });
    await run(bin, [`${dir}${x.name}.trace`, `${tmp}/${x.name}.truth.json`], {
      env: { GODEBUG: x.godebug },
    });
    const dump = await run(x.go, [
      "tool",
      "trace",
      "-d=2",
      `${dir}${x.name}.trace`,
    ]);
    const version = (await run(x.go, ["version"])).trim();
    await Deno.writeTextFile(
      `${dir}${x.name}.gotool.json`,
      JSON.stringify({ go: version, counts: countKinds(dump) }, null, 2) + "\n",
    );
    await run("gzip", ["-9", "-f", `${dir}${x.name}.trace`]);
    console.log(
      `${x.name}: ${(await Deno.stat(`${dir}${x.name}.trace.gz`)).size} bytes`,
    );
  }
  await Deno.remove(tmp, { recursive: true });
}
