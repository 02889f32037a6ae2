/**
 * Terminal layout: the call tree's size column is padded so a child's name
 * always starts two columns right of its parent's (a wide parent figure no
 * longer pushes it past a narrow child's), and `native`'s size table has
 * its numbers right-aligned and labels from the shared byte formatter.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { callTree } from "../../lib/report/tree.ts";
import { nativeText } from "../../lib/cli/_native_text.ts";
import { fmtBytes } from "../../lib/report/units.ts";
import { nativeReport, oneFrameAnalysis } from "./_native_report.ts";

const fr = (func: string) => ({ func, file: "m.go", line: 1 });

Deno.test("call tree: names indent by exactly two per level, whatever the size's width", () => {
  // main.main 249.83kB over main.makeScratch 150kB: the widths differ.
  const lines = callTree([
    {
      values: [1, 153600, 1, 153600],
      frames: [fr("main.makeScratch"), fr("main.main")],
    },
    {
      values: [1, 102164, 1, 102164],
      frames: [fr("main.makePayload"), fr("main.main")],
    },
    {
      values: [1, 64, 1, 64],
      frames: [fr("main.tiny"), fr("main.makePayload"), fr("main.main")],
    },
  ], { minShare: 0 });
  assertEquals(lines, [
    "100.0%  249.83kB  main.main",
    " 60.0%     150kB    main.makeScratch",
    " 40.0%   99.83kB    main.makePayload",
    "  0.0%       64B      main.tiny",
  ]);
  const col = (l: string) => l.search(/main\./);
  assertEquals(col(lines[1]) - col(lines[0]), 2);
  assertEquals(col(lines[3]) - col(lines[2]), 2);
});

Deno.test("native's size table: figures right-aligned, labels as fmtBytes prints them", () => {
  const report = nativeReport(oneFrameAnalysis([64]), {
    sizes: [
      { limit: 64, count: 1, bytes: 64 },
      { limit: 128, count: 59, bytes: 5291 },
      { limit: 4096, count: 3, bytes: 12000 },
    ],
  });
  const text = nativeText(report, 10);
  const at = text.split("\n").findIndex((l) =>
    l.startsWith("sizes by power of two")
  );
  assertTrue(at >= 0, text);
  assertEquals(text.split("\n").slice(at + 1, at + 5), [
    " size  allocs   bytes",
    " ≤64B       1      64",
    "≤128B      59   5,291",
    " ≤4kB       3  12,000",
  ]);
  assertEquals(`≤${fmtBytes(4096)}`, "≤4kB");
});
