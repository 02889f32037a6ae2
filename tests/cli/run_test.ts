import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace, ROOT, run, withTempDir } from "../_run.ts";
import { startupOf } from "../_testdata.ts";
import { getPreset } from "../../lib/runtime/presets.ts";

Deno.test("alloctrace run (the main job) prints a summary of the simulated heap", async () => {
  const r = await alloctrace(["run", "binarytrees", "--depth", "8"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  // depth 8: stretch 2^10-1, long-lived 2^9-1, then trees of depth 4, 6, 8
  const nodes = 1023 + 511 + 256 * 31 + 64 * 127 + 16 * 511;
  // …after the runtime's start-up, whose live objects stay (goStartup).
  const su = startupOf("binarytrees");
  // Its five fmt.Printf lines: the printer pool's allPools entry,
  // poolLocal array and fmt.pp, the buffer's two growths (24 and 48 B) and
  // three tiny blocks of the six integers of 256 and over boxed by convT64
  // (1023, 256, 7936, 8128, 8176, 511: two to a block). The pool, the
  // printer and its 48-byte buffer stay live (the victim after the final
  // cycle's poolCleanup): 8 + 256 + 208 + 48 bytes.
  const printf = { records: 8, liveObjects: 4, liveBytes: 520 };
  const n = (x: number) => x.toLocaleString("en-US");
  assertIncludes(
    r.stdout,
    `allocations   ${n(nodes + su.records + printf.records)} (`,
  );
  assertIncludes(
    r.stdout,
    `final ${n(8176 + su.liveBytes + printf.liveBytes)} bytes in ${
      n(511 + su.liveObjects + printf.liveObjects)
    } objects`,
  );
  assertIncludes(r.stdout, "GC cycles     1\n"); // the final runtime.GC(): the heap never reaches 4 MB
});

Deno.test("alloctrace run --json gives the MemStats of the run", async () => {
  const r = await alloctrace([
    "run",
    "--depth",
    "6",
    "--go",
    "go1.2-seed",
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assertEquals(doc.preset, "go1.2-seed");
  assertEquals(doc.memstats.HeapObjects, 127);
  assertEquals(doc.memstats.HeapAlloc, 127 * 16);
  assertEquals(doc.memstats.Mallocs - doc.memstats.Frees, 127);
});

Deno.test("bad command lines: one line on stderr and exit code 2", async () => {
  for (
    const [args, want] of [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["run", "--depth", "x"], /--depth takes a whole number, got "x"/],
      [["run", "nosuch"], /unknown workload "nosuch"/],
      [["run", "--go", "go1.5"], /unknown preset "go1.5"/],
      [
        ["run", "--gogc", "lots"],
        /GOGC must be a non-negative integer percentage or "off", got "lots"/,
      ],
      [["run", "leak", "--depth", "3"], /--depth is not a parameter of leak/],
      [["run", "--bogus"], /bogus/],
    ] as const
  ) {
    const r = await alloctrace([...args]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertEquals(r.stdout, "");
    assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assertTrue(want.test(r.stderr), r.stderr);
    assertTrue(!r.stderr.includes("    at "), "stack trace leaked");
  }
});

Deno.test("a heap limit that is too small fails with one line and exit code 1", async () => {
  const r = await alloctrace(["run", "--depth", "10", "--heap-limit", "4096"]);
  assertEquals(r.code, 1);
  // The first allocations are the runtime's start-up (goStartup).
  assertTrue(/out of memory: allocating \d+ bytes/.test(r.stderr), r.stderr);
  assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
});

Deno.test("--help and --version answer", async () => {
  const h = await alloctrace(["--help"]);
  assertEquals(h.code, 0);
  assertIncludes(h.stdout, "Usage: alloctrace <command>");
  const rh = await alloctrace(["run", "--help"]);
  assertIncludes(rh.stdout, "--depth N");
  const v = await alloctrace(["--version"]);
  assertTrue(/^alloctrace \d+\.\d+\.\d+\n$/.test(v.stdout), v.stdout);
});

Deno.test("GODEBUG=gctrace=1 prints one go1.19 gctrace line per cycle on stderr; unknown names warn", async () => {
  const r = await alloctrace([
    "run",
    "binarytrees",
    "--depth",
    "12",
    "--godebug",
    "gctrace=1,nosuchvar=1",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assertTrue(
    /GODEBUG setting "nosuchvar" is not known to go1.19/.test(lines[0]),
    lines[0],
  );
  const gc = lines.slice(1);
  const cycles = Number(/GC cycles +(\d+)/.exec(r.stdout)![1]);
  assertEquals(gc.length, cycles);
  const shape =
    /^gc (\d+) @\d+\.\d{3}s \d+%: [\d.]+\+[\d.]+\+[\d.]+ ms clock, [\d.]+\+[\d.]+\/[\d.]+\/[\d.]+\+[\d.]+ ms cpu, \d+->\d+->\d+ MB, \d+ MB goal, \d+ MB stacks, \d+ MB globals, 2 P( \(forced\))?$/;
  gc.forEach((l, i) => {
    const m = shape.exec(l);
    assertTrue(m !== null, l);
    assertEquals(Number(m[1]), i + 1);
  });
  assertTrue(gc.at(-1)!.endsWith(" (forced)"));
});

Deno.test("GODEBUG=allocfreetrace=1,gctrace=1 on stderr: each gctrace line follows its cycle's tracegc block, as Go prints it", async () => {
  // Go 1.19 prints the gctrace line at the end of mark termination, after
  // tracegc(); the trace printer buffers records, so the line must not
  // overtake the records before it.
  const r = await alloctrace([
    "run",
    "temporaries",
    "--n",
    "300",
    "--godebug",
    "allocfreetrace=1,gctrace=1",
    "--quiet",
  ]);
  assertEquals(r.code, 0, r.stderr.slice(-500));
  const lines = r.stderr.split("\n");
  const tracegc = lines.flatMap((l, i) => l === "end tracegc" ? [i] : []);
  const gc = lines.flatMap((l, i) => /^gc \d+ @/.test(l) ? [i] : []);
  assertEquals(gc.length, 4);
  assertEquals(tracegc.length, gc.length);
  for (let i = 0; i < gc.length; i++) {
    assertTrue(
      gc[i] > tracegc[i] && (i + 1 === gc.length || gc[i] < tracegc[i + 1]),
      `gc ${i + 1} on line ${gc[i]}, tracegc blocks end on ${tracegc}`,
    );
  }
});

Deno.test("the go1.2-seed preset prints Go 1.2's gctrace line", async () => {
  const r = await alloctrace([
    "run",
    "leak",
    "--n",
    "50",
    "--go",
    "go1.2-seed",
    "--godebug",
    "gctrace=1",
  ]);
  assertEquals(r.code, 0, r.stderr);
  for (const l of r.stderr.trimEnd().split("\n")) {
    assertTrue(
      /^gc\d+\(1\): \d+\+\d+\+\d+ ms, \d+ -> \d+ MB \d+ -> \d+ \(\d+-\d+\) objects, 0\(0\) handoff, 0\(0\) steal, 0\/0\/0 yields$/
        .test(l),
      l,
    );
  }
});

Deno.test("run writes the heap profile in three forms; go-readable, text and folded", async () => {
  await withTempDir(async (dir) => {
    const r = await alloctrace([
      "run",
      "leak",
      "--n",
      "200",
      "--memprofilerate",
      "1",
      "--memprofile",
      `${dir}/p.pb.gz`,
      "--memprofile-text",
      `${dir}/p.txt`,
      "--folded",
      `${dir}/p.folded`,
    ], ["--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`]);
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, `wrote ${dir}/p.pb.gz (--memprofile)`);
    assertIncludes(r.stdout, "main.newRecord");
    const text = await Deno.readTextFile(`${dir}/p.txt`);
    assertTrue(text.startsWith("heap profile: "), text);
    const foldedText = await Deno.readTextFile(`${dir}/p.folded`);
    assertIncludes(foldedText, "runtime.main;main.main;main.newRecord 9600\n");
    const gz = await Deno.readFile(`${dir}/p.pb.gz`);
    assertEquals([gz[0], gz[1]], [0x1f, 0x8b]);
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["p.folded", "p.pb.gz", "p.txt"],
    );
  });
});

Deno.test("an output path in a missing directory fails before the run, with one line and no file", async () => {
  const r = await alloctrace([
    "run",
    "--memprofile",
    "/nonexistent-dir/p.pb.gz",
  ], ["--allow-env", "--allow-read", "--allow-write"]);
  assertEquals(r.code, 2);
  assertEquals(
    r.stderr.trim(),
    "alloctrace: --memprofile /nonexistent-dir/p.pb.gz: directory /nonexistent-dir does not exist",
  );
  assertEquals(r.stdout, "");
});

Deno.test("a bad MemProfileRate is a usage error", async () => {
  const r = await alloctrace(["run", "--memprofilerate=-5"]);
  assertEquals(r.code, 2);
  assertIncludes(r.stderr, "--memprofilerate must be from 0 to");
  const r2 = await alloctrace(["run", "--memprofilerate", "1.5"]);
  assertEquals(r2.code, 2);
  assertIncludes(r2.stderr, '--memprofilerate takes a whole number, got "1.5"');
});

Deno.test("GODEBUG=allocfreetrace=1 prints the trace on stderr; --trace-out puts it in a file", async () => {
  const r = await alloctrace([
    "run",
    "leak",
    "--n",
    "3",
    "--godebug",
    "allocfreetrace=1",
  ]);
  assertEquals(r.code, 0, r.stderr);
  // The runtime's start-up on g0 first (goStartup), then main's own.
  assertTrue(
    r.stderr.startsWith(
      "tracealloc(0xc000006000, 0x10, *runtime.p)\ngoroutine 0 [idle]:\n",
    ),
    r.stderr.slice(0, 200),
  );
  assertTrue(
    /\ntracealloc\(0x[0-9a-f]+, 0x400, main\.growth\)\ngoroutine 1 \[running\]:\n/
      .test(r.stderr),
  );
  assertIncludes(r.stderr, "\ntracegc()\n");
  await withTempDir(async (dir) => {
    const f = await alloctrace(
      [
        "run",
        "leak",
        "--n",
        "3",
        "--godebug",
        "allocfreetrace=1",
        "--trace-out",
        `${dir}/t.trace`,
      ],
      ["--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
    );
    assertEquals(f.code, 0, f.stderr);
    assertEquals(f.stderr, "");
    assertEquals(await Deno.readTextFile(`${dir}/t.trace`), r.stderr);
    const su = startupOf("leak");
    assertIncludes(
      f.stdout,
      // leak -n 3: 3 records, 3 payloads, 3 scratch buffers, 3 growths, the
      // growths array, and the final concatstring3 string.
      `(allocfreetrace: ${14 + su.records} allocations, ${
        5 + su.dead + su.untraced
      } frees, 1 GCs)`,
    );
  });
});

Deno.test("a run that fails still leaves every record traced before the failure", async () => {
  const r = await alloctrace([
    "run",
    "leak",
    "--n",
    "1000",
    "--heap-limit",
    "262144",
    "--godebug",
    "allocfreetrace=1",
  ]);
  assertEquals(r.code, 1);
  const lines = r.stderr.trimEnd().split("\n");
  assertTrue(
    lines.at(-1)!.startsWith("alloctrace: out of memory"),
    lines.at(-1),
  );
  assertTrue(lines.filter((l) => l.startsWith("tracealloc(")).length > 10);
  // The last record is complete: its final frame line precedes the blank line and the error.
  assertEquals(lines.at(-2), "");
});

Deno.test("alloctrace workloads lists every built-in workload with its parameters", async () => {
  const r = await alloctrace(["workloads"]);
  assertEquals(r.code, 0, r.stderr);
  for (
    const w of [
      "binarytrees",
      "leak",
      "temporaries",
      "heapprofile",
      "multigo",
      "cache",
    ]
  ) {
    assertTrue(
      r.stdout.includes(`\n${w}\n`) || r.stdout.startsWith(`${w}\n`),
      w,
    );
  }
  assertIncludes(r.stdout, "--depth N");
  // Each "mirrors" line names a directory that exists in the repository.
  const mirrors = [...r.stdout.matchAll(/^ {2}mirrors (\S+)$/gm)];
  assertEquals(mirrors.length, 4, r.stdout);
  for (const [, path] of mirrors) {
    assertTrue(Deno.statSync(`${ROOT}${path}`).isDirectory, path);
  }
  const j = await alloctrace(["workloads", "--json"]);
  assertEquals(JSON.parse(j.stdout).length, 6);
});

Deno.test("script workloads: run, arguments, a throwing script, a missing one, one without permission", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/w.ts`;
    await Deno.writeTextFile(
      script,
      `export default function (rt, args) {
  const t = rt.types.define("main.T", { size: 64, pointers: [0] });
  rt.call("main.main", "main.go", 10, () => { for (let i = 0; i < Number(args[0]); i++) rt.newobject(t); });
  if (args[1] === "boom") throw new Error("kaboom");
}
`,
    );
    const read = ["--allow-env", `--allow-read=${dir}`];
    const ok = await alloctrace(["run", script, "500", "--json"], read);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(JSON.parse(ok.stdout).memstats.Mallocs, 500);
    const boom = await alloctrace(["run", script, "5", "boom"], read);
    assertEquals([boom.code, boom.stderr.trim()], [
      1,
      `alloctrace: workload script ${script} failed: kaboom`,
    ]);
    const missing = await alloctrace(["run", `${dir}/nope.ts`], read);
    assertEquals(missing.code, 1);
    assertIncludes(
      missing.stderr,
      `cannot load workload script ${dir}/nope.ts: Module not found`,
    );
    const denied = await alloctrace(["run", script, "5"]);
    assertEquals(denied.code, 1);
    assertIncludes(denied.stderr, "--allow-read");
    assertEquals(denied.stderr.trim().split("\n").length, 1);
    await Deno.writeTextFile(`${dir}/bad.ts`, "export const x = 1;\n");
    const bad = await alloctrace(["run", `${dir}/bad.ts`], read);
    assertEquals(bad.code, 1);
    assertIncludes(bad.stderr, "has no default export function");
  });
});

Deno.test("help texts: a parameter shared by workloads says what it is for each; replay and diff name Go 1.23+ execution traces", async () => {
  const run = await alloctrace(["run", "--help"]);
  // Wrapped descriptions joined back onto their option's line.
  const n = run.stdout.replace(/\n {10,}/g, " ").split("\n").find((l) =>
    l.startsWith("  --n N")
  );
  assertIncludes(n ?? "", "leak: iterations;");
  assertIncludes(n ?? "", "temporaries: iterations per phase");
  for (const cmd of ["replay", "diff"]) {
    const h = await alloctrace([cmd, "--help"]);
    assertIncludes(h.stdout.replace(/\s+/g, " "), "Go 1.23+ execution trace");
  }
  // The command list names both kinds of trace analyze reads.
  const main = await alloctrace(["--help"]);
  assertIncludes(
    main.stdout.replace(/\s+/g, " "),
    "analyze TRACE read a GODEBUG=allocfreetrace=1 log (Go 1.3 to 1.22) or a Go 1.23+ execution trace",
  );
  // diff's own options line up with the site options it shares.
  const diff = await alloctrace(["diff", "--help"]);
  for (
    const opt of ["--top N", "--json", "--by func|line|stack", "-q, --quiet"]
  ) {
    const line = diff.stdout.split("\n").find((l) =>
      l.startsWith(`  ${opt} `)
    )!;
    const desc = line.length - line.slice(2 + opt.length).trimStart().length;
    assertEquals(desc, 24, line);
  }
});

Deno.test("run: a small run says '1 object' and its rate with digits (k/s), not 0.0 M/s", async () => {
  // leak -n 0 keeps its growths array (go1.2-seed: no runtime start-up).
  const r = await alloctrace(["run", "leak", "--n", "0", "--go", "go1.2-seed"]);
  assertEquals(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "final 1,024 bytes in 1 object\n");
  const time = r.stdout.split("\n").find((l) => l.startsWith("time"))!;
  assertTrue(
    /, [1-9][\d,.]* [kM]? ?simulated allocations\/s$/.test(time),
    time,
  );
});

Deno.test("--trace-out alone turns allocfreetrace on: the same trace as with --godebug allocfreetrace=1 (it wrote nothing before)", async () => {
  await withTempDir(async (dir) => {
    const perms = [
      "--allow-env",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
    ];
    const base = ["run", "leak", "--n", "3", "--trace-out"];
    const alone = await alloctrace([...base, `${dir}/a.trace`], perms);
    assertEquals(alone.code, 0, alone.stderr);
    const explicit = await alloctrace(
      [...base, `${dir}/b.trace`, "--godebug", "allocfreetrace=1"],
      perms,
    );
    assertEquals(explicit.code, 0, explicit.stderr);
    const a = await Deno.readTextFile(`${dir}/a.trace`);
    assertTrue(a.startsWith("tracealloc("), a.slice(0, 80));
    assertEquals(a, await Deno.readTextFile(`${dir}/b.trace`));
    // Its summary names the file and the same counts.
    const counts = /\(allocfreetrace: .*\)$/m.exec(explicit.stdout)![0];
    assertIncludes(alone.stdout, `wrote ${dir}/a.trace ${counts}`);
  });
});

Deno.test("a script's summary names its arguments, not an empty ()", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/w.ts`;
    await Deno.writeTextFile(
      script,
      `export default function (rt, args) {
  const t = rt.types.define("main.T", { size: 64, pointers: [] });
  for (let i = 0; i < Number(args[0]); i++) rt.newobject(t);
}
`,
    );
    const read = ["--allow-env", `--allow-read=${dir}`];
    const r = await alloctrace(["run", script, "5", "x y"], read);
    assertEquals(r.code, 0, r.stderr);
    assertTrue(
      r.stdout.startsWith(
        `workload      ${script} (arguments: 5 "x y") on go1.19`,
      ),
      r.stdout.split("\n")[0],
    );
    const none = await alloctrace(["run", script], read);
    assertTrue(
      none.stdout.startsWith(`workload      ${script} on go1.19`),
      none.stdout.split("\n")[0],
    );
  });
});

Deno.test("run: the objects allocated before GODEBUG was read are named on their own line and in --json, so allocations − frees adds up to the final objects", async () => {
  const n = (x: number) => x.toLocaleString("en-US");
  const num = (s: string) => Number(s.replaceAll(",", ""));
  for (const go of ["go1.19", "go1.22", "go1.2-seed"]) {
    const args = ["run", "leak", "--n", "300", "--go", go];
    const t = await alloctrace(args);
    assertEquals(t.code, 0, t.stderr);
    const j = await alloctrace([...args, "--json"]);
    assertEquals(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    // The start-up's own data: the sizes of the objects it allocates before
    // parsedebugvars (no record; the first GC finds them dead).
    const sizes = getPreset(go).startup?.programs.leak.untraced ?? [];
    assertEquals(sizes.length, startupOf("leak", go).untraced);
    const bytes = sizes.reduce((a, s) => a + s, 0);
    assertEquals(doc.untraced, {
      allocs: sizes.length,
      bytes,
      frees: sizes.length, // leak ends with runtime.GC()
    }, go);
    const { exact, memstats: m, tinyAllocsCombined: tiny } = doc;
    assertEquals(m.Mallocs, exact.allocs + tiny + doc.untraced.allocs, go);
    assertEquals(
      m.HeapObjects,
      exact.allocs + doc.untraced.allocs - exact.frees,
    );
    // go1.22's TotalAlloc also counts each allocation header's 8 bytes,
    // which tracealloc leaves out of the size it prints.
    if (go !== "go1.22") {
      assertEquals(m.TotalAlloc, exact.allocBytes + doc.untraced.bytes, go);
    }
    // The text: the same figures, and they add up.
    const lines = t.stdout.split("\n");
    const at = lines.findIndex((l) => l.startsWith("allocations "));
    const allocs = num(/^allocations +([\d,]+)/.exec(lines[at])![1]);
    const frees = num(/^frees +([\d,]+)/m.exec(t.stdout)![1]);
    const final = num(/in ([\d,]+) objects\n/.exec(t.stdout)![1]);
    if (sizes.length === 0) {
      assertTrue(lines[at + 1].startsWith("frees "), lines[at + 1]);
      assertEquals(allocs - frees, final, go);
      continue;
    }
    assertEquals(
      lines[at + 1],
      `              + ${sizes.length} allocated before GODEBUG was read (${
        n(bytes)
      } bytes, untraced), ${sizes.length} of them freed`,
    );
    assertEquals(allocs + sizes.length - frees, final, go);
  }
});

Deno.test("run --trace-out: the 'wrote' line's counts have thousands separators, as every figure of the summary", async () => {
  await withTempDir(async (dir) => {
    const r = await alloctrace(
      ["run", "leak", "--n", "300", "--trace-out", `${dir}/t.trace`],
      ["--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
    );
    assertEquals(r.code, 0, r.stderr);
    // (Every allocation of the run is traced: the two counts are one.)
    const allocs = /^allocations +([\d,]+) \(/m.exec(r.stdout)![1];
    assertTrue(allocs.includes(","), allocs);
    assertIncludes(
      r.stdout,
      `wrote ${dir}/t.trace (allocfreetrace: ${allocs} allocations, `,
    );
  });
});

Deno.test("deno task demo's default heap limit knows the machine's memory (Deno reads /proc/meminfo only under -A: the task asks for systemMemoryInfo instead), and --json says which limit holds", async () => {
  const r = await run(
    Deno.execPath(),
    ["task", "-q", "demo", "leak", "--n", "3", "--json"],
  );
  assertEquals(r.code, 0, r.stderr);
  const kib = /^MemTotal:\s+(\d+) kB$/m.exec(
    await Deno.readTextFile("/proc/meminfo"),
  )![1];
  const mem = Number(kib) * 1024;
  assertEquals(JSON.parse(r.stdout).heapLimit, {
    // (At most 4 GiB: the simulator holds no more.)
    bytes: Math.min(Math.floor(mem / 2), 4 * 2 ** 30),
    chosen: true,
    memory: mem,
    rssStop: Math.floor(mem * 0.8),
  });
  // Without the permission: the fixed 4 GiB, and no RSS stop.
  const bare = await alloctrace(["run", "leak", "--n", "3", "--json"]);
  assertEquals(bare.code, 0, bare.stderr);
  assertEquals(JSON.parse(bare.stdout).heapLimit, {
    bytes: 4 * 2 ** 30,
    chosen: true,
    memory: null,
    rssStop: null,
  });
  // An explicit --heap-limit replaces both.
  const given = await alloctrace(
    ["run", "leak", "--n", "3", "--json", "--heap-limit", "1000000"],
  );
  assertEquals(JSON.parse(given.stdout).heapLimit, {
    bytes: 1000000,
    chosen: false,
    memory: null,
    rssStop: null,
  });
});
