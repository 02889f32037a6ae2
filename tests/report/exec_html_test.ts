/**
 * The HTML report of a Go 1.23+ execution trace in a real browser
 * (Debian's Chromium, headless): each view renders with the figures
 * `analyze --json` gives for the same trace — the summary, the goroutine
 * start and the types in the icicle, flame and inverted views, the
 * timeline on wall time with one mark per GC cycle, the type tables and
 * their stacks; no console error, no request; a screenshot is saved.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { fmtBytes } from "../../lib/report/units.ts";
import { open, screenshot, setSelect, watchedPage } from "./_browser.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "exec_html_test: skipped: Chromium is missing (apt-get install chromium)",
  );
}

type Kid = { name: string; loc: string; value: number };
interface TypeRow {
  type: string;
  allocs: number;
  allocBytes: number;
  frees: number;
  live: number;
  liveBytes: number;
  leakCandidate: boolean;
}

const n = (x: number) => x.toLocaleString("en-US");

Deno.test({
  name:
    "the Go 1.23 execution-trace report in Chromium: summary, icicle/flame/inverted by goroutine start and type, wall-time timeline with every GC, type tables and stacks, as analyze --json counts them",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const trace = fileURLToPath(
        new URL("../testdata/go1.23/leak.trace.gz", import.meta.url),
      );
      const perms = ["--allow-env", "--allow-read", `--allow-write=${dir}`];
      const j = await alloctrace(["analyze", trace, "--json"], perms);
      assertEquals(j.code, 0, j.stderr);
      const doc = JSON.parse(j.stdout);
      const types = doc.types as TypeRow[];
      const byType = new Map(types.map((t) => [`type:${t.type}`, t]));
      const h = await alloctrace(
        ["analyze", trace, "--html", `${dir}/e.html`],
        perms,
      );
      assertEquals(h.code, 0, h.stderr);
      const { page, errors, requests } = await watchedPage(chromium!);
      try {
        await open(page, `${dir}/e.html`);
        // Summary: the traced allocations and GC cycles the terminal counts.
        const summary = await page.eval<string>(
          "document.getElementById('summary').textContent",
        );
        assertIncludes(summary, `allocations: ${n(doc.allocs)}`);
        assertIncludes(
          summary,
          `allocated: ${fmtBytes(doc.allocBytes)} (${n(doc.allocBytes)} bytes)`,
        );
        assertIncludes(summary, `GC cycles: ${doc.gcs}`);
        assertIncludes(
          await page.eval<string>(
            "document.getElementById('subtitle').textContent",
          ),
          "go 1.23 execution trace",
        );
        // The page's own live figure, the same in its summary and as the
        // inuse_space total (the objects from before tracing left out).
        const live = await page.eval<number>(
          "JSON.parse(document.getElementById('data').textContent).summary.liveBytes",
        );
        assertIncludes(
          summary,
          `live at end: ${fmtBytes(live)} (${n(live)} bytes) in `,
        );

        // Icicle: under the root, the goroutine start function with what
        // its goroutines allocated; zoomed, the types it allocated.
        const kids = await page.eval<Kid[]>("window.__report.rootChildren()");
        const main = (doc.sites as { start: string; allocBytes: number }[])
          .find((s) => s.start === "runtime.main")!;
        assertEquals([kids[0].name, kids[0].value], [
          "runtime.main",
          main.allocBytes,
        ]);
        const rect = await page.eval<{ x: number; y: number }>(
          "window.__report.nodeRect('runtime.main')",
        );
        await page.click(rect.x, rect.y);
        assertEquals(
          await page.eval<string>("window.__report.zoomed()"),
          "runtime.main",
        );
        const zoomed = await page.eval<Kid[]>(
          "window.__report.rootChildren()",
        );
        assertEquals(
          zoomed.slice(0, 2).map((k) => k.name).sort(),
          ["type:main.Leaked", "type:main.Temp"],
        );
        for (const k of zoomed.slice(0, 2)) {
          assertEquals(k.value, byType.get(k.name)!.allocBytes, k.name);
        }
        assertIncludes(
          await page.eval<string>(
            "document.getElementById('reltitle').textContent",
          ),
          `runtime.main (${fmtBytes(main.allocBytes)} alloc_space)`,
        );
        await page.eval("document.getElementById('reset').click()");
        // Flame graph: the same tree, its root at the bottom.
        await page.eval(setSelect("view", "flame"));
        const root = await page.eval<{ y: number }>(
          "window.__report.nodeRect('all')",
        );
        const start = await page.eval<{ y: number }>(
          "window.__report.nodeRect('runtime.main')",
        );
        assertTrue(root.y > start.y, "the root is at the bottom");
        // Inverted: the types are the roots, each with all its bytes.
        await page.eval(setSelect("view", "inverted"));
        const inv = await page.eval<Kid[]>("window.__report.rootChildren()");
        // (Types with only objects from before tracing have no allocation.)
        const allocated = types.filter((t) => t.allocs > 0);
        assertEquals(inv.length, allocated.length);
        for (const k of inv) {
          assertEquals(k.value, byType.get(k.name)?.allocBytes, k.name);
        }
        await page.eval(setSelect("view", "icicle"));
        await page.eval(setSelect("type", "inuse_space"));
        assertEquals(
          await page.eval<string>(
            "document.getElementById('total').textContent",
          ),
          `total ${fmtBytes(live)}`,
        );
        await page.eval(setSelect("type", "alloc_space"));

        // Timeline on the trace's wall time: ticks on both axes, one mark
        // per GC cycle, bounded points.
        assertEquals(
          await page.eval<string>("document.getElementById('xaxis').value"),
          "time",
        );
        const xt = await page.eval<string[]>(
          "[...document.querySelectorAll('#timeline .xtick')].map((e) => e.textContent)",
        );
        // (One unit on the axis, from 0: the trace is 1.9 s long.)
        assertEquals(xt, ["0 s", "0.5 s", "1.0 s", "1.5 s"]);
        assertTrue(
          await page.eval<number>(
            "document.querySelectorAll('#timeline .ytick').length",
          ) >= 3,
        );
        assertEquals(
          await page.eval<number>(
            "document.querySelectorAll('#timeline .gcmark').length",
          ),
          doc.gcs,
        );
        const points = await page.eval<number>(
          "window.__report.timelinePoints()",
        );
        assertTrue(points > 10 && points <= 2000, `${points} points`);
        // One peak on the page, labelled: the summary's, the note's and the
        // red dot's are the traced objects' (analyze --json's
        // tracedPeakLiveBytes, at its time); the note gives the terminal's,
        // with the objects from before tracing, as such.
        const secs = (s: number) =>
          s >= 1 ? s.toFixed(2) + " s" : (s * 1e3).toFixed(1) + " ms";
        assertIncludes(
          summary,
          `peak live: ${fmtBytes(doc.tracedPeakLiveBytes)} (${
            n(doc.tracedPeakLiveBytes)
          } bytes) at ${secs(doc.tracedPeakTime / 1e9)}`,
        );
        const dot = await page.eval<{ live: number; time: number }>(
          "(() => { const d = JSON.parse(document.getElementById('data').textContent); const i = +document.querySelector('#timeline .peakpt').dataset.i; return window.__report.point(i); })()",
        );
        assertEquals(dot, {
          live: doc.tracedPeakLiveBytes,
          time: doc.tracedPeakTime / 1e9,
        });
        const subtitle = await page.eval<string>(
          "document.getElementById('subtitle').textContent",
        );
        assertIncludes(
          subtitle,
          `peak live ${n(doc.tracedPeakLiveBytes)} bytes at `,
        );
        assertIncludes(
          subtitle,
          `with them, as the terminal shows: frees ${
            n(doc.frees)
          }, live at end ${n(doc.liveBytes)} bytes in ${
            n(doc.liveObjects)
          } objects, peak live ${n(doc.peakLiveBytes)} bytes at `,
        );
        // The heap moves in steps between the points: every segment of the
        // line is level or upright, none a slope.
        const slopes = await page.eval<number>(
          "(() => { const p = document.querySelector('#timeline polyline').getAttribute('points').trim().split(/\\s+/).map((q) => q.split(',').map(Number)); let n = 0; for (let i = 1; i < p.length; i++) if (p[i][0] !== p[i - 1][0] && p[i][1] !== p[i - 1][1]) n++; return n; })()",
        );
        assertEquals(slopes, 0);

        // Tables: each type row has the terminal's figures; a click shows
        // the stack (type ← goroutine start).
        const rows = await page.eval<string[][]>(
          "[...document.querySelectorAll('#sites tr.row')].map((r) => [...r.cells].map((c) => c.textContent))",
        );
        assertEquals(rows.length, Math.min(20, allocated.length));
        for (const r of rows.slice(0, 2)) {
          const t = byType.get(r[5])!;
          assertEquals(r, [
            n(t.allocs),
            fmtBytes(t.allocBytes),
            n(t.frees),
            n(t.live),
            fmtBytes(t.liveBytes),
            `type:${t.type}`,
          ]);
        }
        await page.eval(
          "document.querySelector('#sites tr.row').dispatchEvent(new MouseEvent('click'))",
        );
        assertEquals(
          await page.eval<string>(
            "document.querySelector('#sites tr.stack').textContent.trim()",
          ),
          `${rows[0][5]}\n← runtime.main`,
        );
        const leaks = await page.eval<string[][]>(
          "[...document.querySelectorAll('#leaks tr.row')].map((r) => [...r.cells].map((c) => c.textContent))",
        );
        const candidates = new Set(
          types.filter((t) => t.leakCandidate).map((t) => `type:${t.type}`),
        );
        assertTrue(leaks.length > 0, "leak candidates shown");
        for (const r of leaks) {
          assertTrue(candidates.has(r.at(-1)!), `${r.at(-1)} is a candidate`);
        }
        const leaked = byType.get("type:main.Leaked")!;
        assertEquals(leaks[0], [
          n(leaked.live),
          fmtBytes(leaked.liveBytes),
          leaks[0][2],
          "type:main.Leaked",
        ]);
        await screenshot(page, "report-exectrace");
        assertEquals(errors, []);
        assertEquals(requests, []);
      } finally {
        await page.close();
      }
    });
  },
});

Deno.test({
  name:
    "an execution trace with no leak candidates: the report says so in one line, not an empty table with headers",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const trace = fileURLToPath(
        new URL("../testdata/go1.23/churn.trace.gz", import.meta.url),
      );
      const perms = ["--allow-env", "--allow-read", `--allow-write=${dir}`];
      const j = await alloctrace(["analyze", trace, "--json"], perms);
      assertEquals(j.code, 0, j.stderr);
      const types = JSON.parse(j.stdout).types as TypeRow[];
      assertEquals(types.filter((t) => t.leakCandidate), []);
      assertTrue(types.some((t) => t.live > 0), "objects live at the end");
      const h = await alloctrace(
        ["analyze", trace, "--html", `${dir}/c.html`],
        perms,
      );
      assertEquals(h.code, 0, h.stderr);
      const { page, errors, requests } = await watchedPage(chromium!);
      try {
        await open(page, `${dir}/c.html`);
        assertEquals(
          await page.eval<string>(
            "document.getElementById('leaks').innerText.trim()",
          ),
          "No leak candidates.",
        );
        assertEquals(
          await page.eval<number>(
            "document.querySelectorAll('#leaks table').length",
          ),
          0,
        );
        // The other tables still render.
        assertTrue(
          await page.eval<number>(
            "document.querySelectorAll('#sites tr.row').length",
          ) > 0,
        );
        await screenshot(page, "report-exectrace-no-leaks");
        assertEquals(errors, []);
        assertEquals(requests, []);
      } finally {
        await page.close();
      }
    });
  },
});
