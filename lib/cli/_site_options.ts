/**
 * The options that choose what a site is and how much of its stack is
 * shown, shared by the commands that print an analysis (`analyze`, `diff`,
 * `native`): `--by func|line|stack` (`--stacks` is `--by stack`) and
 * `--frames N`.
 *
 * @module
 */

import { SITE_BY, type SiteBy } from "../trace/sites.ts";
import { intOption, UsageError } from "./_usage.ts";

/** parseArgs options: `--by`, `--stacks`, `--frames`. */
export const SITE_OPTIONS = {
  by: { type: "string" },
  stacks: { type: "boolean", default: false },
  frames: { type: "string" },
} as const;

/** Help lines of {@link SITE_OPTIONS}. */
export const SITE_HELP =
  `  --by func|line|stack  what a site is: its function, its function and file:line
                       (default), or its whole stack
  --stacks             same as --by stack
  --frames N           frames of each top site's and leak's stack to show (default 4)`;

/** The site key and the frames to show, from parsed {@link SITE_OPTIONS}. */
export function siteOptions(
  values: { by?: string; stacks?: boolean; frames?: string },
): { by: SiteBy; frames: number } {
  let by: SiteBy = "line";
  if (values.by !== undefined) {
    if (!(SITE_BY as readonly string[]).includes(values.by)) {
      throw new UsageError(
        `--by must be one of ${SITE_BY.join(", ")}, got "${values.by}"`,
      );
    }
    by = values.by as SiteBy;
    if (values.stacks && by !== "stack") {
      throw new UsageError(`--stacks is --by stack: it contradicts --by ${by}`);
    }
  } else if (values.stacks) by = "stack";
  return { by, frames: intOption("frames", values.frames, 4, 0, 1000) };
}
