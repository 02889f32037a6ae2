/**
 * Trace events from a simulated runtime, for the analyzer behind reports of
 * `run`: each allocation's stack is the goroutine's own frames (interned
 * once per distinct stack), frees and GC cycles follow.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import type { FrameSnapshot, Goroutine } from "../runtime/goroutine.ts";
import type { Frame, StackTable, TraceEvent } from "./events.ts";
import type { ExplicitStack, RuntimeFrame } from "../stack/runtime_frames.ts";
import { AllocKind } from "../stack/allockind.ts";
import { captureJsFramesOnce } from "../stack/js_stack.ts";

/**
 * Forwards the runtime's allocations, frees and GC cycles to `emit` as
 * trace events (subscribed after the consumers already there); returns
 * the function that unsubscribes. With `opts.stacks` `"js"`, an
 * allocation's stack is the JS stack of its caller (`captureJsFrames`), the
 * frames `run --stacks js` writes into the trace, so that the summary and
 * `analyze` of that trace name the same sites.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { StackTable } from "../../mod.ts";
 * import { attachEvents } from "../../mod.ts";
 * const rt = new Runtime();
 * const kinds: string[] = [];
 * attachEvents(rt, new StackTable(), (e) => kinds.push(e.kind));
 * rt.call("main.f", "main.go", 3, () => rt.mallocgc(64, null));
 * rt.GC();
 * if (kinds.join() !== "alloc,gc,free") throw new Error(kinds.join());
 * ```
 */
export function attachEvents(
  rt: Runtime,
  stacks: StackTable,
  emit: (e: TraceEvent) => void,
  opts: { stacks?: "go" | "js" } = {},
): () => void {
  // The table interns by content: a loop's allocations repeat one stack id.
  // The allocation count numbers the event: a trace printer of the same
  // runtime shares the capture.
  const jsStackOf = (): number =>
    stacks.intern(
      captureJsFramesOnce(rt, rt.stats.nMalloc).map((f) => ({
        func: f.func,
        file: f.file,
        line: f.line,
        pc: 0,
        inlined: false,
      })),
    );
  // Below the main goroutine's own frames, runtime.main, as Go's traceback
  // prints it and the trace printer writes it (runtime.goexit, below every
  // goroutine, is no site's frame: the analysis drops it anyway).
  const mainBottom: Frame[] = rt.preset.frames.mainBottom
    .filter((f) => f.func !== "runtime.goexit").map(_frame);
  // Main's stacks and the other goroutines' apart: the same frames end
  // otherwise.
  type Cache = Map<number, { frames: FrameSnapshot; stack: number }[]>;
  const caches: [Cache, Cache] = [new Map(), new Map()];
  const stackOf = (g: Goroutine): number => {
    const depth = g.depth;
    const h = g.frameHash();
    const main = g.id === 1;
    const cache = caches[main ? 1 : 0];
    let list = cache.get(h);
    if (list !== undefined) {
      for (const c of list) if (g.sameFrames(c.frames)) return c.stack;
    } else {
      list = [];
      cache.set(h, list);
    }
    const frames: Frame[] = [];
    for (let d = depth - 1; d >= 0; d--) {
      const fn = rt.symtab.info(g.frameFunc[d]);
      frames.push({
        func: fn.name,
        file: fn.file,
        line: g.frameLine[d],
        pc: 0,
        inlined: false,
      });
    }
    if (main) frames.push(...mainBottom);
    const stack = stacks.intern(frames);
    list.push({ frames: g.snapshotFrames(), stack });
    return stack;
  };
  // A start-up record's stack: all of it, as a real trace's reader sees it
  // (the site of a runtime-only stack is its first frame past the
  // allocator's plumbing, e.g. runtime.procresize).
  const explicitCache = new Map<ExplicitStack, number>();
  const explicitOf = (e: ExplicitStack, g: Goroutine): number => {
    let stack = explicitCache.get(e);
    if (stack === undefined) {
      const frames: Frame[] = e.frames.map(_frame);
      // …then the goroutine's own frames, when the stack runs on into them.
      if (e.onCurg) frames.push(...stacks.get(stackOf(g)));
      stack = stacks.intern(frames);
      explicitCache.set(e, stack);
    }
    return stack;
  };
  return rt.events.subscribe({
    alloc: (addr, size, typ, kind, requested, g) => {
      const explicit = kind === AllocKind.startup ? rt.explicitStack : null;
      emit({
        kind: "alloc",
        addr,
        size,
        type: typ?.name ?? null,
        requested,
        goroutine: explicit?.goid ?? g.id,
        stack: explicit !== null
          ? explicitOf(explicit, g)
          : opts.stacks === "js"
          ? jsStackOf()
          : stackOf(g),
        lineNo: 0,
      });
    },
    free: (addr, size) =>
      emit({ kind: "free", addr, size, goroutine: 0, stack: 0, lineNo: 0 }),
    gc: (ev) => {
      if (ev.kind === "marktermination") emit({ kind: "gc", lineNo: 0 });
    },
  });
}

/** A runtime frame as an event's frame (no PC: sites key on file:line). */
function _frame(f: RuntimeFrame): Frame {
  return {
    func: f.func,
    file: f.file,
    line: f.line,
    pc: 0,
    inlined: f.inlined ?? false,
  };
}
