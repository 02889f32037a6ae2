/**
 * A small native analysis for the report tests: allocations of the given
 * sizes, all from one C frame (`f f.c:1`), and a `NativeReport` around it.
 *
 * @module
 */

import type { NativeReport } from "../../lib/cli/_native_text.ts";
import { type AnalysisResult, TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { StackTable } from "../../lib/trace/events.ts";

/** One live allocation per size, from the same one-frame stack, 8 KiB apart from address 16. */
export function oneFrameAnalysis(sizes: readonly number[]): AnalysisResult {
  const st = new StackTable();
  const s = st.intern([{
    func: "f",
    file: "f.c",
    line: 1,
    pc: 0,
    inlined: false,
  }]);
  const a = new TraceAnalyzer(st);
  let addr = 16;
  for (const size of sizes) {
    a.add({
      kind: "alloc",
      addr,
      size,
      type: null,
      requested: 0,
      goroutine: 1,
      stack: s,
      lineNo: 1,
    });
    addr += 8192;
  }
  return a.finish();
}

/** A report of `prog` (exit 0, nothing else recorded) on `analysis`, with `more` set over it. */
export function nativeReport(
  analysis: AnalysisResult,
  more: Partial<NativeReport> = {},
): NativeReport {
  return {
    command: ["prog"],
    exitCode: 0,
    seconds: 0,
    analysis,
    lifetimes: [],
    sizes: [],
    processes: [],
    droppedAtExec: { blocks: 0, bytes: 0 },
    inheritedFrees: 0,
    ...more,
  };
}
