/**
 * `replay --html` in a real browser (Debian's Chromium, headless): the
 * views `analyze --html` has, of the replayed heap — the summary with the
 * replay's allocations and GC cycles, the live heap over simulated time with
 * a mark per GC cycle of the replay, top sites with file:line, lifetimes in
 * the replay's GC cycles, its size classes — and the flame graph on the heap
 * profile sampled at the replay's MemProfileRate (its subject), the exact
 * one beside it; no console error, no request; a screenshot is saved.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { GO119 } from "../_testdata.ts";
import { open, screenshot, watchedPage } from "./_browser.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "replay_html_test: skipped: Chromium is missing (apt-get install chromium)",
  );
}

const n = (x: number) => x.toLocaleString("en-US");

Deno.test({
  name:
    "replay --html in Chromium: summary, live-heap timeline with the replay's GCs, top sites, lifetimes and size classes of the replayed heap, the flame graph on the sampled profile",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const trace = fileURLToPath(new URL("leak-n300.trace", GO119));
      const perms = ["--allow-env", "--allow-read", `--allow-write=${dir}`];
      const args = ["replay", trace, "--memprofilerate", "4096", "--gogc", "5"];
      const j = await alloctrace([...args, "--json", "-q"], perms);
      assertEquals(j.code, 0, j.stderr);
      const doc = JSON.parse(j.stdout);
      const h = await alloctrace(
        [...args, "-q", "--html", `${dir}/r.html`],
        perms,
      );
      assertEquals(h.code, 0, h.stderr);
      const { page, errors, requests } = await watchedPage(chromium!);
      try {
        await open(page, `${dir}/r.html`);
        const text = (id: string) =>
          page.eval<string>(`document.getElementById('${id}').textContent`);
        const shown = (id: string) =>
          page.eval<boolean>(
            `getComputedStyle(document.getElementById('${id}')).display !== "none"`,
          );
        // The summary: every replayed allocation, the replay's GC cycles.
        const summary = await text("summary");
        assertIncludes(summary, `allocations: ${n(doc.replayed.allocs)}`);
        assertIncludes(summary, `GC cycles: ${doc.memstats.NumGC}`);
        assertTrue(doc.memstats.NumGC >= 2, "GOGC=5 collects more often");
        // review1 #4: the frees as the text and --json give them, the
        // skipped ones named (analyze --html counts 319 of this trace), and
        // the flame graph's basis beside the summary's exact figures.
        assertEquals(doc.replayed.unmatchedFrees, 3);
        assertIncludes(
          summary,
          `frees: ${
            n(doc.replayed.frees)
          }; ${doc.replayed.unmatchedFrees} frees skipped (their objects were allocated before tracing started)`,
        );
        assertIncludes(
          summary,
          "flame graph: the heap profile sampled at MemProfileRate=4096, un-sampled (estimates); these figures: every allocation",
        );
        // The live heap over simulated time, one mark per replayed GC.
        assertTrue(await shown("heapsec"), "the timeline is shown");
        assertTrue(
          await page.eval<number>("window.__report.timelinePoints()") > 10,
        );
        assertEquals(
          await page.eval<number>(
            "document.querySelectorAll('#timeline .gcmark').length",
          ),
          doc.memstats.NumGC,
        );
        assertEquals(
          await page.eval<string>("document.getElementById('xaxis').value"),
          "time",
        );
        // Top sites with file:line, lifetimes in GC cycles, size classes.
        assertTrue(await shown("sitesec"), "the tables are shown");
        assertIncludes(
          await text("sites"),
          "main.makePayload acceptance/programs/leak/main.go:41",
        );
        assertIncludes(await text("lifetimes"), "main.makeScratch");
        assertIncludes(await text("sizes"), "fragmentation");
        // The flame graph opens on the replay's sampled profile.
        assertEquals(
          await page.eval<string>("document.getElementById('prof').value"),
          "sampled",
        );
        assertIncludes(await text("total"), "sampled at MemProfileRate=4096");
        assertEquals(errors, []);
        assertEquals(requests, []);
        await screenshot(page, "report-replay");
      } finally {
        await page.close();
      }
    });
  },
});
