/**
 * What the scanner's `scan` (see `_scan_func.ts`) reads besides shapes:
 * the header line's fields (kind, address, size, where the type name
 * starts, and the type name's own hash; {@link header}) and, in the
 * traceback's first function line, mallocgc's first argument
 * ({@link firstArg}), both with {@link hexDigits}.
 *
 * @module
 */

import {
  addTo,
  BLOCK,
  br,
  brIf,
  byteAt,
  byteIs,
  ELSE,
  END,
  F64_FROM_U64,
  get,
  i32c,
  i32le,
  i64c,
  I64EQ,
  IF,
  le,
  load16,
  load32,
  load64,
  LOOP,
  op,
  SELECT,
  set,
  store32,
  storeF64,
} from "./_wasm.ts";
import { hashRange, lineSeed, storeHash } from "./_scan_hash.ts";
import {
  HA,
  HD,
  HE,
  HI,
  HK,
  HN,
  HT,
  HV,
  LH1,
  LN,
  NL1,
  P,
  SA,
  SB,
  SJ,
  SN,
} from "./_scan_locals.ts";

/**
 * HV = the hex digits at HI up to a byte that is not one (or `bound`),
 * HN = how many; HI after them. (Exact in a double up to 13 digits.)
 */
export const hexDigits = (bound: number) => [
  ...i64c(0n),
  ...set(HV),
  ...i32c(0),
  ...set(HN),
  ...BLOCK,
  ...LOOP,
  ...get(HI),
  ...get(bound),
  op.i32geU,
  ...brIf(1),
  ...byteAt(HI, 0),
  ...i32c(48),
  op.i32sub,
  ...set(HD),
  ...get(HD),
  ...i32c(9),
  op.i32gtU,
  ...IF,
  // a-f, A-F
  ...byteAt(HI, 0),
  ...i32c(32),
  op.i32or,
  ...i32c(97),
  op.i32sub,
  ...set(HD),
  ...get(HD),
  ...i32c(5),
  op.i32gtU,
  ...brIf(2), // → out (if, loop, block)
  ...addTo(HD, 10),
  ...END,
  ...get(HV),
  ...i64c(4n),
  op.i64shl,
  ...get(HD),
  op.i64extendU,
  op.i64or,
  ...set(HV),
  ...addTo(HN, 1),
  ...addTo(HI, 1),
  ...br(0),
  ...END,
  ...END,
];

/** Branches out `depth` levels unless HN is 1…13 (digits a double holds exactly). */
const unlessExact = (depth: number) => [
  ...get(HN),
  ...i32c(1),
  op.i32sub,
  ...i32c(13),
  op.i32geU,
  ...brIf(depth),
];

/**
 * Branches out `depth` levels unless the bytes at HI are `text` (2 or 4
 * bytes).
 */
const unlessAt = (text: string, depth: number) => [
  ...get(HI),
  ...(text.length === 2 ? load16(0) : load32(0)),
  ...i32le(text),
  op.i32ne,
  ...brIf(depth),
];

/**
 * A header field `prefix` then hex digits, at HI: HV its value and HI
 * after it, or out of the `block` it stands in (the header's) when it is
 * not one or a double cannot hold it exactly.
 */
const hexField = (prefix: string) => [
  ...unlessAt(prefix, 0),
  ...addTo(HI, prefix.length),
  ...hexDigits(HE),
  ...unlessExact(0),
];

// The header line `tracealloc(0xADDR, 0xSIZE[, TYPE])` or
// `tracefree(0xADDR, 0xSIZE)` as the byte parser reads it: kind at [40]
// (0: not this simple form, left to the parser), where the type starts at
// [44] (-1: none), address and size at [48] and [56] (f64).
export const header = (): number[] => [
  ...i32c(0),
  ...i32c(0),
  ...store32(40),
  ...BLOCK, // $hdr
  // HE = NL1, less a CR before it
  ...get(NL1),
  ...byteIs(NL1, -1, 13),
  op.i32sub,
  ...set(HE),
  ...get(P),
  ...load64(0),
  ...i64c(le("traceall")),
  I64EQ,
  ...get(P),
  ...load32(8),
  ...i32c(0xffffff),
  op.i32and,
  ...i32le("oc("),
  op.i32eq,
  op.i32and,
  ...IF,
  ...i32c(1),
  ...set(HK),
  ...get(P),
  ...i32c(11),
  op.i32add,
  ...set(HI),
  ...ELSE,
  ...get(P),
  ...load64(0),
  ...i64c(le("tracefre")),
  I64EQ,
  ...get(P),
  ...load16(8),
  ...i32le("e("),
  op.i32eq,
  op.i32and,
  op.i32eqz,
  ...brIf(1), // → $hdr end
  ...i32c(2),
  ...set(HK),
  ...get(P),
  ...i32c(10),
  op.i32add,
  ...set(HI),
  ...END,
  // the line ends in ')'
  ...byteIs(HE, -1, 41),
  op.i32eqz,
  ...brIf(0),
  // 0xADDR
  ...hexField("0x"),
  ...get(HV),
  ...set(HA),
  // , 0xSIZE
  ...hexField(", 0x"),
  // then the ')', or (allocations) ", TYPE)"
  ...i32c(-1),
  ...set(HT),
  ...get(HI),
  ...get(HE),
  ...i32c(1),
  op.i32sub,
  op.i32ne,
  ...IF,
  ...get(HK),
  ...i32c(1),
  op.i32ne,
  ...brIf(1),
  ...unlessAt(", ", 1),
  ...get(HI),
  ...i32c(2),
  op.i32add,
  ...set(HT),
  ...END,
  ...i32c(0),
  ...get(HK),
  ...store32(40),
  ...i32c(0),
  ...get(HT),
  ...store32(44),
  ...i32c(0),
  ...get(HA),
  F64_FROM_U64,
  ...storeF64(48),
  ...i32c(0),
  ...get(HV),
  F64_FROM_U64,
  ...storeF64(56),
  // The type name's own hash at [80] (0 when there is none; never 0 else).
  ...i64c(0n),
  ...set(LH1),
  ...get(HT),
  ...i32c(0),
  op.i32geS,
  ...IF,
  ...lineSeed,
  ...get(HT),
  ...set(SA),
  ...get(HE),
  ...i32c(1),
  op.i32sub,
  ...set(SB),
  ...hashRange(5),
  ...get(LH1),
  ...i64c(1n),
  op.i64or,
  ...set(LH1),
  ...END,
  ...storeHash(80, LH1),
  ...END, // $hdr
];

// In the first function line (the traceback's second line): where its
// arguments start at [64] (-1: not such a line) and the hex number there at
// [72] (f64; -1: none, -2: too long for a double), for mallocgc's size.
export const firstArg = (): number[] => [
  ...get(LN),
  ...i32c(1),
  op.i32eq,
  ...IF,
  ...get(SJ),
  ...i32c(1),
  op.i32add,
  ...set(HI),
  ...i32c(0),
  ...get(HI),
  ...store32(64),
  ...i32c(0),
  ...i64c(-1n),
  op.f64FromI64S,
  ...storeF64(72),
  ...get(HI),
  ...load16(0),
  ...i32le("0x"),
  op.i32eq,
  ...IF,
  ...addTo(HI, 2),
  ...hexDigits(SN),
  ...get(HN),
  ...IF,
  ...i32c(0),
  ...get(HV),
  F64_FROM_U64,
  ...i64c(-2n),
  op.f64FromI64S,
  ...get(HN),
  ...i32c(13),
  op.i32leU,
  SELECT,
  ...storeF64(72),
  ...END,
  ...END,
  ...END,
];
