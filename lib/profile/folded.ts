/**
 * Folded stacks, the text form flame-graph tools read (flamegraph.pl,
 * inferno, speedscope): one `root;…;leaf value` line per distinct stack.
 *
 * @module
 */

import {
  HEAP_SAMPLE_TYPES,
  type HeapSampleType,
  type ProfileFrame,
} from "./proto.ts";

/**
 * Folded stacks (`root;…;leaf value` per line, for flamegraph.pl, inferno
 * and speedscope) for one sample type; stacks with value 0 are left out and
 * equal stacks are merged.
 *
 * @example
 * ```ts
 * import { folded } from "../../mod.ts";
 * const s = folded([{ values: [1, 64, 1, 64], frames: [{ func: "main.leaf", file: "", line: 1 }, { func: "main.main", file: "", line: 2 }] }], "inuse_space");
 * if (s !== "main.main;main.leaf 64\n") throw new Error(s);
 * ```
 */
export function folded(
  samples: readonly {
    values: readonly number[];
    frames: readonly ProfileFrame[];
  }[],
  type: HeapSampleType,
  sampleTypes: readonly string[] = HEAP_SAMPLE_TYPES,
): string {
  const k = sampleTypes.indexOf(type);
  if (k < 0) {
    throw new RangeError(
      `sample type ${type} is not in this profile (it has ${
        sampleTypes.join(", ")
      })`,
    );
  }
  const sums = new Map<string, number>();
  for (const s of samples) {
    const v = s.values[k];
    if (v === 0) continue;
    const key = s.frames.map((f) => f.func.replaceAll(";", ":")).reverse().join(
      ";",
    );
    sums.set(key, (sums.get(key) ?? 0) + v);
  }
  let out = "";
  for (const [key, v] of sums) out += `${key} ${v}\n`;
  return out;
}
