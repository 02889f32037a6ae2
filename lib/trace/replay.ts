/**
 * Replay: feeds the allocations of a parsed trace into a simulated runtime
 * — each object allocated with its recorded size, type and stack, kept
 * reachable until its recorded free — so that the runtime's profiler,
 * pacer and printers show what Go would have shown under other settings
 * ("what would MemProfileRate=4096 have shown for this program?").
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import type { GoType } from "../runtime/types.ts";
import type { Goroutine } from "../runtime/goroutine.ts";
import { AllocKind } from "../stack/allockind.ts";
import {
  isRuntimeFrame,
  slotAddr,
  type StackTable,
  type TraceEvent,
} from "./events.ts";
import { siteIndex } from "./sites.ts";

const KIND_OF_FRAME: Record<string, AllocKind> = {
  "runtime.newobject": AllocKind.newobject,
  "runtime.makeslice": AllocKind.makeslice,
  "runtime.growslice": AllocKind.growslice,
  "runtime.makechan": AllocKind.makechan,
  "runtime.rawstring": AllocKind.concatstring,
  "runtime.makemap_small": AllocKind.makemapSmall,
  "runtime.mapassign_faststr": AllocKind.mapassign,
  "runtime.new": AllocKind.newobject,
  "runtime.cnewarray": AllocKind.makeslice,
};

/**
 * Replays trace events into `rt`.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { StackTable } from "../../mod.ts";
 * import { Replayer } from "../../mod.ts";
 * const st = new StackTable();
 * const s = st.intern([{ func: "runtime.newobject", file: "", line: 0, pc: 0, inlined: false },
 *   { func: "main.f", file: "main.go", line: 7, pc: 0, inlined: false }]);
 * const rt = new Runtime({ memProfileRate: 1 });
 * const r = new Replayer(rt, st);
 * r.add({ kind: "alloc", addr: 0xc000010000, size: 64, type: "main.T", requested: 56, goroutine: 1, stack: s, lineNo: 1 });
 * r.finish();
 * if (rt.MemProfile(true)[0].AllocBytes !== 64 || rt.readMemStats().HeapObjects !== 1) throw new Error();
 * ```
 */
export class Replayer {
  readonly #rt: Runtime;
  readonly #stacks: StackTable;
  readonly #slots = new Map<number, number>();
  readonly #freeSlots: number[] = [];
  readonly #frames = new Map<
    number,
    { fids: number[]; lines: number[]; kind: AllocKind; onMain: boolean }
  >();
  #otherG: Goroutine | null = null;
  readonly #types = new Map<string, GoType>();
  /** Allocations replayed. */
  allocs = 0;
  /** Frees replayed (objects made unreachable). */
  frees = 0;
  /** Frees of objects not allocated in the trace. */
  unmatched = 0;
  /** Allocations at an address still live (its free was not traced). */
  allocsAtLive = 0;

  /** Makes a replayer into `rt` for events whose stacks are in `stacks`. */
  constructor(rt: Runtime, stacks: StackTable) {
    this.#rt = rt;
    this.#stacks = stacks;
  }

  #type(name: string | null): GoType | null {
    if (name === null) return null;
    let t = this.#types.get(name);
    if (t === undefined) {
      try {
        t = this.#rt.types.get(name);
      } catch {
        t = this.#rt.types.define(name, { size: 8 });
      }
      this.#types.set(name, t);
    }
    return t;
  }

  #framesOf(stack: number) {
    let f = this.#frames.get(stack);
    if (f === undefined) {
      const all = this.#stacks.get(stack);
      let i = 0;
      let kind: AllocKind = AllocKind.mallocgc;
      while (i < all.length && isRuntimeFrame(all[i])) {
        kind = KIND_OF_FRAME[all[i].func] ?? kind;
        i++;
      }
      // A stack of runtime frames only (start-up, the runtime's own
      // goroutines) keeps them from its first meaningful function on, as
      // the analysis names it: runtime.procresize ← schedinit ← rt0_go.
      if (i === all.length) i = Math.max(0, siteIndex(all));
      const user = all.slice(i).filter((x) =>
        x.func !== "runtime.main" && x.func !== "runtime.goexit"
      ).reverse();
      // The simulated main goroutine adds runtime.main below its frames: a
      // stack that did not run on it (g0 at start-up under rt0_go, another
      // goroutine, a C program's) is replayed on one that does not.
      const last = all.findLast((x) => x.func !== "runtime.goexit");
      f = {
        fids: user.map((x) => this.#rt.symtab.funcIn(x.func, x.file)),
        lines: user.map((x) => x.line),
        kind,
        onMain: last === undefined || last.func === "runtime.main",
      };
      this.#frames.set(stack, f);
    }
    return f;
  }

  /**
   * The goroutine that replays allocations whose stack is not the main
   * goroutine's: no runtime.main below its frames (its runtime.goexit is
   * left out of profiles), on the main goroutine's P, so the same mcache
   * serves it.
   */
  #other(): Goroutine {
    if (this.#otherG === null) {
      const main = this.#rt.curg;
      const g = this.#rt.newg("runtime.goexit", "", 0);
      g.leave();
      g.p = main.p;
      this.#otherG = g;
    }
    return this.#otherG;
  }

  /** Replays one event. */
  add(e: TraceEvent): void {
    const rt = this.#rt;
    const g = rt.curg;
    if (e.kind === "alloc") {
      const f = this.#framesOf(e.stack);
      const on = f.onMain ? g : this.#other();
      if (on !== g) rt.switchTo(on);
      const depth = on.depth;
      for (let k = 0; k < f.fids.length; k++) on.enter(f.fids[k], f.lines[k]);
      // A tiny block is traced as one 16-byte object: replay it as that.
      const tinyBlock = e.size === 16 && e.requested > 0 && e.requested < 16;
      const size = tinyBlock
        ? 16
        : e.requested > 0 && rt.roundupsize(e.requested) === e.size
        ? e.requested
        : e.size;
      let typ = tinyBlock ? null : this.#type(e.type);
      // A traced object under 16 bytes was not combined by the tiny allocator:
      // it holds pointers, so it must not become tiny in the replay either.
      if (size < 16 && (typ === null || typ.noscan)) {
        typ = rt.types.get("unsafe.Pointer");
      }
      let x: number;
      try {
        x = rt.mallocgc(size, typ, true, 0, f.kind);
      } catch (err) {
        // Say which record: a size the runtime refuses is a damaged trace.
        if (err instanceof RangeError && e.lineNo > 0) {
          throw new RangeError(`line ${e.lineNo}: ${err.message}`, {
            cause: err,
          });
        }
        throw err;
      } finally {
        while (on.depth > depth) on.leave();
        if (on !== g) rt.switchTo(g);
      }
      // Keyed by heap slot, where tracefree points (Go 1.22 headers: 8 before).
      const at = slotAddr(e.addr, e.size);
      const old = this.#slots.get(at);
      if (old !== undefined) this.allocsAtLive++;
      let slot = old ?? this.#freeSlots.pop();
      if (slot === undefined) slot = g.push(0);
      g.roots[slot] = x;
      this.#slots.set(at, slot);
      this.allocs++;
    } else if (e.kind === "free") {
      const slot = this.#slots.get(e.addr);
      if (slot === undefined) {
        this.unmatched++;
        return;
      }
      g.roots[slot] = 0;
      this.#slots.delete(e.addr);
      this.#freeSlots.push(slot);
      this.frees++;
    }
  }

  /** Ends the replay with `runtime.GC()`, so the profile is as of the end. */
  finish(): void {
    this.#rt.GC();
  }
}
