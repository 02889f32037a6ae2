/**
 * The stack the heap profiler records for an allocation (Go's `callers`
 * from `mProf_Malloc`, traceback.go): the preset's runtime frames above
 * the program's, the goroutine's frames innermost first, then
 * `runtime.main` / `runtime.goexit`. Cached: loops sample the same stack
 * again and again.
 *
 * @module
 */

import { AllocKind } from "../stack/allockind.ts";
import type { ExplicitStack, PresetFrames } from "../stack/runtime_frames.ts";
import type { SymbolTable } from "../stack/symtab.ts";
import type { FrameSnapshot, Goroutine } from "./goroutine.ts";
import { type GoType, HCHAN_SIZE } from "./types.ts";

/**
 * The profiler's view of allocation stacks, for one runtime's frames and
 * symbol table.
 *
 * @example
 * ```ts
 * import { AllocKind, Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const pcs = rt.call("main.f", "main.go", 7, () => rt.callers(null, 64, AllocKind.mallocgc));
 * const top = pcs.map((pc) => rt.symtab.lookup(pc)?.fn.name);
 * if (!top.includes("main.f") || top.at(-1) !== "runtime.goexit") throw new Error(top.join());
 * ```
 */
export class AllocCallers {
  readonly #frames: PresetFrames;
  readonly #symtab: SymbolTable;
  readonly #stackCache = new Map<number, number[]>();
  #lastStk: {
    key: number;
    g: Goroutine;
    frames: FrameSnapshot;
    pcs: number[];
  } | null = null;

  /** Stacks made of the preset's `frames`, as PCs of `symtab`. */
  constructor(frames: PresetFrames, symtab: SymbolTable) {
    this.#frames = frames;
    this.#symtab = symtab;
  }

  /**
   * The return PCs the profiler records for an allocation on `g`, as Go's
   * `callers` inside `mProf_Malloc` sees them (32 at most): Go 1.19 starts
   * at mallocgc's caller, the seed inside mallocgc; then the goroutine's
   * frames, innermost first; then `runtime.main` / `runtime.goexit`. A
   * start-up record's `explicit` stack is taken as it is.
   */
  pcs(
    g: Goroutine,
    typ: GoType | null,
    requested: number,
    kind: AllocKind = AllocKind.mallocgc,
    explicit: ExplicitStack | null = null,
  ): number[] {
    if (kind === AllocKind.startup && explicit !== null) {
      const pcs = explicit.frames.slice(this.#frames.profileSkip)
        .filter((f) => !f.inlined).slice(0, 32).map((f) =>
          this.#symtab.pcAt(this.#symtab.func(f.func, f.file), f.off, f.line)
        );
      if (!explicit.onCurg) return pcs;
      // …then the goroutine's own frames and its bottom.
      for (let d = g.depth - 1; d >= 0 && pcs.length < 32; d--) {
        pcs.push(this.#symtab.pc(g.frameFunc[d], g.frameLine[d]));
      }
      for (const f of this.#frames.mainBottom.slice(g.id === 1 ? 0 : 1)) {
        if (pcs.length < 32) {
          pcs.push(
            this.#symtab.pcAt(this.#symtab.func(f.func, f.file), f.off, f.line),
          );
        }
      }
      return pcs;
    }
    const noscan = typ === null || typ.noscan;
    const chanNoBuf = kind === AllocKind.makechan && requested === HCHAN_SIZE;
    const key = kind * 4 + (noscan ? 1 : 0) + (chanNoBuf ? 2 : 0);
    let top = this.#stackCache.get(key);
    if (top === undefined) {
      const frames = this.#frames.alloc(kind, noscan, chanNoBuf)
        .slice(this.#frames.profileSkip)
        .filter((f) => !f.inlined);
      top = frames.map((f) =>
        this.#symtab.pcAt(this.#symtab.func(f.func, f.file), f.off, f.line)
      );
      this.#stackCache.set(key, top);
    }
    // Loops sample the same stack again and again: reuse the last one.
    const last = this.#lastStk;
    if (
      last !== null && last.key === key && last.g === g &&
      g.sameFrames(last.frames)
    ) {
      return last.pcs;
    }
    const stk = top.slice();
    for (let d = g.depth - 1; d >= 0 && stk.length < 32; d--) {
      stk.push(this.#symtab.pc(g.frameFunc[d], g.frameLine[d]));
    }
    let bottom = this.#stackCache.get(-1 - (g.id === 1 ? 1 : 0));
    if (bottom === undefined) {
      const frames = this.#frames.mainBottom.slice(
        g.id === 1 ? 0 : 1,
      );
      bottom = frames.map((f) =>
        this.#symtab.pcAt(this.#symtab.func(f.func, f.file), f.off, f.line)
      );
      this.#stackCache.set(-1 - (g.id === 1 ? 1 : 0), bottom);
    }
    for (const pc of bottom) if (stk.length < 32) stk.push(pc);
    this.#lastStk = {
      key,
      g,
      frames: g.snapshotFrames(),
      pcs: stk,
    };
    return stk;
  }
}
