/**
 * One byte formatter, one rule (go tool pprof's: steps of 1024, two
 * decimals, `.00` dropped): the same figure prints the same in the terminal
 * (summary line, call tree), in the HTML report as Chromium shows it, in
 * what the JSON's numbers format to, and as `go tool pprof` prints it.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { findChromium } from "../_cdp.ts";
import { alloctrace, run, withTempDir } from "../_run.ts";
import { findGo } from "../../bench/_go.ts";
import { GO119 } from "../_testdata.ts";
import { fmtBytes } from "../../lib/report/units.ts";
import { open, screenshot, setSelect, watchedPage } from "./_browser.ts";

const chromium = findChromium();
if (chromium === null) {
  console.log("units_test: Chromium is missing: the HTML part is skipped");
}
const GO = await findGo();

Deno.test("fmtBytes: pprof's rule — the unit changes at 1024 (never at 1000), two decimals rounded half to even, .00 dropped", () => {
  const cases: [number, string][] = [
    [0, "0B"],
    [999, "999B"],
    [1000, "1000B"],
    [1023, "1023B"],
    [1024, "1kB"],
    [1152, "1.12kB"], // 1.125: half to even, as Go's %.2f
    [1160, "1.13kB"], // 1.1328125
    [1536, "1.50kB"],
    [1000 * 1024, "1000kB"],
    [1038072, "1013.74kB"],
    [1048575, "1024kB"], // 1023.999: rounds up, and stays in kB as pprof does
    [1048576, "1MB"],
    [1536 * 1024, "1.50MB"],
    [5 * 2 ** 30, "5GB"],
    [-1536, "-1.50kB"],
  ];
  assertEquals(
    cases.map(([b]) => [b, fmtBytes(b)]),
    cases,
  );
});

Deno.test({
  name:
    "a figure prints the same in text, in HTML (Chromium) and from JSON: run's exact and sampled totals in the 1000–1023 kB band where the page once switched units",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const perms = ["--allow-env", "--allow-read", `--allow-write=${dir}`];
      // 1,031,808 bytes (the runtime's own allocations included: start-up,
      // mark workers, the final concatstring3): 1007.62kB (the page once
      // printed 0.98MB, the call tree 1008.5kB).
      const args = ["run", "leak", "--n", "1180", "--memprofilerate", "1"];
      const j = await alloctrace([...args, "--json"], perms);
      assertEquals(j.code, 0, j.stderr);
      const doc = JSON.parse(j.stdout);
      const exact = fmtBytes(doc.exact.allocBytes);
      const sampled = fmtBytes(doc.sampledProfile.total);
      assertEquals(exact, "1007.62kB");
      const t = await alloctrace(
        [...args, "--html", `${dir}/r.html`],
        [...perms, "--allow-env=NO_COLOR"],
      );
      assertEquals(t.code, 0, t.stderr);
      // The terminal: the sampled line with the exact figure beside it.
      assertIncludes(
        t.stdout,
        `alloc_space ${sampled} estimated from its samples, un-sampled as pprof does (exact: ${exact})`,
      );
      if (chromium === null) return;
      const { page, errors, requests } = await watchedPage(chromium);
      try {
        await open(page, `${dir}/r.html`);
        const summary = await page.eval<string>(
          "document.getElementById('summary').textContent",
        );
        assertIncludes(
          summary,
          `allocated: ${exact} (${
            doc.exact.allocBytes.toLocaleString("en-US")
          } bytes)`,
        );
        assertIncludes(
          await page.eval<string>(
            "document.getElementById('total').textContent",
          ),
          exact,
        );
        await page.eval(setSelect("prof", "sampled"));
        assertIncludes(
          await page.eval<string>(
            "document.getElementById('total').textContent",
          ),
          sampled,
        );
        await screenshot(page, "report-units");
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
    "a figure prints as go tool pprof prints it: analyze's exact profile total",
  ignore: GO === null,
  async fn() {
    await withTempDir(async (dir) => {
      const trace = `${fileURLToPath(GO119)}leak-n300.trace`;
      const perms = ["--allow-env", "--allow-read", `--allow-write=${dir}`];
      const a = await alloctrace(
        ["analyze", trace, "--json", "--pprof", `${dir}/p.pb.gz`],
        perms,
      );
      assertEquals(a.code, 0, a.stderr);
      const doc = JSON.parse(a.stdout);
      const p = await run(GO!, [
        "tool",
        "pprof",
        "-top",
        "-sample_index=alloc_space",
        `${dir}/p.pb.gz`,
      ], { env: { HOME: dir } });
      assertEquals(p.code, 0, p.stderr);
      const m = /of ([\d.]+[kMGT]?B) total/.exec(p.stdout);
      assertTrue(m !== null, p.stdout);
      assertEquals(m[1], fmtBytes(doc.allocBytes));
    });
  },
});
