/**
 * The HTML report in a real browser: Debian's Chromium, headless, driven
 * over the DevTools protocol. No console errors, no network requests, the
 * flame graph's root children are the expected functions, a click zooms,
 * switching the sample type changes the totals; a screenshot is saved.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { CdpPage, findChromium } from "../_cdp.ts";
import { alloctrace, ROOT } from "../_run.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "html_test: skipped: Chromium is missing (apt-get install chromium)",
  );
}

Deno.test({
  name:
    "the report opens offline in Chromium: flame graph, zoom, sample types, live heap, no errors, no requests",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const page = await CdpPage.launch(chromium!);
    try {
      const html = `${dir}/report.html`;
      const r = await alloctrace(
        ["run", "leak", "--n", "3000", "--memprofilerate", "1", "--html", html],
        ["--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
      );
      assertEquals(r.code, 0, r.stderr);
      const errors: string[] = [];
      const requests: string[] = [];
      page.on(
        "Runtime.exceptionThrown",
        (p) => errors.push(JSON.stringify(p.exceptionDetails)),
      );
      page.on("Runtime.consoleAPICalled", (p) => {
        if (p.type === "error" || p.type === "warning") {
          errors.push(JSON.stringify(p.args));
        }
      });
      page.on("Log.entryAdded", (p) => {
        const e = p.entry as { level: string; text: string; url?: string };
        if (e.level === "error") errors.push(`${e.text} ${e.url ?? ""}`);
      });
      page.on("Fetch.requestPaused", (p) => {
        const req = p.request as { url: string };
        if (req.url.startsWith("file:")) {
          page.send("Fetch.continueRequest", { requestId: p.requestId });
        } else {
          requests.push(req.url);
          page.send("Fetch.failRequest", {
            requestId: p.requestId,
            errorReason: "BlockedByClient",
          });
        }
      });
      await page.send("Runtime.enable");
      await page.send("Log.enable");
      await page.send("Page.enable");
      await page.send("Fetch.enable", { patterns: [{ urlPattern: "*" }] });
      const loaded = page.once("Page.loadEventFired");
      await page.send("Page.navigate", { url: `file://${html}` });
      await loaded;
      const kids = await page.eval<{ name: string; value: number }[]>(
        "window.__report.rootChildren()",
      );
      assertEquals(kids.map((k) => k.name), ["main.main"]);
      // One level down, main.main's children are the workload's allocation sites, largest first.
      const rect = await page.eval<{ x: number; y: number }>(
        "window.__report.nodeRect('main.main')",
      );
      assertTrue(rect !== null, "main.main is drawn");
      await page.click(rect.x, rect.y);
      assertEquals(
        await page.eval<string>("window.__report.zoomed()"),
        "main.main",
      );
      const sites = await page.eval<{ name: string }[]>(
        "window.__report.rootChildren()",
      );
      assertEquals(sites.slice(0, 3).map((k) => k.name), [
        "main.makeScratch",
        "main.makePayload",
        "main.newRecord",
      ]);
      const allocTotal = await page.eval<number>("window.__report.total()");
      await page.eval(
        `(() => { const s = document.getElementById("type"); s.value = "inuse_space"; s.dispatchEvent(new Event("change")); })()`,
      );
      const inuseTotal = await page.eval<number>("window.__report.total()");
      assertEquals(
        await page.eval<string>("window.__report.type()"),
        "inuse_space",
      );
      assertTrue(
        inuseTotal < allocTotal && inuseTotal > 0,
        `${inuseTotal} vs ${allocTotal}`,
      );
      assertEquals(
        await page.eval<boolean>(
          "document.getElementById('total').textContent.startsWith('total ')",
        ),
        true,
      );
      // The live heap chart has its points and peak; clicking the peak lists the sites live then.
      const points = await page.eval<number>(
        "document.querySelectorAll('#timeline circle').length",
      );
      assertTrue(points >= 2, `${points} points`);
      await page.eval(
        "document.querySelector('#timeline .peakpt').dispatchEvent(new MouseEvent('click'))",
      );
      const snap = await page.eval<string>(
        "document.getElementById('snapshot').textContent",
      );
      assertTrue(snap.includes("main.makePayload"), snap);
      const shot = await page.send("Page.captureScreenshot", { format: "png" });
      await Deno.mkdir(`${ROOT}dist/test-artifacts`, { recursive: true });
      await Deno.writeFile(
        `${ROOT}dist/test-artifacts/report.png`,
        Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0)),
      );
      assertEquals(errors, []);
      assertEquals(requests, []);
    } finally {
      await page.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
