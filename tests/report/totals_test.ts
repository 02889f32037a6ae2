/**
 * Figures that never contradict each other: for `run` and `analyze`, the
 * summary's totals equal the sum of the site table's rows (text and JSON)
 * and the HTML report's totals (its summary and its flame graph's root),
 * all exact; the sampled heap profile is labelled with its rate.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { GO119, startupOf } from "../_testdata.ts";

const RW = (dir: string) => [
  "--allow-env",
  "--allow-read",
  `--allow-write=${dir}`,
];
const num = (s: string) => Number(s.replaceAll(",", ""));

interface PageData {
  summary: {
    allocs: number;
    allocBytes: number;
    liveBytes: number;
    frees: number;
    liveObjects: number;
    peakLive: number;
  };
  samples: { v: number[] }[];
  note: string;
  leaks: { site: string }[];
  leakTitle?: string;
}

async function reportData(path: string): Promise<PageData> {
  const html = await Deno.readTextFile(path);
  const m = /<script type="application\/json" id="data">(.*?)<\/script>/s
    .exec(html);
  assertTrue(m !== null, "the report holds its data");
  return JSON.parse(m[1]);
}

/** Sums of the rows of the first site table (allocs, bytes, live bytes). */
function tableSums(text: string, title: string): number[] {
  const lines = text.slice(text.indexOf(title)).split("\n").slice(2);
  const sums = [0, 0, 0];
  for (const l of lines) {
    if (l.trim() === "") break;
    if (l.trimStart().startsWith("←") || l.trimStart().startsWith("…")) {
      continue;
    }
    const c = l.trim().split(/\s+/);
    sums[0] += num(c[0]);
    sums[1] += num(c[1]);
    sums[2] += num(c[4]);
  }
  return sums;
}

Deno.test("run: summary, exact site table, JSON and HTML report agree", async () => {
  await withTempDir(async (dir) => {
    // go1.2-seed: no runtime start-up, so every site fits the table's 10
    // rows (go1.19's start-up adds a dozen sites).
    const args = [
      "run",
      "leak",
      "--n",
      "300",
      "--go",
      "go1.2-seed",
      "--html",
      `${dir}/r.html`,
    ];
    const t = await alloctrace(args, RW(dir));
    assertEquals(t.code, 0, t.stderr);
    const m = /allocations +([\d,]+) \(([\d,]+) bytes\)/.exec(t.stdout)!;
    const [allocs, bytes] = [num(m[1]), num(m[2])];
    const fin = /final ([\d,]+) bytes/.exec(t.stdout)!;
    assertEquals(
      tableSums(t.stdout, "top sites by bytes allocated"),
      [allocs, bytes, num(fin[1])],
    );
    // The sampled profile is labelled with its rate, beside the exact figure.
    assertTrue(
      /heap profile +sampled at MemProfileRate=524288: alloc_space \S+ estimated .*\(exact: 248\.05kB\)/
        .test(t.stdout),
      t.stdout,
    );
    const j = await alloctrace([...args, "--json"], RW(dir));
    const doc = JSON.parse(j.stdout);
    assertEquals([doc.exact.allocs, doc.exact.allocBytes], [allocs, bytes]);
    assertEquals(doc.memstats.Mallocs, allocs);
    assertEquals(doc.memstats.TotalAlloc, bytes);
    const top = doc.top as { allocBytes: number; value: number }[];
    assertEquals(top.reduce((a, s) => a + s.value, 0), bytes);
    for (const s of top) assertEquals(typeof s.value, "number");
    assertEquals(doc.sampledProfile.rate, 524288);
    const page = await reportData(`${dir}/r.html`);
    assertEquals(
      [page.summary.allocs, page.summary.allocBytes],
      [allocs, bytes],
    );
    assertEquals(page.samples.reduce((a, s) => a + s.v[1], 0), bytes);
    assertEquals(page.samples.reduce((a, s) => a + s.v[0], 0), allocs);
    assertIncludes(page.note, "exact");
  });
});

Deno.test("analyze: summary, site table, JSON and HTML report agree", async () => {
  await withTempDir(async (dir) => {
    const trace = `${fileURLToPath(GO119)}leak-n300.trace`;
    const t = await alloctrace(
      ["analyze", trace, "--top", "1000", "--html", `${dir}/a.html`],
      RW(dir),
    );
    assertEquals(t.code, 0, t.stderr);
    const m = /: ([\d,]+) allocations \(([\d,]+) bytes\)/.exec(t.stdout)!;
    const live = /live at end +([\d,]+) bytes/.exec(t.stdout)!;
    const sums = [num(m[1]), num(m[2]), num(live[1])];
    assertEquals(tableSums(t.stdout, "top sites by bytes allocated"), sums);
    const doc = JSON.parse(
      (await alloctrace(["analyze", trace, "--json"], RW(dir))).stdout,
    );
    type S = { allocs: number; allocBytes: number; liveBytes: number };
    const sites = doc.sites as S[];
    assertEquals([
      sites.reduce((a, s) => a + s.allocs, 0),
      sites.reduce((a, s) => a + s.allocBytes, 0),
      sites.reduce((a, s) => a + s.liveBytes, 0),
    ], sums);
    const page = await reportData(`${dir}/a.html`);
    assertEquals(
      [page.summary.allocs, page.summary.allocBytes, page.summary.liveBytes],
      sums,
    );
    assertEquals(page.samples.reduce((a, s) => a + s.v[1], 0), sums[1]);
    assertEquals(page.samples.reduce((a, s) => a + s.v[3], 0), sums[2]);
  });
});

Deno.test("run --by func keys its summary by function; --frames shows callers; a bad --by is a usage error", async () => {
  const f = await alloctrace(["run", "leak", "--n", "30", "--by", "func"]);
  assertEquals(f.code, 0, f.stderr);
  assertTrue(/ main\.makePayload\n +← main\.main /.test(f.stdout), f.stdout);
  const j = await alloctrace([
    "run",
    "leak",
    "--n",
    "30",
    "--json",
    "--by",
    "stack",
  ]);
  const top = JSON.parse(j.stdout).top as { site: string; func: string }[];
  assertTrue(
    top.some((s) =>
      s.site ===
        "main.makePayload acceptance/programs/leak/main.go:41 ← main.main acceptance/programs/leak/main.go:71 ← runtime.main runtime/proc.go:250"
    ),
    JSON.stringify(top),
  );
  const bad = await alloctrace(["run", "--by", "file"]);
  assertEquals(bad.code, 2);
  assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
});

Deno.test("run: allocations/frees lines are the exact (traced) figures; tiny allocations combined into earlier blocks are shown apart", async () => {
  for (
    const args of [["run", "temporaries"], [
      "run",
      "cache",
      "--requests",
      "5000",
    ]]
  ) {
    const t = await alloctrace(args);
    assertEquals(t.code, 0, t.stderr);
    const m = /allocations +([\d,]+) \(([\d,]+) bytes\)/.exec(t.stdout)!;
    const frees = num(/\nfrees +([\d,]+)/.exec(t.stdout)![1]);
    const sums = tableSums(t.stdout, "top sites by bytes allocated");
    const j = await alloctrace([...args, "--json"]);
    const doc = JSON.parse(j.stdout);
    assertEquals([num(m[1]), num(m[2]), frees], [
      doc.exact.allocs,
      doc.exact.allocBytes,
      doc.exact.frees,
    ]);
    // The table may be cut at 10 rows: its sums never exceed the totals.
    assertTrue(sums[0] <= doc.exact.allocs, `${sums} vs ${m[0]}`);
    const tiny = doc.tinyAllocsCombined as number;
    assertTrue(tiny > 0, `${args}: the workload makes tiny allocations`);
    // MemStats also counts the objects allocated before GODEBUG was read
    // (the runtime's start-up, goStartup), which no record shows.
    const untraced = startupOf(args[1]).untraced;
    assertEquals(doc.memstats.Mallocs, doc.exact.allocs + tiny + untraced);
    assertEquals(doc.memstats.Frees, doc.exact.frees + tiny);
    assertIncludes(
      t.stdout,
      `+ ${
        tiny.toLocaleString("en-US")
      } tiny allocations combined into earlier blocks (MemStats.Mallocs ${
        doc.memstats.Mallocs.toLocaleString("en-US")
      })`,
    );
  }
});

Deno.test("analyze a Go 1.23 execution trace: the HTML report labels the objects that existed before tracing with the terminal's figures, and lists the same leak candidates", async () => {
  await withTempDir(async (dir) => {
    const trace = fileURLToPath(
      new URL("../testdata/go1.23/leak.trace.gz", import.meta.url),
    );
    const j = await alloctrace(["analyze", trace, "--json"], RW(dir));
    assertEquals(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    const t = await alloctrace(
      ["analyze", trace, "--html", `${dir}/e.html`],
      RW(dir),
    );
    assertEquals(t.code, 0, t.stderr);
    const f = (x: number) => x.toLocaleString("en-US");
    assertIncludes(t.stdout, `live at end   ${f(doc.liveBytes)} bytes`);
    const page = await reportData(`${dir}/e.html`);
    assertTrue(doc.existing > 0, "the trace has objects from before tracing");
    // The page's own figures leave those objects out; its note says so and
    // gives the terminal's figures, which include them.
    assertTrue(page.summary.liveBytes < doc.liveBytes);
    for (
      const part of [
        `${f(doc.existing)} objects (${
          f(doc.existingBytes)
        } bytes) that existed when tracing began`,
        `frees ${f(doc.frees)}`,
        `live at end ${f(doc.liveBytes)} bytes in ${
          f(doc.liveObjects)
        } objects`,
        `peak live ${f(doc.peakLiveBytes)} bytes`,
        // and the page's own peak, labelled as such.
        `count the objects allocated while tracing (frees ${
          f(page.summary.frees)
        }, live ${f(page.summary.liveObjects)} objects, peak live ${
          f(page.summary.peakLive)
        } bytes at `,
      ]
    ) assertIncludes(page.note, part);
    assertEquals(page.summary.peakLive, doc.tracedPeakLiveBytes);
    // Leak candidates: the terminal's definition (live count only grew).
    type T = { type: string; leakCandidate: boolean };
    const want = (doc.types as T[]).filter((x) => x.leakCandidate)
      .map((x) => `type:${x.type}`).sort();
    assertTrue(want.length > 0);
    assertEquals(page.leaks.map((l) => l.site).sort(), want);
    assertIncludes(page.leakTitle ?? "", "only grew");
  });
});

Deno.test("run: the peak live heap is one figure in the summary, --json and the HTML report (the exact one; the peak at a GC start beside it when lower)", async () => {
  await withTempDir(async (dir) => {
    // binarytrees allocates past the trigger while the mark runs: the peak
    // between GC starts is above the one at a GC start.
    const args = ["run", "binarytrees", "--depth", "12"];
    const t = await alloctrace([...args, "--html", `${dir}/r.html`], RW(dir));
    assertEquals(t.code, 0, t.stderr);
    const j = await alloctrace([...args, "--json"], RW(dir));
    const doc = JSON.parse(j.stdout);
    const page = await reportData(`${dir}/r.html`) as unknown as {
      summary: { peakLive: number };
    };
    const peak = doc.exact.peakLiveBytes as number;
    assertEquals(page.summary.peakLive, peak);
    assertTrue(doc.peakHeapAlloc < peak, "the GC-start peak is lower here");
    const f = (x: number) => x.toLocaleString("en-US");
    assertIncludes(
      t.stdout,
      `live heap     peak ${f(peak)} bytes (${
        f(doc.peakHeapAlloc)
      } at a GC start), final `,
    );
    // The start-up's untraced objects were freed by the largest GC start.
    assertEquals(doc.peakHeapAllocUntraced, 0);
  });
});

Deno.test("run: MemStats' peak (gctrace's, --json's peakHeapAlloc) never contradicts the exact peak: the bytes in it no record shows are named in the summary, --json and the HTML report", async () => {
  const f = (x: number) => x.toLocaleString("en-US");
  for (
    const args of [
      // The start-up's untraced objects are live at leak's one GC start,
      // the largest HeapAlloc: above the exact peak by their bytes.
      ["run", "leak", "--n", "300"],
      ["run", "leak", "--n", "300", "--go", "go1.22"],
      // go1.22's allocation headers: HeapAlloc counts 8 bytes that
      // tracealloc's size leaves out.
      ["run", "binarytrees", "--depth", "8", "--go", "go1.22"],
      // No start-up: nothing untraced.
      ["run", "binarytrees", "--depth", "8", "--go", "go1.2-seed"],
    ]
  ) {
    await withTempDir(async (dir) => {
      const t = await alloctrace([...args, "--html", `${dir}/r.html`], RW(dir));
      assertEquals(t.code, 0, t.stderr);
      const j = await alloctrace([...args, "--json"], RW(dir));
      const doc = JSON.parse(j.stdout);
      const at = doc.peakHeapAllocAt as string;
      const untraced = doc.peakHeapAllocUntraced as number;
      const exact = doc.exact.peakLiveBytes as number;
      assertTrue(at === "gc start" || at === "end", `${args}: ${at}`);
      assertTrue(untraced >= 0, `${args}: ${untraced}`);
      // The traced part of MemStats' peak is a moment of the exact figures:
      // never above their peak.
      assertTrue(
        doc.peakHeapAlloc - untraced <= exact,
        `${args}: ${doc.peakHeapAlloc} - ${untraced} > ${exact}`,
      );
      if (args[1] === "leak") {
        assertTrue(doc.peakHeapAlloc > exact, `${args}: the case at hand`);
        assertEquals(at, "gc start");
        // (go1.22: also the headers of the objects live then.)
        assertTrue(untraced >= doc.untraced.bytes, `${args}`);
        if (args.length === 4) assertEquals(untraced, doc.untraced.bytes);
      }
      if (args.includes("go1.2-seed")) assertEquals(untraced, 0);
      // The final HeapAlloc: the exact live bytes and the untraced ones.
      const finalUntraced = doc.memstats.HeapAlloc - doc.exact.liveBytes;
      assertTrue(finalUntraced >= 0, `${args}: ${finalUntraced}`);
      if (args.includes("binarytrees") && args.includes("go1.22")) {
        assertTrue(finalUntraced > 0, "go1.22's headers");
      }
      // The text says the same.
      const line = t.stdout.split("\n").find((l) =>
        l.startsWith("live heap ")
      )!;
      const shown = doc.peakHeapAlloc === exact && untraced === 0
        ? ""
        : ` (${f(doc.peakHeapAlloc)} at ${
          at === "end" ? "the end" : "a GC start"
        }${untraced === 0 ? "" : `, of which ${f(untraced)} untraced`})`;
      assertEquals(
        line,
        `live heap     peak ${f(exact)} bytes${shown}, final ${
          f(doc.memstats.HeapAlloc)
        } bytes${
          finalUntraced === 0 ? "" : ` (of which ${f(finalUntraced)} untraced)`
        } in ${f(doc.memstats.HeapObjects)} object${
          doc.memstats.HeapObjects === 1 ? "" : "s"
        }`,
      );
      // The page gives MemStats' figures beside its exact ones.
      const page = await reportData(`${dir}/r.html`) as unknown as {
        summary: { peakLive: number };
        heapAlloc: { peak: number; at: string; untraced: number } | null;
      };
      assertEquals(page.summary.peakLive, exact);
      assertEquals(page.heapAlloc, {
        peak: doc.peakHeapAlloc,
        at,
        untraced,
      });
    });
  }
});
