/**
 * The scheduler's state (Go's `proc.go`: `allgs`, the running goroutine,
 * GOMAXPROCS Ps): making goroutines, switching between them, and the call
 * frames a workload enters and leaves on the running one. Scheduling is
 * sequential and cooperative: a goroutine runs until the workload switches.
 *
 * @module
 */

import { Goroutine } from "./goroutine.ts";
import type { SystemGoroutine } from "./presets.ts";
import type { SymbolTable } from "../stack/symtab.ts";
import type { ExplicitStack } from "../stack/runtime_frames.ts";

/**
 * The goroutines of one runtime and the one running.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime({ gomaxprocs: 2 });
 * const main = rt.curg;
 * const g = rt.newg("main.worker", "main.go", 10);
 * rt.switchTo(g);
 * if (rt.curg !== g || g.p !== g.id % 2 || main.status !== "runnable") throw new Error("switch");
 * rt.exitg(g, main);
 * if (rt.curg !== main || g.status !== "dead") throw new Error("exit");
 * ```
 */
export class Sched {
  /** GOMAXPROCS: the number of Ps. */
  readonly gomaxprocs: number;
  /** Every goroutine; `allgs[0]` is main (goid 1). */
  readonly allgs: Goroutine[] = [];
  /** The running goroutine. */
  curg: Goroutine;
  /** The background sweeper's goroutine, when the preset has one. */
  readonly bgsweepg: Goroutine | null = null;
  /**
   * The whole stack of the allocation in progress when it is given rather
   * than made of frames (a start-up record replayed by `goStartup`), else
   * null.
   */
  explicitStack: ExplicitStack | null = null;
  readonly #symtab: SymbolTable;

  /**
   * Main (goid 1, running on P 0), then the runtime's own goroutines
   * (`system`), parked.
   */
  constructor(
    gomaxprocs: number,
    symtab: SymbolTable,
    system: readonly SystemGoroutine[],
  ) {
    this.gomaxprocs = gomaxprocs;
    this.#symtab = symtab;
    this.curg = this.newGoroutine(0);
    for (const { kind, waitReason } of system) {
      const g = this.newGoroutine(0);
      g.kind = kind;
      g.status = "waiting";
      g.waitReason = waitReason;
      if (kind === "bgsweep") this.bgsweepg = g;
    }
  }

  /** Makes a goroutine running on P `p` (its id is the next goid). */
  newGoroutine(p = 0): Goroutine {
    const g = new Goroutine(this.allgs.length + 1, p);
    this.allgs.push(g);
    return g;
  }

  /**
   * A goroutine made by a `go` statement at the current frame: P `id mod
   * GOMAXPROCS`, and `created by` the current function.
   */
  #goFromHere(): Goroutine {
    const parent = this.curg;
    const g = this.newGoroutine(0);
    g.p = g.id % this.gomaxprocs;
    g.parentId = parent.id;
    if (parent.depth > 0) {
      g.createdByFunc = parent.frameFunc[parent.depth - 1];
      g.createdByLine = parent.frameLine[parent.depth - 1];
    }
    return g;
  }

  /** Runs `body` as a call of Go function `fn` (see `Runtime.call`). */
  call<T>(fn: string | number, file: string, line: number, body: () => T): T {
    const fid = typeof fn === "number" ? fn : this.#symtab.func(fn, file);
    const g = this.curg;
    g.enter(fid, line);
    try {
      return body();
    } finally {
      g.leave();
    }
  }

  /** Runs `body` as a new goroutine started at the current frame (see `Runtime.go`). */
  go(fn: string, file: string, line: number, body: () => void): void {
    const parent = this.curg;
    const g = this.#goFromHere();
    this.curg = g;
    try {
      this.call(fn, file, line, body);
    } finally {
      g.status = "dead";
      g.sp = 0;
      this.curg = parent;
    }
  }

  /** Makes a runnable goroutine whose first frame is `fn` at `line` (see `Runtime.newg`). */
  newg(fn: string, file: string, line: number): Goroutine {
    const g = this.#goFromHere();
    g.enter(this.#symtab.func(fn, file), line);
    g.status = "runnable";
    return g;
  }

  /**
   * Makes `g` the running goroutine (the previous one becomes runnable);
   * returns the previous.
   *
   * @throws {RangeError} when `g` has exited.
   */
  switchTo(g: Goroutine): Goroutine {
    if (g.status === "dead") {
      throw new RangeError(`goroutine ${g.id} has exited`);
    }
    const prev = this.curg;
    if (prev.status === "running") prev.status = "runnable";
    g.status = "running";
    this.curg = g;
    return prev;
  }

  /** Ends goroutine `g` (its roots are dropped); switches back to `to` if `g` was running. */
  exitg(g: Goroutine, to: Goroutine): void {
    g.status = "dead";
    g.sp = 0;
    g.depth = 0;
    if (this.curg === g) this.switchTo(to);
  }

  /** The function name of the running goroutine's innermost frame, or "" (the allocation site). */
  site(): string {
    const explicit = this.explicitStack;
    if (explicit !== null) {
      const own = explicit.frames.find((f) => !f.func.startsWith("runtime."));
      if (own !== undefined || !explicit.onCurg) return own?.func ?? "";
    }
    const g = this.curg;
    return g.depth === 0
      ? ""
      : this.#symtab.info(g.frameFunc[g.depth - 1]).name;
  }
}
