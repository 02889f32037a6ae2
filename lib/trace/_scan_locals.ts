/**
 * The locals of the scanner's `scan` (see `_scan_func.ts`): the index of
 * each, shared by the pieces `scan` is assembled from (`_scan_search.ts`,
 * `_scan_hash.ts`, `_scan_header.ts`), and their declaration in the code
 * section, {@link SCAN_LOCALS}.
 *
 * @module
 */

import { I32, I64, uleb, vec } from "./_wasm.ts";

// Locals of scan(p, limit): two i32 parameters, then i32 and i64 locals.
export const P = 0;
export const LIMIT = 1;
export const NL1 = 2; // the header line's newline
export const SL = 3; // a line's start
export const SN = 4; // its newline
export const SJ = 5; // a file line's first space, another line's last `(`
export const SA = 6; // a range to hash: start
export const SB = 7; // and end
export const ST = 8; // hashing cursor
export const M = 9; // a 16-bit mask of matching bytes
export const W = 10; // a backward search's window
export const SX = 11; // i64
export const SH1 = 12; // i64
export const SH2 = 13; // i64
// The header line's fields, and mallocgc's first argument.
export const HI = 14; // a cursor
export const HN = 15; // hex digits read
export const HD = 16; // a hex digit
export const HE = 17; // the header line's end (before a CR)
export const HK = 18; // record kind: 1 tracealloc, 2 tracefree
export const HT = 19; // where the type name starts (-1: none)
export const LN = 20; // the traceback line's index
export const HV = 21; // i64: a hex number
export const HA = 22; // i64: the address
export const LH1 = 23; // i64: the line's own hash (then mixed into SH1, SH2)
export const LH2 = 24; // i64: a second word made from it
export const LT = 25; // where the line's entry in the line table goes

/**
 * The declaration of the locals above (after the two parameters), in
 * their order: the start of `scan`'s entry in the code section.
 */
export const SCAN_LOCALS: number[] = vec([
  [...uleb(9), I32],
  [...uleb(3), I64],
  [...uleb(7), I32],
  [...uleb(2), I64],
  [...uleb(2), I64],
  [...uleb(1), I32],
]);
