/**
 * The hash chains of the scanner's `scan` (see `_scan_func.ts`): one step
 * of a chain ({@link chain}), a byte range hashed 8 bytes a step into the
 * line's hash ({@link hashRange}), and the chains' constants. A record's
 * shape hash (its two words, SH1 and SH2) chains its lines' own hashes
 * (LH1, and LH2 made from it).
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
  i64c,
  IF,
  load64,
  LOOP,
  op,
  set,
  store64,
} from "./_wasm.ts";
import { LH1, SA, SB, ST, SX } from "./_scan_locals.ts";

/** The multiplier of the chains of the first words (LH1, SH1). */
export const K1 = 0x9e3779b97f4a7c15n;
/** The multiplier of the second words (LH2 from LH1, SH2's chain). */
export const K2 = 0xc2b2ae3d27d4eb4fn;
/** The second multiplier of a line's chain (after the rotation). */
export const K3 = 0xff51afd7ed558ccdn;
/**
 * Where in memory a line's own hash (LH1) starts: a random i64 each
 * process draws (`block_scan.ts` writes it at instantiation), so the
 * line hashes of a file cannot be computed ahead, nor two names made to
 * collide.
 */
export const SEED_AT = 120;

/** LH1 = the seed (see {@link SEED_AT}). */
export const lineSeed = [
  ...i32c(0),
  ...load64(SEED_AT),
  ...set(LH1),
];

/** h = rotl((h ^ x) × k, r) (or with `combine` instead of ^): one step of a hash chain. */
export const chain = (
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
 * 7% of a known-record pass): h = rotl((h ^ x) × K1, 31) × K3. The second
 * multiply is for crafted input: with one, bit 63 of a word passes the
 * multiply unchanged (an odd multiplier) and the rotation takes it to bit
 * 30, so flipping both and bit 30 of the next word gave two names of one
 * hash whatever the seed. After it, where a difference lands depends on
 * the carries, so on the unknown seed.
 */
export const smix = [
  ...chain(LH1, SX, K1, 31n),
  ...get(LH1),
  ...i64c(K3),
  op.i64mul,
  ...set(LH1),
];

/** Hashes bytes [SA, SB), 8 at a time, then their count and `tag`. */
export const hashRange = (tag: number) => [
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
export const storeHash = (offset: number, h: number) => [
  ...i32c(0),
  ...get(h),
  ...store64(offset),
];

/** Hashes bytes [from, to) (two i32 locals) as {@link hashRange} does. */
export const hashBetween = (from: number, to: number, tag: number) => [
  ...get(from),
  ...set(SA),
  ...get(to),
  ...set(SB),
  ...hashRange(tag),
];
