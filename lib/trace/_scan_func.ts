/**
 * The scanner's first function, `scan` (see `block_scan.ts`): its
 * locals, the SIMD searches and hash chains it is made of, and the
 * function body, assembled from `_wasm.ts`'s instructions. From a record's
 * header line it finds the header line's end, each traceback line's
 * newline, first space and last `(` or `=`, hashes each line's shape, and
 * stops at the blank line that ends the record.
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
  I32,
  i32c,
  I64,
  i64c,
  I64EQ,
  IF,
  load16,
  load32,
  load64,
  LOOP,
  op,
  RETURN,
  SELECT,
  set,
  simd,
  store32,
  store64,
  storeF64,
  tee,
  uleb,
  v128const,
  v128load,
  vec,
} from "./_wasm.ts";

// Locals of scan(p, limit): two i32 parameters, then i32 and i64 locals.
const P = 0;
const LIMIT = 1;
const NL1 = 2; // the header line's newline
const SL = 3; // a line's start
const SN = 4; // its newline
const SJ = 5;
const SA = 6; // a range to hash: start
const SB = 7; // and end
const ST = 8; // hashing cursor
const M = 9; // a 16-bit mask of matching bytes
const W = 10; // a backward search's window
const SX = 11; // i64
const SH1 = 12; // i64
const SH2 = 13; // i64
// The header line's fields, and mallocgc's first argument.
const HI = 14; // a cursor
const HN = 15; // hex digits read
const HD = 16; // a hex digit
const HE = 17; // the header line's end (before a CR)
const HK = 18; // record kind: 1 tracealloc, 2 tracefree
const HT = 19; // where the type name starts (-1: none)
const LN = 20; // the traceback line's index
const HV = 21; // i64: a hex number
const HA = 22; // i64: the address
const LH1 = 23; // i64: the line's own hash (then mixed into SH1, SH2)
const LH2 = 24; // i64: a second word made from it
const LT = 25; // where the line's entry in the line table goes

const K1 = 0x9e3779b97f4a7c15n;
const K2 = 0xc2b2ae3d27d4eb4fn;

/**
 * The line table: for each of a record's first {@link MAX_LINES} traceback
 * lines, 16 bytes from here: where the line starts, and its own hash (its
 * two words, then a third word made from it), so a parser can tell a frame
 * it knows without reading its lines.
 */
export const LINE_TABLE = 128;
/** Lines the line table holds. */
export const MAX_LINES = 4096;

/** One bit per byte equal to `byte` among the 16 at the address `at` computes (SIMD compare). */
const eqMask = (at: number[], byte: number) => [
  ...at,
  ...v128load,
  ...v128const(byte),
  ...simd(0x23), // i8x16.eq
  ...simd(0x64), // i8x16.bitmask
];

/**
 * out = the first `byte` in [from, bound), or bound when there is none; 16
 * bytes a step. Bytes up to 15 past `bound` are read (the data has that
 * much slack after its end); a match there counts as none.
 */
const ffind = (out: number, from: number[], bound: number, byte: number) => [
  ...from,
  ...set(out),
  ...BLOCK,
  ...LOOP,
  ...eqMask(get(out), byte),
  ...tee(M),
  ...IF,
  ...get(out),
  ...get(M),
  op.i32ctz,
  op.i32add,
  ...set(out),
  ...br(2),
  ...END,
  ...addTo(out, 16),
  ...get(out),
  ...get(bound),
  op.i32ltU,
  ...brIf(0),
  ...END,
  ...END,
  // past bound (a match in the slack, or none): bound
  ...get(bound),
  ...get(out),
  ...get(out),
  ...get(bound),
  op.i32gtU,
  SELECT,
  ...set(out),
];

/**
 * A file line's end and first space in one pass: SN = the first newline
 * from SL (LIMIT or past it when none before LIMIT), SJ = the first space
 * before it (SN when none). Reads as {@link ffind} does.
 */
const lineAndSpace = [
  ...i32c(-1),
  ...set(SJ),
  ...get(SL),
  ...set(SN),
  ...BLOCK,
  ...LOOP,
  ...get(SJ),
  ...i32c(0),
  op.i32ltS,
  ...IF,
  ...eqMask(get(SN), 32),
  ...tee(M),
  ...IF,
  ...get(SN),
  ...get(M),
  op.i32ctz,
  op.i32add,
  ...set(SJ),
  ...END,
  ...END,
  ...eqMask(get(SN), 10),
  ...tee(M),
  ...IF,
  ...get(SN),
  ...get(M),
  op.i32ctz,
  op.i32add,
  ...set(SN),
  ...br(2),
  ...END,
  ...addTo(SN, 16),
  ...get(SN),
  ...get(LIMIT),
  op.i32ltU,
  ...brIf(0),
  ...END,
  ...END,
  // (-1 as unsigned is past any newline)
  ...get(SN),
  ...get(SJ),
  ...get(SJ),
  ...get(SN),
  op.i32gtU,
  SELECT,
  ...set(SJ),
];

/**
 * Any other line's end and last `(` in one pass: SN = the first newline
 * from SL (LIMIT or past it when none before LIMIT), SJ = the last `(`
 * before it (-1 when none). Reads as {@link ffind} does.
 */
const lineAndParen = [
  ...i32c(-1),
  ...set(SJ),
  ...get(SL),
  ...set(SN),
  ...BLOCK,
  ...LOOP,
  ...eqMask(get(SN), 40),
  ...set(W),
  ...eqMask(get(SN), 10),
  ...tee(M),
  ...IF,
  // only the '(' before the newline
  ...get(W),
  ...get(M),
  ...i32c(0),
  ...get(M),
  op.i32sub,
  op.i32and,
  ...i32c(1),
  op.i32sub,
  op.i32and,
  ...tee(W),
  ...IF,
  ...get(SN),
  ...i32c(31),
  op.i32add,
  ...get(W),
  op.i32clz,
  op.i32sub,
  ...set(SJ),
  ...END,
  ...get(SN),
  ...get(M),
  op.i32ctz,
  op.i32add,
  ...set(SN),
  ...br(2),
  ...END,
  ...get(W),
  ...IF,
  ...get(SN),
  ...i32c(31),
  op.i32add,
  ...get(W),
  op.i32clz,
  op.i32sub,
  ...set(SJ),
  ...END,
  ...addTo(SN, 16),
  ...get(SN),
  ...get(LIMIT),
  op.i32ltU,
  ...brIf(0),
  ...END,
  ...END,
];

/** out = the last `byte` in [bound, end), or -1; 16 bytes a step, backward. */
const rfind = (out: number, end: number[], bound: number, byte: number) => [
  ...end,
  ...set(W),
  ...BLOCK,
  ...LOOP,
  ...get(W),
  ...get(bound),
  op.i32leS,
  ...IF,
  ...i32c(-1),
  ...set(out),
  ...br(2),
  ...END,
  ...get(W),
  ...i32c(16),
  op.i32sub,
  ...set(W),
  ...eqMask(get(W), byte),
  ...set(M),
  // The window starts before bound: drop those bits.
  ...get(W),
  ...get(bound),
  op.i32ltS,
  ...IF,
  ...get(M),
  ...i32c(-1),
  ...get(bound),
  ...get(W),
  op.i32sub,
  op.i32shl,
  op.i32and,
  ...set(M),
  ...END,
  ...get(M),
  ...IF,
  ...get(W),
  ...i32c(31),
  op.i32add,
  ...get(M),
  op.i32clz,
  op.i32sub,
  ...set(out),
  ...br(2),
  ...END,
  ...br(0),
  ...END,
  ...END,
];

/** h = rotl((h ^ x) × k, r) (or with `combine` instead of ^): one step of a hash chain. */
const chain = (
  h: number,
  x: number,
  k: bigint,
  r: bigint,
  combine: number = op.i64xor,
) => [
  ...get(h),
  ...get(x),
  combine,
  ...i64c(k),
  op.i64mul,
  ...i64c(r),
  op.i64rotl,
  ...set(h),
];

/**
 * x & (all ones >> 8 × (8 − n)): the low `n` bytes (1…8) of the i64 `x`
 * puts on the stack, `n` being what the i32 instructions `n` compute.
 */
const lowBytes = (x: number[], n: number[]) => [
  ...x,
  ...i64c(-1n),
  ...i32c(8),
  ...n,
  op.i32sub,
  ...i32c(8),
  op.i32mul,
  op.i64extendU,
  op.i64shrU,
  op.i64and,
];

/**
 * Mixes SX into the line's hash (one chain: the line's second word, LH2, is
 * made from it at the line's end; a second chain over the same words cost
 * 7% of a known-record pass).
 */
const smix = [
  ...chain(LH1, SX, K1, 31n),
];

/** Hashes bytes [SA, SB), 8 at a time, then their count and `tag`. */
const hashRange = (tag: number) => [
  ...get(SA),
  ...set(ST),
  ...BLOCK,
  ...LOOP,
  ...get(ST),
  ...i32c(8),
  op.i32add,
  ...get(SB),
  op.i32gtU,
  ...brIf(1),
  ...get(ST),
  ...load64(0),
  ...set(SX),
  ...smix,
  ...addTo(ST, 8),
  ...br(0),
  ...END,
  ...END,
  ...get(ST),
  ...get(SB),
  op.i32ltU,
  ...IF,
  // the last 1–7 bytes
  ...lowBytes([...get(ST), ...load64(0)], [...get(SB), ...get(ST), op.i32sub]),
  ...set(SX),
  ...smix,
  ...END,
  ...get(SB),
  ...get(SA),
  op.i32sub,
  op.i64extendU,
  ...i64c(BigInt(tag) << 40n),
  op.i64or,
  ...set(SX),
  ...smix,
];

/** Stores the i64 local `h` at [offset]. */
const storeHash = (offset: number, h: number) => [
  ...i32c(0),
  ...get(h),
  ...store64(offset),
];

/**
 * HV = the hex digits at HI up to a byte that is not one (or `bound`),
 * HN = how many; HI after them. (Exact in a double up to 13 digits.)
 */
const hexDigits = (bound: number) => [
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

/** Bytes as the little-endian integer a load of them gives. */
const le = (text: string): bigint =>
  [...new TextEncoder().encode(text)].reduceRight(
    (v, b) => (v << 8n) | BigInt(b),
    0n,
  );

// The header line `tracealloc(0xADDR, 0xSIZE[, TYPE])` or
// `tracefree(0xADDR, 0xSIZE)` as the byte parser reads it: kind at [40]
// (0: not this simple form, left to the parser), where the type starts at
// [44] (-1: none), address and size at [48] and [56] (f64).
const header = (): number[] => [
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
  ...i32c(Number(le("oc("))),
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
  ...i32c(Number(le("e("))),
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
  ...get(HI),
  ...load16(0),
  ...i32c(Number(le("0x"))),
  op.i32ne,
  ...brIf(0),
  ...addTo(HI, 2),
  ...hexDigits(HE),
  ...unlessExact(0),
  ...get(HV),
  ...set(HA),
  // , 0xSIZE
  ...get(HI),
  ...load32(0),
  ...i32c(Number(le(", 0x"))),
  op.i32ne,
  ...brIf(0),
  ...addTo(HI, 4),
  ...hexDigits(HE),
  ...unlessExact(0),
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
  ...get(HI),
  ...load16(0),
  ...i32c(Number(le(", "))),
  op.i32ne,
  ...brIf(1),
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
  ...i64c(0x243f6a8885a308d3n),
  ...set(LH1),
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
const firstArg = (): number[] => [
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
  ...i32c(Number(le("0x"))),
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
  ...i64c(0x243f6a8885a308d3n),
  ...set(LH1),
  ...BLOCK, // $kind
  // A file line: tab, path:line up to the first space, then pc=.
  ...byteIs(SL, 0, 9),
  ...IF,
  ...lineAndSpace,
  ...get(SN),
  ...get(LIMIT),
  op.i32geU,
  ...brIf(4), // → $fail (if, block, loop, block)
  ...get(SL),
  ...set(SA),
  ...get(SJ),
  ...set(SB),
  ...hashRange(1),
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
  ...i32c(Number(le(" pc="))),
  op.i32eq,
  ...IF,
  ...addTo(SA, 1),
  ...get(SN),
  ...set(SB),
  ...hashRange(2),
  ...END,
  ...END,
  ...br(1), // → $kind end
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
  // A function line `name(args)` (not `name(...)`): the name only.
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
  ...get(SL),
  ...set(SA),
  ...get(SJ),
  ...set(SB),
  ...hashRange(3),
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
  ...br(3), // → $kind end (if, if, if, then the block)
  ...END,
  ...END,
  ...END,
  // Anything else: the whole line.
  ...get(SL),
  ...set(SA),
  ...get(SN),
  ...set(SB),
  ...hashRange(4),
  ...END, // $kind
  // The line's hashes: into the shape's, and into the line table.
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
  ...vec([
    [...uleb(9), I32],
    [...uleb(3), I64],
    [...uleb(7), I32],
    [...uleb(2), I64],
    [...uleb(2), I64],
    [...uleb(1), I32],
  ]),
  ...body(lines),
  ...END,
];
