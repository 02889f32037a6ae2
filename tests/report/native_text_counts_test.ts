/**
 * Native's text report says "1 block", "2 blocks": every count-noun in its
 * header agrees with its number (a new-user trial found "1 blocks (16
 * bytes) live at an exec"). The exact header lines are golden files.
 */

import { assertEquals } from "../_assert.ts";
import { type NativeReport, nativeText } from "../../lib/cli/_native_text.ts";
import { nativeReport, oneFrameAnalysis } from "./_native_report.ts";

/** A report whose every count in the header is `k`. */
function report(k: number): NativeReport {
  const analysis = oneFrameAnalysis([k]);
  // The header only prints these figures: set them all to `k`.
  Object.assign(analysis, {
    allocs: k,
    allocBytes: k,
    frees: k,
    unmatchedFrees: k,
    peakLiveBytes: k,
    liveBytes: k,
    liveObjects: k,
  });
  return nativeReport(analysis, {
    droppedAtExec: { blocks: k, bytes: k },
    inheritedFrees: k,
  });
}

/** The header: the lines before the first blank one. */
function header(k: number): string {
  const text = nativeText(report(k), 10);
  return text.slice(0, text.indexOf("\n\n")) + "\n";
}

for (const k of [1, 2]) {
  Deno.test(`native text header: counts of ${k} agree with their nouns (golden)`, () => {
    const golden = new URL(
      `../testdata/golden/native-text-header-${k}.txt`,
      import.meta.url,
    );
    assertEquals(header(k), Deno.readTextFileSync(golden));
  });
}
