/**
 * Statistics of a trace read in two parts (`lib/cli/_read_split.ts`: the
 * main thread reads the start, a Worker the rest): the later part's are
 * taken into the earlier part's.
 *
 * @module
 */

import { noteAnomaly, type ParseStats } from "./parser.ts";

/**
 * Adds `later` (the statistics of a parser that read the input from line
 * `base + 1` on) to `st`: counts add up, its line numbers follow `base`,
 * its cut record and creators are the later ones. `st.lines` is left to
 * the caller.
 */
export function absorbStats(
  st: ParseStats,
  later: ParseStats,
  base: number,
): void {
  st.allocs += later.allocs;
  st.frees += later.frees;
  st.gcs += later.gcs;
  for (
    const kind of [
      "unparsed",
      "foreign",
      "long",
      "rejected",
      "unendedGc",
    ] as const
  ) {
    const lines = later[`${kind}Lines`];
    for (const n of lines) noteAnomaly(st, kind, base + n);
    st[kind] += later[kind] - lines.length;
  }
  if (later.cut !== null) {
    st.cut = { lineNo: base + later.cut.lineNo, header: later.cut.header };
  }
  st.format ??= later.format;
  // A creator printed again later replaces the earlier one, in place.
  for (const [id, g] of later.goroutines) st.goroutines.set(id, g);
}
