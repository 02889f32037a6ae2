/**
 * How a traced process's allocation calls are caught: the interface of
 * the two strategies (injected stubs, injected_mode.ts; breakpoints,
 * breakpoint_mode.ts), what they are given about their process, and the
 * rule that turns a returned call into events, which both share.
 *
 * @module
 */

import type { NativeEvent, NativeKind } from "./event.ts";
import type { ProcMaps } from "./proc_maps.ts";
import type { RemoteMemory } from "./remote.ts";
import type { Tracee } from "./tracee.ts";
import type { Call } from "./alloc_call.ts";
import type { RingOut, StackStats } from "./hook_ring.ts";
import type { Sampler } from "../runtime/sampling.ts";

/** An event as a mode reports it (the tracer adds pid, image and time). */
export type ModeEvent = Omit<NativeEvent, "pid" | "image" | "time">;

/** What a mode knows of its process. */
export interface HookedProcess {
  /** Process id. */
  pid: number;
  /** ptrace. */
  tracee: Tracee;
  /** Its memory. */
  mem: RemoteMemory;
  /** Its maps. */
  maps: ProcMaps;
  /** Where libc is mapped. */
  libcStart: number;
  /** Reports an event. */
  emit: (e: ModeEvent) => void;
  /** Reports an event field by field (the ring's way: no object per event). */
  out: RingOut;
}

/** What a trace asks of every mode. */
export interface ModeSettings {
  /** Offsets of the hooked functions in libc (aliases share one). */
  hookOffsets: [NativeKind, number][];
  /** Unwind stacks. */
  wantStacks: boolean;
  /** Go's sampler, when a rate is set. */
  sampler: Sampler | null;
  /** The sampling rate (0: none). */
  rate: number;
  /**
   * The in-process hooks' stack cache (default true): stacks found by hash
   * in the program's table, copied without a system call. False: every
   * stack copied by process_vm_readv and unwound (the reference path).
   */
  stackCache: boolean;
  /**
   * The injected hooks' ring in memory the tracer maps too (see
   * ring_map.ts; the tracer asks it for the program's own process only);
   * false reads it by system call, as when the mapping cannot be made.
   */
  sharedRing: boolean;
  /** Counts of stacks unwound and of stacks found by their hash. */
  stats: StackStats;
}

/** One strategy's hooks in one process. */
export interface HookMode {
  /** Which strategy. */
  readonly name: "inject" | "breakpoints";
  /**
   * Thread `tid` stopped on an int3 at `bp` (its registers loaded in the
   * tracee): true when it was one of this mode's (and it was handled).
   */
  trap(tid: number, bp: number): boolean;
  /** Reads what the hooks recorded; the number of records read. */
  drain(force: boolean): number;
  /** A new thread, before it runs, with thread pointer `fs`. */
  thread(tid: number, fs: number, rsp?: number): void;
  /** The thread pointer `fs` runs thread `tid` from now on (a vfork child, then its parent again). */
  runAs(fs: number, tid: number): void;
  /** This mode's state for a fork child (a copy of this process, its thread `tid` stopped). */
  forked(child: HookedProcess, tid: number): HookMode;
  /** Takes the hooks out (thread `tid` stopped): the original bytes are back. */
  remove(tid: number): void;
  /**
   * Once the hooks are out ({@link HookMode.remove}), unmaps what was
   * mapped in the program for them, if nothing can run there any more:
   * `threads` (stopped; `tid` among them) must be every thread of the
   * process, and none may be inside that memory or have an address of it
   * on its stack (a call in flight returns through it). Whether it did.
   */
  free?(tid: number, threads: readonly number[]): boolean;
  /** Whether `rip` is one of this mode's reads of the time-stamp counter (see inject.ts). */
  readsClock(rip: number): boolean;
  /**
   * Whether `rip` is in this mode's injected code (its stubs, trampolines
   * and their common return path): a thread there when the tracer lets go
   * may run into one of its int3s.
   */
  inStub(rip: number): boolean;
  /** Whether `at` is one of the int3s a full ring or a busy slot takes. */
  fullTrap(at: number): boolean;
  /** The maps were read again at a dlopen or dlclose (the program's code may have changed). */
  codeChanged(): void;
  /** Frees what it holds. */
  close(): void;
}

/**
 * The events of an allocation call that returned `result` (`stored`: what
 * posix_memalign stored, when known): realloc's free of the old block
 * when it moved or was freed, then the allocation.
 */
export function finishCall(
  emit: (e: ModeEvent) => void,
  mem: RemoteMemory,
  tid: number,
  p: Call,
  result: number,
  stored?: number,
): void {
  let old = p.old;
  if (p.kind === "posix_memalign") {
    // It returns an error number; the block goes to *memptr.
    result = result === 0 ? stored ?? mem.readWord(p.old) : 0;
    old = 0;
  }
  // realloc frees the old block when it moves it, and realloc(p, 0) frees p.
  if (
    (p.kind === "realloc" || p.kind === "reallocarray") && old !== 0 &&
    (result !== 0 || p.size === 0)
  ) {
    emitFree(emit, tid, old);
  }
  if (result !== 0) {
    emit({
      kind: p.kind,
      tid,
      addr: result,
      size: p.size,
      old,
      frames: p.frames,
      sampled: p.sampled,
    });
  }
}

/** A free of `addr`. */
export function emitFree(
  emit: (e: ModeEvent) => void,
  tid: number,
  addr: number,
): void {
  emit({
    kind: "free",
    tid,
    addr,
    size: 0,
    old: 0,
    frames: [],
    sampled: false,
  });
}
