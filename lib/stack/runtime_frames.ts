/**
 * The runtime's own frames, as data per preset: what Go shows above the
 * user's frames of an allocation (`runtime.mallocgc`, then
 * `runtime.newobject`, `runtime.makeslice` …), below them (`runtime.main`,
 * `runtime.goexit`), the sweepers' stacks on frees, and the parked runtime
 * goroutines a `tracegc` lists. Each preset's table is in its own file
 * (`frames_go119.ts`, `frames_go12.ts`); a new Go version is a new table.
 *
 * @module
 */

import { AllocKind } from "./allockind.ts";

/** One runtime frame: function, file, line, and the PC offset from the function's entry. */
export interface RuntimeFrame {
  /** Function name. */
  readonly func: string;
  /** File as the binary records it. */
  readonly file: string;
  /** Line. */
  readonly line: number;
  /** PC − entry of the call (as `+0x…` shows it); 0 for an inlined frame. */
  readonly off: number;
  /** Inlined into the frame below (printed as `func(...)`, no offset). */
  readonly inlined?: boolean;
  /** Frame size, fp − sp, as a Go 1.3+ traceback prints it (default 0x30). */
  readonly size?: number;
  /** The arguments a traceback prints, when fixed (`0x0?, 0x0`). */
  readonly args?: string;
}

/**
 * The whole stack of an allocation as a real trace printed it: the
 * goroutine header's id and status, every frame to the bottom of the
 * stack, and `created by` (a runtime start-up record, `goStartup`).
 */
export interface ExplicitStack {
  /** Goroutine id in the header (0: on g0, `idle`). */
  readonly goid: number;
  /** Status in the header (`running, locked to thread`). */
  readonly status: string;
  /** Frames, innermost first, to the bottom of the stack. */
  readonly frames: readonly RuntimeFrame[];
  /** `created by` function, file, line and PC offset, or null. */
  readonly createdBy: readonly [string, string, number, number] | null;
  /**
   * The frames continue with those of the goroutine the allocation runs on
   * (its own, then `runtime.main`/`goexit`), as for any of its allocations.
   */
  readonly onCurg?: boolean;
}

/**
 * The allocations of `gcBgMarkStartWorkers` at the first GC: each worker's
 * `runtime.g` (made by `newproc` on the goroutine starting the cycle) and
 * the `gcBgMarkWorkerNode` the worker allocates when it first runs.
 */
export interface BgMarkStartFrames {
  /** Above the cycle's starter, innermost first: systemstack_switch … gcStart. */
  readonly newproc: readonly RuntimeFrame[];
  /** Under gcStart when `runtime.GC()` started the cycle. */
  readonly forced: RuntimeFrame;
  /** Under gcStart when an allocation started it: mallocgc at its gcStart call. */
  readonly triggered: RuntimeFrame;
  /** The worker's node allocation, innermost first, to `runtime.goexit`. */
  readonly node: readonly RuntimeFrame[];
  /**
   * A worker that reached `gcMarkDone` while another was finishing the mark
   * blocks on `work.markDoneSema`: the `sudog` its semacquire allocates,
   * innermost first from `runtime.mallocgc` to `runtime.goexit` (its
   * listing in `tracegc` is the preset's `system.markdone`), if modelled.
   */
  readonly markDoneSudog?: readonly RuntimeFrame[];
}

/** A parked runtime goroutine in a `tracegc` listing: its frames and creator. */
export interface SystemGoroutineFrames {
  /** Frames innermost first, without the final `runtime.goexit`. */
  readonly frames: readonly RuntimeFrame[];
  /** `created by` function, file, line and PC offset. */
  readonly createdBy: readonly [string, string, number, number];
}

/** Every runtime frame a preset prints or records. */
export interface PresetFrames {
  /**
   * The runtime frames above the caller of an allocation of `kind`,
   * innermost first, starting with `runtime.mallocgc`. `noscan` selects
   * growslice's untyped path; `chanNoBuf` a channel without a buffer.
   */
  alloc(
    kind: AllocKind,
    noscan: boolean,
    chanNoBuf: boolean,
  ): readonly RuntimeFrame[];
  /** The frames below the main goroutine's own, innermost first. */
  readonly mainBottom: readonly RuntimeFrame[];
  /** The frame every goroutine ends with (`runtime.goexit`). */
  readonly goexit: RuntimeFrame;
  /**
   * Top frames the heap profile leaves out of a stack: Go 1.19's `callers`
   * starts at mallocgc's caller (1), the seed's inside mallocgc (0).
   */
  readonly profileSkip: number;
  /**
   * `runtime.mallocgc` where it calls `nextFree` (the frame under a free
   * swept by an allocation's mcache refill), when it differs from the one in
   * {@link alloc} (the call of the trace hook).
   */
  readonly mallocgcRefill?: RuntimeFrame;
  /**
   * `runtime.mallocgc` where it calls `(*mcache).allocLarge` (the frame
   * under a free swept by a large allocation's proportional sweep), if the
   * preset's `sweepers` have `allocLarge`.
   */
  readonly mallocgcLarge?: RuntimeFrame;
  /** The sweeper's frames on a free, innermost first, by who swept (`SweepWho`). */
  readonly sweepers: Readonly<Record<string, readonly RuntimeFrame[]>>;
  /** The parked runtime goroutines of a `tracegc` listing, by kind. */
  readonly system: Readonly<Record<string, SystemGoroutineFrames>>;
  /** The goroutine that called `runtime.GC()`, waiting for its cycle. */
  readonly waitGC: readonly RuntimeFrame[];
  /** What the first GC's `gcBgMarkStartWorkers` allocations print, if modelled. */
  readonly bgMarkStart?: BgMarkStartFrames;
  /** The standard-library allocation paths the shared programs take, if modelled. */
  readonly std?: StdFrames;
}

/**
 * Allocation paths of standard-library calls (`frames_std.ts`), each
 * innermost first from `runtime.mallocgc` (whose arguments the caller
 * fills in) to the frame under the caller's; `%v` in a frame's arguments
 * stands for the call's value (convT64's integer, rawstring's length).
 */
export interface StdFrames {
  /** `fmt.Printf`'s `sync.Pool.Get` on a pool without locals: `pinSlow` appends the pool to `allPools`. */
  readonly printfAllPools: readonly RuntimeFrame[];
  /** …and makes the per-P `poolLocal` array. */
  readonly printfPoolLocal: readonly RuntimeFrame[];
  /** The pool's `New`: a fresh `fmt.pp`. */
  readonly printfNew: readonly RuntimeFrame[];
  /** The printer's buffer grown by a literal part of the format (`writeString`). */
  readonly printfWriteString: readonly RuntimeFrame[];
  /** …by a formatted integer (`fmtInteger` → `pad` → `write`). */
  readonly printfWriteInteger: readonly RuntimeFrame[];
  /** An integer boxed into an interface (`runtime.convT64`, 256 and over). */
  readonly convT64: readonly RuntimeFrame[];
  /** `a + b + c` of strings (`runtime.concatstring3`). */
  readonly concatstring3: readonly RuntimeFrame[];
  /** `fmt.pp`'s size and pointer words (it changed between versions). */
  readonly pp: { readonly size: number; readonly pointers: readonly number[] };
}

/** A runtime frame. */
export const frame = (
  func: string,
  file: string,
  line: number,
  off: number,
  size?: number,
  args?: string,
): RuntimeFrame => ({ func, file, line, off, inlined: false, size, args });

/** A frame inlined into the one below it. */
export const inlinedFrame = (
  func: string,
  file: string,
  line: number,
): RuntimeFrame => ({ func, file, line, off: 0, inlined: true });

/**
 * The frames of Go 1.3+'s allocation paths, one per call site: a preset's
 * table fills it in and {@link allocPaths} assembles the paths.
 */
export interface AllocPathFrames {
  /** `runtime.mallocgc` at its call of the trace hook. */
  readonly mallocgc: RuntimeFrame;
  /** `runtime.newobject` (under `new(T)` and `makechan`'s hchan). */
  readonly newobject: RuntimeFrame;
  /** `runtime.newobject` under `makemap_small` (inlined in Go 1.19, not in 1.22). */
  readonly makemapNewobject: RuntimeFrame;
  /** `runtime.newobject` inlined into `mapassign_faststr`. */
  readonly mapassignNewobject: RuntimeFrame;
  /** `runtime.makeslice`. */
  readonly makeslice: RuntimeFrame;
  /** `runtime.growslice` of a pointerful element type. */
  readonly growslice: RuntimeFrame;
  /** `runtime.growslice`'s untyped (noscan) path. */
  readonly growsliceNoscan: RuntimeFrame;
  /** `runtime.makechan` of an unbuffered channel. */
  readonly makechanEmpty: RuntimeFrame;
  /** `runtime.makechan` of a buffer of pointer-free elements (one allocation). */
  readonly makechanOne: RuntimeFrame;
  /** `runtime.makechan`'s hchan of a pointerful buffer. */
  readonly makechanHchan: RuntimeFrame;
  /** `runtime.makechan`'s pointerful buffer. */
  readonly makechanBuf: RuntimeFrame;
  /** `runtime.rawstring` (inlined into `rawstringtmp` from Go 1.22). */
  readonly rawstring: RuntimeFrame;
  /** `runtime.rawstringtmp`. */
  readonly rawstringtmp: RuntimeFrame;
  /** `runtime.concatstrings`. */
  readonly concatstrings: RuntimeFrame;
  /** `runtime.concatstring2`. */
  readonly concatstring2: RuntimeFrame;
  /** `runtime.makemap_small`. */
  readonly makemapSmall: RuntimeFrame;
  /** `runtime.mapassign_faststr`. */
  readonly mapassign: RuntimeFrame;
}

/**
 * Go 1.3+'s allocation paths ({@link PresetFrames.alloc}) over a preset's
 * frames: innermost first, from `runtime.mallocgc` to the caller's caller.
 *
 * @example
 * ```ts
 * import { allocPaths, AllocKind, frame } from "../../mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const f = (func: string) => frame(func, "runtime/x.go", 1, 0x10);
 * const names = [
 *   "mallocgc", "newobject", "makemapNewobject", "mapassignNewobject",
 *   "makeslice", "growslice", "growsliceNoscan", "makechanEmpty",
 *   "makechanOne", "makechanHchan", "makechanBuf", "rawstring",
 *   "rawstringtmp", "concatstrings", "concatstring2", "makemapSmall",
 *   "mapassign",
 * ] as const;
 * const alloc = allocPaths(
 *   Object.fromEntries(names.map((n) => [n, f(n)])) as never,
 * );
 * deepStrictEqual(
 *   alloc(AllocKind.makechanHchan, false, false).map((x) => x.func),
 *   ["mallocgc", "newobject", "makechanHchan"],
 * );
 * ```
 */
export function allocPaths(f: AllocPathFrames): PresetFrames["alloc"] {
  return (kind, noscan, chanNoBuf) => {
    switch (kind) {
      case AllocKind.newobject:
        return [f.mallocgc, f.newobject];
      case AllocKind.makeslice:
        return [f.mallocgc, f.makeslice];
      case AllocKind.growslice:
        return [f.mallocgc, noscan ? f.growsliceNoscan : f.growslice];
      case AllocKind.makechan:
        return [
          f.mallocgc,
          chanNoBuf ? f.makechanEmpty : noscan ? f.makechanOne : f.makechanBuf,
        ];
      case AllocKind.makechanHchan:
        return [f.mallocgc, f.newobject, f.makechanHchan];
      case AllocKind.concatstring:
        return [
          f.mallocgc,
          f.rawstring,
          f.rawstringtmp,
          f.concatstrings,
          f.concatstring2,
        ];
      case AllocKind.makemapSmall:
        return [f.mallocgc, f.makemapNewobject, f.makemapSmall];
      case AllocKind.mapassign:
        return [f.mallocgc, f.mapassignNewobject, f.mapassign];
      default:
        return [f.mallocgc];
    }
  };
}
