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

/** Goroutine status strings as Go's traceback prints them. */
export type GStatus =
  | "idle"
  | "runnable"
  | "running"
  | "syscall"
  | "waiting"
  | "dead";

/**
 * A goroutine and its root slots.
 *
 * @example
 * ```ts
 * import { Goroutine } from "./goroutine.ts";
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

  /** Makes goroutine `id` on P `p`. */
  constructor(id: number, p: number) {
    this.id = id;
    this.p = p;
  }

  /** Pushes a root slot holding `v`; returns its index. */
  push(v: number): number {
    if (this.sp === this.roots.length) {
      const bigger = new Float64Array(this.roots.length * 2);
      bigger.set(this.roots);
      this.roots = bigger;
    }
    this.roots[this.sp] = v;
    return this.sp++;
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

  /** Drops the top `n` root slots. */
  pop(n = 1): void {
    this.sp = Math.max(0, this.sp - n);
  }
}
