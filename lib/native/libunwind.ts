/**
 * Stacks of stopped threads by libunwind-ptrace (the breakpoint mode's
 * unwinder, and the reference the `.eh_frame` unwinder is tested against).
 *
 * @module
 */

import { type Libc, loadUnwind, PT, type Unwind } from "./ffi.ts";
import type { NativeFrame } from "./event.ts";
import type { ModuleAt } from "./proc_maps.ts";

/** libunwind-ptrace over one process's threads. */
export class RemoteUnwinder {
  readonly #c: Libc;
  readonly #u: Unwind;
  readonly #as: Deno.PointerValue;
  readonly #upts = new Map<number, Deno.PointerValue>();
  readonly #cursor = new Uint8Array(8192);
  readonly #word = new BigUint64Array(1);
  readonly #wordU8 = new Uint8Array(this.#word.buffer);
  readonly #nameBuf = new Uint8Array(512);
  readonly #names = new Map<number, { name: string; off: number }>();
  readonly #moduleOf: (pc: number) => ModuleAt;

  /**
   * An unwinder (one address space, so one process: its cache holds that
   * process's code).
   *
   * @throws {Error} naming the Debian package when libunwind is missing.
   */
  constructor(
    c: Libc,
    moduleOf: (pc: number) => ModuleAt,
  ) {
    this.#c = c;
    this.#u = loadUnwind();
    this.#as = this.#u.u._Ux86_64_create_addr_space(
      Deno.UnsafePointer.create(
        BigInt(Deno.UnsafePointer.value(this.#u.accessors)),
      ),
      0,
    );
    this.#u.u._Ux86_64_set_caching_policy(this.#as, 1);
    this.#moduleOf = moduleOf;
  }

  /** The stack of `tid`, stopped on the int3 at the function entry `entry`. */
  unwind(tid: number, entry: number): NativeFrame[] {
    const u = this.#u.u;
    // rip is past the int3: rewind it to the entry so the unwinder reads the right CFI row.
    this.#c.ptrace(PT.POKEUSER, BigInt(tid), 128n, BigInt(entry));
    let upt = this.#upts.get(tid);
    if (upt === undefined) {
      upt = this.#u.upt._UPT_create(tid);
      this.#upts.set(tid, upt);
    }
    const frames: NativeFrame[] = [];
    const cursor = this.#cursor;
    if (u._Ux86_64_init_remote(cursor, this.#as, upt) < 0) return frames;
    for (let i = 0; i < 32; i++) {
      if (u._Ux86_64_get_reg(cursor, 16, this.#wordU8) < 0) break;
      const pc = Number(this.#word[0]);
      if (pc === 0) break;
      let n = this.#names.get(pc);
      if (n === undefined) {
        const ok = u._Ux86_64_get_proc_name(
          cursor,
          this.#nameBuf,
          BigInt(this.#nameBuf.length),
          this.#wordU8,
        ) === 0;
        const end = this.#nameBuf.indexOf(0);
        n = ok
          ? {
            name: new TextDecoder().decode(
              this.#nameBuf.subarray(0, end < 0 ? 0 : end),
            ),
            off: Number(this.#word[0]),
          }
          : { name: "", off: 0 };
        this.#names.set(pc, n);
      }
      const mod = this.#moduleOf(pc);
      frames.push({
        pc,
        name: n.name,
        off: n.off,
        module: mod.path,
        rel: mod.rel,
        ...(mod.file === undefined ? {} : { file: mod.file }),
      });
      if (u._Ux86_64_step(cursor) <= 0) break;
    }
    return frames;
  }

  /** Frees the per-thread state. */
  close(): void {
    for (const upt of this.#upts.values()) this.#u.upt._UPT_destroy(upt);
    this.#upts.clear();
  }
}
