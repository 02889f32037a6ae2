/**
 * The deterministic runs behind the golden files in tests/testdata/golden:
 * shared by the generator script (which writes them) and the tests (which
 * compare against them, never writing).
 *
 * @module
 */

import { Runtime } from "../lib/runtime/runtime.ts";
import { PRESET_NAMES } from "../lib/runtime/presets.ts";
import { leak } from "../lib/workload/leak.ts";
import { writeHeapProfileText } from "../lib/profile/text.ts";
import { temporaries } from "../lib/workload/temporaries.ts";
import { TracePrinter } from "../lib/trace/printer.ts";

/** The allocfreetrace output of running `work` on a fresh runtime of `preset`. */
export function traceOf(preset: string, work: (rt: Runtime) => void): string {
  const rt = new Runtime({ preset, seed: 1 });
  let out = "";
  const dec = new TextDecoder();
  const p = new TracePrinter(rt, (b) => (out += dec.decode(b)));
  p.attach();
  work(rt);
  p.flush();
  return out;
}

/** A golden case: file name and the function that produces its bytes. */
export interface GoldenCase {
  /** File name under tests/testdata/golden. */
  file: string;
  /** Produces the file's content. */
  make(): string;
}

/** Every golden case. */
export const GOLDEN_CASES: GoldenCase[] = [
  ...PRESET_NAMES.map((preset) => ({
    file: `${preset}-leak-n50.heap.txt`,
    make() {
      const rt = new Runtime({ preset, memProfileRate: 1, seed: 1 });
      leak(rt, { n: 50 });
      return writeHeapProfileText(rt);
    },
  })),
  ...PRESET_NAMES.map((preset) => ({
    file: `${preset}-leak-n8.trace`,
    make: () => traceOf(preset, (rt) => leak(rt, { n: 8 })),
  })),
  {
    file: "go1.19-temporaries-n3.trace",
    make: () => traceOf("go1.19", (rt) => temporaries(rt, { n: 3 })),
  },
];
