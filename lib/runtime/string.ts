/**
 * Strings (Go's `string.go`): the allocation of a concatenation.
 *
 * @module
 */

import { AllocKind } from "../stack/allockind.ts";
import type { Malloc } from "./malloc.ts";

/**
 * A string of `len` bytes made by concatenation (`concatstrings` →
 * `rawstring`) on P `p`: untyped, not zeroed.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * if (rt.sizeOf(rt.concatstring(20)) !== 24) throw new Error("concatstring");
 * ```
 */
export function concatstring(malloc: Malloc, len: number, p: number): number {
  return malloc.mallocgc(len, null, false, p, AllocKind.concatstring);
}
