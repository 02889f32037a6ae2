/**
 * Unwinding the stack copies the injected stubs make (inject.ts): a copy
 * holds the callee-saved registers and the top of the stack at a hooked
 * function's entry; its frames come from `.eh_frame` (eh_unwind.ts), named
 * like libunwind names them. hook_ring.ts hands each copy it reads here.
 *
 * @module
 */

import { ElfUnwindInfo, unwindCopy, type UnwindModule } from "./eh_unwind.ts";
import type { ModuleAt } from "./proc_maps.ts";
import type { NativeFrame } from "./event.ts";

/** The unwinder of one process's stack copies. */
export class CopyUnwinder {
  readonly #moduleOf: (pc: number) => ModuleAt;
  readonly #isCode: (pc: number) => boolean;
  readonly #frameCache = new Map<number, NativeFrame>();
  readonly #ehInfos = new Map<string, ElfUnwindInfo | null>();

  /**
   * `moduleOf`: the mapped file holding a pc; `isCode`: whether a pc is in
   * the code ranges the stubs were given (an unwinding stops at a return
   * address outside them).
   */
  constructor(
    moduleOf: (pc: number) => ModuleAt,
    isCode: (pc: number) => boolean,
  ) {
    this.#moduleOf = moduleOf;
    this.#isCode = isCode;
  }

  /**
   * The frames of a copy made at the entry `entry` with the stack pointer
   * `rsp`: `snap` holds rbp, rbx, r12–r15, a word, the byte count, then
   * the stack from rsp up; `reach.bytes` is set to how deep the unwinding
   * looked.
   */
  frames(
    snap: Uint8Array,
    entry: number,
    rsp: number,
    reach: { bytes: number },
  ): NativeFrame[] {
    const view = new DataView(snap.buffer, snap.byteOffset, snap.length);
    const word = (o: number) => Number(view.getBigUint64(o, true));
    const n = Number(view.getBigInt64(56, true));
    if (n <= 0) return [];
    const regs = new Map<number, number>([
      [7, rsp],
      [6, word(0)],
      [3, word(8)],
      [12, word(16)],
      [13, word(24)],
      [14, word(32)],
      [15, word(40)],
    ]);
    // (The stub put the real return address back over the trampoline's.)
    const pcs = unwindCopy(
      entry,
      regs,
      snap.subarray(64, 64 + n),
      (pc) => this.#ehModuleOf(pc),
      this.#isCode,
      64,
      reach,
    );
    return pcs.map((pc, j) => this.#frameOf(pc, j > 0));
  }

  #ehModuleOf(pc: number): UnwindModule | null {
    const mod = this.#moduleOf(pc);
    if (mod.path === "?" || mod.path.startsWith("[")) return null;
    let info = this.#ehInfos.get(mod.path);
    if (info === undefined) {
      info = ElfUnwindInfo.load(mod.file ?? mod.path);
      this.#ehInfos.set(mod.path, info);
    }
    return info === null ? null : { info, bias: pc - mod.rel };
  }

  #frameOf(pc: number, isReturn: boolean): NativeFrame {
    const key = isReturn ? pc : -pc;
    let f = this.#frameCache.get(key);
    if (f === undefined) {
      const mod = this.#moduleOf(pc);
      const m = this.#ehModuleOf(pc);
      // Names like libunwind's: the symbol at or before the address (the
      // call's, for a return address).
      const sym = m?.info.symbol(pc - m.bias - (isReturn ? 1 : 0));
      f = {
        pc,
        name: sym?.name ?? "",
        off: sym?.off ?? 0,
        module: mod.path,
        rel: mod.rel,
      };
      if (mod.file !== undefined) f.file = mod.file;
      this.#frameCache.set(key, f);
    }
    return f;
  }
}
