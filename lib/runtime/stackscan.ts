/**
 * Goroutine stacks as the GC scans and paces them (Go 1.19). `scanstack`
 * (mgcmark.go 756–765) reports `gp.stack.hi - sp` bytes of scan work per
 * goroutine, which becomes `lastStackScan`: it is in the next heap goal
 * (GOGC% of it) and in the runway. `revise` bounds the work of a growing
 * mark with `maxStackScan`, the stack space allocated to goroutines
 * (`addScannableStack`: 2 KiB at `newproc1`, the difference at each
 * `copystack`).
 *
 * A goroutine's bytes in use are the frames on it: a runtime goroutine's
 * where it parks, a user goroutine's its own frames (sizes from the
 * compiler), runtime.main's below the main goroutine's, and the runtime's
 * above them where the GC stops it. A Go 1.19 runtime built to print each
 * `scanstack` (`go build -overlay`) shows, for leak -n 20000: forcegc 112
 * B, bgsweep 144, bgscavenge 176, the finalizer goroutine 504, each mark
 * worker 184, main 1504–1840 (of a 4 KiB stack); for temporaries' main
 * 4040–4080 (8 KiB), binarytrees' 12680–13200 (16 KiB): 3.1, 5.4 and 14 KB
 * in all. Before this the model counted its root slots, 8 B.
 *
 * @module
 */

import type { GKind, Goroutine } from "./goroutine.ts";
import type { SymbolTable } from "../stack/symtab.ts";

/** What a preset knows of its goroutines' stacks. */
export interface StackScanModel {
  /** Bytes in use where each runtime goroutine parks. */
  readonly parked: Readonly<Partial<Record<GKind, number>>>;
  /**
   * Frame bytes (locals + return address, from `go build -gcflags=-S`) of
   * functions a goroutine's frames name, by `file name` or by name.
   */
  readonly frames: ReadonlyMap<string, number>;
  /** runtime.main's frame, below the main goroutine's own. */
  readonly mainFrame: number;
  /**
   * The runtime's frames above an allocating goroutine stopped for the
   * scan: mallocgc → gcAssistAlloc → gcParkAssist → gopark.
   */
  readonly assistStop: number;
  /** The same for runtime.GC() waiting: GC → gcWaitOnMark → gopark. */
  readonly gcStop: number;
  /** A parked user goroutine's gopark frame. */
  readonly parkStop: number;
  /** A new goroutine's stack (`_StackMin`, stack.go 75). */
  readonly minStack: number;
  /** Room a frame needs below the stack guard before it grows (`_StackGuard`). */
  readonly guard: number;
}

/**
 * Go 1.19.8 on linux/amd64. Frame sizes are `locals` + 8 from
 * `go build -gcflags=-S` of the shared programs; the parked figures and
 * the stacks' totals from the instrumented runtime above.
 */
export const GO119_STACKS: StackScanModel = {
  parked: {
    forcegc: 112,
    bgsweep: 144,
    bgscavenge: 176,
    finalizer: 504,
    markworker: 184,
    markdone: 184,
  },
  frames: new Map([
    ["acceptance/programs/leak/main.go main.main", 0x550 + 8],
    ["acceptance/programs/leak/main.go main.newRecord", 0x18 + 8],
    ["acceptance/programs/leak/main.go main.makePayload", 0x20 + 8],
    ["acceptance/programs/leak/main.go main.makeScratch", 0x20 + 8],
    ["acceptance/programs/leak/main.go main.leakIt", 0x50 + 8],
    ["acceptance/programs/temporaries/main.go main.main", 0xe10 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpPtr8", 0x18 + 8],
    ["acceptance/programs/temporaries/main.go main.tmp24", 0x18 + 8],
    ["acceptance/programs/temporaries/main.go main.tmp100", 0x18 + 8],
    ["acceptance/programs/temporaries/main.go main.tmp1000", 0x20 + 8],
    ["acceptance/programs/temporaries/main.go main.tmp40000", 0x20 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpPtrSlice", 0x20 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpChan", 0x18 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpChanPtr", 0x18 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpString", 0x30 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpMap", 0x30 + 8],
    ["acceptance/programs/temporaries/main.go main.tmpTiny8", 0x18 + 8],
    ["acceptance/programs/binarytrees/main.go main.main", 0x2ee8 + 8],
    ["acceptance/programs/binarytrees/main.go main.run", 0xf0 + 8],
    ["acceptance/programs/binarytrees/main.go main.bottomUpTree", 0x30 + 8],
    [
      "acceptance/programs/binarytrees/main.go main.(*Node).itemCheck",
      0x18 + 8,
    ],
  ]),
  mainFrame: 0x58 + 8,
  assistStop: (0x70 + 8) + (0x58 + 8) + (0x30 + 8) + (0x18 + 8),
  gcStop: (0x30 + 8) + (0x28 + 8) + (0x18 + 8),
  parkStop: 0x18 + 8,
  minStack: 2048,
  guard: 928,
};

/**
 * Bytes of `g`'s stack in use when the GC scans it (`gp.stack.hi - sp`).
 * `stopped` says where the running goroutine waits for the scan: in an
 * assist (an allocation started the cycle) or in runtime.GC(). Without a
 * model (other presets), 8 B per root slot, as before.
 *
 * @example
 * ```ts
 * import { GO119_STACKS, Goroutine, stackInUse, SymbolTable } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * const g = new Goroutine(2, 0);
 * g.kind = "bgsweep";
 * strictEqual(stackInUse(g, new SymbolTable(0x401000), GO119_STACKS, "gc"), 144);
 * ```
 */
export function stackInUse(
  g: Goroutine,
  symtab: SymbolTable,
  model: StackScanModel | null,
  stopped: "assist" | "gc" | "parked",
): number {
  if (model === null) return g.sp * 8;
  const parked = model.parked[g.kind];
  if (g.kind !== "user" && parked !== undefined) return parked;
  let bytes = g.id === 1 ? model.mainFrame : 0;
  for (let i = 0; i < g.depth; i++) {
    const f = symtab.info(g.frameFunc[i]);
    bytes += model.frames.get(`${f.file} ${f.name}`) ??
      model.frames.get(f.name) ?? 0;
  }
  bytes += stopped === "assist"
    ? model.assistStop
    : stopped === "gc"
    ? model.gcStop
    : model.parkStop;
  // A function with no known frame size still holds its root slots.
  return Math.max(bytes, g.sp * 8);
}

/**
 * Stack bytes allocated to a goroutine using `inUse` (`maxStackScan`'s
 * share): `_StackMin`, doubled by `newstack` until the frames and the guard
 * fit.
 *
 * @example
 * ```ts
 * import { GO119_STACKS, stackAllocated } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(stackAllocated(1792, GO119_STACKS), 4096);
 * ```
 */
export function stackAllocated(inUse: number, model: StackScanModel): number {
  let size = model.minStack;
  while (size < inUse + model.guard) size *= 2;
  return size;
}
