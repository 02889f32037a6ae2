/**
 * A page's size grows with its distinct names, not with how often the
 * timeline shows them: each point's top sites named the site in full, so a
 * 200 KB function name (C++ templates run to kilobytes) at a hundred points
 * made a 130 KB page 21 MB. The hover still names the sites (html_test).
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { open, screenshot, setViewport, watchedPage } from "./_browser.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { GO119 } from "../_testdata.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log(
    "long_names_test: Chromium tests skipped: Chromium is missing (apt-get install chromium)",
  );
}

Deno.test("HTML report: a long site name is in the page a few times, not once per timeline point", async () => {
  await withTempDir(async (dir) => {
    const name = `main.${"X".repeat(100_000)}`;
    const trace =
      (await Deno.readTextFile(`${fileURLToPath(GO119)}leak-n300.trace`))
        .replaceAll("main.makePayload(", `${name}(`);
    await Deno.writeTextFile(`${dir}/long.trace`, trace);
    const r = await alloctrace(
      ["analyze", `${dir}/long.trace`, "--html", `${dir}/r.html`, "--json"],
      [`--allow-read=${dir}`, `--allow-write=${dir}`],
    );
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const points = doc.timeline.filter((p: { top: [string, number][] }) =>
      p.top.some(([site]) =>
        site.startsWith(name)
      )
    ).length;
    assertTrue(points > 20, `${points} points name the site`);
    const html = await Deno.readTextFile(`${dir}/r.html`);
    const times = html.split(name).length - 1;
    assertTrue(times <= 6, `the name is in the page ${times} times`);
  });
});

Deno.test({
  name:
    "HTML at 900 px: a site name of 20,000 characters takes a few lines of its table, the whole name in its tooltip and its stack",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const name = `main.${"Template<Y>::".repeat(1500)}make`;
    await withTempDir(async (dir) => {
      const trace =
        (await Deno.readTextFile(`${fileURLToPath(GO119)}leak-n300.trace`))
          .replaceAll("main.makePayload(", `${name}(`);
      await Deno.writeTextFile(`${dir}/long.trace`, trace);
      const r = await alloctrace(
        ["analyze", `${dir}/long.trace`, "--html", `${dir}/r.html`],
        [`--allow-read=${dir}`, `--allow-write=${dir}`],
      );
      assertEquals(r.code, 0, r.stderr);
      const { page, errors } = await watchedPage(chromium!);
      try {
        await setViewport(page, 900, 1400);
        await open(page, `${dir}/r.html`);
        const cell = await page.eval<
          { height: number; text: string; title: string }
        >(
          `(() => { const td = [...document.querySelectorAll("#sites td.l")].find((t) => t.title.startsWith("main.Template")); return { height: td.getBoundingClientRect().height, text: td.textContent, title: td.title }; })()`,
        );
        const site = `${name} acceptance/programs/leak/main.go:41`;
        assertEquals(cell.title, site);
        assertTrue(cell.height < 200, `the row is ${cell.height} px high`);
        assertTrue(cell.text.endsWith("main.go:41"), cell.text.slice(-40));
        assertTrue(cell.text.startsWith("main.Template<Y>::"), cell.text);
        // Its stack, opened, has the whole name.
        await page.eval(
          `[...document.querySelectorAll("#sites tr.row")].find((tr) => tr.textContent.includes("main.Template")).click()`,
        );
        assertIncludes(
          await page.eval<string>(
            `document.querySelector("#sites tr.stack").textContent`,
          ),
          name,
        );
        await screenshot(page, "long-site-name-900");
        assertEquals(errors, []);
      } finally {
        await page.close();
      }
    });
  },
});
