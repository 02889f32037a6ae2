import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace, run, withTempDir } from "../_run.ts";
import { readPprof } from "../../mod.ts";
import { findGo } from "../../bench/_go.ts";
import { GO119 } from "../_testdata.ts";
import { findChromium } from "../_cdp.ts";
import { open, watchedPage } from "../report/_browser.ts";

const GO = await findGo();

const SHARED = fileURLToPath(GO119);
const READ = ["--allow-env", "--allow-read", "--allow-write"];

Deno.test("analyze: a real trace, text and JSON, with an exact pprof and folded stacks", async () => {
  await withTempDir(async (dir) => {
    const r = await alloctrace(
      [
        "analyze",
        `${SHARED}leak-n300.trace`,
        "--pprof",
        `${dir}/p.pb.gz`,
        "--folded",
        `${dir}/f.txt`,
      ],
      READ,
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    assertIncludes(
      r.stdout,
      "1,018 allocations (297,840 bytes), 319 frees, 1 GC cycle",
    );
    // The continuation line belongs to the trace line; the version line,
    // short, comes after it.
    assertIncludes(
      r.stdout,
      "GC cycle\n              3 frees of objects allocated before tracing started\n" +
        "go version    go1.19 (from tracealloc's call site runtime/malloc.go:1131)\n",
    );
    // Sites with file:line; each leak candidate followed by its stack.
    const leaks = r.stdout.slice(r.stdout.indexOf("leak candidates"));
    assertIncludes(
      leaks,
      [
        "    300  76,800  1/1.0/1  main.makePayload acceptance/programs/leak/main.go:41",
        "                            ← main.main acceptance/programs/leak/main.go:71",
        "                            ← runtime.main runtime/proc.go:250",
      ].join("\n"),
    );
    assertIncludes(
      leaks,
      "main.newRecord acceptance/programs/leak/main.go:38\n                            ← main.main acceptance/programs/leak/main.go:70\n",
    );
    assertIncludes(
      r.stdout,
      "   300  153,600    300     0           0  main.makeScratch acceptance/programs/leak/main.go:44\n",
    );
    // Runtime-only stacks are named by their meaningful runtime function.
    assertIncludes(leaks, "runtime.procresize runtime/proc.go:4857");
    const tables = r.stdout.slice(r.stdout.indexOf("top sites"));
    for (const plumbing of ["runtime.mallocgc", "runtime.systemstack_switch"]) {
      assertTrue(!tables.includes(plumbing), `${plumbing} named a site`);
    }
    const p = await readPprof(await Deno.readFile(`${dir}/p.pb.gz`));
    const payload = p.samples.filter((s) =>
      s.frames[0].func === "main.makePayload"
    );
    assertEquals(payload.reduce((a, s) => a + s.values[1], 0), 76800);
    assertIncludes(
      await Deno.readTextFile(`${dir}/f.txt`),
      "main.main;main.makeScratch acceptance/programs/leak/main.go:44 153600\n",
    );
    const j = await alloctrace([
      "analyze",
      `${SHARED}binarytrees-d6.trace.gz`,
      "--json",
    ], READ);
    const doc = JSON.parse(j.stdout);
    assertEquals([doc.allocs, doc.frees, doc.gcs], [4521, 4283, 1]);
    assertEquals(
      doc.sites[0].site,
      "main.bottomUpTree acceptance/programs/binarytrees/main.go:37",
    );
  });
});

Deno.test("analyze reads stdin (-), gzip recognised by its magic bytes", async () => {
  const gz = await Deno.readFile(`${SHARED}binarytrees-d6.trace.gz`);
  const out = await alloctrace(["analyze", "-", "--json"], READ, gz);
  assertEquals(out.code, 0, out.stderr);
  assertEquals(JSON.parse(out.stdout).allocs, 4521);
});

Deno.test("analyze: a truncated trace warns, analyses everything before the cut, and exits 0 (1 with --strict)", async () => {
  const r = await alloctrace([
    "analyze",
    `${SHARED}bad-leak-n300-truncated.trace`,
  ], READ);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    r.stderr.trim(),
    `alloctrace: warning: ${SHARED}bad-leak-n300-truncated.trace: the last record (line 7664: tracealloc(0xc0000bd700, 0x100, uint8)) is cut off; everything before it was analysed`,
  );
  assertIncludes(r.stdout, "465 allocations");
  const s = await alloctrace([
    "analyze",
    `${SHARED}bad-leak-n300-truncated.trace`,
    "--strict",
  ], READ);
  assertEquals(s.code, 1);
});

Deno.test("analyze: bad inputs get one clear line and a non-zero exit; a cut gzip is analysed up to the cut", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    await Deno.writeFile(
      `${dir}/garbage`,
      crypto.getRandomValues(new Uint8Array(5000)),
    );
    await Deno.writeTextFile(`${dir}/notatrace.txt`, "hello\nworld\n");
    const gz = await Deno.readFile(`${SHARED}binarytrees-d6.trace.gz`);
    await Deno.writeFile(`${dir}/cut.gz`, gz.slice(0, gz.length / 2));
    for (
      const [path, code, msg] of [
        [`${dir}/missing.trace`, 1, `${dir}/missing.trace: no such file`],
        [dir, 1, `${dir} is a directory, not a trace file`],
        [`${dir}/empty`, 1, `${dir}/empty is empty`],
        [`${dir}/garbage`, 1, `${dir}/garbage: not an allocfreetrace log`],
        [
          `${dir}/notatrace.txt`,
          1,
          `${dir}/notatrace.txt: not an allocfreetrace log: no tracealloc, tracefree, tracegc, MProf_Malloc or MProf_Free record in 2 line(s)`,
        ],
      ] as const
    ) {
      const r = await alloctrace(["analyze", path], READ);
      assertEquals(r.code, code, `${path}: ${r.stderr}`);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertIncludes(r.stderr, msg);
      assertTrue(!r.stderr.includes("    at "), "stack trace leaked");
    }
    const cut = await alloctrace(["analyze", `${dir}/cut.gz`], READ);
    assertEquals(cut.code, 0, cut.stderr);
    assertIncludes(cut.stderr, "the gzip stream is cut or corrupt after");
    assertTrue(/trace +\S+: [\d,]+ allocations/.test(cut.stdout), cut.stdout);
    const strict = await alloctrace(
      ["analyze", `${dir}/cut.gz`, "--strict"],
      READ,
    );
    assertEquals(strict.code, 1);
    const usage = await alloctrace(["analyze"], READ);
    assertEquals(usage.code, 2);
  });
});

Deno.test("replay: a trace at MemProfileRate 1 gives back its allocations and live objects in the profile", async () => {
  await withTempDir(async (dir) => {
    const r = await alloctrace(
      [
        "replay",
        `${SHARED}binarytrees-d6.trace.gz`,
        "--memprofilerate",
        "1",
        "--memprofile",
        `${dir}/r.pb.gz`,
      ],
      READ,
    );
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(
      r.stdout,
      "4,521 allocations, 4,280 frees; 3 frees skipped (their objects were allocated before tracing started)",
    );
    const p = await readPprof(await Deno.readFile(`${dir}/r.pb.gz`));
    const nodes = p.samples.filter((s) =>
      s.frames[0].func === "main.bottomUpTree"
    );
    assertEquals(nodes.reduce((a, s) => a + s.values[0], 0), 4398);
    assertEquals(nodes.reduce((a, s) => a + s.values[2], 0), 127);
  });
});

Deno.test("diff: two traces and two profiles, per site", async () => {
  const t = await alloctrace([
    "diff",
    `${SHARED}leak-n300.trace`,
    `${SHARED}temporaries-n40.trace`,
    "--json",
  ], READ);
  assertEquals(t.code, 0, t.stderr);
  const doc = JSON.parse(t.stdout);
  const scratch = doc.sites.find((s: { site: string }) =>
    s.site === "main.makeScratch acceptance/programs/leak/main.go:44"
  );
  assertEquals(scratch.delta[1], -153600);
  const p = await alloctrace([
    "diff",
    `${SHARED}heap/rate-1.pb.gz`,
    `${SHARED}heap/rate-524288.pb.gz`,
  ], READ);
  assertEquals(p.code, 0, p.stderr);
  assertTrue(
    /\+7,307,520\s+64,000,000\s+71,307,520\s+main\.allocSmall/.test(p.stdout),
    p.stdout,
  );
  const bad = await alloctrace(["diff", `${SHARED}leak-n300.trace`], READ);
  assertEquals(bad.code, 2);
  await withTempDir(async (dir) => {
    // An uncompressed Go profile (it starts with field 11, not 1 or 2) and a
    // gzipped trace are told apart by their content, not their first byte.
    const gz = await Deno.readFile(`${SHARED}heap/rate-1.pb.gz`);
    await Deno.writeFile(
      `${dir}/rate-1.pb`,
      new Uint8Array(
        await new Response(
          new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
        ).arrayBuffer(),
      ),
    );
    const plain = await alloctrace([
      "diff",
      `${dir}/rate-1.pb`,
      `${SHARED}heap/rate-524288.pb.gz`,
    ], READ);
    assertEquals(plain.code, 0, plain.stderr);
    assertEquals(
      plain.stdout,
      p.stdout.replace(`${SHARED}heap/rate-1.pb.gz`, `${dir}/rate-1.pb`),
    );
    // A cut gzipped profile: one line naming the file, not a trace-format complaint.
    await Deno.writeFile(`${dir}/cut.pb.gz`, gz.subarray(0, 200));
    const cut = await alloctrace(
      ["diff", `${dir}/cut.pb.gz`, `${SHARED}leak-n300.trace`],
      READ,
    );
    assertEquals(cut.code, 1);
    assertEquals(cut.stderr.trim().split("\n").length, 1, cut.stderr);
    assertIncludes(cut.stderr, `${dir}/cut.pb.gz: `);
    assertTrue(!cut.stderr.includes("not an allocfreetrace log"), cut.stderr);
  });
});

Deno.test({
  name: "analyze --pprof output is read by go tool pprof",
  ignore: GO === null,
  async fn() {
    await withTempDir(async (dir) => {
      await alloctrace([
        "analyze",
        `${SHARED}leak-n300.trace`,
        "--pprof",
        `${dir}/p.pb.gz`,
      ], READ);
      const r = await run(GO!, [
        "tool",
        "pprof",
        "-top",
        "-sample_index=inuse_space",
        "-unit=B",
        `${dir}/p.pb.gz`,
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertTrue(/76800B .* main\.makePayload/.test(r.stdout), r.stdout);
      // The profile names what it was made from (pprof's "File:" line, its
      // mapping's base name), not a simulation: nothing was simulated.
      assertIncludes(r.stdout, "File: leak-n300.trace\n");
    });
  },
});

Deno.test("analyze: an 8.7 MB file read straight into the parser gives what the same bytes through stdin give", async () => {
  await withTempDir(async (dir) => {
    const gz = await Deno.readFile(`${SHARED}binarytrees-d6.trace.gz`);
    const text = new Uint8Array(
      await new Response(
        new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
      ).arrayBuffer(),
    );
    await Deno.writeFile(`${dir}/t.trace`, text);
    const fromFile = await alloctrace(
      ["analyze", `${dir}/t.trace`, "--json", "--quiet"],
      READ,
    );
    assertEquals(fromFile.code, 0, fromFile.stderr);
    const out = await alloctrace(
      ["analyze", "-", "--json", "--quiet"],
      READ,
      text,
    );
    assertEquals(out.code, 0, out.stderr);
    const strip = (s: string) => {
      const doc = JSON.parse(s);
      delete doc.seconds;
      delete doc.file;
      return doc;
    };
    const a = strip(fromFile.stdout);
    assertEquals(a.bytes, text.length);
    assertEquals([a.allocs, a.frees, a.gcs], [4521, 4283, 1]);
    assertEquals(a, strip(out.stdout));
  });
});

Deno.test("analyze reads a named pipe (no size: read to the end, not called empty)", async () => {
  await withTempDir(async (dir) => {
    const fifo = `${dir}/trace.fifo`;
    const mk = await run("mkfifo", [fifo]);
    assertEquals(mk.code, 0, mk.stderr);
    const analysis = alloctrace(["analyze", fifo, "--json"], READ);
    const w = await Deno.open(fifo, { write: true });
    let bytes = await Deno.readFile(`${SHARED}leak-n300.trace`);
    while (bytes.length > 0) bytes = bytes.subarray(await w.write(bytes));
    w.close();
    const r = await analysis;
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).allocs, 1018);
  });
});

Deno.test("analyze --json: sites with file, line and stack; numbers are numbers; --by and --frames", async () => {
  const j = await alloctrace(
    ["analyze", `${SHARED}leak-n300.trace`, "--json"],
    READ,
  );
  assertEquals(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout);
  const byFunc = (f: string) =>
    doc.sites.find((s: { func: string }) => s.func === f);
  for (
    const [func, line] of [
      ["main.newRecord", 38],
      ["main.makePayload", 41],
      ["main.makeScratch", 44],
    ] as const
  ) {
    const s = byFunc(func);
    assertEquals(
      [s.site, s.file, s.line],
      [`${func} acceptance/programs/leak/main.go:${line}`, s.file, line],
    );
    assertEquals(s.file, "acceptance/programs/leak/main.go");
    assertEquals(s.stack[0], {
      func,
      file: "acceptance/programs/leak/main.go",
      line,
      inlined: false,
    });
    assertEquals(s.stack[1].func, "main.main");
  }
  assertEquals(byFunc("main.makePayload").liveStack[1].line, 71);
  assertEquals(byFunc("main.makeScratch").liveStack, []);
  // Every figure in the document is a number, never a formatted string.
  const walk = (v: unknown, path: string): void => {
    if (typeof v === "string") {
      assertTrue(
        !/^-?[\d,.]+$/.test(v),
        `${path} holds a number as a string: ${v}`,
      );
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    }
  };
  walk(doc, "$");
  const f = await alloctrace(
    ["analyze", `${SHARED}leak-n300.trace`, "--by", "func", "--frames", "1"],
    READ,
  );
  assertEquals(f.code, 0, f.stderr);
  assertTrue(/ main\.makePayload\n/.test(f.stdout), f.stdout);
  assertTrue(!f.stdout.includes("← "), "--frames 1 shows no callers");
  const st = await alloctrace(
    ["analyze", `${SHARED}leak-n300.trace`, "--stacks", "--json"],
    READ,
  );
  const stackSite = JSON.parse(st.stdout).sites.find((
    s: { func: string },
  ) => s.func === "main.makePayload");
  assertEquals(
    stackSite.site,
    "main.makePayload acceptance/programs/leak/main.go:41 ← main.main acceptance/programs/leak/main.go:71 ← runtime.main runtime/proc.go:250",
  );
  assertEquals(stackSite.frames.length, 3);
  const bad = await alloctrace(
    ["analyze", `${SHARED}leak-n300.trace`, "--by", "file"],
    READ,
  );
  assertEquals(bad.code, 2);
  assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assertIncludes(bad.stderr, "--by must be one of func, line, stack");
});

Deno.test("analyze: a native --trace-out trace (MProf_* records, no tracegc) names its format, not a Go version, and no GC cycles", async () => {
  await withTempDir(async (dir) => {
    const t = `${dir}/n.trace`;
    await Deno.writeTextFile(
      t,
      [
        "MProf_Malloc(p=0x1000, size=0x20, type=0x0 <single object>)",
        "\t#0 0x401000 malloc /usr/lib/x86_64-linux-gnu/libc.so.6:0",
        "\t#1 0x402000 main /tmp/prog.c:5",
        "MProf_Free(p=0x1000, size=0x20)",
        "\t#0 0x403000 free /usr/lib/x86_64-linux-gnu/libc.so.6:0",
        "\t#1 0x402010 main /tmp/prog.c:6",
        "",
      ].join("\n"),
    );
    const r = await alloctrace(["analyze", t], ["--allow-read"]);
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assertTrue(
      /^trace {9}\S+: 1 allocations? \(32 bytes\), 1 frees?$/.test(lines[0]),
      lines[0],
    );
    assertTrue(!/GC cycle/.test(r.stdout.split("\n\n")[0]), r.stdout);
    assertEquals(
      lines[1],
      "format        MProf_* records (Go's Dec 2013 seed format, which native --trace-out writes)",
    );
    assertTrue(!r.stdout.includes("go version"), r.stdout);
  });
});

Deno.test({
  name:
    "analyze: a library frame without a line (native --trace-out's libc.so.6:0) shows its module, not ':0', in the text and the HTML report",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (dir) => {
      const t = `${dir}/n.trace`;
      const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
      await Deno.writeTextFile(
        t,
        [
          "MProf_Malloc(p=0x1000, size=0x20, type=0x0 <single object>)",
          `\t#0 0x401000 malloc ${libc}:0`,
          "\t#1 0x402000 main /tmp/prog.c:5",
          `\t#2 0x404000 __libc_start_main ${libc}:0`,
          "",
        ].join("\n"),
      );
      const r = await alloctrace(
        ["analyze", t, "--html", `${dir}/n.html`],
        ["--allow-read", `--allow-write=${dir}`],
      );
      assertEquals(r.code, 0, r.stderr);
      assertIncludes(r.stdout, `← __libc_start_main ${libc}\n`);
      assertTrue(!r.stdout.includes(".so.6:0"), r.stdout);
      const stack = await alloctrace(["analyze", t, "--by", "stack"], [
        "--allow-read",
      ]);
      assertIncludes(
        stack.stdout,
        `main /tmp/prog.c:5 ← __libc_start_main ${libc}\n`,
      );
      // In the page (Chromium): the site's stack row, built from its frames.
      const chromium = findChromium();
      if (chromium === null) return;
      const { page, errors } = await watchedPage(chromium);
      try {
        await open(page, `${dir}/n.html`);
        await page.eval(
          "document.querySelector('#sites tr.row').dispatchEvent(new MouseEvent('click'))",
        );
        assertEquals(
          await page.eval<string>(
            "document.querySelector('#sites tr.stack').textContent.trim()",
          ),
          `main /tmp/prog.c:5\n← __libc_start_main ${libc}`,
        );
        assertEquals(errors, []);
      } finally {
        await page.close();
      }
    }),
});
