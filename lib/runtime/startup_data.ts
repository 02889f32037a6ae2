/**
 * The shape of a preset's start-up data (`startup_go119.ts`,
 * `startup_go122.ts`, written by `scripts/gen_startup.ts` from real
 * traces; replayed by `goStartup` in `startup.ts`).
 *
 * @module
 */

/** A frame: function, file, line, PC offset, frame size, arguments as printed, inlined. */
export type StartupFrame = readonly [
  string,
  string,
  number,
  number,
  number,
  string,
  boolean?,
];

/**
 * A record: goroutine id, status, requested size, printed size, type (null:
 * untyped), freed by the real run, frame ids innermost first, `created by`
 * (function, file, line, PC offset).
 */
export type StartupRecord = readonly [
  number,
  string,
  number,
  number,
  string | null,
  boolean,
  readonly number[],
  (readonly [string, string, number, number])?,
];

/** One program's start-up. */
export interface StartupProgram {
  /** Sizes of the objects allocated before GODEBUG was read (no record). */
  readonly untraced: readonly number[];
  /** Its records (indexes into {@link StartupData.records}), in the real trace's order. */
  readonly records: readonly number[];
  /**
   * Positions in `records` of those made on another P than the one the
   * program's own work starts on (real Go's main goroutine changes P at
   * `gcenable`); absent: all on that P.
   */
  readonly otherP?: readonly number[];
}

/** A preset's start-up data. */
export interface StartupData {
  /** The frames the records use. */
  readonly frames: readonly StartupFrame[];
  /** The records of all programs, each once. */
  readonly records: readonly StartupRecord[];
  /** By program (`minimal` is `func main() {}`). */
  readonly programs: Readonly<Record<string, StartupProgram>>;
}
