/**
 * `run`, the scanner's second function: it reads record after record with
 * `scan` (function {@link SCAN_NO_LINES}, `scan` less its line table)
 * and, while their header is plain and their key is in the record table,
 * writes their events itself, so a caller crosses into
 * WebAssembly once per thousands of records, not once per record, and
 * touches only the records the table does not know. The table is filled
 * by {@link rememberRecord}.
 *
 * @module
 */

import {
  addTo,
  BLOCK,
  br,
  brIf,
  byteIs,
  CALL,
  END,
  F64,
  F64_EQ,
  F64_FROM_I32,
  F64_LT,
  f64c,
  get,
  I32,
  i32c,
  IF,
  load32,
  loadF64,
  LOOP,
  op,
  set,
  store32,
  storeF64,
  uleb,
  vec,
} from "./_wasm.ts";

/**
 * The record table: {@link SLOTS} entries of 64 bytes from here (open
 * addressing, linear probing), filled by the parser with the records it
 * parsed once: the key (the shape hash's three words the parser keys by,
 * and the type name's hash), then what a record of that key emits.
 */
export const TABLE = 1 << 17;
/** Entries of the record table (a power of two). */
export const SLOTS = 1 << 15;
/** Where `run` writes its events: {@link OUT_MAX} of 8 f64 each. */
export const OUT = TABLE + 64 * SLOTS;
/** Events `run` writes at most per call. */
export const OUT_MAX = 4096;
/** The module's function `run` calls for each record: `scan` less the line table (function 0 is `scan`, 1 `run`). */
export const SCAN_NO_LINES = 2;

// Locals of run(p, limit, outMax, maxLine).
const RP = 0;
const RLIMIT = 1;
const ROUTMAX = 2;
const RMAXLINE = 3;
const RE = 4; // the record's last newline
const RN = 5; // events written
const RL = 6; // lines consumed
const RIDX = 7; // a slot of the table
const RENT = 8; // its address
const RNL = 9; // the header line's newline
const ROUT = 10; // the event's address
const RAT = 11; // where the size argument stands
const RK0 = 12; // the key's first word
const RREQ = 13; // f64: the requested size
const RS = 14; // where `scan` read the last record

/** Is i32 [RENT + off] equal to i32 [at]? */
const entryIs = (off: number, at: number) => [
  ...get(RENT),
  ...load32(off),
  ...i32c(0),
  ...load32(at),
  op.i32eq,
];

/** Stores the f64 `value` computes at [ROUT + off]. */
const outF64 = (off: number, value: number[]) => [
  ...get(ROUT),
  ...value,
  ...storeF64(off),
];

// run(p, limit, outMax, maxLine) → events: from p, each record `scan`
// reads whose header is plain and whose key is in the table becomes one
// event at OUT (kind 0 alloc / 1 free, addr, size, type id, requested,
// goroutine, stack, its header's line counted from 1 after p), up to
// outMax events. Stops at the first record it cannot do this with, leaving
// where it stopped at [96], whether it stopped because outMax events were
// written at [100], and the lines it went past at [104]; [112] is 1 when
// `scan` read the record it stopped at, [108] what that returned.
const runBody = (): number[] => [
  ...i32c(0),
  ...i32c(0),
  ...store32(100),
  ...BLOCK, // $stop
  ...LOOP, // $rec
  ...get(RN),
  ...get(ROUTMAX),
  op.i32geU,
  ...IF,
  ...i32c(0),
  ...i32c(1),
  ...store32(100),
  ...br(2),
  ...END,
  ...get(RP),
  ...get(RLIMIT),
  op.i32geU,
  ...brIf(1),
  ...byteIs(RP, 0, 116),
  op.i32eqz,
  ...brIf(1),
  ...get(RP),
  ...get(RLIMIT),
  ...CALL(SCAN_NO_LINES),
  ...set(RE),
  ...get(RP),
  ...set(RS),
  ...get(RE),
  ...i32c(0),
  op.i32ltS,
  ...brIf(1),
  ...i32c(0),
  ...load32(0),
  ...set(RNL),
  // (as the parser: a record this long, or without a traceback, goes line by line)
  ...get(RE),
  ...get(RNL),
  op.i32leS,
  ...get(RE),
  ...get(RP),
  op.i32sub,
  ...get(RMAXLINE),
  op.i32gtS,
  op.i32or,
  ...i32c(0),
  ...load32(40),
  op.i32eqz,
  op.i32or,
  ...brIf(1),
  ...i32c(0),
  ...load32(24),
  ...i32c(0x3fffffff),
  op.i32and,
  ...set(RK0),
  ...get(RK0),
  ...i32c(0),
  ...load32(80),
  ...i32c(0x9e3779b1 | 0),
  op.i32mul,
  op.i32xor,
  ...i32c(SLOTS - 1),
  op.i32and,
  ...set(RIDX),
  ...BLOCK, // $found
  ...LOOP, // $probe
  ...get(RIDX),
  ...i32c(6),
  op.i32shl,
  ...i32c(TABLE),
  op.i32add,
  ...set(RENT),
  ...get(RENT),
  ...load32(0),
  op.i32eqz,
  ...brIf(3), // a free slot: not there (→ $stop)
  ...get(RENT),
  ...load32(4),
  ...get(RK0),
  op.i32eq,
  ...entryIs(8, 28),
  op.i32and,
  ...entryIs(12, 32),
  op.i32and,
  ...entryIs(16, 80),
  op.i32and,
  ...entryIs(20, 84),
  op.i32and,
  ...brIf(1), // → $found
  ...get(RIDX),
  ...i32c(1),
  op.i32add,
  ...i32c(SLOTS - 1),
  op.i32and,
  ...set(RIDX),
  ...br(0),
  ...END,
  ...END, // $found
  // mallocgc's size argument, where the table says it stands
  ...f64c(0),
  ...set(RREQ),
  ...get(RENT),
  ...load32(32),
  ...set(RAT),
  ...get(RAT),
  ...i32c(0),
  op.i32geS,
  ...IF,
  ...get(RNL),
  ...i32c(1),
  op.i32add,
  ...get(RAT),
  op.i32add,
  ...i32c(0),
  ...load32(64),
  op.i32ne,
  ...brIf(2), // not where the scanner read one: the parser reads it (→ $stop)
  ...i32c(0),
  ...loadF64(72),
  ...set(RREQ),
  ...get(RREQ),
  ...f64c(-2),
  F64_EQ,
  ...brIf(2),
  ...get(RREQ),
  ...f64c(0),
  F64_LT,
  ...IF,
  ...f64c(0),
  ...set(RREQ),
  ...END,
  ...END,
  ...get(RN),
  ...i32c(6),
  op.i32shl,
  ...i32c(OUT),
  op.i32add,
  ...set(ROUT),
  ...outF64(0, [
    ...i32c(0),
    ...load32(40),
    ...i32c(1),
    op.i32sub,
    F64_FROM_I32,
  ]),
  ...outF64(8, [...i32c(0), ...loadF64(48)]),
  ...outF64(16, [...i32c(0), ...loadF64(56)]),
  ...outF64(24, [...get(RENT), ...load32(36), F64_FROM_I32]),
  ...outF64(32, get(RREQ)),
  ...outF64(40, [...get(RENT), ...loadF64(40)]),
  ...outF64(48, [...get(RENT), ...load32(24), F64_FROM_I32]),
  ...outF64(56, [...get(RL), ...i32c(1), op.i32add, F64_FROM_I32]),
  ...get(RL),
  ...get(RENT),
  ...load32(28),
  op.i32add,
  ...set(RL),
  ...addTo(RN, 1),
  ...get(RE),
  ...i32c(2),
  op.i32add,
  ...set(RP),
  ...br(0), // → $rec
  ...END,
  ...END, // $stop
  ...i32c(0),
  ...get(RP),
  ...store32(96),
  ...i32c(0),
  ...get(RL),
  ...store32(104),
  // Whether `scan` read the record where it stopped (its results are
  // still in place, the line table too: the caller reads it for a new
  // record), and what it returned.
  ...get(RS),
  ...get(RP),
  op.i32eq,
  ...IF,
  ...get(RP),
  ...get(RLIMIT),
  ...CALL(0),
  ...set(RE),
  ...END,
  ...i32c(0),
  ...get(RS),
  ...get(RP),
  op.i32eq,
  ...store32(112),
  ...i32c(0),
  ...get(RE),
  ...store32(108),
  ...get(RN),
];

/** The code of `run`: its locals and body (assembled when called, as `_scan_func.ts`'s `scanFunc`). */
export const runFunc = (): number[] => [
  ...vec([
    [...uleb(9), I32],
    [...uleb(1), F64],
    [...uleb(1), I32],
  ]),
  ...runBody(),
  ...END,
];

/**
 * Puts the key of the record `scan` read last (its words at [24], [28],
 * [32], the type name's hash at [80]) in the record table of the memory
 * `i32`/`f64` view, which holds `entries` entries, with `value` (stack,
 * lines, argsAt, type id) and `goroutine`: what `run` emits for a record of
 * that key. False when the table is half full (probes stay short) or the
 * key is there.
 */
export function rememberRecord(
  i32: Int32Array,
  f64: Float64Array,
  entries: number,
  value: readonly [number, number, number, number],
  goroutine: number,
): boolean {
  if (entries >= SLOTS / 2) return false;
  const k0 = i32[6] & 0x3fffffff;
  let idx = (k0 ^ Math.imul(i32[20], 0x9e3779b1)) & (SLOTS - 1);
  for (;;) {
    const e = (TABLE >> 2) + 16 * idx;
    if (i32[e] === 0) {
      i32[e] = 1;
      i32[e + 1] = k0;
      i32[e + 2] = i32[7];
      i32[e + 3] = i32[8];
      i32[e + 4] = i32[20];
      i32[e + 5] = i32[21];
      i32.set(value, e + 6);
      f64[(e >> 1) + 5] = goroutine;
      return true;
    }
    if (
      i32[e + 1] === k0 && i32[e + 2] === i32[7] && i32[e + 3] === i32[8] &&
      i32[e + 4] === i32[20] && i32[e + 5] === i32[21]
    ) return false;
    idx = (idx + 1) & (SLOTS - 1);
  }
}
