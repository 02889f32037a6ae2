/**
 * The deterministic runs behind the golden files in tests/testdata/golden:
 * shared by the generator script (which writes them) and the tests (which
 * compare against them, never writing).
 *
 * @module
 */

import { Runtime } from "./runtime/runtime.ts";
import { PRESET_NAMES } from "./runtime/presets.ts";
import { leak } from "./workload/leak.ts";
import { writeHeapProfileText } from "./profile/text.ts";

/** A golden case: file name and the function that produces its bytes. */
export interface GoldenCase {
  /** File name under tests/testdata/golden. */
  file: string;
  /** Produces the file's content. */
  make(): string;
}

/** Every golden case. */
export const GOLDEN_CASES: GoldenCase[] = PRESET_NAMES.map((preset) => ({
  file: `${preset}-leak-n50.heap.txt`,
  make() {
    const rt = new Runtime({ preset, memProfileRate: 1, seed: 1 });
    leak(rt, { n: 50 });
    return writeHeapProfileText(rt);
  },
}));
