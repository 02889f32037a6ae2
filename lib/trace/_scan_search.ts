/**
 * The SIMD byte searches of the scanner's `scan` (see `_scan_func.ts`), 16
 * bytes a step: the first of a byte forward ({@link ffind}), the last
 * backward ({@link rfind}), and a line's newline found in one pass with
 * its first space ({@link lineAndSpace}, a file line) or its last `(`
 * ({@link lineAndParen}, any other line).
 *
 * @module
 */

import {
  addTo,
  BLOCK,
  br,
  brIf,
  END,
  get,
  i32c,
  IF,
  LOOP,
  op,
  SELECT,
  set,
  simd,
  tee,
  v128const,
  v128load,
} from "./_wasm.ts";
import { LIMIT, M, SJ, SL, SN, W } from "./_scan_locals.ts";

/** One bit per byte equal to `byte` among the 16 at the address `at` computes (SIMD compare). */
const eqMask = (at: number[], byte: number) => [
  ...at,
  ...v128load,
  ...v128const(byte),
  ...simd(0x23), // i8x16.eq
  ...simd(0x64), // i8x16.bitmask
];

/** out = base + the index of `mask`'s lowest bit: the first match in a window at `base`. */
const firstBit = (out: number, base: number, mask: number) => [
  ...get(base),
  ...get(mask),
  op.i32ctz,
  op.i32add,
  ...set(out),
];

/** out = base + the index of `mask`'s highest bit: the last match in a window at `base`. */
const lastBit = (out: number, base: number, mask: number) => [
  ...get(base),
  ...i32c(31),
  op.i32add,
  ...get(mask),
  op.i32clz,
  op.i32sub,
  ...set(out),
];

/**
 * A forward search: `step` for each 16-byte window at `at`, then at += 16,
 * while at < bound. A match leaves it with {@link found} (in `step`, not
 * nested deeper).
 */
const windows = (at: number, bound: number, step: number[]) => [
  ...BLOCK,
  ...LOOP,
  ...step,
  ...addTo(at, 16),
  ...get(at),
  ...get(bound),
  op.i32ltU,
  ...brIf(0),
  ...END,
  ...END,
];

/**
 * In {@link windows}' `step`: if the window at `at` holds `byte`, `then`,
 * `at` on the first one, and out of the search.
 */
const found = (at: number, byte: number, then: number[] = []) => [
  ...eqMask(get(at), byte),
  ...tee(M),
  ...IF,
  ...then,
  ...firstBit(at, at, M),
  ...br(2),
  ...END,
];

/** SJ = -1 and SN = SL: a line search's start. */
const fromLine = [
  ...i32c(-1),
  ...set(SJ),
  ...get(SL),
  ...set(SN),
];

/** x = min(x, bound), unsigned. */
const atMost = (x: number, bound: number) => [
  ...get(bound),
  ...get(x),
  ...get(x),
  ...get(bound),
  op.i32gtU,
  SELECT,
  ...set(x),
];

/**
 * out = the first `byte` in [from, bound), or bound when there is none; 16
 * bytes a step. Bytes up to 15 past `bound` are read (the data has that
 * much slack after its end); a match there counts as none.
 */
export const ffind = (
  out: number,
  from: number[],
  bound: number,
  byte: number,
) => [
  ...from,
  ...set(out),
  ...windows(out, bound, found(out, byte)),
  // past bound (a match in the slack, or none): bound
  ...atMost(out, bound),
];

/**
 * A file line's end and first space in one pass: SN = the first newline
 * from SL (LIMIT or past it when none before LIMIT), SJ = the first space
 * before it (SN when none). Reads as {@link ffind} does.
 */
export const lineAndSpace = [
  ...fromLine,
  ...windows(SN, LIMIT, [
    ...get(SJ),
    ...i32c(0),
    op.i32ltS,
    ...IF,
    ...eqMask(get(SN), 32),
    ...tee(M),
    ...IF,
    ...firstBit(SJ, SN, M),
    ...END,
    ...END,
    ...found(SN, 10),
  ]),
  // (-1 as unsigned is past any newline)
  ...atMost(SJ, SN),
];

/** If the mask W on the stack is not 0: SJ = where its last '(' is, in the window at SN. */
const lastParen = [...IF, ...lastBit(SJ, SN, W), ...END];

/**
 * Any other line's end and last `(` in one pass: SN = the first newline
 * from SL (LIMIT or past it when none before LIMIT), SJ = the last `(`
 * before it (-1 when none). Reads as {@link ffind} does.
 */
export const lineAndParen = [
  ...fromLine,
  ...windows(SN, LIMIT, [
    ...eqMask(get(SN), 40),
    ...set(W),
    ...found(SN, 10, [
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
      ...lastParen,
    ]),
    ...get(W),
    ...lastParen,
  ]),
];

/** out = the last `byte` in [bound, end), or -1; 16 bytes a step, backward. */
export const rfind = (
  out: number,
  end: number[],
  bound: number,
  byte: number,
) => [
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
  ...lastBit(out, W, M),
  ...br(2),
  ...END,
  ...br(0),
  ...END,
  ...END,
];
