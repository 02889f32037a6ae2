/**
 * The native HTML report of a real forking program in Chromium, at 1280
 * and 900 px wide: the page never scrolls sideways (the live-heap chart
 * scales down to the page), hovering the chart still finds the point under
 * the mouse, and the processes table the text report has is there too.
 * Screenshots go to dist/test-artifacts.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { alloctrace } from "../_run.ts";
import { compile, dir, skip } from "../native/_support.ts";
import { open, screenshot, setViewport, watchedPage } from "./_browser.ts";
import { renderReport } from "../../lib/report/html.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { StackTable } from "../../lib/trace/events.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "native_html_test: skipped: Chromium is missing (apt-get install chromium)",
  );
}

// The parent keeps 1,000 blocks; three children (fork, no exec) each make
// 500 × (k + 1) blocks and free two thirds of them.
const FORKER = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile keep[2048];
void *make_a_block_with_a_long_name(int n) { return malloc(n); }
int main(void) {
  for (int i = 0; i < 2000; i++) {
    void *p = make_a_block_with_a_long_name(100 + i % 50);
    if (i % 2) keep[i / 2] = p; else free(p);
  }
  for (int k = 0; k < 3; k++) {
    pid_t c = fork();
    if (c == 0) {
      for (int i = 0; i < 500 * (k + 1); i++) {
        void *volatile p = malloc(32 * (k + 1));
        if (i % 3) free(p);
      }
      _exit(0);
    }
    waitpid(c, 0, 0);
  }
  return 0;
}
`;

Deno.test({
  name:
    "native HTML in Chromium at 1280 and 900 px: no sideways scroll, the chart's hover finds its points, a processes table",
  ignore: chromium === null || skip !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bin = await compile("forker_html", FORKER, ["-O0"]);
    const r = await alloctrace(
      ["native", "-q", "--html", `${dir}/forker.html`, "--", bin],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const { page, errors } = await watchedPage(chromium!);
    try {
      for (const width of [1280, 900]) {
        await setViewport(page, width, 1400);
        await open(page, `${dir}/forker.html`);
        await screenshot(page, `native-forker-${width}`);
        const { scroll, client } = await page.eval<
          { scroll: number; client: number }
        >(
          `({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })`,
        );
        assertTrue(
          scroll <= client,
          `at ${width} px the page is ${scroll} px wide in ${client}`,
        );
        // Hovering each point's place on the chart shows that point's moment.
        const n = await page.eval<number>("window.__report.timelinePoints()");
        assertTrue(n >= 3, `${n} points`);
        for (const i of [0, n - 1]) {
          const at = await page.eval<{ x: number; y: number }>(
            `window.__report.timelineX(${i})`,
          );
          await page.send("Input.dispatchMouseEvent", {
            type: "mouseMoved",
            x: at.x,
            y: at.y,
          });
          const guide = await page.eval<number>(
            `document.getElementById("guide").getBoundingClientRect().left`,
          );
          assertTrue(
            Math.abs(guide - at.x) < 1.5,
            `point ${i} at x=${at.x}, the guide at ${guide} (${width} px)`,
          );
        }
        // One row per process: the parent and its three children.
        const rows = await page.eval<string[][]>(
          `[...document.querySelectorAll("#processes tr")].map((r) => [...r.cells].map((c) => c.textContent))`,
        );
        assertEquals(rows[0], [
          "pid",
          "allocs",
          "bytes",
          "frees",
          "live bytes",
          "image",
        ]);
        const body = rows.slice(1);
        assertEquals(body.length, 4, JSON.stringify(rows));
        assertEquals(
          body.map((c) => c[1]),
          ["2,000", "500", "1,000", "1,500"],
        );
        assertEquals(body.map((c) => c[3]), ["1,000", "333", "666", "1,000"]);
        assertTrue(body.every((c) => c[5] === bin), JSON.stringify(body));
      }
      assertEquals(errors, []);
    } finally {
      await page.close();
    }
  },
});

Deno.test({
  name:
    "HTML at 900 px: a long C++ name, path and title break rather than widen the page, an opened stack too; no frees reads as one line",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const st = new StackTable();
    const long =
      "std::vector<std::map<std::basic_string<char>,int>>,".repeat(6) +
      "::_M_realloc_insert";
    const s = st.intern([
      {
        func: long,
        file: `/src/${"x".repeat(150)}.cc`,
        line: 1,
        pc: 0,
        inlined: false,
      },
      { func: long + "2", file: "m.cc", line: 2, pc: 0, inlined: false },
    ]);
    const a = new TraceAnalyzer(st);
    for (let i = 0; i < 4; i++) {
      a.add({
        kind: "alloc",
        addr: 16 + 64 * i,
        size: 40,
        type: null,
        requested: 0,
        goroutine: 1,
        stack: s,
        lineNo: 1,
      });
    }
    const d = await Deno.makeTempDir();
    await Deno.writeTextFile(
      `${d}/long.html`,
      renderReport({
        title: `alloctrace native ${"y".repeat(200)}`,
        subtitle: "exit code 0",
        samples: a.samples(),
        analysis: a.finish(),
        gc: false,
        timeLabel: "wall time",
      }),
    );
    const { page, errors } = await watchedPage(chromium!);
    try {
      await setViewport(page, 900, 1400);
      await open(page, `${d}/long.html`);
      // Open the top site's stack.
      await page.eval(`document.querySelector("#sites tr.row").click()`);
      assertEquals(
        await page.eval<number>(
          `document.querySelectorAll("#sites tr.stack").length`,
        ),
        1,
      );
      await screenshot(page, "long-names-900");
      // Nothing was freed: one line, not a table of headers only.
      assertEquals(
        await page.eval<string>(
          `document.getElementById("lifetimes").innerText`,
        ),
        "No object was freed.",
      );
      const { scroll, client } = await page.eval<
        { scroll: number; client: number }
      >(
        `({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })`,
      );
      assertTrue(
        scroll <= client,
        `the page is ${scroll} px wide in ${client}`,
      );
      assertEquals(errors, []);
    } finally {
      await page.close();
      await Deno.remove(d, { recursive: true });
    }
  },
});

// 4,000 blocks kept, the last a small one (the peak, a few bytes past the
// timeline's last point before it), then 300 ms asleep, and one block freed
// and made again: the heap is back at its peak at the end's point.
const PEAK_THEN_SLEEP = `#include <stdlib.h>
#include <unistd.h>
void *volatile keep[4000];
int main(void) {
  for (int i = 0; i < 3999; i++) keep[i] = malloc(1000 + i % 7);
  keep[3999] = malloc(24);
  usleep(300000);
  free(keep[0]);
  keep[0] = malloc(1000);
  return 0;
}
`;

Deno.test({
  name:
    "native HTML: the peak dot is at the exact peak's moment (the last malloc before a 300 ms sleep), not at a later or lower point of the sparse timeline",
  ignore: chromium === null || skip !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bin = await compile("peak_then_sleep", PEAK_THEN_SLEEP, ["-O0"]);
    const r = await alloctrace(
      ["native", "-q", "--html", `${dir}/peak.html`, "--", bin],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const { page, errors } = await watchedPage(chromium!);
    try {
      await open(page, `${dir}/peak.html`);
      const drawn = await page.eval<
        {
          dot: { time: number; live: number };
          before: { time: number } | null;
          after: { time: number; live: number }[];
          peak: { time: number } | null;
          peakLive: number;
          title: string;
        }
      >(`(() => {
        const c = document.querySelector("#timeline .peakpt");
        const P = window.__report.timeline();
        const i = Number(c.dataset.i);
        const d = JSON.parse(document.getElementById("data").textContent);
        return { dot: P[i], before: i > 0 ? P[i - 1] : null,
          after: P.slice(i + 1), peak: d.peak,
          peakLive: d.summary.peakLive, title: c.textContent };
      })()`);
      // The page was given the moment, and its dot is there.
      assertTrue(drawn.peak !== null, "native passes the peak's moment");
      assertEquals(drawn.dot.time, drawn.peak!.time);
      assertEquals(drawn.dot.live, drawn.peakLive);
      // Which is before the sleep: every later point (the end) is at least
      // most of 300 ms later.
      assertTrue(drawn.after.length > 0, "points after the peak");
      for (const p of drawn.after) {
        assertTrue(
          p.time - drawn.dot.time > 0.25 && p.live <= drawn.peakLive,
          `peak at ${drawn.dot.time} s, a point at ${p.time} s of ${p.live} bytes`,
        );
      }
      assertTrue(drawn.before === null || drawn.before.time <= drawn.dot.time);
      assertEquals(errors, []);
    } finally {
      await page.close();
    }
  },
});

// A tiny run (review1 #5): its exact peak (2,000 bytes) is below the first
// peak snapshot, and comes before the timeline's only points.
const TINY = `#include <stdlib.h>
void *volatile k[8];
int main(void) {
  k[0] = malloc(1000); k[1] = malloc(1000); free(k[0]);
  k[2] = malloc(500); free(k[1]); k[3] = malloc(10);
  return 0;
}
`;

/** The page's timeline points (the peak's among them), as it draws them. */
async function drawnTimeline(
  file: string,
): Promise<{ time: number; alloc: number; live: number; at?: string }[]> {
  const { page, errors } = await watchedPage(chromium!);
  try {
    await open(page, file);
    const P = await page.eval<
      { time: number; alloc: number; live: number; at?: string }[]
    >(
      `window.__report.timeline().map((p) => ({ time: p.time, alloc: p.alloc, live: p.live, at: p.at }))`,
    );
    assertEquals(errors, []);
    return P;
  } finally {
    await page.close();
  }
}

/** Both axes run forwards: time and bytes allocated never go back. */
function assertForwards(P: { time: number; alloc: number }[]): void {
  for (let i = 1; i < P.length; i++) {
    assertTrue(
      P[i].time >= P[i - 1].time && P[i].alloc >= P[i - 1].alloc,
      `point ${i} goes back: ${JSON.stringify(P)}`,
    );
  }
}

Deno.test({
  name:
    "native HTML of a tiny run: the chart starts at or before its exact peak, and neither axis runs backwards (review1 #5: the peak was drawn before the start, the line 2,000 -> 0 -> 2,510 bytes allocated)",
  ignore: chromium === null || skip !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bin = await compile("tiny_html", TINY, ["-O0"]);
    const r = await alloctrace(
      ["native", "-q", "--html", `${dir}/tiny.html`, "--", bin],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const P = await drawnTimeline(`${dir}/tiny.html`);
    assertEquals(P[0].at, "start", JSON.stringify(P));
    assertEquals(P.filter((p) => p.at === "peak").map((p) => p.live), [2000]);
    assertForwards(P);
  },
});

Deno.test({
  name:
    "HTML: a peak at the same moment as a later point (a clock that did not move) is drawn before it, by bytes allocated (review1 #5)",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const st = new StackTable();
    const s = st.intern([
      { func: "main", file: "m.c", line: 1, pc: 0, inlined: false },
    ]);
    // (As native analyses: blocks freed at their own address, no header.)
    const a = new TraceAnalyzer(st, {
      now: () => 0.5,
      headers: false,
      dense: false,
    });
    let line = 0;
    const alloc = (addr: number, size: number) =>
      a.add({
        kind: "alloc",
        addr,
        size,
        type: null,
        requested: 0,
        goroutine: 1,
        stack: s,
        lineNo: ++line,
      });
    const free = (addr: number) =>
      a.add({
        kind: "free",
        addr,
        size: 0,
        goroutine: 1,
        stack: s,
        lineNo: ++line,
      });
    alloc(16, 1000);
    alloc(2048, 1000);
    free(16);
    alloc(4096, 500);
    free(2048);
    alloc(8192, 10);
    const d = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${d}/tie.html`,
        renderReport({
          title: "tie",
          subtitle: "exit code 0",
          samples: a.samples(),
          analysis: a.finish(),
          gc: false,
          timeLabel: "wall time",
          peak: { time: 0.5, alloc: 2000, cycle: 0 },
        }),
      );
      const P = await drawnTimeline(`${d}/tie.html`);
      assertEquals(
        P.filter((p) => p.at === "peak").length,
        1,
        JSON.stringify(P),
      );
      assertForwards(P);
    } finally {
      await Deno.remove(d, { recursive: true });
    }
  },
});
