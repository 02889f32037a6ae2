/**
 * Channels (Go's `chan.go`): `makechan`'s allocations — one block for the
 * `hchan` and a pointer-free buffer, or a typed `runtime.hchan` and a
 * buffer typed by its element.
 *
 * @module
 */

import { AllocKind } from "../stack/allockind.ts";
import type { Goroutine } from "./goroutine.ts";
import type { Malloc } from "./malloc.ts";
import type { PointerWords } from "./mbitmap.ts";
import { type GoType, HCHAN_SIZE, type TypeRegistry } from "./types.ts";

/**
 * `make(chan T, n)` (`runtime.makechan`) on goroutine `g`, P `p`: one
 * untyped block for the `hchan` and a pointer-free buffer, or a typed
 * `runtime.hchan` plus a buffer typed by its element (which the hchan's
 * `buf` word points at). With `chanType` (the Dec 2013 seed) the block is
 * labelled with the channel type.
 *
 * @throws {RangeError} for a negative or non-integer size.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const c = rt.makechan(rt.types.get("*uint8"), 4);
 * if (rt.sizeOf(c) !== 96 || rt.sizeOf(rt.load(c, 2)) !== 32) throw new Error("makechan");
 * ```
 */
export function makechan(
  malloc: Malloc,
  words: PointerWords,
  types: TypeRegistry,
  g: Goroutine,
  chanType: boolean,
  elem: GoType,
  n: number,
  p: number,
): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(
      `makechan: size must be a non-negative integer, got ${n}`,
    );
  }
  const mem = elem.size * n;
  // The Dec 2013 seed allocates hchan and buffer in one block typed by the
  // channel type, pointers or not (chan.c: mallocgc(sizeof(*c) +
  // hint*elem->size, (uintptr)t | TypeInfo_Chan, 0)).
  if (mem === 0 || elem.noscan || chanType) {
    return malloc.mallocgc(
      HCHAN_SIZE + mem,
      chanType ? _seedChanType(types, elem) : null,
      true,
      p,
      AllocKind.makechan,
    );
  }
  const hchan = types.define("runtime.hchan", {
    size: HCHAN_SIZE,
    pointers: [2, 4, 7, 8, 9, 10],
  });
  const c = malloc.mallocgc(
    HCHAN_SIZE,
    hchan,
    true,
    p,
    AllocKind.makechanHchan,
  );
  const slot = g.push(c);
  const buf = malloc.mallocgc(mem, elem, true, p, AllocKind.makechan);
  words.store(c, 2, buf);
  g.sp = slot;
  return c;
}

/**
 * The Dec 2013 seed's makechan passes the channel type (`| TypeInfo_Chan`)
 * to mallocgc, so the profile prints `<channel of chan int>`: a label with
 * no pointer words (the block holds none), or null when the program
 * defined that channel type with another layout.
 */
function _seedChanType(types: TypeRegistry, elem: GoType): GoType | null {
  try {
    return types.define(`chan ${elem.name}`, { size: 8, kind: "chan" });
  } catch {
    return null;
  }
}
