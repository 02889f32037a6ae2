/**
 * `alloctrace native`'s report: JSON only to a file (the program's stdout
 * is left alone), malloc's terms (no GC sections, sizes obeying --top),
 * and the same sites from `native` as from `analyze` of its trace.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace, run } from "../_run.ts";
import { findGo } from "../../bench/_go.ts";
import { compile, dir, skip } from "./_support.ts";

// Two leaks in one function at different lines, and output on stdout.
const TWO_LEAKS = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *volatile keep;
__attribute__((noinline)) void leaky(int n) {
  for (int i = 0; i < n; i++) {
    char *a = malloc(40);
    memset(a, 1, 40);
    keep = a;
    char *b = malloc(3000);
    memset(b, 2, 3000);
    keep = b;
    void *volatile t = malloc(1 << (i % 12));
    free(t);
  }
}
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  leaky(n);
  for (int i = 0; i < n; i++) printf("done %d\\n", i);
  return 0;
}
`;

Deno.test({
  name:
    "native --json FILE: the program's stdout is untouched, the JSON is in the file; --json without a file is refused",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("two_leaks_json", TWO_LEAKS);
    const r = await alloctrace([
      "native",
      "--json",
      `${dir}/r.json`,
      "--",
      bin,
      "50",
    ], ["-A"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      r.stdout,
      Array.from({ length: 50 }, (_, i) => `done ${i}\n`).join(""),
    );
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    assertEquals(doc.exitCode, 0);
    assertTrue(doc.allocs >= 150, String(doc.allocs));
    for (const bad of [["--json", "-"], ["--json=", "-q"]]) {
      const u = await alloctrace(["native", ...bad, "--", bin, "1"], ["-A"]);
      assertEquals(u.code, 2, u.stderr);
      assertEquals(u.stderr.trim().split("\n").length, 1, u.stderr);
      assertEquals(u.stdout, "");
    }
  },
});

Deno.test({
  name:
    "native report: no Go-only sections (GC cycles, size classes); lifetimes in wall time and bytes between; the size histogram obeys --top",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("two_leaks_text", TWO_LEAKS);
    const r = await alloctrace(
      ["native", "--top", "3", "--json", `${dir}/t.json`, "--", bin, "60"],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    for (const go of ["GC cycle", "cycles", "size classes", "fragmentation"]) {
      assertTrue(!r.stderr.includes(go), `"${go}" in\n${r.stderr}`);
    }
    assertTrue(r.stderr.includes("wall time"), r.stderr);
    assertTrue(r.stderr.includes("bytes allocated between"), r.stderr);
    const hist = r.stderr.split("sizes by power of two")[1].trim().split("\n");
    // the heading's end, the columns, then --top rows
    assertEquals(hist.slice(2).length, 3, hist.join("\n"));
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/t.json`));
    assertEquals(doc.sizes.length, 3);
    assertTrue(!JSON.stringify(doc).includes("Cycles"));
    // 1 << (i % 12): 12 powers of two, 5 each, freed.
    const freedSites = doc.lifetimes.sites.filter((
      s: { wall: number[] },
    ) => s.wall.reduce((a: number, b: number) => a + b, 0) > 0);
    const freed = freedSites.reduce(
      (a: number, s: { wall: number[] }) =>
        a + s.wall.reduce((x: number, y: number) => x + y, 0),
      0,
    );
    assertTrue(freed >= 60, `freed blocks with a lifetime: ${freed}`);
  },
});

Deno.test({
  name:
    "native --html on a small run: the timeline has its start and end, the page is told there are no GC cycles (no GC sections), sizes by power of two, lifetimes in bytes",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("two_leaks_html", TWO_LEAKS);
    const r = await alloctrace(
      ["native", "-q", "--html", `${dir}/n.html`, "--", bin, "1"],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const html = await Deno.readTextFile(`${dir}/n.html`);
    const d = JSON.parse(
      /<script type="application\/json" id="data">(.*?)<\/script>/s.exec(
        html,
      )![1],
    );
    assertEquals(d.gc, false);
    assertTrue(d.timeline.length >= 2, JSON.stringify(d.timeline));
    assertEquals(d.timeline[0].live, 0);
    assertEquals(d.timeline[0].alloc, 0);
    assertEquals(d.timeline.at(-1).live, d.summary.liveBytes);
    // The timeline runs on the tracer's wall clock (seconds), not on a clock
    // that never moves: each point has a time, in order, and the axis says so.
    assertEquals(d.timeLabel, "wall time");
    const times = (d.timeline as { time?: number }[]).map((p) => p.time);
    assertTrue(
      times.every((t) => typeof t === "number"),
      JSON.stringify(times),
    );
    for (let i = 1; i < times.length; i++) {
      assertTrue(times[i]! >= times[i - 1]!, JSON.stringify(times));
    }
    // (A run this small is read from the ring at once: its points may share
    // one instant, and the page then offers "bytes allocated" first.)
    const sizes = d.sizes as { size: number; count: number }[];
    assertTrue(sizes.length > 0);
    for (const s of sizes) {
      assertEquals(s.size & (s.size - 1), 0, `${s.size} is a power of two`);
    }
    // 40 → 64, 3000 → 4096, 1 << 0 → 1.
    assertTrue(sizes.some((s) => s.size === 4096), JSON.stringify(sizes));
    const freed = (d.sites as { frees: number; lifetimeBytes: number[] }[])
      .filter((s) => s.frees > 0);
    assertTrue(freed.length > 0);
    for (const s of freed) {
      assertEquals(s.lifetimeBytes.reduce((a, b) => a + b, 0), s.frees);
    }
    assertEquals(d.bytesBuckets.length, freed[0].lifetimeBytes.length);
  },
});

Deno.test({
  name:
    "native: functions inlined at a PC (DWARF's DW_TAG_inlined_subroutine) are frames of their own, innermost first, with their file:line: the site names the inlined function, as addr2line -i and heaptrack do",
  ignore: skip !== "",
  async fn() {
    const bin = await compile(
      "inlined",
      `#include <stdlib.h>
void *volatile sink;
static inline void *leaf(int n) { return malloc(n); }
static inline __attribute__((always_inline)) void *mid(int n) { return leaf(n * 2); }
__attribute__((noinline)) void *outer(int n) { void *p = mid(n + 1); __asm__ volatile("" ::: "memory"); return p; }
int main(void) { for (int i = 0; i < 3; i++) sink = outer(i); return 0; }
`,
      ["-O2"],
    );
    const r = await alloctrace([
      "native",
      "--top",
      "1",
      "--json",
      `${dir}/inlined.json`,
      "--folded",
      `${dir}/inlined.folded`,
      "--trace-out",
      `${dir}/inlined.trace`,
      "--pprof",
      `${dir}/inlined.pb.gz`,
      "--html",
      `${dir}/inlined.html`,
      "--",
      bin,
    ], ["-A"]);
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/inlined.json`));
    const src = `${dir}/inlined.c`;
    assertEquals(doc.sites[0].site, `leaf ${src}:3`);
    assertEquals(
      doc.sites[0].stack.slice(0, 4).map((
        f: { func: string; line: number; inlined: boolean },
      ) => `${f.func}:${f.line}${f.inlined ? " (inlined)" : ""}`),
      ["leaf:3 (inlined)", "mid:4 (inlined)", "outer:5", "main:6"],
    );
    const folded = await Deno.readTextFile(`${dir}/inlined.folded`);
    assertTrue(folded.includes(";main;outer;mid;leaf 12\n"), folded);
    // Every other output names each frame with its file:line.
    assertTrue(
      r.stderr.includes(
        `  leaf ${src}:3\n${" ".repeat(42)}← mid ${src}:4 (inlined)\n${
          " ".repeat(42)
        }← outer ${src}:5\n`,
      ),
      r.stderr,
    );
    const traceText = await Deno.readTextFile(`${dir}/inlined.trace`);
    assertTrue(
      new RegExp(
        `#1 0x[0-9a-f]+ leaf ${src}:3\n\t#2 0x[0-9a-f]+ mid ${src}:4\n\t#3 0x[0-9a-f]+ outer ${src}:5\n`,
      ).test(traceText),
      traceText,
    );
    // The page's data names frames as [func, file, line].
    const html = await Deno.readTextFile(`${dir}/inlined.html`);
    const data = JSON.parse(
      /<script type="application\/json" id="data">(.*?)<\/script>/s
        .exec(html)![1],
    );
    const names = data.frames.map((f: unknown[]) => f.join(":"));
    for (const f of [`leaf:${src}:3`, `mid:${src}:4`, `outer:${src}:5`]) {
      assertTrue(names.includes(f), `html: ${f} in ${names.join(" ")}`);
    }
    const go = await findGo();
    if (go === null) {
      console.log("inlined frames in pprof: skipped: no go");
      return;
    }
    const raw = await run(go, [
      "tool",
      "pprof",
      "-raw",
      `${dir}/inlined.pb.gz`,
    ]);
    assertEquals(raw.code, 0, raw.stderr);
    for (const f of [`leaf ${src}:3`, `mid ${src}:4`, `outer ${src}:5`]) {
      assertTrue(raw.stdout.includes(f), `pprof: ${f}\n${raw.stdout}`);
    }
  },
});
