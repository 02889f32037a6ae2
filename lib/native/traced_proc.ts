/**
 * A traced process as the tracer keeps it: one image of it (an exec makes
 * a new one), its hooks and breakpoints, and the thread its memory and
 * maps are reached through.
 *
 * @module
 */

import type { HookedProcess, HookMode } from "./hook_mode.ts";

/** A traced process (one image of it: an exec makes a new one). */
export interface Proc extends HookedProcess {
  /** The executable's path. */
  image: string;
  /** Its id in the output. */
  imageId: number;
  /** Its hooks, once libc is mapped and they are planted. */
  mode: HookMode | null;
  /** ld.so's `_dl_debug_state` breakpoint (0: none) and its byte. */
  rbrk: number;
  rbrkOrig: number;
  /** libc's `execve` breakpoint (0: none) and its byte. */
  execBp: number;
  execOrig: number;
}

/**
 * Reaches `proc`'s memory and maps through its thread `tid` from now on:
 * both at once, since a thread id that has ended (a main thread's
 * pthread_exit; a thread's old id after its exec) has neither any more.
 */
export function reachThrough(proc: Proc, tid: number): void {
  proc.mem.through(tid);
  proc.maps.through(tid);
}
