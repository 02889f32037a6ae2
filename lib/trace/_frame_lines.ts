/**
 * Frames known by the block scanner's hashes of their two lines (the
 * function line and the file line, arguments and frame pointers left
 * out): a traceback whose frames are all known needs none of its lines
 * read again (`byte_parser.ts`'s `#byFrames`).
 *
 * @module
 */

import { grown } from "../runtime/grow.ts";
import { type BlockScanner, MAX_LINES } from "./block_scan.ts";
import { CR, LPAREN, plainFuncLine, TAB } from "./_bytes.ts";

/**
 * Frame ids by the scanner's line hashes: a small-integer key (no boxed
 * number per lookup), the key's other words checked in a typed array
 * (5 numbers a frame: 4 hash words, then the frame id).
 */
export class FrameLines {
  readonly #scanner: BlockScanner;
  readonly #byKey = new Map<number, number>();
  #checks = new Int32Array(5 * 256);
  #count = 0;
  /** The other words of the key {@link key} made last. */
  readonly #check = new Int32Array(4);
  /** The frame ids {@link plain} found, by frame (-1: new). */
  readonly ids = new Int32Array(MAX_LINES / 2 + 1);

  /** Frames by the lines of `scanner`'s last scanned traceback. */
  constructor(scanner: BlockScanner) {
    this.#scanner = scanner;
  }

  /**
   * The key of the frame whose function line is traceback line `i` (its
   * file line next): a small integer, its other words kept for
   * {@link known} and {@link remember}.
   */
  key(i: number): number {
    const sc = this.#scanner;
    const a = sc.lineHash(i, 0);
    const b = sc.lineHash(i + 1, 0);
    const c = this.#check;
    c[0] = sc.lineHash(i, 1);
    c[1] = sc.lineHash(i, 2);
    c[2] = sc.lineHash(i + 1, 1);
    c[3] = sc.lineHash(i + 1, 2);
    return (a ^ Math.imul(b, 0x9e3779b1)) & 0x3fffffff;
  }

  /** The frame id of the key {@link key} made last, or -1. */
  known(key: number): number {
    const at = this.#byKey.get(key);
    if (at === undefined) return -1;
    const fc = this.#checks;
    const c = this.#check;
    return fc[at] === c[0] && fc[at + 1] === c[1] && fc[at + 2] === c[2] &&
        fc[at + 3] === c[3]
      ? fc[at + 4]
      : -1;
  }

  /** Remembers frame `id` under the key {@link key} made last (the first frame a key names keeps it). */
  remember(key: number, id: number): void {
    if (this.#byKey.has(key)) return;
    const at = this.#count * 5;
    if (at + 5 > this.#checks.length) {
      this.#checks = grown(this.#checks, this.#checks.length * 2);
    }
    this.#checks.set(this.#check, at);
    this.#checks[at + 4] = id;
    this.#count++;
    this.#byKey.set(key, at);
  }

  /**
   * True when each frame of the scanner's last traceback (`n` lines, the
   * last ending at `end`) is a function line and a file line the line
   * parser takes as such: no CR, a tab before the file only. The ids of
   * frames known by their lines (not the first: mallocgc's size is read
   * from it) are left in {@link ids}, -1 for the others.
   */
  plain(buf: Uint8Array, n: number, end: number): boolean {
    const sc = this.#scanner;
    const known = this.ids;
    for (let i = 1; i < n; i += 2) {
      const fs = sc.lineStart(i);
      const ls = sc.lineStart(i + 1);
      const fe = ls - 1;
      const le = i + 2 < n ? sc.lineStart(i + 2) - 1 : end;
      if (
        buf[fs] === TAB || buf[ls] !== TAB || buf[fe - 1] === CR ||
        buf[le - 1] === CR
      ) return false;
      const id = i > 1 ? this.known(this.key(i)) : -1;
      known[i >> 1] = id;
      // (A known name followed by `()` may end in `tracegc()`: a header.)
      if (id >= 0 && buf[fe - 2] !== LPAREN) continue;
      if (!plainFuncLine(buf, fs, fe)) return false;
    }
    return true;
  }
}
