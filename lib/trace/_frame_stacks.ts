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
import { hashRange, hexAt, lastHash2, SP } from "./_bytes.ts";

const dec = new TextDecoder();

/**
 * The frames of the record being read (a function line, then its file
 * line), as ids with a running hash of them, and the frames and stacks met
 * so far.
 */
export class FrameStacks {
  readonly #stacks: StackTable;
  readonly #frames: Frame[] = [];
  /** Each frame's id in the stack table ({@link StackTable.frameId}). */
  readonly #tableIds: number[] = [];
  readonly #frameByKey = new Map<number, number>();
  readonly #stackByHash = new Map<
    number,
    { ids: Int32Array; stack: number }[]
  >();
  #ids: number[] = [];
  #rh1 = 0;
  #rh2 = 0;
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
    this.#ids = [];
    this.#rh1 = 0x811c9dc5;
    this.#rh2 = 0x1234567;
  }

  /** Frames of the record so far. */
  get depth(): number {
    return this.#ids.length;
  }

  /** The record's last frame id. */
  get last(): number {
    return this.#ids[this.#ids.length - 1];
  }

  /** Adds frame `id` to the record. */
  push(id: number): void {
    this.#ids.push(id);
    this.#rh1 = Math.imul(this.#rh1 ^ id, 0x01000193);
    this.#rh2 = Math.imul(this.#rh2 + id + 1, 0x5bd1e995) ^ (this.#rh2 >>> 15);
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
      id = this.#frames.length;
      this.#frames.push(f);
      this.#frameByKey.set(key, id);
      this.#tableIds.push(this.#stacks.frameId(f));
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

  /** The record's frames as a stack id of the table, interned the first time. */
  stack(): number {
    const ids = this.#ids;
    const key = (this.#rh1 ^ Math.imul(this.#rh2, 31) ^ ids.length) | 0;
    let list = this.#stackByHash.get(key);
    if (list !== undefined) {
      for (const cand of list) {
        if (cand.ids.length !== ids.length) continue;
        let same = true;
        for (let i = 0; i < ids.length; i++) {
          if (cand.ids[i] !== ids[i]) {
            same = false;
            break;
          }
        }
        if (same) return cand.stack;
      }
    } else {
      list = [];
      this.#stackByHash.set(key, list);
    }
    // (The table's frame ids, kept per frame: no lookup per frame.)
    const tableIds = this.#tableIds;
    const stack = this.#stacks.internKnown(
      ids.map((i) => this.#frames[i]),
      (i) => tableIds[ids[i]],
    );
    list.push({ ids: new Int32Array(ids), stack });
    return stack;
  }
}
