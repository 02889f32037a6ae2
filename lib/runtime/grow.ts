/**
 * Growing the typed-array columns that the runtime, the analyzers and the
 * native sink keep per object or per frame. Internal: mod.ts does not
 * re-export it.
 *
 * @module
 */

/** A typed array of length `n` (≥ `a.length`) of `a`'s kind, holding `a`'s values first. */
export function grown<T extends Int32Array | Float64Array | Uint8Array>(
  a: T,
  n: number,
): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
