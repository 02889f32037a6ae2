/**
 * Maps (Go's `map.go`): the allocations of a small map — its `hmap`
 * (`makemap_small`) and, at the first insert, its bucket array.
 *
 * @module
 */

import { AllocKind } from "../stack/allockind.ts";
import type { Malloc } from "./malloc.ts";
import type { PointerWords } from "./mbitmap.ts";
import type { GoType, TypeRegistry } from "./types.ts";

/**
 * `make(map[K]V)` with no hint (`runtime.makemap_small`): a `runtime.hmap`
 * on P `p`.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const h = rt.makemapSmall();
 * const b = rt.mapassignBucket(h, rt.types.define("main.bucket", { size: 272, pointers: [1] }));
 * if (rt.sizeOf(h) !== 48 || rt.load(h, 2) !== b) throw new Error("map");
 * ```
 */
export function makemapSmall(
  malloc: Malloc,
  types: TypeRegistry,
  p: number,
): number {
  const hmap = types.define("runtime.hmap", {
    size: 48,
    pointers: [2, 3, 5],
  });
  return malloc.mallocgc(hmap.size, hmap, true, p, AllocKind.makemapSmall);
}

/**
 * The first insert into a small map allocates its bucket array
 * (`mapassign_faststr`: `h.buckets = newobject(t.bucket)`) and stores it
 * into the hmap's `buckets` word.
 */
export function mapassignBucket(
  malloc: Malloc,
  words: PointerWords,
  hmap: number,
  bucket: GoType,
  p: number,
): number {
  const b = malloc.mallocgc(bucket.size, bucket, true, p, AllocKind.mapassign);
  words.store(hmap, 2, b);
  return b;
}
