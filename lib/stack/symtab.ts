/**
 * The symbol table of the simulated program: functions with a file and a
 * synthetic entry PC in a text segment, and a stable PC for each (function,
 * line) a workload executes, mapped back by `lookup` — the analogue of Go's
 * `findfunc` and `funcline`.
 *
 * @module
 */

/** A function of the simulated program. */
export interface FuncInfo {
  /** Dense id, from 0. */
  readonly id: number;
  /** Name as Go prints it (`main.bottomUpTree`, `runtime.mallocgc`). */
  readonly name: string;
  /** Source file as the binary records it (`runtime/malloc.go`, `main.go`). */
  readonly file: string;
  /** Entry PC. */
  readonly entry: number;
  /**
   * What a Go 1.19 traceback prints between the parentheses for this
   * function (its argument words, `?` for possibly stale ones; empty for
   * none), as the real program's traces show it.
   */
  readonly args: string;
}

/** Bytes of text each function gets. */
const FUNC_SPAN = 0x1000;

/**
 * The symbol table.
 *
 * @example
 * ```ts
 * import { SymbolTable } from "../../mod.ts";
 * const t = new SymbolTable(0x401000);
 * const f = t.func("main.main", "main.go");
 * const pc = t.pc(f, 19);
 * const hit = t.lookup(pc)!;
 * if (hit.fn.name !== "main.main" || hit.line !== 19 || t.pc(f, 19) !== pc) throw new Error();
 * ```
 */
export class SymbolTable {
  readonly #funcs: FuncInfo[] = [];
  readonly #byName = new Map<string, number>();
  readonly #pcs = new Map<number, number>(); // fid * 2^20 + line → pc
  readonly #lines = new Map<number, number>(); // pc → line
  readonly #next: number[] = []; // per function: next pc offset
  readonly #span: number[] = []; // per function: bytes of text
  readonly #textStart: number;

  /** Makes a table whose text segment starts at `textStart`. */
  constructor(textStart: number) {
    this.#textStart = textStart;
  }

  /**
   * The id of function `name`, registering it (with `file`, traceback
   * `args` and `textBytes` of text, one span of 4 KiB unless more) the
   * first time. A function longer than a span (Go's `unicode.init`, whose
   * calls sit 0x3b0a bytes in) takes several, so that every offset in it
   * maps back to it.
   */
  func(name: string, file = "?", args = "", textBytes = FUNC_SPAN): number {
    const known = this.#byName.get(name);
    if (known !== undefined) return known;
    const id = this.#funcs.length;
    const fn = {
      id,
      name,
      file,
      entry: this.#textStart + id * FUNC_SPAN,
      args,
    };
    const spans = Math.max(1, Math.ceil(textBytes / FUNC_SPAN));
    for (let i = 0; i < spans; i++) {
      this.#funcs.push(fn);
      this.#next.push(0x15);
    }
    this.#span.push(spans * FUNC_SPAN);
    for (let i = 1; i < spans; i++) this.#span.push(0);
    this.#byName.set(name, id);
    return id;
  }

  /** The function with that id. */
  info(id: number): FuncInfo {
    return this.#funcs[id];
  }

  /** First address after the text of every registered function. */
  get textEnd(): number {
    return this.#textStart + this.#funcs.length * FUNC_SPAN;
  }

  /** Number of 4 KiB text spans the functions take (one per function unless longer). */
  get size(): number {
    return this.#funcs.length;
  }

  /**
   * The return PC of a call made at `line` of function `fid`: stable for
   * the same pair, distinct for distinct lines while the function's text
   * lasts (lines past that share the last PC).
   */
  pc(fid: number, line: number): number {
    const key = fid * 0x100000 + line;
    let pc = this.#pcs.get(key);
    if (pc === undefined) {
      const off = this.#next[fid];
      pc = this.#funcs[fid].entry + Math.min(off, FUNC_SPAN - 1);
      this.#next[fid] = off + 0x1b;
      this.#pcs.set(key, pc);
      this.#lines.set(pc, line);
    }
    return pc;
  }

  /**
   * Registers the PC at `entry + off` of function `fid` as being at `line`
   * (runtime frames, whose offsets are known) and returns it.
   */
  pcAt(fid: number, off: number, line: number): number {
    const pc = this.#funcs[fid].entry + Math.min(off, this.#span[fid] - 1);
    this.#lines.set(pc, line);
    return pc;
  }

  /** The function and line of a PC (`findfunc` + `funcline`), or undefined. */
  lookup(pc: number): { fn: FuncInfo; line: number } | undefined {
    const id = Math.floor((pc - this.#textStart) / FUNC_SPAN);
    const fn = this.#funcs[id];
    if (fn === undefined) return undefined;
    return { fn, line: this.#lines.get(pc) ?? 0 };
  }
}
