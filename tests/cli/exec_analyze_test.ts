/**
 * `alloctrace analyze` on Go 1.23 execution traces: text, JSON, gzip and
 * stdin, pprof that `go tool pprof` reads, and a table of bad inputs (each
 * row: exit code, exactly one line on stderr, no pre-existing file
 * changed).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { concat, gzipBytes } from "../_bytes.ts";
import { alloctrace, run, withTempDir } from "../_run.ts";
import { corpusTrace } from "../_exectrace.ts";

const DIR = fileURLToPath(new URL("../testdata/go1.23/", import.meta.url));
const READ = ["--allow-env", "--allow-read", "--allow-write"];
const GO123 = "/usr/lib/go-1.23/bin/go";

Deno.test("analyze exec trace: per-type tables in the terminal, from a gzipped file", async () => {
  const r = await alloctrace(["analyze", `${DIR}leak.trace.gz`], READ);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertIncludes(r.stdout, "go 1.23 execution trace, 2 generation(s)");
  // The leak: 3,000 objects of 64 bytes, all live, a leak candidate.
  assertTrue(
    /\n\s*3,000\s+192,000\s+0\s+3,000\s+192,000\s+64\s+main\.Leaked\n/.test(
      r.stdout,
    ),
    r.stdout,
  );
  assertTrue(
    /leak candidates[^\n]*\n[^\n]*\n\s*3,000\s+192,000\s+500 1000 1500[^\n]*main\.Leaked\n/
      .test(r.stdout),
    r.stdout,
  );
  assertIncludes(r.stdout, "allocations by goroutine creation site");
  // Its text columns are left-aligned: the start function, where the
  // goroutine was created, the top types.
  assertTrue(
    /\n\s*9,023\s+391,432\s+3,020\s+0 {2}runtime\.main {2,}\(the main goroutine\) {2,}main\.Temp 6,000/
      .test(r.stdout),
    r.stdout,
  );
  // Both peaks, labelled: with the objects from before tracing, and of the
  // objects allocated while tracing (the HTML report's).
  assertIncludes(r.stdout, "peak live     2,666,288 bytes at 1.261 s\n");
  assertTrue(
    /\n {14}231,632 bytes at \S+ \S+ of the objects allocated while tracing \(the HTML report's peak\)\n/
      .test(r.stdout),
    r.stdout,
  );
});

Deno.test("analyze exec trace: --json from stdin equals the file's, with Go's event counts", async () => {
  const gz = await Deno.readFile(`${DIR}goroutines.trace.gz`);
  const a = await alloctrace(["analyze", "-", "--json"], READ, gz);
  assertEquals(a.code, 0, a.stderr);
  const j = JSON.parse(a.stdout);
  const go = JSON.parse(
    await Deno.readTextFile(`${DIR}goroutines.gotool.json`),
  );
  assertEquals(j.events, go.counts);
  assertEquals(j.allocs, go.counts.HeapObjectAlloc);
  const job = j.types.find((t: { type: string }) => t.type === "main.Job");
  assertEquals([job.allocs, job.allocBytes, job.live], [4500, 360000, 3000]);
  assertEquals(j.generations, 1);
  assertTrue(j.stacks.allocs > 0 && j.stacks.live > 0, "goroutine stacks");
  const b = await alloctrace(
    ["analyze", `${DIR}goroutines.trace.gz`, "--json"],
    READ,
  );
  const jb = JSON.parse(b.stdout);
  for (const k of ["types", "sites", "stacks", "events", "timeline"]) {
    assertEquals(JSON.stringify(jb[k]), JSON.stringify(j[k]), k);
  }
});

Deno.test("analyze exec trace: pprof frames are type, goroutine start, creation stack; go tool pprof reads it", async () => {
  await withTempDir(async (dir) => {
    const r = await alloctrace(
      [
        "analyze",
        `${DIR}goroutines.trace.gz`,
        "--pprof",
        `${dir}/p.pb.gz`,
        "--folded",
        `${dir}/f.txt`,
        "--folded-type",
        "alloc_objects",
        "--html",
        `${dir}/r.html`,
      ],
      READ,
    );
    assertEquals(r.code, 0, r.stderr);
    const folded = await Deno.readTextFile(`${dir}/f.txt`);
    // The report's timeline runs on the trace's clock.
    const html = await Deno.readTextFile(`${dir}/r.html`);
    assertIncludes(html, '"timeLabel":"wall time"');
    assertTrue(/"time":0\.00\d+/.test(html), "timeline points carry seconds");
    assertTrue(
      /^main\.main;main\.producer;type:main\.Job 4500$/m.test(folded),
      folded.slice(0, 2000),
    );
    try {
      await Deno.stat(GO123);
    } catch {
      console.log(`skipped go tool pprof: ${GO123} is not installed`);
      return;
    }
    const top = await run(GO123, [
      "tool",
      "pprof",
      "-sample_index=alloc_objects",
      "-top",
      `${dir}/p.pb.gz`,
    ], { env: { GOTOOLCHAIN: "local", HOME: dir } });
    assertEquals(top.code, 0, top.stderr);
    assertTrue(/\b4500\b.*type:main\.Job/.test(top.stdout), top.stdout);
  });
});

Deno.test("replay exec trace: the same allocations at the same slot sizes in the simulated runtime", async () => {
  const r = await alloctrace(
    [
      "replay",
      `${DIR}churn.trace.gz`,
      "--memprofilerate",
      "1",
      "--json",
    ],
    READ,
  );
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const go = JSON.parse(await Deno.readTextFile(`${DIR}churn.gotool.json`));
  assertEquals(j.replayed.allocs, go.counts.HeapObjectAlloc);
  assertEquals(j.replayed.unmatchedFrees, 0);
  const bytes = (type: string) =>
    j.samples.find((s: { frames: { func: string }[] }) =>
      s.frames[0].func === `type:${type}`
    ).values.slice(0, 2);
  // 40 KiB large objects, 704-byte header objects (640 + 8 → class 704), 32 B.
  assertEquals(bytes("main.Large"), [80, 80 * 40960]);
  assertEquals(bytes("main.Medium"), [1000, 1000 * 704]);
  assertEquals(bytes("main.Small"), [4000, 4000 * 32]);
});

Deno.test("analyze exec trace --go: one warning line that --go is ignored, the same report; -q silences it", async () => {
  const plain = await alloctrace(["analyze", `${DIR}leak.trace.gz`], READ);
  const r = await alloctrace(
    ["analyze", `${DIR}leak.trace.gz`, "--go", "go1.19"],
    READ,
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    r.stderr,
    "alloctrace: warning: --go go1.19 is ignored: an execution trace records each object's size class as its Go ran it\n",
  );
  assertEquals(r.stdout, plain.stdout);
  const j = await alloctrace(
    ["analyze", `${DIR}leak.trace.gz`, "--go", "go1.19", "--json", "-q"],
    READ,
  );
  assertEquals(j.stderr, "");
  assertEquals(JSON.parse(j.stdout).warnings, [
    "--go go1.19 is ignored: an execution trace records each object's size class as its Go ran it",
  ]);
});

Deno.test("replay exec trace: a Go 1.23 trace on go1.19's rules warns once, as an allocfreetrace trace does; go1.22 (the nearest preset) does not", async () => {
  const r = await alloctrace(["replay", `${DIR}churn.trace.gz`], READ);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    r.stderr,
    "alloctrace: warning: the replay's size classes, fragmentation and GC pacing follow go1.19's rules, but the trace comes from go1.23 (its execution trace's header); use --go go1.22 (the nearest preset)\n",
  );
  const near = await alloctrace(
    ["replay", `${DIR}churn.trace.gz`, "--go", "go1.22"],
    READ,
  );
  assertEquals(near.code, 0, near.stderr);
  assertEquals(near.stderr, "");
});

Deno.test("diff of two exec traces: by type", async () => {
  const r = await alloctrace(
    ["diff", `${DIR}leak.trace.gz`, `${DIR}lru.trace.gz`],
    READ,
  );
  assertEquals(r.code, 0, r.stderr);
  assertTrue(
    /-192,000\s+192,000\s+0\s+type:main\.Leaked\n/.test(r.stdout),
    r.stdout,
  );
  assertTrue(
    /\+128,032\s+0\s+128,032\s+type:main\.entry\n/.test(r.stdout),
    r.stdout,
  );
});

/** One bad input: its bytes, and what must happen. */
interface Row {
  name: string;
  bytes: () => Promise<Uint8Array>;
  code: number;
  stderr: RegExp;
  stdout?: RegExp;
}

const enc = (s: string) => new TextEncoder().encode(s);
const header = (v: string) => enc(`go 1.${v} trace\0\0\0`);
function random(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const ROWS: Row[] = [
  {
    name: "a text file",
    bytes: () => Promise.resolve(enc("hello\nworld\n")),
    code: 1,
    stderr: /not an allocfreetrace log/,
  },
  {
    name: "random bytes",
    bytes: () => Promise.resolve(random(100_000, 7)),
    code: 1,
    stderr: /^alloctrace: /,
  },
  {
    name: "random bytes after a go 1.23 header",
    bytes: () => Promise.resolve(concat(header("23"), random(100_000, 11))),
    code: 1,
    stderr: /nothing complete to analyse/,
  },
  {
    name: "a go 1.23 header and nothing else",
    bytes: () => Promise.resolve(header("23")),
    code: 1,
    stderr: /without allocation events: take it with GODEBUG=traceallocfree=1/,
  },
  {
    name:
      "a real Go 1.22 execution trace (no allocation events in that version)",
    bytes: () => corpusTrace("go122-goroutines"),
    code: 1,
    stderr:
      /a go 1\.22 execution trace without allocation events: take it with GODEBUG=traceallocfree=1 \(Go 1\.23\+\)$/,
  },
  {
    name: "a real Go 1.23 execution trace taken without traceallocfree",
    bytes: () => corpusTrace("noallocfree-churn"),
    code: 1,
    stderr: /a go 1\.23 execution trace without allocation events/,
  },
  {
    name: "a go 1.25 trace",
    bytes: async () =>
      concat(header("25"), (await corpusTrace("churn")).subarray(16)),
    code: 1,
    stderr: /a Go 1\.25 execution trace: version not supported/,
  },
  {
    name: "a go 1.19 trace",
    bytes: () => Promise.resolve(concat(header("19"), random(1000, 3))),
    code: 1,
    stderr: /a Go 1\.19 execution trace: the pre-1\.22 format/,
  },
  {
    name: "a trace cut in its second generation",
    bytes: async () => {
      const b = await corpusTrace("leak");
      return b.subarray(0, b.length - 5000);
    },
    code: 0,
    stderr: /^alloctrace: warning: .*cut off.*analysed/,
    stdout: /main\.Leaked/,
  },
  {
    name: "a trace cut in its only generation",
    bytes: async () => {
      const b = await corpusTrace("churn");
      return b.subarray(0, b.length >> 1);
    },
    code: 1,
    stderr: /cut off in generation 1 .*nothing complete to analyse$/,
  },
  {
    name: "a corrupt batch in the second generation",
    bytes: async () => {
      const b = (await corpusTrace("leak")).slice();
      // The first batch of generation 2 starts right after generation 1's
      // last batch: find a batch header with gen 2 and break its kind byte.
      for (let i = b.length >> 1; i < b.length - 2; i++) {
        if (b[i] === 1 && b[i + 1] === 2 && b[i - 1] !== 0x80) {
          b[i] = 0xee;
          break;
        }
      }
      return b;
    },
    code: 0,
    stderr: /^alloctrace: warning: .*(corrupt|batch).*analysed$/,
    stdout: /main\.Leaked/,
  },
  {
    name: "a gzip stream cut in the middle",
    bytes: async () => {
      const gz = await gzipBytes(await corpusTrace("leak"));
      return gz.subarray(0, gz.length - 20_000);
    },
    code: 0,
    stderr:
      /^alloctrace: warning: .*in: the gzip stream is cut or corrupt after [\d,]+ bytes of trace \(.+\); everything before the cut was analysed$/,
    stdout: /main\.Leaked/,
  },
  {
    name: "a trace cut inside its header",
    bytes: () => Promise.resolve(enc("go 1.23 tra")),
    code: 1,
    stderr: /^alloctrace: /,
  },
];

for (const row of ROWS) {
  Deno.test(`analyze exec trace, bad input: ${row.name}`, async () => {
    await withTempDir(async (dir) => {
      const input = `${dir}/in`;
      await Deno.writeFile(input, await row.bytes());
      const keep = `${dir}/keep.pb.gz`;
      await Deno.writeTextFile(keep, "untouched");
      const args = [
        "analyze",
        input,
        ...(row.code !== 0 ? ["--pprof", keep] : []),
      ];
      const r = await alloctrace(args, READ);
      assertEquals(r.code, row.code, r.stderr);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assertEquals(lines.length, 1, r.stderr);
      assertTrue(row.stderr.test(lines[0]), lines[0]);
      if (row.stdout) assertTrue(row.stdout.test(r.stdout), r.stdout);
      assertEquals(await Deno.readTextFile(keep), "untouched");
    });
  });
}
