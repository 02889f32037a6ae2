/**
 * The report is one page whatever the names in it hold: `String.replace`
 * reads `$'`, `` $` ``, `$&`, `$$` and `$<name>` in a replacement string as
 * patterns, so a function or file name with them once repeated the page
 * and broke its JSON.
 */
import { assertEquals } from "../_assert.ts";
import { renderReport } from "../../mod.ts";

const PATTERNS = ["$'", "$`", "$&", "$$", "$1", "$<x>", "$0"];

Deno.test("renderReport: every $ pattern in a name or the title comes out as written, in one page", () => {
  const names = PATTERNS.map((p) => `main.f${p}g`);
  const html = renderReport({
    title: `t ${PATTERNS.join(" ")}`,
    subtitle: "s",
    samples: names.map((func, i) => ({
      values: [1, 16 * (i + 1), 0, 0],
      frames: [{ func, file: `/src/${func}.go`, line: i + 1 }],
    })),
  });
  assertEquals(html.split("<!DOCTYPE html>").length, 2, "one page");
  assertEquals(html.split("</html>").length, 2, "one page end");
  const m = /<script type="application\/json" id="data">(.*?)<\/script>/s
    .exec(html);
  const text = JSON.stringify(JSON.parse(m![1]));
  for (const n of names) {
    assertEquals(text.includes(JSON.stringify(n)), true, n);
  }
  const title = /<title>(.*?)<\/title>/s.exec(html)![1];
  assertEquals(
    title,
    `t ${PATTERNS.join(" ")}`.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
      .replaceAll(">", "&gt;"),
  );
});
