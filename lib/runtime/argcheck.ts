/**
 * Errors for bad arguments at the library's entry points, where the hot
 * path would otherwise fail with a bare TypeError of its own (reading a
 * property of undefined). Internal: mod.ts does not re-export it.
 *
 * @module
 */

/**
 * Throws the TypeError of an allocation given no type (a library caller's
 * `rt.newobject()`). The entry points call it as `typ ?? noType(…)`, so a
 * call with a type pays one comparison.
 */
export function noType(fn: string, typ: null | undefined): never {
  throw new TypeError(
    `${fn}: no type (typ is ${typ}): give one from rt.types.define or rt.types.get`,
  );
}
