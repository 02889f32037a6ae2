/**
 * The options of a native trace (tracer.ts `traceNative`): what is recorded,
 * how the hooks are made, where events go, and the callbacks by which a
 * caller follows and ends the trace.
 *
 * @module
 */

import type { EventOut, NativeEvent } from "./event.ts";
import type { StackStats } from "./hook_ring.ts";

/** Options of a trace. */
export interface NativeOptions {
  /** Unwind a stack for each allocation (default true). */
  stacks?: boolean;
  /**
   * Like runtime.MemProfileRate: unwind stacks only for allocations the
   * exponential sampler picks, one per this many bytes on average (0: every
   * allocation).
   */
  memProfileRate?: number;
  /** Seed of the sampler. */
  seed?: number;
  /** Called for each event (the slow way: an object each; see {@link NativeOptions.out}). */
  onEvent?: (e: NativeEvent) => void;
  /** Where events go field by field (the worker's batch encoder); instead of `onEvent`. */
  out?: EventOut;
  /** Called with the program's pid once it is started. */
  onStart?: (pid: number) => void;
  /** Called when the program itself runs (the start-up shell exec'd it). */
  onExec?: () => void;
  /**
   * `inject` (default): in-process hooks written into the program (no stop
   * per call; see inject.ts), falling back to breakpoints when they cannot
   * be made; `breakpoints`: a ptrace stop at every call.
   */
  mode?: "inject" | "breakpoints";
  /**
   * Behave as if the in-process hooks could not be planted, so that the
   * fallback to breakpoints runs (for tests of that path).
   */
  injectFails?: boolean;
  /**
   * The injected hooks' stack cache (default true; see
   * {@link ModeSettings.stackCache}); false is the reference path for tests.
   */
  stackCache?: boolean;
  /**
   * The injected hooks' ring shared with the tracer in the program's own
   * process (default true; see {@link ModeSettings.sharedRing}; the
   * processes it forks read theirs by system call); false reads every ring
   * by system call.
   */
  sharedRing?: boolean;
  /** Filled with how stacks were had (the injected hooks). */
  stats?: StackStats;
  /**
   * Filled at the end with the most (ms) an injected hook's event time can
   * be off (StubClock.error, stub_clock.ts; NaN without a steady counter).
   */
  clock?: { error: number };
  /**
   * Filled at the end with the signal that killed the program (0: it
   * exited, or runs on, attached): its exit code alone cannot say (128 +
   * 31 is also a code of its own).
   */
  ended?: { signal: number };
  /** Trace fork children too (default true); false lets them run untraced. */
  followForks?: boolean;
  /**
   * Attach to this running process instead of starting `argv` (hooks
   * injected into it; the trace ends with a clean detach, see
   * {@link NativeOptions.detachWanted}).
   */
  attach?: number;
  /**
   * Attached: polled while tracing, first once the hooks are in; true
   * detaches (original bytes back, the process runs on).
   */
  detachWanted?: () => boolean;
  /**
   * Started by us: polled while tracing; true kills every process traced
   * (the program and the children it made, which would otherwise run on,
   * traced, to their end).
   */
  killWanted?: () => boolean;
}
