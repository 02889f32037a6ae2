/**
 * The options that name the simulated runtime's settings (`--go`,
 * `--gogc`), checked against the runtime's presets and GOGC rules. Apart
 * from `_usage.ts`, which every command's dispatch loads, so that only the
 * commands taking them load the presets and the pacer for it, and none the
 * simulator's GC (`analyze` reads a trace without it).
 *
 * @module
 */

import { PRESET_NAMES, type PresetName } from "../runtime/presets.ts";
import { parseGOGC } from "../runtime/pacer.ts";
import { UsageError } from "./_usage.ts";

/** Checks a `--go` preset name, or throws a UsageError naming the presets. */
export function presetOption(value: string): PresetName {
  if (!PRESET_NAMES.includes(value as PresetName)) {
    throw new UsageError(
      `unknown preset "${value}" for --go: use one of ${
        PRESET_NAMES.join(", ")
      }`,
    );
  }
  return value as PresetName;
}

/**
 * Checks a GOGC value (`off` or a percentage), or throws a UsageError.
 * Returns it in the form the runtime takes: `"off"` stays a word (the
 * runtime's -1 is its inner form, not an accepted setting).
 */
export function gogcOption(value: string): number | "off" {
  try {
    const n = parseGOGC(value);
    return n < 0 ? "off" : n;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
