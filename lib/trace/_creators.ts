/**
 * The goroutines' creators as the byte parser notes them (`created by`
 * lines): a record taken from its cache notes its creators again once a
 * goroutine's creator was replaced by a different one, as the string
 * parser, which reads every record, would note them (`byte_parser.ts`).
 *
 * @module
 */

import { type GoroutineInfo, noteCreatedBy } from "./parse_stats.ts";

/** `created by` lines noted into a parse's goroutines, and the record's own. */
export class CreatorNotes {
  readonly #into: Map<number, GoroutineInfo>;
  readonly #other: { readonly creatorsReplaced: number };
  #replaced = 0;
  #record: string[] | null = null;
  #asked = 0;

  /**
   * Notes into `into`, which `other` (the string parser beside) notes
   * into too.
   */
  constructor(
    into: Map<number, GoroutineInfo>,
    other: { readonly creatorsReplaced: number },
  ) {
    this.#into = into;
    this.#other = other;
  }

  /** Starts a record: no creator yet. */
  begin(): void {
    this.#record = null;
  }

  /** The `created by` lines of the record (null: none), to cache with it. */
  get record(): string[] | null {
    return this.#record;
  }

  /** Notes `line`, a `created by` line of goroutine `goid`'s record. */
  note(goid: number, line: string): void {
    this.#noteOne(goid, line);
    (this.#record ??= []).push(line);
  }

  /**
   * How many times a goroutine's creator was replaced by a different one
   * (never in a real trace: Go does not reuse goroutine ids). While it
   * stays the same, noting a cached record's creators again would change
   * nothing: the record cache does not until it is above 0, and the
   * scanner's record table (which emits records without JavaScript seeing
   * them) is emptied each time it grows.
   */
  get changes(): number {
    return this.#replaced + this.#other.creatorsReplaced;
  }

  /**
   * True when {@link changes} grew since the last call: the byte parser
   * empties the scanner's record table then (its records would not note
   * their creators).
   */
  changedSinceAsked(): boolean {
    const c = this.changes;
    if (c === this.#asked) return false;
    this.#asked = c;
    return true;
  }

  /** A cached record of goroutine `goid` with creators `lines`: noted again when they may have moved. */
  again(goid: number, lines: string[] | null): void {
    if (lines === null || this.changes === 0) return;
    for (const line of lines) this.#noteOne(goid, line);
  }

  #noteOne(goid: number, line: string): void {
    if (noteCreatedBy(this.#into, goid, line)) this.#replaced++;
  }
}
