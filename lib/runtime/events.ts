/**
 * The runtime's one subscription point: what it emits, in the shape of the
 * shared event model (`lib/trace/events.ts`), to any number of consumers
 * called in the order they subscribed.
 *
 * - `alloc`: address, rounded size, type, the allocation's kind (how it
 *   reached mallocgc: an argument of the allocation), requested size, the
 *   goroutine (whose frames are the allocation's stack) and the P;
 * - `free`: address, size, who freed it (the sweeper, or an explicit free),
 *   the running goroutine and the kind of the allocation in progress when a
 *   mutator's allocation swept it;
 * - `gc`: each phase of a cycle with its figures and the goroutines;
 * - `profileAlloc` / `profileFree`: a sampled allocation with the stack its
 *   bucket recorded, and the free that reaches that bucket.
 *
 * Events are calls with positional arguments, so emitting allocates nothing;
 * and with no consumer of a kind, the runtime does not even make the call.
 *
 * @module
 */

import type { AllocKind } from "../stack/allockind.ts";
import type { Goroutine } from "./goroutine.ts";
import type { GoType } from "./types.ts";

/**
 * Who swept: a mutator allocating on its goroutine (`cacheSpan`,
 * `deductSweepCredit` before a span for its mcache, `allocLarge`: the same
 * before a large object's span, `reclaim`, `gcStart`), g0 flushing an mcache
 * (`uncacheSpan`: in procresize; `acquirep`: an M that parked idle takes
 * its P back; `gcstopm`: an M stopped for the world's stop after a
 * preemption takes its P back), the background sweeper goroutine (`bgsweep`),
 * `runtime.GC()` itself (`GC`), or Go 1.2's stop-the-world sweep (`stw`).
 */
export type SweepWho =
  | "cacheSpan"
  | "deductSweepCredit"
  | "allocLarge"
  | "reclaim"
  | "gcStart"
  | "uncacheSpan"
  | "acquirep"
  | "gcstopm"
  | "bgsweep"
  | "GC"
  | "stw";

/** Who freed an object: a sweeper, or an explicit `Runtime.free` (`free`). */
export type FreeWho = SweepWho | "free";

/** The figures of one cycle, as gctrace prints them. */
export interface GCCycleStats {
  /** Simulated time of sweep termination, ns since start. */
  startNs: number;
  /** Wall time of the three phases (ns): sweep termination, mark, mark termination. */
  clockNs: [number, number, number];
  /** CPU time (ns): sweep termination, assist, background mark, idle mark, mark termination. */
  cpuNs: [number, number, number, number, number];
  /** Cumulative GC CPU fraction, 0..1. */
  cpuFraction: number;
  /** heapLive at start. */
  heapBefore: number;
  /** heapLive at mark termination. */
  heapAtMarkTermination: number;
  /** Bytes marked (live heap). */
  heapMarked: number;
  /** Heap goal of this cycle. */
  goal: number;
  /** Scannable stack bytes. */
  stacks: number;
  /** Scannable global bytes. */
  globals: number;
  /** GOMAXPROCS. */
  procs: number;
  /** Objects live before (Go 1.2's gctrace). */
  objectsBefore: number;
  /** Objects marked. */
  objectsAfter: number;
  /** Sweep time (Go 1.2's stop-the-world sweep), ns. */
  sweepNs: number;
  /** Cumulative allocations at mark termination (Go 1.2's gctrace). */
  mallocs?: number;
  /** Cumulative frees at mark termination (Go 1.2's gctrace). */
  frees?: number;
}

/** A phase of a GC cycle. */
export interface GCEvent {
  /** `start` (sweep termination), `marktermination` (world stopped, marked), `end` (cycle done, before sweeping). */
  kind: "start" | "marktermination" | "end";
  /** Cycle number (1 for the first). */
  cycle: number;
  /** True for `runtime.GC()`. */
  forced: boolean;
  /** The cycle's statistics (complete at `end`). */
  stats: GCCycleStats;
  /** Bytes of live objects at this point (`HeapAlloc`). */
  heapAlloc: number;
  /** Slot allocations so far. */
  mallocs: number;
  /** Every goroutine, main first (what `tracegc` lists). */
  goroutines: readonly Goroutine[];
  /** The goroutine running when the cycle started. */
  curg: Goroutine;
}

/** An allocation: see the module doc. */
export type AllocFn = (
  addr: number,
  size: number,
  typ: GoType | null,
  kind: AllocKind,
  requested: number,
  g: Goroutine,
  p: number,
) => void;

/** A free: see the module doc. */
export type FreeFn = (
  addr: number,
  size: number,
  who: FreeWho,
  g: Goroutine,
  kind: AllocKind,
) => void;

/** A phase of a GC cycle. */
export type GCFn = (ev: GCEvent) => void;

/** A sampled allocation, with the stack (return PCs) its profile bucket keeps. */
export type ProfileAllocFn = (
  addr: number,
  size: number,
  typ: GoType | null,
  kind: AllocKind,
  stk: readonly number[],
) => void;

/** The free of a sampled object, with the stack of its bucket. */
export type ProfileFreeFn = (
  addr: number,
  size: number,
  stk: readonly number[],
) => void;

/**
 * A consumer of runtime events: any subset of the kinds. The functions are
 * called without `this` (use arrow functions, or bind them yourself).
 */
export interface RuntimeConsumer {
  /** After an allocation. */
  alloc?: AllocFn;
  /** After an object is freed. */
  free?: FreeFn;
  /** At each phase of a GC cycle. */
  gc?: GCFn;
  /** After a sampled allocation is recorded in the heap profile. */
  profileAlloc?: ProfileAllocFn;
  /** After the free of a sampled object reached its bucket. */
  profileFree?: ProfileFreeFn;
}

/**
 * The subscription point: consumers in order; for each kind of event, the
 * one function the runtime calls (null when nobody listens).
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const rt = new Runtime();
 * const seen: string[] = [];
 * const off = rt.events.subscribe({ alloc: (addr) => seen.push(`a ${addr.toString(16)}`) });
 * rt.events.subscribe({ alloc: () => seen.push("second") });
 * rt.mallocgc(64, null);
 * off();
 * rt.mallocgc(64, null);
 * deepStrictEqual(seen, ["a c000000000", "second", "second"]);
 * ```
 */
export class EventHub {
  readonly #consumers: RuntimeConsumer[] = [];
  /** What an allocation calls, or null. */
  alloc: AllocFn | null = null;
  /** What a free calls, or null. */
  free: FreeFn | null = null;
  /** What a GC phase calls, or null. */
  gc: GCFn | null = null;
  /** What a sampled allocation calls, or null. */
  profileAlloc: ProfileAllocFn | null = null;
  /** What the free of a sampled object calls, or null. */
  profileFree: ProfileFreeFn | null = null;

  /** Adds `c` after the consumers already subscribed; returns the function that removes it. */
  subscribe(c: RuntimeConsumer): () => void {
    this.#consumers.push(c);
    this.#rebuild();
    return () => {
      const i = this.#consumers.indexOf(c);
      if (i >= 0) {
        this.#consumers.splice(i, 1);
        this.#rebuild();
      }
    };
  }

  /** Whether anyone listens to anything. */
  get listening(): boolean {
    return this.#consumers.length > 0;
  }

  #rebuild(): void {
    const cs = this.#consumers;
    const allocs = _fns(cs, (c) => c.alloc);
    this.alloc = allocs.length <= 1
      ? allocs[0] ?? null
      : (a, s, t, k, r, g, p) => {
        for (let i = 0; i < allocs.length; i++) allocs[i](a, s, t, k, r, g, p);
      };
    const frees = _fns(cs, (c) => c.free);
    this.free = frees.length <= 1 ? frees[0] ?? null : (a, s, w, g, k) => {
      for (let i = 0; i < frees.length; i++) frees[i](a, s, w, g, k);
    };
    const gcs = _fns(cs, (c) => c.gc);
    this.gc = gcs.length <= 1 ? gcs[0] ?? null : (ev) => {
      for (let i = 0; i < gcs.length; i++) gcs[i](ev);
    };
    const pas = _fns(cs, (c) => c.profileAlloc);
    this.profileAlloc = pas.length <= 1 ? pas[0] ?? null : (a, s, t, k, st) => {
      for (let i = 0; i < pas.length; i++) pas[i](a, s, t, k, st);
    };
    const pfs = _fns(cs, (c) => c.profileFree);
    this.profileFree = pfs.length <= 1 ? pfs[0] ?? null : (a, s, st) => {
      for (let i = 0; i < pfs.length; i++) pfs[i](a, s, st);
    };
  }
}

/** The functions of one kind, in order (called as plain functions: V8 inlines those, not bound ones). */
function _fns<F extends (...args: never[]) => void>(
  cs: readonly RuntimeConsumer[],
  pick: (c: RuntimeConsumer) => F | undefined,
): F[] {
  const out: F[] = [];
  for (const c of cs) {
    const f = pick(c);
    if (f !== undefined) out.push(f);
  }
  return out;
}
