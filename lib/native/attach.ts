/**
 * `native -p`: hooks planted into a process that is already running, and
 * the clean detach that ends such a trace (every thread stopped, the ring
 * read, the original bytes back, every thread let go, running on).
 *
 * @module
 */

import { REG } from "./ffi.ts";
import type { ModeSettings } from "./hook_mode.ts";
import { InjectedMode } from "./injected_mode.ts";
import {
  EV_EXEC,
  EV_EXIT,
  EV_STOP,
  SIGTRAP,
  type Tracee,
  WALL,
} from "./tracee.ts";
import type { Proc } from "./traced_proc.ts";
import { statusField, tgidOf } from "./proc_status.ts";
import { readCounterFor, type StubClock } from "./stub_clock.ts";

const SIGSEGV = 11;
/** Bytes a hooked entry's patch covers at most (one word is written). */
const PATCH_BYTES = 8;

/**
 * Plants the injected hooks into `root`, a running image whose threads
 * `seized` (with their pending signals) are all stopped, and breakpoints
 * at libc's `execve` and ld.so's `_dl_debug_state` (at `rbrkOffset` and
 * `execveOffset` from ld.so and libc). The mmap is run at
 * `_dl_debug_state` (any code address does; that one is a bare `ret`).
 *
 * @throws {Error} when it cannot (not glibc's malloc, or the hooks cannot
 *   be written): every thread is let go first.
 */
export function plantRunning(
  t: Tracee,
  root: Proc,
  seized: Map<number, number>,
  settings: ModeSettings,
  rbrkOffset: number,
  execveOffset: number,
): InjectedMode {
  root.maps.refresh();
  const libc = root.maps.libcStart();
  const ld = root.maps.ldStart();
  if (libc !== undefined) {
    const entries = settings.hookOffsets.map(([, off]) => libc + off);
    for (const tid of seized.keys()) _stepOutOf(t, tid, entries, seized);
  }
  const first = [...seized.keys()].find((tid) => t.getRegs(tid));
  const mode = libc === undefined || ld === undefined || first === undefined
    ? null
    : InjectedMode.plant(
      { ...root, libcStart: libc },
      settings,
      first,
      ld + rbrkOffset,
    );
  if (mode === null) {
    for (const [tid, sig] of seized) t.detach(tid, sig);
    throw new Error(
      `cannot attach to ${root.pid}: ${
        libc === undefined
          ? "it does not use glibc's malloc (static or not a C program)"
          : "the hooks cannot be written into it"
      }`,
    );
  }
  root.libcStart = libc!;
  root.mode = mode;
  root.execBp = libc! + execveOffset;
  root.execOrig = t.setByte(first!, root.execBp, 0xcc);
  root.rbrk = ld! + rbrkOffset;
  root.rbrkOrig = t.setByte(first!, root.rbrk, 0xcc);
  return mode;
}

/**
 * Steps thread `tid` (stopped) on while it is inside the first bytes of a
 * hooked entry in `entries`: the jump written there would cut the
 * instruction it stopped in (seized mid-prologue, it ran into the jump's
 * displacement: SIGSEGV). A signal met on the way is kept in `seized`.
 */
function _stepOutOf(
  t: Tracee,
  tid: number,
  entries: number[],
  seized: Map<number, number>,
): void {
  for (let steps = 0; steps < 64 && t.getRegs(tid); steps++) {
    const rip = Number(t.regs[REG.rip]);
    if (!entries.some((e) => rip > e && rip < e + PATCH_BYTES)) return;
    const sig = t.step(tid);
    if (sig !== SIGTRAP && sig !== 0 && !seized.get(tid)) seized.set(tid, sig);
  }
}

/** The tracer's threads, as the detach needs them. */
export interface TracedThreads {
  /** Threads alive (emptied by the detach). */
  alive: Set<number>;
  /** Threads past their exit stop: never waited for (they never stop). */
  exiting: Set<number>;
  /** The process of each thread. */
  procOf: Map<number, Proc>;
  /** Thread `tid` of `proc` stopped at its exit (before it is continued). */
  threadExits(proc: Proc, tid: number): void;
  /**
   * The stubs' clock: paired again before the last rings are read, and
   * the counter read for a stub of a program that turned rdtsc off.
   */
  clock?: StubClock;
}

/**
 * Detaches from every traced thread: each stopped, the rings read, the
 * hooks and breakpoints taken out, each let go with the signal it was
 * about to take. `held`: threads stopped already (their stop reaped, not
 * let run since), with the signal each was about to take.
 */
export function detachAll(
  t: Tracee,
  th: TracedThreads,
  held?: Map<number, number>,
): void {
  const { alive, exiting, procOf } = th;
  const stopped = new Map<number, number>();
  // (A thread that has ended, or is past its exit stop, is not waited
  // for: it would never stop. An interrupt of an ended main thread
  // succeeds all the same. One `held` stopped already: interrupted, it
  // would stop again only once let run.)
  for (const tid of alive) {
    const sig = held?.get(tid);
    if (sig !== undefined) stopped.set(tid, sig);
    else if (exiting.has(tid) || !t.interrupt(tid)) alive.delete(tid);
  }
  // Until every thread known alive has stopped: a thread cloned meanwhile
  // stops too (and is let go) but does not count for one of them, or the
  // hooks stayed in when no stopped thread of the process was left to
  // take them out (its later calls then exhausted the slots: SIGTRAP).
  const waiting = () => {
    for (const tid of alive) if (!stopped.has(tid)) return true;
    return false;
  };
  while (waiting()) {
    const { tid, s } = t.wait(-1, WALL);
    if (tid < 0) break;
    if ((s & 0xff) !== 0x7f) {
      alive.delete(tid);
      continue;
    }
    const sig = (s >> 8) & 0xff;
    const event = s >>> 16;
    if (event === EV_STOP) {
      if (
        th.clock !== undefined && !stopped.has(tid) && t.getRegs(tid) &&
        procOf.get(tid)?.mode?.readsClock(Number(t.regs[REG.rip]))
      ) {
        // At a stub's rdtsc, perhaps with its SIGSEGV pending (the
        // interrupt's stop is taken first), which would kill the program
        // once let go, if it turned the counter off: one step, and the
        // read is done here if it faults.
        const sig = t.step(tid);
        if (sig === SIGSEGV && t.getRegs(tid)) readCounterFor(t, tid, th.clock);
        stopped.set(tid, sig === SIGSEGV || sig === SIGTRAP ? 0 : sig);
        continue;
      }
      stopped.set(tid, stopped.get(tid) ?? 0);
      continue;
    }
    if (event === EV_EXIT) {
      // Ending: it will not stop again (its memory through another).
      const p = procOf.get(tid);
      if (p !== undefined) th.threadExits(p, tid);
      alive.delete(tid);
      t.cont(tid);
      continue;
    }
    if (event === EV_EXEC) {
      // An exec in the window: the thread that exec'd is the process's
      // only one now, with its pid; its old id (another thread's) never
      // stops again (waited for, the detach hung). The new image holds
      // none of our code: nothing to take out of it (the old image's
      // bytes written into it would corrupt it).
      const former = t.eventMsg(tid);
      if (former !== tid) {
        alive.delete(former);
        stopped.delete(former);
      }
      const p = procOf.get(tid);
      if (p !== undefined && p.pid === tid) {
        // What the old image's threads recorded is read first, as the
        // tracing loop reads it at every stop.
        p.mode?.drain(true);
        p.mode?.close();
        p.mode = null;
        p.execBp = 0;
        p.rbrk = 0;
      } else procOf.delete(tid); // a vfork child: its parent's image is not its own now
      stopped.set(tid, 0);
      continue;
    }
    if (event !== 0) {
      t.cont(tid); // a clone on its way: it stops next
      continue;
    }
    if (
      sig === SIGSEGV && th.clock !== undefined && t.getRegs(tid) &&
      procOf.get(tid)?.mode?.readsClock(Number(t.regs[REG.rip]))
    ) {
      // A stub's rdtsc in a program that turned the counter off for itself
      // (as in the tracer's loop): read here, past it, and let go with no
      // signal (given back, the SIGSEGV killed the program).
      readCounterFor(t, tid, th.clock);
      stopped.set(tid, 0);
      continue;
    }
    if (sig === SIGTRAP && t.getRegs(tid)) {
      const p = procOf.get(tid);
      const bp = Number(t.regs[REG.rip]) - 1;
      if (p !== undefined && (bp === p.execBp || bp === p.rbrk)) {
        // Stopped on the execve or _dl_debug_state breakpoint: run the
        // real instruction instead.
        t.regs[REG.rip] = BigInt(bp);
        t.setRegs(tid);
        stopped.set(tid, 0);
        continue;
      }
      if (p?.mode?.trap(tid, bp)) continue; // a full ring: read, and it runs on
    }
    stopped.set(tid, sig); // a signal of the program's: given back at the detach
  }
  // (The wait above can be long: records made meanwhile would be
  // extrapolated far past the last pairing.)
  th.clock?.sync();
  for (const p of new Set(procOf.values())) {
    const any = [...stopped.keys()].find((tid) => procOf.get(tid) === p);
    if (any === undefined) continue;
    p.mode?.drain(true);
    p.mode?.remove(any);
    if (p.execBp > 0) t.setByte(any, p.execBp, p.execOrig);
    if (p.rbrk > 0) t.setByte(any, p.rbrk, p.rbrkOrig);
  }
  for (const [tid, sig] of stopped) t.detach(tid, sig);
  alive.clear();
}

/**
 * An attached trace failed partway (the tracer threw): the program is let
 * go as a detach would, or it ran into a hook's int3 (a full ring) or an
 * exec's breakpoint once we were gone. Threads stopped when it threw are
 * let go from where they are; one not yet announced (a new thread, a fork
 * child whose event had not come) is taken as its process's, and a fork
 * child gets its copy of the hooks taken out by `release`.
 */
export function letGoAfterThrow(
  t: Tracee,
  th: TracedThreads,
  release: (parent: Proc, child: number) => void,
): void {
  const held = t.stopped();
  for (const tid of held.keys()) {
    if (th.alive.has(tid)) continue;
    const tgid = tgidOf(tid);
    const owner = th.procOf.get(tgid);
    if (owner !== undefined && tgid !== tid) {
      th.alive.add(tid);
      th.procOf.set(tid, owner);
      continue;
    }
    const parent = th.procOf.get(statusField(`/proc/${tid}/status`, "PPid"));
    if (parent !== undefined) release(parent, tid);
    else t.detach(tid, held.get(tid));
  }
  detachAll(t, th, held);
}
