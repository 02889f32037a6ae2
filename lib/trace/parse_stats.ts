/**
 * What the trace parsers notice besides the events (`ParseStats`): counts,
 * warnings with the line numbers of the first few, the cut record, the
 * format, and the goroutines' creators; shared by the string parser
 * (`parser.ts`) and the byte parser (`byte_parser.ts`), and taken together
 * when a trace is read in two parts.
 *
 * @module
 */

/** What the parser noticed besides the events. */
export interface ParseStats {
  /** Lines read. */
  lines: number;
  /** Records by kind. */
  allocs: number;
  /** tracefree / MProf_Free records. */
  frees: number;
  /** tracegc records. */
  gcs: number;
  /** Lines that belong to no record. */
  unparsed: number;
  /** Line numbers of the first few unparsed lines. */
  unparsedLines: number[];
  /** Lines inside a record that are not part of it (program output, damage); the record keeps the frames after them. */
  foreign: number;
  /** Line numbers of the first few foreign lines. */
  foreignLines: number[];
  /** Lines longer than the cap ({@link ParserOptions.maxLine}), skipped. */
  long: number;
  /** Line numbers of the first few long lines. */
  longLines: number[];
  /** Records dropped because their size or address is past 2^53 (not exact in a double; no real heap is that large). */
  rejected: number;
  /** Header line numbers of the first few rejected records. */
  rejectedLines: number[];
  /** tracegc blocks without their `end tracegc` (a record header ended them). */
  unendedGc: number;
  /** Header line numbers of the first few such blocks. */
  unendedGcLines: number[];
  /** The record cut by the end of input, if any: its header's line number and text. */
  cut: { lineNo: number; header: string } | null;
  /** Which format was seen: `go1.3+`, `seed`, or null before the first record. */
  format: "go1.3+" | "seed" | null;
  /**
   * The goroutines whose creator the trace printed (`created by F`, and
   * from Go 1.21 `created by F in goroutine N`), in records and tracegc
   * blocks, by goroutine id.
   */
  goroutines: Map<number, GoroutineInfo>;
}

/** Who created a goroutine, as its traceback's last line says. */
export interface GoroutineInfo {
  /** The function that ran the `go` statement (`runtime.gcenable`). */
  createdBy: string;
  /** The goroutine that ran it (Go 1.21+), -1 when the trace does not say (Go ≤ 1.20). */
  parent: number;
}

/**
 * Reads a `created by F` / `created by F in goroutine N` line into `into`
 * under goroutine `goid` (shared by both parsers). Go 1.21 added the
 * parent goroutine (runtime/traceback.go, printCreatedBy1). A creator
 * printed again later replaces the earlier one (Go never reuses a
 * goroutine id, so only a damaged or made-up trace has two); true when
 * this one differs from the one it replaced.
 */
export function noteCreatedBy(
  into: Map<number, GoroutineInfo>,
  goid: number,
  line: string,
): boolean {
  let createdBy = line.slice(11);
  let parent = -1;
  const at = createdBy.lastIndexOf(" in goroutine ");
  if (at >= 0) {
    const n = Number(createdBy.slice(at + 14));
    if (Number.isInteger(n) && n >= 0) {
      parent = n;
      createdBy = createdBy.slice(0, at);
    }
  }
  const was = into.get(goid);
  into.set(goid, { createdBy, parent });
  return was !== undefined &&
    (was.createdBy !== createdBy || was.parent !== parent);
}

/**
 * The goroutine id of a goroutine header line (`goroutine 17 [running]:`,
 * and from Go 1.21 `goroutine 17 gp=0xc000084000 m=nil [GC sweep wait]:`):
 * the digits after `goroutine ` up to the next space, 0 when they are not
 * all digits.
 */
export function goroutineId(line: string): number {
  const sp = line.indexOf(" ", 10);
  const id = line.slice(10, sp < 0 ? undefined : sp);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 48 || c > 57) return 0;
  }
  const v = Number(id);
  return v <= Number.MAX_SAFE_INTEGER ? v : 0;
}

/** Line numbers kept per kind of warning. */
const MAX_NOTED_LINES = 5;

/** The kinds of line the parsers count as warnings. */
export type Anomaly =
  | "unparsed"
  | "foreign"
  | "long"
  | "rejected"
  | "unendedGc";

/** Counts a warning of `kind` at line `lineNo` (shared by both parsers). */
export function noteAnomaly(
  stats: ParseStats,
  kind: Anomaly,
  lineNo: number,
): void {
  stats[kind]++;
  const lines = stats[`${kind}Lines` as const];
  if (lines.length < MAX_NOTED_LINES) lines.push(lineNo);
}

/** Fresh statistics. */
export function newStats(): ParseStats {
  return {
    lines: 0,
    allocs: 0,
    frees: 0,
    gcs: 0,
    unparsed: 0,
    unparsedLines: [],
    foreign: 0,
    foreignLines: [],
    long: 0,
    longLines: [],
    rejected: 0,
    rejectedLines: [],
    unendedGc: 0,
    unendedGcLines: [],
    cut: null,
    format: null,
    goroutines: new Map(),
  };
}

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
