/**
 * The native report's HTML size table in Chromium labels its rows as the
 * terminal does (`≤64B`, `≤4kB`: lib/report/units.ts's fmtBytes), not as
 * bare counts (`≤64`, `≤4,096`).
 */
import { assertEquals } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { open, watchedPage } from "./_browser.ts";
import { renderReport } from "../../lib/report/html.ts";
import { oneFrameAnalysis } from "./_native_report.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "native_sizes_html_test: skipped: Chromium is missing (apt-get install chromium)",
  );
}

Deno.test({
  name: "native HTML size rows read ≤64B, ≤4kB as the terminal's",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(
      `${dir}/n.html`,
      renderReport({
        title: "native",
        subtitle: "",
        samples: [],
        analysis: oneFrameAnalysis([40, 64, 3000, 4096]),
        gc: false,
        timeLabel: "wall time",
      }),
    );
    const { page, errors } = await watchedPage(chromium!);
    try {
      await open(page, `${dir}/n.html`);
      const labels = await page.eval<string[]>(
        `[...document.querySelectorAll("#sizes tr")].slice(1).map((r) => r.cells[0].textContent)`,
      );
      assertEquals(labels, ["≤64B", "≤4kB"]);
      assertEquals(errors, []);
    } finally {
      await page.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
