/**
 * The HTML report in a real browser: Debian's Chromium, headless, driven
 * over the DevTools protocol, with real mouse events. For `run`, `analyze`
 * and `diff` reports: each view renders (icicle, flame graph, inverted),
 * clicks zoom with the ancestors kept, a click selects a function and lists
 * its callers and callees with file:line, search highlights, the profile
 * switch shows the sampled profile labelled with its rate, the timeline has
 * axes with ticks, bounded points and GC marks and a hover lists the sites
 * live then, table rows expand to their stacks, the diff page lists changes
 * in both directions and draws stacks only in A; no console errors, no
 * network requests; screenshots are saved.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { open, screenshot, setSelect, watchedPage } from "./_browser.ts";
import { alloctrace } from "../_run.ts";
import { GO119 } from "../_testdata.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "html_test: skipped: Chromium is missing (apt-get install chromium)",
  );
}

type Kid = { name: string; loc: string; value: number; base: number };

Deno.test({
  name:
    "the reports open offline in Chromium: views, zoom, callers/callees, search, sampled profile, timeline, stacks, diff; no errors, no requests",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const { page, errors, requests } = await watchedPage(chromium!);
    try {
      const perms = [
        "--allow-env",
        "--allow-read",
        `--allow-write=${dir}`,
      ];
      const r = await alloctrace(
        ["run", "leak", "--n", "3000", "--html", `${dir}/run.html`],
        perms,
      );
      assertEquals(r.code, 0, r.stderr);
      await open(page, `${dir}/run.html`);
      // MemStats' peak is above the exact one by the start-up's untraced
      // objects, and says so.
      const heapAlloc = await page.eval<string>(
        "document.getElementById('heapalloc')?.textContent ?? ''",
      );
      const ha =
        /^MemStats\.HeapAlloc peak: \S+ \(([\d,]+) bytes\) at a GC start, of which ([\d,]+) bytes untraced$/
          .exec(heapAlloc);
      assertTrue(ha !== null, heapAlloc);
      const peakLive = await page.eval<number>(
        "JSON.parse(document.getElementById('data').textContent).summary.peakLive",
      );
      const [hp, hu] = [ha[1], ha[2]].map((x) => Number(x.replaceAll(",", "")));
      assertTrue(
        hp > peakLive && hp - hu <= peakLive,
        `${heapAlloc} ${peakLive}`,
      );
      // review1 #5: the two peaks rounded alike (1.66 MB and 1.66 MB): the
      // exact peak, the live bytes at the end and the dot's title give
      // their byte counts too.
      const spans = await page.eval<string[]>(
        "[...document.querySelectorAll('#summary span')].map((e) => e.textContent)",
      );
      const exact = (label: string) => {
        const m = new RegExp(`^${label}: .+? \\(([\\d,]+) bytes\\)`).exec(
          spans.find((t) => t.startsWith(`${label}: `)) ?? "",
        );
        assertTrue(m !== null, `${label}: ${spans.join(" | ")}`);
        return Number(m[1].replaceAll(",", ""));
      };
      assertEquals(exact("peak live"), peakLive);
      assertEquals(
        exact("live at end"),
        await page.eval<number>(
          "JSON.parse(document.getElementById('data').textContent).summary.liveBytes",
        ),
      );
      assertIncludes(
        await page.eval<string>(
          "document.querySelector('#timeline .peakpt').textContent",
        ),
        `(${peakLive.toLocaleString("en-US")} bytes)`,
      );
      // Icicle: runtime.main on top, as in a real trace's (main.main below
      // it); one level down from main.main, the sites, largest first, with
      // file:line.
      const kids = await page.eval<Kid[]>("window.__report.rootChildren()");
      assertEquals(kids[0].name, "runtime.main");
      const rect = await page.eval<{ x: number; y: number }>(
        "window.__report.nodeRect('main.main')",
      );
      await page.click(rect.x, rect.y);
      assertEquals(
        await page.eval<string>("window.__report.zoomed()"),
        "main.main",
      );
      const sites = await page.eval<Kid[]>("window.__report.rootChildren()");
      assertEquals(sites.slice(0, 3).map((k) => `${k.name} ${k.loc}`), [
        "main.makeScratch acceptance/programs/leak/main.go:44",
        "main.makePayload acceptance/programs/leak/main.go:41",
        "main.newRecord acceptance/programs/leak/main.go:38",
      ]);
      // Zooming into a site keeps its ancestors drawn above it.
      const site = await page.eval<{ x: number; y: number }>(
        "window.__report.nodeRect('main.makePayload')",
      );
      await page.click(site.x, site.y);
      assertEquals(
        await page.eval<string>("window.__report.zoomed()"),
        "main.makePayload",
      );
      const drawn = await page.eval<string[]>("window.__report.drawn()");
      assertTrue(
        drawn.includes("all") && drawn.includes("main.main"),
        drawn.join(),
      );
      // The click selected the function: its callers with file:line.
      assertIncludes(
        await page.eval<string>(
          "document.getElementById('callers').textContent",
        ),
        "main.main acceptance/programs/leak/main.go:71",
      );
      assertIncludes(
        await page.eval<string>(
          "document.getElementById('callees').textContent",
        ),
        "(self: allocates here)",
      );
      await page.eval("document.getElementById('reset').click()");
      // Flame graph: the same tree, root at the bottom.
      await page.eval(setSelect("view", "flame"));
      assertEquals(await page.eval<string>("window.__report.view()"), "flame");
      const flameRoot = await page.eval<{ y: number }>(
        "window.__report.nodeRect('all')",
      );
      const flameMain = await page.eval<{ y: number }>(
        "window.__report.nodeRect('main.main')",
      );
      assertTrue(flameRoot.y > flameMain.y, "the root is at the bottom");
      // Inverted: the sites are the roots.
      await page.eval(setSelect("view", "inverted"));
      const inv = await page.eval<Kid[]>("window.__report.rootChildren()");
      assertEquals(inv[0].name, "main.makeScratch");
      await page.eval(setSelect("view", "icicle"));
      // Search highlights and sums the matches.
      await page.eval(
        `(() => { const s = document.getElementById("search"); s.value = "makePayload"; s.dispatchEvent(new Event("input")); })()`,
      );
      const matched = await page.eval<string>(
        "document.getElementById('matched').textContent",
      );
      // 3000 payloads of 256 B, of everything (the runtime's start-up too).
      assertTrue(/^matched 750kB \(29\.8%\)$/.test(matched), matched);
      // The sampled profile, beside the exact one, labelled with its rate.
      const exactTotal = await page.eval<number>("window.__report.total()");
      await page.eval(setSelect("prof", "sampled"));
      assertIncludes(
        await page.eval<string>(
          "document.getElementById('total').textContent",
        ),
        "sampled at MemProfileRate=524288",
      );
      assertTrue(
        (await page.eval<number>("window.__report.total()")) !== exactTotal,
        "the sampled estimate differs from the exact total",
      );
      await page.eval(setSelect("prof", "exact"));
      // Timeline: ticks on both axes, at most 2,000 points, a GC mark; hover lists the sites live then.
      const ticks = await page.eval<[number, number, number]>(
        "[document.querySelectorAll('#timeline .xtick').length, document.querySelectorAll('#timeline .ytick').length, document.querySelectorAll('#timeline .gcmark').length]",
      );
      assertTrue(ticks[0] >= 3 && ticks[1] >= 3, `ticks ${ticks}`);
      assertEquals(ticks[2], 1);
      const points = await page.eval<number>(
        "window.__report.timelinePoints()",
      );
      assertTrue(points > 20 && points <= 2000, `${points} points`);
      assertIncludes(
        await page.eval<string>(
          "document.getElementById('xaxis').selectedOptions[0].textContent",
        ),
        "simulated time",
      );
      // The time axis' ticks share one unit, the zero's too (it read "0 µs"
      // beside "2.0 ms").
      const xt = await page.eval<string[]>(
        "[...document.querySelectorAll('#timeline .xtick')].map((e) => e.textContent)",
      );
      assertEquals(
        new Set(xt.map((t) => t.split(" ")[1])).size,
        1,
        xt.join("|"),
      );
      assertEquals(xt[0].split(" ")[0], "0", xt.join("|"));
      const mid = await page.eval<{ x: number; y: number }>(
        `window.__report.timelineX(${Math.floor(points / 2)})`,
      );
      await page.send("Input.dispatchMouseEvent", {
        type: "mouseMoved",
        x: mid.x,
        y: mid.y,
      });
      const tip = await page.eval<string>(
        "document.getElementById('ttip').textContent",
      );
      assertIncludes(
        tip,
        "main.makePayload acceptance/programs/leak/main.go:41",
      );
      await page.click(mid.x, mid.y);
      assertIncludes(
        await page.eval<string>(
          "document.getElementById('snapshot').textContent",
        ),
        "main.makeScratch",
      );
      // A leak candidate's row expands to its stack.
      await page.eval(
        "document.querySelector('#leaks tr.row').dispatchEvent(new MouseEvent('click'))",
      );
      assertIncludes(
        await page.eval<string>(
          "document.querySelector('#leaks tr.stack').textContent",
        ),
        "← main.main acceptance/programs/leak/main.go:71",
      );
      await screenshot(page, "report");

      // analyze of a real Go trace: sites and stacks with file:line, timeline by bytes allocated.
      const trace = `${fileURLToPath(GO119)}leak-n300.trace`;
      const a = await alloctrace(
        ["analyze", trace, "--html", `${dir}/analyze.html`],
        perms,
      );
      assertEquals(a.code, 0, a.stderr);
      await open(page, `${dir}/analyze.html`);
      const text = await page.eval<string>("document.body.textContent");
      for (const s of ["newRecord", "makePayload", "makeScratch"]) {
        assertIncludes(text, `main.${s} acceptance/programs/leak/main.go:`);
      }
      assertEquals(
        await page.eval<string>("document.getElementById('xaxis').value"),
        "alloc",
      );
      await page.eval(
        "document.querySelector('#leaks tr.row').dispatchEvent(new MouseEvent('click'))",
      );
      assertIncludes(
        await page.eval<string>(
          "document.querySelector('#leaks tr.stack').textContent",
        ),
        "main.makePayload acceptance/programs/leak/main.go:41\n← main.main acceptance/programs/leak/main.go:71",
      );

      // diff: changes both ways in a table; stacks only in A drawn in the flame graph.
      const d = await alloctrace([
        "diff",
        trace,
        `${fileURLToPath(GO119)}temporaries-n40.trace`,
        "--html",
        `${dir}/diff.html`,
      ], perms);
      assertEquals(d.code, 0, d.stderr);
      await open(page, `${dir}/diff.html`);
      // The total names both sides: frame widths are max(A, B), so B's total alone would mislead.
      assertTrue(
        /^B total \S+, A total \S+, change [+-]\S+; frame widths: the larger of A and B$/
          .test(
            await page.eval<string>(
              "document.getElementById('total').textContent",
            ),
          ),
        await page.eval<string>("document.getElementById('total').textContent"),
      );
      const rows = await page.eval<string[]>(
        "[...document.querySelectorAll('#difftable tr')].slice(1).map((r) => r.textContent)",
      );
      assertTrue(rows.some((t) => t.startsWith("+")), "a site grew");
      assertTrue(
        rows.some((t) =>
          t.startsWith("-") && t.includes("only in A") &&
          t.includes("main.makeScratch")
        ),
        rows.join("\n"),
      );
      await page.eval(setSelect("diffdir", "shrank"));
      const shrank = await page.eval<string[]>(
        "[...document.querySelectorAll('#difftable tr')].slice(1).map((r) => r.textContent)",
      );
      assertTrue(
        shrank.length > 0 && shrank.every((t) => t.startsWith("-")),
        shrank.join("\n"),
      );
      const main = await page.eval<Kid[]>(
        "window.__report.rootChildren()",
      );
      assertEquals(main[0].name, "runtime.main");
      const rm = await page.eval<{ x: number; y: number }>(
        "window.__report.nodeRect('runtime.main')",
      );
      await page.click(rm.x, rm.y);
      const under = await page.eval<Kid[]>("window.__report.rootChildren()");
      const onlyA = under.filter((k) => k.value === 0 && k.base > 0);
      assertTrue(onlyA.length > 0, JSON.stringify(under));
      assertTrue(
        (await page.eval<string[]>("window.__report.drawn()")).includes(
          "main.main",
        ),
      );
      await screenshot(page, "report-diff");
      assertEquals(errors, []);
      assertEquals(requests, []);
    } finally {
      await page.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "run leak's report puts the peak where the allocation made it, not at the GC whose mark ran long after (a flat line, then the dot)",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const { page, errors } = await watchedPage(chromium!);
    try {
      const r = await alloctrace(
        ["run", "leak", "--n", "300", "--html", `${dir}/run.html`],
        ["--allow-env", "--allow-read", `--allow-write=${dir}`],
      );
      assertEquals(r.code, 0, r.stderr);
      await open(page, `${dir}/run.html`);
      // The points as the page draws them, and the one its dot marks.
      const drawn = await page.eval<
        {
          dot: { time: number; alloc: number; live: number; at: string };
          gc: { time: number; alloc: number; live: number } | null;
          peakLive: number;
          title: string;
        }
      >(`(() => {
        const c = document.querySelector("#timeline .peakpt");
        const P = window.__report.timeline();
        const dot = P[Number(c.dataset.i)];
        return { dot, gc: P.find((p) => p.at === "gc") ?? null,
          peakLive: JSON.parse(document.getElementById("data").textContent).summary.peakLive,
          title: c.textContent };
      })()`);
      assertEquals(drawn.dot.live, drawn.peakLive);
      assertTrue(drawn.gc !== null, "leak's runtime.GC()");
      // Nothing was allocated between the peak and the GC (leak's forced
      // runtime.GC), whose mark took simulated time: the dot is at the
      // allocation, before it.
      assertEquals(drawn.dot.alloc, drawn.gc!.alloc);
      assertEquals(drawn.gc!.live, drawn.peakLive);
      assertTrue(
        drawn.dot.time < drawn.gc!.time,
        `peak at ${drawn.dot.time}, GC at ${drawn.gc!.time}`,
      );
      assertEquals(errors, []);
      await screenshot(page, "run-leak-peak");
    } finally {
      await page.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
