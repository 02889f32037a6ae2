/**
 * What the execution-trace heap model (heap.ts) hands out: its events
 * (allocations, frees, GC starts and ends, goroutine stacks), the
 * goroutine creation sites allocations are attributed to, and the
 * anomalies it counts. Apart from the model so that a reader of its events
 * (analyze.ts) depends on their shape, not on how the heap is rebuilt.
 *
 * @module
 */

import type { AllocEvent, Frame, FreeEvent, GCEvent } from "../events.ts";

/** An allocation, with what an execution trace adds. */
export interface ExecAllocEvent extends AllocEvent {
  /** Nanoseconds since the trace began. */
  readonly time: number;
  /** Index into the reader's type table (0: no type). */
  readonly typeIndex: number;
  /** Goroutine creation site (index into {@link ExecHeap.sites}). */
  readonly site: number;
  /** True for an object that existed when tracing began (a snapshot `HeapObject`). */
  readonly existing: boolean;
}

/** A free, with the freed object's allocation. */
export interface ExecFreeEvent extends FreeEvent {
  /** Nanoseconds since the trace began. */
  readonly time: number;
  /** The object's type. */
  readonly typeIndex: number;
  /** The allocating goroutine's creation site. */
  readonly site: number;
  /** When it was allocated (ns; for an existing object, when tracing began). */
  readonly allocTime: number;
  /** GC cycles ended before its allocation. */
  readonly allocCycle: number;
  /** True for an object that existed when tracing began. */
  readonly existing: boolean;
}

/** The end of a GC cycle (`GCEnd`). */
export interface ExecGCEvent extends GCEvent {
  /** Nanoseconds since the trace began. */
  readonly time: number;
  /** Cycles ended so far, this one included. */
  readonly cycle: number;
}

/** The start of a GC cycle (`GCBegin`): every sweep of the last one is done. */
export interface ExecGCStartEvent {
  /** Discriminant. */
  readonly kind: "gcstart";
  /** Nanoseconds since the trace began. */
  readonly time: number;
}

/** A goroutine stack allocated or freed. */
export interface ExecStackEvent {
  /** Discriminant. */
  readonly kind: "stackalloc" | "stackfree";
  /** Nanoseconds since the trace began. */
  readonly time: number;
  /** Base address. */
  readonly addr: number;
  /** Bytes (a power of two). */
  readonly size: number;
  /** True for a stack that existed when tracing began. */
  readonly existing: boolean;
}

/** Any event of an execution trace's heap. */
export type ExecEvent =
  | ExecAllocEvent
  | ExecFreeEvent
  | ExecGCEvent
  | ExecGCStartEvent
  | ExecStackEvent;

/** Where goroutines were created: their start function and the creator's stack. */
export interface GoroutineSite {
  /** The goroutine's start function (`main.worker`), or a description. */
  readonly start: string;
  /** Where it was created: `func file:line` of the first non-runtime frame of the creator, or a description. */
  readonly createdAt: string;
  /** The start function's frame then the creator's frames, innermost first. */
  readonly frames: readonly Frame[];
  /** Goroutines created here. */
  goroutines: number;
}

/** Anomalies: events the heap model could not place. */
export interface HeapAnomalies {
  /** Frees of objects never seen (neither allocated nor in the snapshot). */
  unmatchedFrees: number;
  /** Allocations at a slot already live whose free did not follow before the next GC end. */
  reallocations: number;
  /** Objects outside every known span (size unknown). */
  noSpan: number;
  /**
   * Goroutine stack frees of stacks never seen: an M's g0 stack is freed
   * when the M exits, but the snapshot lists only goroutines' stacks.
   */
  unmatchedStackFrees: number;
}
