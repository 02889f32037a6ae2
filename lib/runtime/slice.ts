/**
 * Slices (Go's `slice.go`): `makeslice` and `growslice`, Go 1.19's growth
 * rule, reaching mallocgc with their allocation kinds.
 *
 * @module
 */

import { AllocKind } from "../stack/allockind.ts";
import type { Malloc } from "./malloc.ts";
import type { PointerWords } from "./mbitmap.ts";
import type { GoType } from "./types.ts";

/**
 * Allocates the backing array of `make([]elem, n)` (`runtime.makeslice`) on
 * P `p`; the allocation's type is the element type, as in Go.
 *
 * @throws {RangeError} for a negative or non-integer length.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const p = rt.makeslice(rt.types.get("uint8"), 40000);
 * if (rt.sizeOf(p) !== 0xa000) throw new Error("large object rounding");
 * ```
 */
export function makeslice(
  malloc: Malloc,
  elem: GoType,
  n: number,
  p: number,
): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(
      `makeslice: len must be a non-negative integer, got ${n}`,
    );
  }
  return malloc.mallocgc(elem.size * n, elem, true, p, AllocKind.makeslice);
}

/**
 * `append` past capacity (`runtime.growslice`, Go 1.19's growth rule):
 * allocates the new backing array for at least `newLen` elements and
 * copies the pointer words of the old one (`old`, with `oldLen` elements).
 * A pointer-free element type allocates untyped, as Go does. Returns the
 * new array and its capacity.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const ptr = rt.types.get("*uint8");
 * let s = { addr: 0, cap: 0 };
 * const caps = [];
 * for (let len = 0; len < 300; len++) {
 *   if (len === s.cap) { s = rt.growslice(ptr, s.addr, len, s.cap, len + 1); caps.push(s.cap); }
 * }
 * if (caps.join() !== "1,2,4,8,16,32,64,128,256,512") throw new Error(caps.join());
 * ```
 */
export function growslice(
  malloc: Malloc,
  words: PointerWords,
  elem: GoType,
  old: number,
  oldLen: number,
  oldCap: number,
  newLen: number,
  p: number,
): { addr: number; cap: number } {
  const newcap = nextslicecap(newLen, oldCap);
  const capmem = elem.size === 0
    ? 0
    : malloc.roundupsize(newcap * elem.size, elem.noscan);
  const cap = elem.size === 0 ? newcap : Math.floor(capmem / elem.size);
  const addr = malloc.mallocgc(
    capmem,
    elem.noscan ? null : elem,
    !elem.noscan,
    p,
    AllocKind.growslice,
  );
  if (!elem.noscan && old !== 0 && oldLen > 0) {
    const ew = elem.size / 8;
    for (let e = 0; e < oldLen; e++) {
      for (const w of elem.ptrWords) {
        const v = words.load(old, e * ew + w);
        if (v !== 0) words.store(addr, e * ew + w, v);
      }
    }
  }
  return { addr, cap };
}

/**
 * growslice's new capacity for `newLen` elements past `oldCap` (Go's
 * `nextslicecap`): double below 256, then grow by a quarter plus 192.
 *
 * @example
 * ```ts
 * import { nextslicecap } from "./slice.ts";
 * if (nextslicecap(5, 4) !== 8 || nextslicecap(20, 4) !== 20) throw new Error();
 * if (nextslicecap(257, 256) !== 512) throw new Error();
 * ```
 */
export function nextslicecap(newLen: number, oldCap: number): number {
  let newcap = oldCap;
  const doublecap = newcap + newcap;
  if (newLen > doublecap) return newLen;
  if (oldCap < 256) return doublecap;
  while (newcap > 0 && newcap < newLen) {
    newcap += Math.floor((newcap + 768) / 4);
  }
  return newcap <= 0 ? newLen : newcap;
}
