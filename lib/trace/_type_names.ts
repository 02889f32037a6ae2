/**
 * Type names of the fast trace reader's record headers: each distinct name
 * decoded once, and numbered for the block scanner's record table, which
 * hands back a type by its number.
 *
 * @module
 */

import { hashRange } from "./_bytes.ts";

const dec = new TextDecoder();

/** Type names by their bytes' hash, and by number. */
export class TypeNames {
  readonly #byHash = new Map<number, { bytes: Uint8Array; name: string }>();
  /** Type names by number (see {@link idOf}). */
  readonly list: string[] = [];
  readonly #ids = new Map<string, number>();

  /** The type name in `buf[s, e)`, decoded once per distinct name. */
  name(buf: Uint8Array, s: number, e: number): string {
    const h = hashRange(buf, s, e, 0x811c9dc5, 0x27d4eb2f);
    const hit = this.#byHash.get(h);
    if (hit !== undefined && hit.bytes.length === e - s) {
      let same = true;
      for (let i = 0; i < hit.bytes.length; i++) {
        if (hit.bytes[i] !== buf[s + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.name;
    }
    const name = dec.decode(buf.subarray(s, e));
    if (this.#byHash.size < 100_000) {
      this.#byHash.set(h, { bytes: buf.slice(s, e), name });
    }
    return name;
  }

  /** The number of `type` in {@link list} (numbered the first time); -1 for none. */
  idOf(type: string | null): number {
    if (type === null) return -1;
    let t = this.#ids.get(type) ?? -1;
    if (t < 0) {
      t = this.list.length;
      this.list.push(type);
      this.#ids.set(type, t);
    }
    return t;
  }
}
