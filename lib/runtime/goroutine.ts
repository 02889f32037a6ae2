/**
 * Simulated goroutines: an id, a status, the P they run on, and a stack of
 * root slots (the pointer-holding locals a GC scans). Frames for tracebacks
 * come with the allocfreetrace printer.
 *
 * A workload keeps every pointer it still needs in a root slot, a global or
 * a heap object: a value returned by an allocation must be stored somewhere
 * before the next allocation, as the next one may start a GC cycle.
 *
 * @module
 */

import { grown } from "./grow.ts";

/** Goroutine status strings as Go's traceback prints them. */
export type GStatus =
  | "idle"
  | "runnable"
  | "running"
  | "syscall"
  | "waiting"
  | "dead";

/** What a goroutine is: the user's, or one of the runtime's own. */
export type GKind =
  | "user"
  | "forcegc"
  | "bgsweep"
  | "bgscavenge"
  | "finalizer"
  | "markworker"
  | "markdone";

/**
 * A goroutine and its root slots.
 *
 * @example
 * ```ts
 * import { Goroutine } from "../../mod.ts";
 * const g = new Goroutine(1, 0);
 * const mark = g.sp;
 * g.push(0xc000000000);
 * if (g.get(mark) !== 0xc000000000) throw new Error("root");
 * g.sp = mark; // locals of a returning function are gone
 * ```
 */
export class Goroutine {
  /** Goroutine id (`goid`); 1 is main. */
  readonly id: number;
  /** The P it runs on. */
  p: number;
  /** Status. */
  status: GStatus = "running";
  /** Wait reason shown instead of `waiting` (e.g. `GC sweep wait`). */
  waitReason = "";
  /** Root slots: stack words that hold pointers. */
  roots: Float64Array = new Float64Array(64);
  /** Number of root slots in use. */
  sp = 0;
  /** Function ids of the frames, outermost first. */
  frameFunc: Int32Array = new Int32Array(32);
  /** Current line of each frame. */
  frameLine: Int32Array = new Int32Array(32);
  /** Root-slot depth at each frame's entry (restored when it returns). */
  frameSp: Int32Array = new Int32Array(32);
  /** Number of frames. */
  depth = 0;
  /** Function id and line of the `go` statement that created it (-1: none, as for main). */
  createdByFunc: number = -1;
  /** Line of the `go` statement. */
  createdByLine = 0;
  /** Goroutine id of the creator (0: none). */
  parentId = 0;
  /** The user's goroutine, or one of the runtime's own. */
  kind: GKind = "user";

  /** Makes goroutine `id` on P `p`. */
  constructor(id: number, p: number) {
    this.id = id;
    this.p = p;
  }

  /** Pushes a root slot holding `v`; returns its index. */
  push(v: number): number {
    if (this.sp === this.roots.length) this.#growRoots();
    this.roots[this.sp] = v;
    return this.sp++;
  }

  // Growth is out of line: push and enter stay small enough for V8 to
  // inline them into a workload's hot loop.
  #growRoots(): void {
    const bigger = new Float64Array(this.roots.length * 2);
    bigger.set(this.roots);
    this.roots = bigger;
  }

  /** The value of root slot `i`. */
  get(i: number): number {
    return this.roots[i];
  }

  /** Stores `v` into root slot `i`. */
  set(i: number, v: number): void {
    if (i >= this.sp || i < 0) {
      throw new RangeError(
        `goroutine ${this.id}: root slot ${i} is not in use (${this.sp} in use)`,
      );
    }
    this.roots[i] = v;
  }

  /** Enters function `fid` at `line` (a new innermost frame). */
  enter(fid: number, line: number): void {
    if (this.depth === this.frameFunc.length) this.#growFrames();
    this.frameFunc[this.depth] = fid;
    this.frameLine[this.depth] = line;
    this.frameSp[this.depth] = this.sp;
    this.depth++;
  }

  #growFrames(): void {
    const n = this.frameFunc.length * 2;
    this.frameFunc = grown(this.frameFunc, n);
    this.frameLine = grown(this.frameLine, n);
    this.frameSp = grown(this.frameSp, n);
  }

  /** Returns from the innermost frame; its root slots are dropped. */
  leave(): void {
    if (this.depth === 0) {
      throw new RangeError(`goroutine ${this.id}: leave() without a frame`);
    }
    this.depth--;
    this.sp = this.frameSp[this.depth];
  }

  /** Sets the current line of the innermost frame. */
  setLine(line: number): void {
    if (this.depth > 0) this.frameLine[this.depth - 1] = line;
  }

  /** Drops the top `n` root slots. */
  pop(n = 1): void {
    this.sp = Math.max(0, this.sp - n);
  }

  /** A hash of the live frames (function ids and lines), for caches keyed by the current stack. */
  frameHash(): number {
    const ff = this.frameFunc;
    const fl = this.frameLine;
    let h = Math.imul(this.depth, 0x9e3779b1);
    for (let d = 0; d < this.depth; d++) {
      h = Math.imul(h ^ ff[d], 0x85ebca6b) + fl[d];
      h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
    }
    return h;
  }

  /** A copy of the live frames, to compare with {@link sameFrames} later. */
  snapshotFrames(): FrameSnapshot {
    return {
      funcs: this.frameFunc.slice(0, this.depth),
      lines: this.frameLine.slice(0, this.depth),
    };
  }

  /** Whether the live frames are exactly those of snapshot `s`. */
  sameFrames(s: FrameSnapshot): boolean {
    if (s.funcs.length !== this.depth) return false;
    for (let d = 0; d < this.depth; d++) {
      if (
        s.funcs[d] !== this.frameFunc[d] || s.lines[d] !== this.frameLine[d]
      ) {
        return false;
      }
    }
    return true;
  }
}

/** Function ids and lines of a goroutine's frames at one moment, outermost first. */
export interface FrameSnapshot {
  /** Function ids. */
  readonly funcs: Int32Array;
  /** Lines. */
  readonly lines: Int32Array;
}
