/**
 * The native stacks of `alloctrace native`, as its event batches bring them:
 * each new frame symbolized once (file:line, inlined functions, C++ names),
 * each stack interned, and the tracer's stack ids mapped to the interned ones.
 *
 * @module
 */

import type { NativeFrame } from "../native/event.ts";
import { type Resolved, symbolize } from "../native/symbolize.ts";
import { StackTable } from "../trace/events.ts";
import { grown } from "../runtime/grow.ts";

/** The C and C++ runtime libraries: their frames are shown by module, not source file. */
const ALLOCATOR_LIBS =
  /\/(libc\.so|libc-[\d.]+\.so|ld-linux[^/]*\.so|libstdc\+\+\.so|libgcc_s\.so)/;

/** The stacks of a run: symbolized frames, interned stacks. */
export class NativeStacks {
  /** Interned symbolized stacks. */
  readonly table: StackTable = new StackTable();
  /**
   * Tracer stack id (dense, from 0) → interned stack: an array, not a map
   * (with stacks, one lookup per allocation). Replaced when it grows.
   */
  stackOf: Int32Array = new Int32Array(1024);
  readonly #resolved = new Map<string, Resolved>();

  /**
   * Symbolizes the frames not seen before (one addr2line per module), then
   * interns each stack under its tracer id.
   */
  async intern(stacks: [number, NativeFrame[]][]): Promise<void> {
    const fresh: NativeFrame[] = [];
    for (const [, frames] of stacks) {
      for (const f of frames) {
        if (!this.#resolved.has(`${f.module}@${f.rel}`)) fresh.push(f);
      }
    }
    if (fresh.length > 0) {
      // The allocator's libraries are shown by module: names only.
      const names = (m: string) => ALLOCATOR_LIBS.test(m);
      for (const [k, v] of await symbolize(fresh, names)) {
        this.#resolved.set(k, v);
      }
    }
    for (const [id, frames] of stacks) {
      if (id >= this.stackOf.length) {
        this.stackOf = grown(this.stackOf, Math.max(2 * id, 1024));
      }
      this.stackOf[id] = this.table.intern(frames.flatMap((f) => {
        const r = this.#resolved.get(`${f.module}@${f.rel}`);
        const lib = ALLOCATOR_LIBS.test(f.module);
        // The functions inlined at the PC come first, innermost first
        // (as addr2line -i and heaptrack show them).
        const inlined = lib ? [] : (r?.inlined ?? []).map((i) => ({
          func: i.func,
          file: i.file,
          line: i.line,
          pc: f.pc,
          inlined: true,
        }));
        return [...inlined, {
          func: r?.func ?? f.name,
          file: lib ? f.module : r?.file ?? f.module,
          // Shown by the library's path, not the source file: the
          // source's line number would point nowhere in it.
          line: lib ? 0 : r?.line ?? 0,
          pc: f.pc,
          inlined: false,
        }];
      }));
    }
  }
}
