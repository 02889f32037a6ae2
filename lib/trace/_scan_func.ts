/**
 * The scanner's first function, `scan` (see `block_scan.ts`): the line
 * kinds of a record's traceback and the function body, assembled from
 * `_wasm.ts`'s instructions and its parts, the locals (`_scan_locals.ts`),
 * the SIMD byte searches (`_scan_search.ts`), the hash chains
 * (`_scan_hash.ts`) and the header line's fields (`_scan_header.ts`). From
 * a record's header line it finds the header line's end, each traceback
 * line's newline, first space and last `(` or `=`, hashes each line's
 * shape, and stops at the blank line that ends the record.
 *
 * @module
 */

import {
  addTo,
  BLOCK,
  br,
  brIf,
  byteIs,
  END,
  get,
  i32c,
  i32le,
  i64c,
  IF,
  load32,
  LOOP,
  op,
  RETURN,
  set,
  store32,
} from "./_wasm.ts";
import {
  LH1,
  LH2,
  LIMIT,
  LN,
  LT,
  NL1,
  P,
  SA,
  SB,
  SCAN_LOCALS,
  SH1,
  SH2,
  SJ,
  SL,
  SN,
  SX,
} from "./_scan_locals.ts";
import { ffind, lineAndParen, lineAndSpace, rfind } from "./_scan_search.ts";
import {
  chain,
  hashBetween,
  hashRange,
  K1,
  K2,
  lineSeed,
  smix,
  storeHash,
} from "./_scan_hash.ts";
import { firstArg, header } from "./_scan_header.ts";

/**
 * The line table: for each of a record's first {@link MAX_LINES} traceback
 * lines, 16 bytes from here: where the line starts, and its own hash (its
 * two words, then a third word made from it), so a parser can tell a frame
 * it knows without reading its lines.
 */
export const LINE_TABLE = 128;
/** Lines the line table holds. */
export const MAX_LINES = 4096;

/** The line's entry in the line table (for the first {@link MAX_LINES} lines). */
const lineEntry = [
  ...get(LN),
  ...i32c(MAX_LINES),
  op.i32ltU,
  ...IF,
  ...get(LT),
  ...get(SL),
  ...store32(0),
  ...get(LT),
  ...get(LH1),
  op.i32wrap,
  ...store32(4),
  ...get(LT),
  ...get(LH1),
  ...i64c(32n),
  op.i64shrU,
  op.i32wrap,
  ...store32(8),
  ...get(LT),
  ...get(LH2),
  op.i32wrap,
  ...store32(12),
  ...addTo(LT, 16),
  ...END,
];

/**
 * A file line (a tab, path:line up to the first space, then ` pc=` and
 * more), within `body`'s `$kind` block (in an `if`): its path:line and its
 * ` pc=` value are its shape; its newline not before LIMIT leaves `scan`
 * (→ `$fail`), else it ends at `$kind`'s end.
 */
const fileLine = [
  ...lineAndSpace,
  ...get(SN),
  ...get(LIMIT),
  op.i32geU,
  ...brIf(4), // → $fail
  ...hashBetween(SL, SJ, 1),
  // the last '=' at or after the space; if " pc" is before it, its value
  ...rfind(SA, get(SN), SJ, 61),
  ...get(SA),
  ...get(SJ),
  ...i32c(2),
  op.i32add,
  op.i32gtS,
  ...IF,
  ...get(SA),
  ...i32c(3),
  op.i32sub,
  ...load32(0),
  ...i32le(" pc="),
  op.i32eq,
  ...IF,
  ...addTo(SA, 1),
  ...get(SN),
  ...set(SB),
  ...hashRange(2),
  ...END,
  ...END,
  ...br(1), // → $kind's end
];

/**
 * A function line `name(args)` (not `name(...)`), within `body`'s `$kind`
 * block, after {@link lineAndParen}: the name only is its shape (and
 * whether its arguments are empty), and the first one's argument is read;
 * it ends at `$kind`'s end. Any other line falls through.
 */
const funcLine = [
  ...get(SN),
  ...get(SL),
  op.i32gtU,
  ...IF,
  ...byteIs(SN, -1, 41),
  ...IF,
  // (SJ: the last '(' before the ')', from lineAndParen)
  // SJ > SL and not "(...)" (SN − SJ = 5 and a '.' after the '(')
  ...get(SJ),
  ...get(SL),
  op.i32gtS,
  ...get(SN),
  ...get(SJ),
  op.i32sub,
  ...i32c(5),
  op.i32ne,
  ...byteIs(SJ, 1, 46),
  op.i32eqz,
  op.i32or,
  op.i32and,
  ...IF,
  ...hashBetween(SL, SJ, 3),
  // Whether the arguments are empty (`name()`) is part of the shape: a
  // line parser takes `x.tracegc()` for a record header, `x.tracegc(0x1)`
  // not.
  ...get(SN),
  ...get(SJ),
  op.i32sub,
  ...i32c(2),
  op.i32eq,
  ...IF,
  ...i64c(0x5bd1e995n),
  ...set(SX),
  ...smix,
  ...END,
  ...firstArg(),
  ...br(3), // → $kind's end
  ...END,
  ...END,
  ...END,
];

/**
 * The end of a line whose hash is LH1: LH2 made from it, both into the
 * shape's hash, the line's entry in the line table when `lines`, and SL on
 * to the next line.
 */
const lineEnd = (lines: boolean) => [
  // (LH2: a second word from the line's hash, for the line table's third)
  ...get(LH1),
  ...i64c(K2),
  op.i64mul,
  ...i64c(29n),
  op.i64rotl,
  ...set(LH2),
  ...chain(SH1, LH1, K1, 31n),
  ...chain(SH2, LH2, K2, 29n, op.i64add),
  ...(lines ? lineEntry : []),
  ...addTo(LN, 1),
  ...get(SN),
  ...i32c(1),
  op.i32add,
  ...set(SL),
];

// scan(p, limit) → e, the offset of the newline that ends the record's last
// traceback line (the blank line is e + 1), or -1 when the record does not
// end before `limit`. One pass: it finds the lines and hashes the shape of
// the traceback between the header line and the blank line, leaving out
// what varies between calls from the same stack: a function line's
// arguments (all after its last '('), a file line's `+0x…`, `fp=`, `sp=`
// (all after its first space, except the `pc=` value). Writes the header
// line's newline at [0] (i32), the shape hashes at [24] and [32] (i64).
const body = (lines: boolean): number[] => [
  ...BLOCK, // $fail
  ...ffind(NL1, get(P), LIMIT, 10),
  ...get(NL1),
  ...get(LIMIT),
  op.i32geU,
  ...brIf(0), // → $fail
  ...i64c(0x452821e638d01377n),
  ...set(SH1),
  ...i64c(0xbe5466cf34e90c6cn),
  ...set(SH2),
  ...get(NL1),
  ...i32c(1),
  op.i32add,
  ...set(SL),
  ...i32c(0),
  ...set(LN),
  ...i32c(LINE_TABLE),
  ...set(LT),
  ...i32c(0),
  ...i32c(-1),
  ...store32(64),
  ...BLOCK, // $done
  ...LOOP, // $lines
  ...lineSeed,
  ...BLOCK, // $kind
  ...byteIs(SL, 0, 9),
  ...IF,
  ...fileLine, // (if, $kind, $lines, $done, $fail)
  ...END,
  ...lineAndParen,
  ...get(SN),
  ...get(LIMIT),
  op.i32geU,
  ...brIf(3), // → $fail (block, loop, block)
  // The blank line ends the record.
  ...get(SN),
  ...get(SL),
  op.i32eq,
  ...brIf(2), // → $done
  ...funcLine,
  // Anything else: the whole line.
  ...hashBetween(SL, SN, 4),
  ...END, // $kind
  // The line's hashes: into the shape's, and into the line table.
  ...lineEnd(lines),
  ...br(0), // → $lines
  ...END,
  ...END, // $done
  ...header(),
  ...i32c(0),
  ...get(NL1),
  ...store32(0),
  ...i32c(0),
  ...get(LN),
  ...store32(4),
  ...storeHash(24, SH1),
  ...storeHash(32, SH2),
  ...get(SL),
  ...i32c(1),
  op.i32sub,
  ...RETURN,
  ...END, // $fail
  ...i32c(-1),
];

/**
 * The code of `scan`: its locals and body (the code section's entry, less
 * its size). Assembled when called (once per thread, see `block_scan.ts`):
 * a Worker handed the compiled module never assembles it. Without `lines`,
 * the same function less the line table (`run` reads a known record by its
 * shape hash alone: the line table's stores cost 7% of its time).
 */
export const scanFunc = (lines = true): number[] => [
  ...SCAN_LOCALS,
  ...body(lines),
  ...END,
];
