/**
 * A page's size grows with its distinct names, not with how often the
 * timeline shows them: each point's top sites named the site in full, so a
 * 200 KB function name (C++ templates run to kilobytes) at a hundred points
 * made a 130 KB page 21 MB. The hover still names the sites (html_test).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { GO119 } from "../_testdata.ts";

Deno.test("HTML report: a long site name is in the page a few times, not once per timeline point", async () => {
  await withTempDir(async (dir) => {
    const name = `main.${"X".repeat(100_000)}`;
    const trace = (await Deno.readTextFile(`${GO119.pathname}leak-n300.trace`))
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
