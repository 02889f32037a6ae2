/**
 * The start-up of a real Go program, replayed: before `main.main`'s first
 * own allocation a Go 1.19 trace holds ~100 records of the runtime
 * (`schedinit`'s Ps, the main goroutine, sysmon's M, `gcenable`'s channels
 * and goroutines), of the packages' init functions (`errors.New`s, unicode's
 * tables, `os.Stdin`…, whose `SetFinalizer` starts the finalizer goroutine
 * through `createfing`) and of main's `flag` calls; and a few objects
 * allocated before GODEBUG was read, which have no tracealloc but a
 * tracefree when the first GC finds them dead. This data comes from real
 * traces of the shared programs (`scripts/gen_startup.ts` writes
 * `startup_go119.ts` and `startup_go122.ts`): each record is allocated in
 * the simulated heap with its requested size and type, printed with its
 * real goroutine, status and stack ({@link ExplicitStack}), and kept live
 * (a global root) unless the real run freed it.
 *
 * @module
 */

import { type Runtime, TINY_SIZE } from "./runtime.ts";
import { AllocKind } from "../stack/allockind.ts";
import type { ExplicitStack, RuntimeFrame } from "../stack/runtime_frames.ts";
import { runtimeType } from "./runtime_allocs.ts";
import type { StartupData, StartupFrame } from "./startup_data.ts";
import { getPreset } from "./presets.ts";

/** Program names with start-up data for `preset` (empty: none modelled). */
export function startupPrograms(preset: string): string[] {
  return Object.keys(getPreset(preset).startup?.programs ?? {});
}

/**
 * Replays the start-up of real Go program `program` (`leak`,
 * `binarytrees`, `temporaries` or `minimal`; another name gets
 * `minimal`'s) on a fresh `rt`: call it before the program's own work.
 * Presets without data (go1.2-seed) are left as they are.
 *
 * @example
 * ```ts
 * import { goStartup, Runtime } from "../../mod.ts";
 * const rt = new Runtime({ preset: "go1.19" });
 * goStartup(rt, "minimal");
 * if (rt.stats.nMalloc < 20 || rt.stats.heapAlloc < 20_000) throw new Error("start-up");
 * ```
 */
export function goStartup(rt: Runtime, program = "minimal"): void {
  const data = rt.preset.startup;
  if (data === null) return;
  rt.runtimeAllocations = true;
  const prog = data.programs[program] ?? data.programs.minimal;
  // Allocated before parsedebugvars: no consumer sees them.
  const ev = rt.events;
  const [alloc, profileAlloc] = [ev.alloc, ev.profileAlloc];
  ev.alloc = ev.profileAlloc = null;
  const [allocs, bytes] = [rt.stats.nMalloc, rt.stats.totalAlloc];
  try {
    for (const size of prog.untraced) rt.mallocgc(size, null);
  } finally {
    ev.alloc = alloc;
    ev.profileAlloc = profileAlloc;
  }
  rt.untraced.allocs += rt.stats.nMalloc - allocs;
  rt.untraced.bytes += rt.stats.totalAlloc - bytes;
  const prep = _prepared(data, program);
  for (const f of prep.longFuncs) {
    rt.symtab.func(f.func, f.file, "", f.off + 1);
  }
  // Records another P made go to the next P's mcache, so that its flush
  // after the first cycle frees them on that P's path.
  const mine = rt.curg.p;
  const other = (mine + 1) % rt.gomaxprocs;
  for (const r of prep.records) {
    const typ = r.typeName === null
      ? null
      : runtimeType(rt, r.typeName, r.requested);
    // A tiny record started a tiny block of its own in the real run (the
    // allocations combined into it were not traced): a whole 16-byte slot
    // of the tiny span class, so that no record of the data is combined.
    const tiny = (typ === null || typ.noscan) && r.requested < TINY_SIZE;
    rt.explicitStack = r.stack;
    let x: number;
    try {
      x = rt.mallocgc(
        tiny ? TINY_SIZE : r.requested,
        typ,
        true,
        r.otherP ? other : mine,
        AllocKind.startup,
      );
    } finally {
      rt.explicitStack = null;
    }
    if (r.global !== null) rt.setGlobal(rt.global(r.global), x);
  }
  if (prep.fing) {
    const g = rt.newGoroutine(0);
    g.kind = "finalizer";
    g.status = "waiting";
    g.waitReason = "finalizer wait";
  }
}

/** A start-up record as `goStartup` replays it. */
interface _Record {
  readonly stack: ExplicitStack;
  readonly typeName: string | null;
  readonly requested: number;
  /** The global root that keeps it live, or null (the real run freed it). */
  readonly global: string | null;
  /** Made on another P than the program's own work (see StartupProgram.otherP). */
  readonly otherP: boolean;
}

/** One program's start-up, built from the data once. */
interface _Prepared {
  /** Functions longer than the symbol table's default text: their last frame. */
  readonly longFuncs: readonly RuntimeFrame[];
  readonly records: readonly _Record[];
  /** Whether a record runs `createfing` (the finalizer goroutine exists). */
  readonly fing: boolean;
}

/**
 * Every fresh runtime replays the same records: their frames, stacks and
 * root names are built once per preset's data and program (the stacks are
 * immutable, so runtimes share them, and a printer can keep what it
 * rendered for one).
 */
const _cache = new WeakMap<StartupData, Map<string, _Prepared>>();

function _prepared(data: StartupData, program: string): _Prepared {
  let byProgram = _cache.get(data);
  if (byProgram === undefined) {
    byProgram = new Map();
    _cache.set(data, byProgram);
  }
  const known = byProgram.get(program);
  if (known !== undefined) return known;
  const prog = data.programs[program] ?? data.programs.minimal;
  const frames = data.frames.map(_frame);
  // Functions longer than the symbol table's default text get theirs first.
  const longest = new Map<string, RuntimeFrame>();
  for (const f of frames) {
    if (f.off > (longest.get(f.func)?.off ?? 0)) longest.set(f.func, f);
  }
  const otherP = new Set(prog.otherP ?? []);
  const records = prog.records.map((id, i): _Record => {
    const [goid, status, requested, , typeName, dead, ids, createdBy] =
      data.records[id];
    return {
      stack: {
        goid,
        status,
        frames: ids.map((id) => frames[id]),
        createdBy: createdBy ?? null,
      },
      typeName,
      requested,
      global: dead ? null : `runtime.startup.${i}`,
      otherP: otherP.has(i),
    };
  });
  const prep: _Prepared = {
    longFuncs: [...longest.values()].filter((f) => f.off >= 0x1000),
    records,
    fing: records.some((r) =>
      r.stack.frames.some((f) => f.func === "runtime.createfing")
    ),
  };
  byProgram.set(program, prep);
  return prep;
}

function _frame(f: StartupFrame): RuntimeFrame {
  return {
    func: f[0],
    file: f[1],
    line: f[2],
    off: f[3],
    size: f[4],
    args: f[5],
    inlined: f[6] ?? false,
  };
}
