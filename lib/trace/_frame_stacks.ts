/**
 * Frames and stacks of the fast trace reader, by hashes of their bytes: a
 * frame is decoded to strings the first time its function name, file:line
 * and pc= are seen (its arguments and `fp=`/`sp=` values are left out), a
 * stack interned the first time its sequence of frame ids is
 * (`byte_parser.ts`).
 *
 * @module
 */

import { type Frame, lineNumber, type StackTable } from "./events.ts";
import { grown } from "../runtime/grow.ts";
import { hashRange, hexAt, lastHash2, SP } from "./_bytes.ts";

const dec = new TextDecoder();

/**
 * The frames of the record being read (a function line, then its file
 * line), as the stack table's frame ids, and the frames met so far by the
 * hash of their bytes.
 */
export class FrameStacks {
  readonly #stacks: StackTable;
  /** Frame ids ({@link StackTable.frameId}) by the hash of their bytes. */
  readonly #frameByKey = new Map<number, number>();
  /** The record's frame ids so far (the first {@link depth}). */
  #ids = new Int32Array(64);
  #n = 0;
  // The function line waiting for its file line.
  #funcHash = 0;
  #funcHash2 = 0;
  #funcStart = 0;
  #funcEnd = 0;
  #funcInlined = false;
  #funcBuf: Uint8Array | null = null;

  /** Frames and stacks interned in `stacks`. */
  constructor(stacks: StackTable) {
    this.#stacks = stacks;
  }

  /** Starts a record: no frame yet. */
  begin(): void {
    this.#n = 0;
  }

  /** Frames of the record so far. */
  get depth(): number {
    return this.#n;
  }

  /** The record's last frame id. */
  get last(): number {
    return this.#ids[this.#n - 1];
  }

  /** Adds frame `id` (a {@link StackTable.frameId}) to the record. */
  push(id: number): void {
    if (this.#n === this.#ids.length) {
      this.#ids = grown(this.#ids, 2 * this.#n);
    }
    this.#ids[this.#n++] = id;
  }

  /**
   * Takes the function line `buf[s, e)`, its arguments opening at `open`:
   * the frame is known when its file line comes ({@link fileLine}).
   */
  funcLine(buf: Uint8Array, s: number, open: number, e: number): void {
    this.#funcStart = s;
    this.#funcEnd = open;
    this.#funcHash = hashRange(buf, s, open, 0x811c9dc5, 0x27d4eb2f);
    this.#funcHash2 = lastHash2;
    this.#funcInlined = e - open === 5 && buf[open + 1] === 46 &&
      buf[open + 2] === 46 && buf[open + 3] === 46;
    this.#funcBuf = buf;
  }

  /**
   * The file line `buf[s, e)` of the function line taken last: its frame
   * (by the hash of the function's name, file:line and pc=, decoded the
   * first time) is added to the record.
   */
  fileLine(buf: Uint8Array, s: number, e: number): void {
    let sp = buf.indexOf(SP, s + 1);
    if (sp < 0 || sp > e) sp = e;
    let h = hashRange(
      buf,
      s + 1,
      sp,
      this.#funcHash ^ (this.#funcInlined ? 0x5bd1e995 : 0),
      this.#funcHash2,
    );
    let h2 = lastHash2;
    // The pc= value (the last field) is part of a frame, as the string parser keeps it.
    let pc = 0;
    if (sp < e) {
      const eq = buf.lastIndexOf(61, /* = */ e - 1);
      if (
        eq > sp && buf[eq - 1] === 99 && buf[eq - 2] === 112 &&
        buf[eq - 3] === SP
      ) {
        const x = hexAt(buf, eq + 1, e);
        if (x >= 0) pc = x;
        h = Math.imul(h ^ (pc >>> 0), 0x01000193);
        h2 = Math.imul(h2 ^ Math.floor(pc / 4294967296), 0x9e3779b1);
      }
    }
    const key = (h >>> 0) * 2097152 + (h2 & 0x1fffff);
    let id = this.#frameByKey.get(key);
    if (id === undefined) {
      const fb = this.#funcBuf!;
      const loc = dec.decode(buf.subarray(s + 1, sp));
      const colon = loc.lastIndexOf(":");
      const f: Frame = {
        func: dec.decode(fb.subarray(this.#funcStart, this.#funcEnd)),
        file: colon < 0 ? loc : loc.slice(0, colon),
        line: colon < 0 ? 0 : lineNumber(loc.slice(colon + 1)),
        pc,
        inlined: this.#funcInlined,
      };
      id = this.#stacks.frameId(f);
      this.#frameByKey.set(key, id);
    }
    this.push(id);
  }

  /**
   * Before `buf` is overwritten (the next chunk): a function line in it
   * still waiting for its file line is copied out.
   */
  keep(buf: Uint8Array): void {
    if (this.#funcBuf !== buf) return;
    this.#funcBuf = buf.slice(this.#funcStart, this.#funcEnd);
    this.#funcEnd -= this.#funcStart;
    this.#funcStart = 0;
  }

  /** No function line waits any more (the record ended, or its frames came from a cache). */
  release(): void {
    this.#funcBuf = null;
  }

  /**
   * The record's frames as a stack id of the table, interned the first
   * time (by the table's own hash of the frame ids: no second index here).
   */
  stack(): number {
    return this.#stacks.internFrameIds(this.#ids, this.#n);
  }
}
