/**
 * The program's global pointer variables: the root slots of Go's data and
 * bss segments (`moduledata.data`/`bss`, scanned by `markrootBlock`). Each
 * has a name (for error messages) and holds a pointer or 0.
 *
 * @module
 */

import type { PointerWords } from "./mbitmap.ts";
import { hex } from "./print.ts";
import { grown } from "./grow.ts";

/**
 * The global root slots of one runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const keep = rt.global("main.keep");
 * rt.setGlobal(keep, rt.mallocgc(64, null));
 * rt.GC();
 * if (rt.readMemStats().HeapObjects !== 1 || rt.global("main.keep") !== keep) throw new Error("globals");
 * ```
 */
export class Globals {
  /** Values of the slots (the first {@link count} are in use). */
  values: Float64Array = new Float64Array(16);
  /** Names of the slots. */
  readonly names: string[] = [];
  /** Slot of each name: define() is called per start-up record and per workload global. */
  readonly #slotOf = new Map<string, number>();
  readonly #words: PointerWords;

  /** Globals whose stored pointers `words` checks. */
  constructor(words: PointerWords) {
    this.#words = words;
  }

  /** Number of slots. */
  get count(): number {
    return this.names.length;
  }

  /** Defines (or finds) a slot by name; returns its index. */
  define(name: string): number {
    const i = this.#slotOf.get(name);
    if (i !== undefined) return i;
    if (this.names.length === this.values.length) {
      this.values = grown(this.values, this.values.length * 2);
    }
    this.#slotOf.set(name, this.names.length);
    this.names.push(name);
    return this.names.length - 1;
  }

  /**
   * Stores a pointer (or 0) into slot `i`.
   *
   * @throws {RangeError} for a slot never defined, or a pointer at freed heap memory.
   */
  set(i: number, v: number): void {
    if (!(i >= 0 && i < this.names.length)) {
      throw new RangeError(
        `no global slot ${i}: define it with rt.global(name)`,
      );
    }
    if (this.#words.pointsAtFreed(v)) {
      throw new RangeError(
        `global ${this.names[i]}: value ${hex(v)} points at freed heap memory`,
      );
    }
    this.values[i] = v;
  }

  /** The pointer in slot `i`. */
  get(i: number): number {
    return this.values[i];
  }
}
