/**
 * The byte-level pieces of the fast trace reader (`byte_parser.ts`):
 * the record headers' bytes, prefix and header tests, the hashes that
 * name a frame or a type, and hex numbers read in place. Functions that
 * find two things leave the second in a module variable (`lastHash2`,
 * `lastHexEnd`), so a call makes no object.
 *
 * @module
 */

import { hexDigit, MAX_EXACT } from "./parser.ts";

export const NL = 10;
export const CR = 13;
export const TAB = 9;
export const SP = 32;
export const LPAREN = 40;

/** Bytes of the record headers the fast path recognises. */
export const P_ALLOC = new TextEncoder().encode("tracealloc(");
export const P_FREE = new TextEncoder().encode("tracefree(");
export const P_GOROUTINE = new TextEncoder().encode("goroutine ");
const P_GC = new TextEncoder().encode("tracegc()");
const P_MALLOC = new TextEncoder().encode("MProf_Malloc(");
const P_MFREE = new TextEncoder().encode("MProf_Free(");
export const P_CREATED = new TextEncoder().encode("created by ");
export const P_ELIDED = new TextEncoder().encode(
  "...additional frames elided...",
);
export const P_MALLOCGC = new TextEncoder().encode("runtime.mallocgc");

/** True when `buf[s, e)` starts with `p`. */
export function startsWith(
  buf: Uint8Array,
  s: number,
  e: number,
  p: Uint8Array,
): boolean {
  if (e - s < p.length) return false;
  for (let i = 0; i < p.length; i++) if (buf[s + i] !== p[i]) return false;
  return true;
}

/**
 * True when a record header starts somewhere in `buf[s, e)` (program output
 * may run into one): it ends a record, as in the string parser.
 */
export function hasHeader(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c === 116 /* t */) {
      if (
        startsWith(buf, i, e, P_ALLOC) || startsWith(buf, i, e, P_FREE) ||
        startsWith(buf, i, e, P_GC)
      ) return true;
    } else if (c === 77 /* M */) {
      if (startsWith(buf, i, e, P_MALLOC) || startsWith(buf, i, e, P_MFREE)) {
        return true;
      }
    }
  }
  return false;
}

/** True when the line parser takes `buf[s, e)` as a plain function line `name(args)` (not `created by`, elision or a header). */
export function plainFuncLine(buf: Uint8Array, s: number, e: number): boolean {
  if (e <= s || buf[e - 1] !== 41 /* ) */ || hasHeader(buf, s, e)) {
    return false;
  }
  if (startsWith(buf, s, e, P_CREATED) || startsWith(buf, s, e, P_ELIDED)) {
    return false;
  }
  const open = buf.lastIndexOf(LPAREN, e - 1);
  if (open <= s) return false;
  for (let i = s; i < open; i++) if (buf[i] === SP) return false;
  return true;
}

/**
 * Where the `(` of the function line `name(args)` in `buf[s, e)` stands
 * (the line ends with `)`, the name is not empty and has no space), or -1.
 */
export function funcOpenAt(buf: Uint8Array, s: number, e: number): number {
  if (buf[e - 1] !== 41 /* ) */) return -1;
  const open = buf.lastIndexOf(LPAREN, e - 1);
  if (open <= s) return -1;
  const sp = buf.indexOf(SP, s);
  return sp >= 0 && sp < open ? -1 : open;
}

/**
 * The goroutine id of the line `buf[s, e)` (`goroutine 17 [running]:`):
 * the digits up to the next space, 0 when they are not all digits or the
 * number is past 2^53 (as the string parser's `goroutineId`).
 */
export function goroutineIdAt(buf: Uint8Array, s: number, e: number): number {
  let id = 0;
  for (let i = s + P_GOROUTINE.length; i < e; i++) {
    const c = buf[i];
    if (c === SP) break;
    if (c < 48 || c > 57) return 0;
    id = id * 10 + (c - 48);
  }
  return id <= MAX_EXACT ? id : 0;
}

/** The second hash of the last {@link hashRange} (no object per call). */
export let lastHash2 = 0;

/** Two independent 32-bit hashes of a byte range (FNV-1a, returned, and a multiply-rotate one, left in `lastHash2`). */
export function hashRange(
  buf: Uint8Array,
  s: number,
  e: number,
  h: number,
  h2: number,
): number {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    h = Math.imul(h ^ c, 0x01000193);
    h2 = Math.imul((h2 << 5) | (h2 >>> 27), 0x9e3779b1) ^ c;
  }
  lastHash2 = h2;
  return h;
}

/** The value of each byte as a hex digit, -1 for the others. */
const HEX_VALUE = Int8Array.from({ length: 256 }, (_, c) => hexDigit(c));

/** Where the digits read by the last {@link hexAt} ended. */
export let lastHexEnd = 0;

/**
 * Parses `0x…` hex digits at `s` (up to a non-hex byte); -1 when there are
 * none. The end of the digits is left in `lastHexEnd` (no object per call).
 */
export function hexAt(buf: Uint8Array, s: number, e: number): number {
  lastHexEnd = s;
  if (buf[s] !== 48 || buf[s + 1] !== 120) return -1;
  let v = 0;
  let i = s + 2;
  const start = i;
  for (; i < e; i++) {
    const d = HEX_VALUE[buf[i]];
    if (d < 0) break;
    v = v * 16 + d;
  }
  lastHexEnd = i;
  return i === start ? -1 : v;
}

/** The address, size and type name's start (-1: none) of the last header {@link headerAt} read. */
export let headerAddr = 0;
export let headerSize = 0;
export let headerTypeAt = -1;

/**
 * Reads `buf[s, e)` as a plain `tracealloc(addr, size[, type])` or
 * `tracefree(addr, size)` header: 1 for an allocation, 2 for a free, 0
 * when it is not one (the string parser reads it). The fields are left in
 * `headerAddr`, `headerSize` and `headerTypeAt` (the type name runs to the
 * closing parenthesis).
 */
export function headerAt(buf: Uint8Array, s: number, e: number): number {
  const isAlloc = startsWith(buf, s, e, P_ALLOC);
  if (!isAlloc && !startsWith(buf, s, e, P_FREE)) return 0;
  if (buf[e - 1] !== 41 /* ) */) return 0;
  const addr = hexAt(buf, s + (isAlloc ? P_ALLOC.length : P_FREE.length), e);
  if (addr < 0 || buf[lastHexEnd] !== 44 || buf[lastHexEnd + 1] !== SP) {
    return 0;
  }
  const size = hexAt(buf, lastHexEnd + 2, e);
  if (size < 0) return 0;
  const zEnd = lastHexEnd;
  if (zEnd === e - 1) {
    headerTypeAt = -1;
  } else if (isAlloc && buf[zEnd] === 44 && buf[zEnd + 1] === SP) {
    headerTypeAt = zEnd + 2;
  } else return 0;
  headerAddr = addr;
  headerSize = size;
  return isAlloc ? 1 : 2;
}
