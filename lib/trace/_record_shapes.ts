/**
 * The fast trace reader's record cache: tracebacks by shape (the block
 * scanner's 96-bit hash of their names, file:line and pc=, arguments and
 * frame pointers left out), each with what parsing it gave, so a record
 * whose traceback was seen before costs its header line
 * (`byte_parser.ts`'s `#block`).
 *
 * @module
 */

import type { BlockScanner } from "./block_scan.ts";

/** Tracebacks the record cache keeps, at most (it stops growing then). */
const BLOCK_CACHE_MAX = 200_000;

/**
 * Once the cache is given up, this many chunks are read without it (the one
 * that gave it up among them), and the next tries it again: one chunk in
 * three at 2.
 */
const RETRY_CHUNKS = 2;

/**
 * What parsing a traceback gave: its lines, goroutine and stack, where
 * mallocgc's size argument stands (-1: none), and its `created by` lines
 * (null: none).
 */
export interface ShapedBlock {
  lines: number;
  goroutine: number;
  stack: number;
  argsAt: number;
  creators: string[] | null;
  check: number;
  check2: number;
}

/** Parsed tracebacks by shape. */
export class RecordShapes {
  readonly #byKey = new Map<number, ShapedBlock>();
  #key = 0;
  #check = 0;
  #check2 = 0;
  #taken = false;
  /** Records tried against the cache (the scanner's record table's included). */
  tries = 0;
  /** Of {@link tries}, those whose traceback came from the cache. */
  hits = 0;
  /** Of {@link hits}, those the scanner's record table served on its own. */
  tableHits = 0;

  /** {@link tries} and {@link hits} when {@link worthTrying} last decided. */
  #tries0 = 0;
  #hits0 = 0;
  /** Given up: chunks to go before one is tried again (0: on). */
  #idle = 0;
  /** On for one chunk after being given up: that chunk decides. */
  #probing = false;

  /**
   * Whether to try the cache on the next chunk of input (asked once a
   * chunk). It is tried on the first 10,000 records, then given up when
   * fewer than 1 in 4 of the last 10,000 or more records hit (every
   * traceback different: nothing to gain). Given up, it is tried again
   * after {@link RETRY_CHUNKS} chunks without it (every third chunk), and
   * stays on when 1 in 4 of that
   * chunk's records hit: a trace may start with thousands of different
   * tracebacks and repeat them after (a deep binary-trees run builds its
   * stretch tree first). A cache given up for good read the rest line by
   * line: on the real depth-11 trace at GOGC=10, 9 of 539,453 records came
   * from it, and 518,495 with the retry.
   */
  worthTrying(): boolean {
    if (this.#idle > 0) {
      if (--this.#idle > 0) return false;
      this.#probing = true;
      this.#tries0 = this.tries;
      this.#hits0 = this.hits;
      return true;
    }
    const tried = this.tries - this.#tries0;
    const hit = this.hits - this.#hits0;
    if (this.#probing ? tried === 0 : tried < 10_000) return true;
    this.#probing = false;
    this.#tries0 = this.tries;
    this.#hits0 = this.hits;
    if (hit * 4 > tried) return true;
    this.#idle = RETRY_CHUNKS;
    return false;
  }

  /** The block of the scanner's last traceback's shape, if one was kept. */
  find(sc: BlockScanner): ShapedBlock | undefined {
    // A small-integer key (no boxed number per lookup); the rest of the 96
    // bits is checked.
    this.#key = sc.s1lo & 0x3fffffff;
    this.#check = sc.s2lo;
    this.#check2 = sc.s1hi;
    const sh = this.#byKey.get(this.#key);
    this.#taken = sh !== undefined;
    return sh !== undefined && sh.check === this.#check &&
        sh.check2 === this.#check2
      ? sh
      : undefined;
  }

  /**
   * Keeps what parsing the traceback {@link find} looked up last gave;
   * null when its key is taken (by another shape) or the cache is full.
   */
  add(
    lines: number,
    goroutine: number,
    stack: number,
    argsAt: number,
    creators: string[] | null,
  ): ShapedBlock | null {
    if (this.#taken || this.#byKey.size >= BLOCK_CACHE_MAX) return null;
    const block: ShapedBlock = {
      lines,
      goroutine,
      stack,
      check: this.#check,
      check2: this.#check2,
      argsAt,
      creators,
    };
    this.#byKey.set(this.#key, block);
    return block;
  }
}
