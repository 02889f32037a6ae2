/**
 * The runtime's own allocations beyond its start-up: what the first GC's
 * `gcBgMarkStartWorkers` allocates (each mark worker's `runtime.g` and
 * `gcBgMarkWorkerNode`), printed with the stacks real Go prints (the
 * preset's `bgMarkStart` frames), and the runtime types they use.
 *
 * @module
 */

import type { Goroutine } from "./goroutine.ts";
import type { GoType, TypeRegistry, TypeSpec } from "./types.ts";
import { AllocKind } from "../stack/allockind.ts";
import type { ExplicitStack } from "../stack/runtime_frames.ts";
import type { Preset } from "./presets.ts";

/**
 * What these allocations need of the runtime (the `Runtime` has it; named
 * here so that the collector, which calls them, imports no circle).
 */
export interface RuntimeAllocsHost {
  /** The preset (its frame tables). */
  readonly preset: Preset;
  /** Whether the runtime's own allocations are modelled. */
  readonly runtimeAllocations: boolean;
  /** The running goroutine. */
  readonly curg: Goroutine;
  /** How the allocation in progress reached mallocgc. */
  readonly allocKindInProgress: AllocKind;
  /** Its requested size and type. */
  readonly allocInProgress: { requested: number; typ: GoType | null };
  /** The type registry. */
  readonly types: TypeRegistry;
  /** Seed of the runtime's random draws. */
  readonly seed: number;
  /** GOMAXPROCS. */
  readonly gomaxprocs: number;
  /** The explicit stack of the allocation in progress. */
  explicitStack: ExplicitStack | null;
  /** `mallocgc`. */
  mallocgc(
    size: number,
    typ: GoType | null,
    needzero?: boolean,
    p?: number,
    kind?: AllocKind,
  ): number;
  /** Defines (or finds) a global root slot. */
  global(name: string): number;
  /** Number of global root slots. */
  readonly globalCount: number;
  /** Stores into a global root slot. */
  setGlobal(i: number, v: number): void;
}

/**
 * The allocations of `gcBgMarkStartWorkers` at the first GC, after
 * `workers` (one per P) were made: each worker's `runtime.g`, made by
 * `newproc` on the goroutine starting the cycle (in `runtime.GC()` when
 * `forced`, else in the allocation that triggered it), and the
 * `gcBgMarkWorkerNode` the worker allocates when it first runs; both stay
 * live. Only when the runtime's own allocations are modelled
 * (`Runtime.runtimeAllocations`, set by `goStartup`) and the preset's
 * frame tables have `bgMarkStart`.
 */
export function gcBgMarkStartWorkers(
  rt: RuntimeAllocsHost,
  workers: readonly Goroutine[],
  forced: boolean,
): void {
  const f = rt.preset.frames.bgMarkStart;
  if (f === undefined || !rt.runtimeAllocations) return;
  const g = rt.curg;
  const kind = rt.allocKindInProgress;
  const { requested, typ } = rt.allocInProgress;
  const t = "0x" + (typ?.addr ?? 0).toString(16);
  // Triggered by an allocation: gcStart under mallocgc and the rest of that
  // allocation's path, with its arguments as the printer gives them.
  const under = forced ? [f.forced] : [
    { ...f.triggered, args: `0x${requested.toString(16)}, ${t}, 0x1` },
    ...rt.preset.frames.alloc(kind, typ === null || typ.noscan, false)
      .slice(1).map((x) => ({
        ...x,
        args: x.inlined ? "..." : x.args?.replaceAll("%t", t) ?? `${t}?`,
      })),
  ];
  const gType = runtimeType(rt, "runtime.g", 0x188);
  const nodeType = runtimeType(rt, "runtime.gcBgMarkWorkerNode", 0x20);
  for (const w of workers) {
    _allocRoot(rt, "runtime.allgs", gType, {
      goid: g.id,
      status: "running",
      frames: [...f.newproc, ...under],
      createdBy: null,
      onCurg: true,
    });
    const [node, ...rest] = f.node;
    _allocRoot(rt, "runtime.gcBgMarkWorkerPool", nodeType, {
      goid: w.id,
      status: "running",
      frames: [
        { ...node, args: `0x20, 0x${nodeType.addr.toString(16)}, 0x1` },
        ...rest,
      ],
      createdBy: [...rt.preset.frames.system.markworker.createdBy],
    });
  }
}

/**
 * At the end of cycle `cycle`'s mark, whether another mark worker raced
 * the one finishing it into `gcMarkDone` and blocked on
 * `work.markDoneSema`: real go1.19.8 traces (2 Ps) list the second worker
 * so (`runnable`, in `semacquire1`) at 30 of 64 cycles of leak,
 * binarytrees and temporaries, at random, and most of those times it
 * allocated a `sudog` for the wait. The model draws the race from the
 * seed and the cycle (half the cycles); when it happens the worker
 * allocates its sudog (kept live in its P's `sudogcache`) and becomes
 * `markdone` for the cycle's `tracegc` listing. Returns that worker (the
 * collector turns it back into an idle worker after the listing), or
 * null. Only when the runtime's own allocations are modelled and the
 * preset has the frames.
 */
export function gcMarkDoneRace(
  rt: RuntimeAllocsHost,
  workers: readonly Goroutine[],
  cycle: number,
): Goroutine | null {
  const frames = rt.preset.frames.bgMarkStart?.markDoneSudog;
  if (
    frames === undefined || !rt.runtimeAllocations || rt.gomaxprocs < 2 ||
    workers.length < 2 || rt.preset.frames.system.markdone === undefined ||
    !_coin(rt.seed, cycle)
  ) return null;
  const w = workers[workers.length - 1];
  const sudog = runtimeType(rt, "runtime.sudog", 0x58);
  const [mallocgc, ...rest] = frames;
  _allocRoot(rt, "runtime.sudogcache", sudog, {
    goid: w.id,
    status: "running",
    frames: [
      { ...mallocgc, args: `0x58, 0x${sudog.addr.toString(16)}, 0x1` },
      ...rest,
    ],
    createdBy: [...rt.preset.frames.system.markworker.createdBy],
  });
  w.kind = "markdone";
  w.status = "runnable";
  w.waitReason = "";
  return w;
}

/** A fair coin from `seed` and `n` (a 32-bit mix of both). */
function _coin(seed: number, n: number): boolean {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^
    Math.imul(n, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) & 1) === 1;
}

/** Allocates one `typ` printed with `stack`, kept live in a global root of `name`. */
function _allocRoot(
  rt: RuntimeAllocsHost,
  name: string,
  typ: GoType,
  stack: ExplicitStack,
): void {
  rt.explicitStack = stack;
  try {
    const x = rt.mallocgc(typ.size, typ, true, rt.curg.p, AllocKind.startup);
    rt.setGlobal(rt.global(`${name}.${rt.globalCount}`), x);
  } finally {
    rt.explicitStack = null;
  }
}

/** Scalar element types: their allocations are noscan (and tiny under 16 B). */
const _SCALARS = new Set([
  "bool",
  "int",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "uintptr",
  "float32",
  "float64",
]);

/**
 * Layouts of the runtime's types the simulator also allocates, where the
 * default (a pointer in the first word) is wrong. The noscan ones matter
 * beyond the mark: a noscan object goes to another span class, so it does
 * not take a slot in (and re-cache) the span of a pointerful one.
 */
const _LAYOUTS: Readonly<Record<string, TypeSpec>> = {
  "runtime.hmap": { size: 48, pointers: [2, 3, 5] },
  // lfnode{next uint64; pushcnt uintptr}, gp guintptr, m muintptr: all
  // integers (mgc.go 1188, runtime2.go 919), so noscan. Pointerful, the
  // first GC's nodes re-cached the span of the dead start-up `allgs`
  // array, and the mark termination's mcache flush freed it where real Go
  // frees it in runtime.GC's sweepone.
  "runtime.gcBgMarkWorkerNode": { size: 32, pointers: [] },
  // encode [64]byte, decodeMap [256]byte, padChar rune, strict bool.
  "base64.Encoding": { size: 328, pointers: [] },
  // A closure over an int (json.floatEncoder is `type floatEncoder int`).
  "struct { F uintptr; R json.floatEncoder }": { size: 16, pointers: [] },
};

/**
 * The registered type `name`, defined on first use (pointerful unless a
 * scalar): a runtime type the simulated program never defines itself.
 */
export function runtimeType(
  rt: RuntimeAllocsHost,
  name: string,
  requested: number,
): GoType {
  const known = rt.types.list.find((t) => t.name === name);
  if (known !== undefined) return known;
  const size = Math.max(8, requested - requested % 8);
  return rt.types.define(
    name,
    _LAYOUTS[name] ?? rt.preset.startupLayouts[name] ??
      (_SCALARS.has(name) ? { size } : { size, pointers: [0] }),
  );
}
