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
  EV_CLONE,
  EV_EXEC,
  EV_EXIT,
  EV_FORK,
  EV_STOP,
  EV_VFORK,
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
  /**
   * Takes the hooks and breakpoints out of fork child `child` of `parent`
   * (its copy of them) and lets it go: a child born in the detach's
   * window, or not yet announced, is let go so (left in, its copy of the
   * ring filled up and its int3 killed it).
   */
  release?: (parent: Proc, child: number) => void;
  /** vfork children whose parent still waits for their exec or exit. */
  vforking?: Iterable<number>;
}

/**
 * Detaches from every traced thread: each stopped, the rings read, the
 * hooks and breakpoints taken out, each let go with the signal it was
 * about to take. `held`: threads stopped already (their stop reaped, not
 * let run since), with the wait status of that stop: each is handled as
 * if reaped here (a breakpoint's pc put back, an exec's image dropped, a
 * stub's fault read). The rings' last records go to their consumer; if
 * it throws, the detach is done all the same and then its first error
 * thrown.
 */
export function detachAll(
  t: Tracee,
  th: TracedThreads,
  held?: Map<number, number>,
): void {
  const { alive, exiting, procOf } = th;
  const stopped = new Map<number, number>();
  // vfork children let run: their parent, in the kernel's vfork wait, can
  // stop only once its child has exec'd or exited (the child held, the
  // detach waited for ever). Their stops are continued, not held, until
  // their exec's stop.
  const vforking = new Set(th.vforking ?? []);
  // Exec'd in the window: a new image, none of our code in it.
  const execd = new Set<number>();
  let failed: { e: unknown } | undefined;
  const drain = (p: Proc) => {
    try {
      p.mode?.drain(true);
    } catch (e) {
      failed ??= { e };
    }
  };
  // (A thread that has ended, or is past its exit stop, is not waited
  // for: it would never stop. An interrupt of an ended main thread
  // succeeds all the same. One `held` is interrupted too: if its stop is
  // continued below, it stops again at once.)
  for (const tid of alive) {
    if (exiting.has(tid)) alive.delete(tid);
    else if (!t.interrupt(tid) && !held?.has(tid)) alive.delete(tid);
  }
  // Continues a thread that must still stop: any ptrace stop (an event's)
  // clears an interrupt not yet taken, so it is interrupted again (once
  // continued alone, it ran on and the detach waited for ever).
  const again = (tid: number) => {
    t.cont(tid);
    if (alive.has(tid) && !vforking.has(tid)) t.interrupt(tid);
  };
  const hold = (tid: number, sig: number) => {
    if (vforking.has(tid)) t.cont(tid, sig);
    else stopped.set(tid, sig);
  };
  // One stop of `tid`, reaped (`s`: its wait status).
  const handle = (tid: number, s: number) => {
    if ((s & 0xff) !== 0x7f) {
      alive.delete(tid);
      vforking.delete(tid);
      return;
    }
    if (!procOf.has(tid) && !execd.has(tid)) {
      // Not announced yet: a new thread joins its process; a new process
      // is a vfork child (let run) or a fork child (held, released last).
      const tgid = tgidOf(tid);
      const owner = tgid === tid ? undefined : procOf.get(tgid);
      if (owner !== undefined) procOf.set(tid, owner);
      alive.add(tid);
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
        hold(tid, sig === SIGSEGV || sig === SIGTRAP ? 0 : sig);
        return;
      }
      hold(tid, stopped.get(tid) ?? 0);
      return;
    }
    if (event === EV_EXIT) {
      // Ending: it will not stop again (its memory through another).
      const p = procOf.get(tid);
      if (p !== undefined) th.threadExits(p, tid);
      alive.delete(tid);
      vforking.delete(tid);
      t.cont(tid);
      return;
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
        drain(p);
        p.mode?.close();
        p.mode = null;
        p.execBp = 0;
        p.rbrk = 0;
      } else procOf.delete(tid); // a vfork child: its parent's image is not its own now
      execd.add(tid);
      vforking.delete(tid);
      stopped.set(tid, 0);
      return;
    }
    if (event === EV_VFORK) {
      // Its child runs on its memory until it execs: let run (see above).
      const child = t.eventMsg(tid);
      const p = procOf.get(tid);
      if (p !== undefined) procOf.set(child, p);
      vforking.add(child);
      alive.add(child);
      if (stopped.delete(child)) t.cont(child);
      again(tid);
      return;
    }
    if (event !== 0) {
      // A clone or fork on its way (it stops next), or the end of a vfork.
      // The new thread or child is waited for too: its first stop, come
      // after we were gone, left it stopped (a fork child: with our hooks).
      // Not one gone already: a thread whose first stop came before this
      // event was let run by the tracing loop, and may have ended and
      // been reaped since (waited for, it hung the detach).
      if (event === EV_FORK || event === EV_CLONE) {
        const child = t.eventMsg(tid);
        if (statusField(`/proc/${child}/status`, "Tgid") > 0) alive.add(child);
      }
      again(tid);
      return;
    }
    if (
      sig === SIGSEGV && th.clock !== undefined && t.getRegs(tid) &&
      procOf.get(tid)?.mode?.readsClock(Number(t.regs[REG.rip]))
    ) {
      // A stub's rdtsc in a program that turned the counter off for itself
      // (as in the tracer's loop): read here, past it, and let go with no
      // signal (given back, the SIGSEGV killed the program).
      readCounterFor(t, tid, th.clock);
      hold(tid, 0);
      return;
    }
    if (sig === SIGTRAP && t.getRegs(tid)) {
      const p = procOf.get(tid);
      const bp = Number(t.regs[REG.rip]) - 1;
      if (p !== undefined && (bp === p.execBp || bp === p.rbrk)) {
        // Stopped on the execve or _dl_debug_state breakpoint: run the
        // real instruction instead.
        t.regs[REG.rip] = BigInt(bp);
        t.setRegs(tid);
        if (vforking.has(tid)) {
          // A vfork child on its way to its exec: its breakpoint (its
          // parent's memory) goes now, as it must run on.
          if (bp === p.execBp) {
            t.setByte(tid, bp, p.execOrig);
            p.execBp = 0;
          } else {
            t.setByte(tid, bp, p.rbrkOrig);
            p.rbrk = 0;
          }
        }
        hold(tid, 0);
        return;
      }
      if (p?.mode?.trap(tid, bp)) {
        // A full ring: read, and it runs on (to stop again).
        if (alive.has(tid) && !vforking.has(tid)) t.interrupt(tid);
        return;
      }
    }
    hold(tid, sig); // a signal of the program's: given back at the detach
  };
  for (const [tid, s] of held ?? []) handle(tid, s);
  // Until every thread known alive has stopped.
  const waiting = () => {
    for (const tid of alive) if (!stopped.has(tid)) return true;
    return false;
  };
  while (waiting()) {
    const { tid, s } = t.wait(-1, WALL);
    if (tid < 0) break;
    handle(tid, s);
  }
  // (The wait above can be long: records made meanwhile would be
  // extrapolated far past the last pairing.)
  th.clock?.sync();
  // A fork child stopped (born in the window, or not yet announced): its
  // copy of the hooks out (its process's, by its parent's).
  for (const tid of [...stopped.keys()]) {
    if (procOf.has(tid) || execd.has(tid)) continue;
    const parent = procOf.get(statusField(`/proc/${tid}/status`, "PPid"));
    if (parent === undefined || th.release === undefined) continue;
    stopped.delete(tid);
    th.release(parent, tid);
  }
  _stepOutOfStubs(t, th, stopped, drain);
  for (const p of new Set(procOf.values())) {
    const own = [...stopped.keys()].filter((tid) => procOf.get(tid) === p);
    const any = own[0];
    if (any === undefined) continue;
    drain(p);
    p.mode?.remove(any);
    if (p.execBp > 0) t.setByte(any, p.execBp, p.execOrig);
    if (p.rbrk > 0) t.setByte(any, p.rbrk, p.rbrkOrig);
    // The region goes too when nothing can run there (re-attached, each
    // attach left one, 18 MB); never with a vfork child on the move (it
    // may be inside the stubs of the memory it shares).
    if (vforking.size === 0) p.mode?.free?.(any, own);
  }
  for (const [tid, sig] of stopped) t.detach(tid, sig);
  alive.clear();
  if (failed !== undefined) throw failed.e;
}

/** Most rounds of single steps the detach takes to bring threads out of the stubs. */
const STEPS_OUT = 1 << 16;

/**
 * Steps every thread of `stopped` whose pc is in its process's injected
 * code out of it, before the original bytes are back and we let go: once
 * let go, it ran on into a stub's int3 (a full ring, a busy slot) with no
 * tracer, or had run one just before the detach's interrupt stopped it
 * (its SIGTRAP pending, taken after the interrupt's stop), and the program
 * died of SIGTRAP. The threads take one step each in turn: one may wait
 * for another's (a ring record reserved, not yet committed, holds the
 * drain back). A trap met there is handled as the tracing loop does (the
 * ring read: room made, slots freed; the stub retries, a busy slot with
 * the next one), and a stub's rdtsc fault (a program that turned the
 * counter off) by reading the counter. The signals of the program's met
 * on the way are kept, each with its siginfo, for the detach (it kept one
 * per thread: a second one was lost).
 * Other threads' calls in flight (in the real malloc) need nothing: they
 * return through the common path, which the drained ring has room for.
 */
function _stepOutOfStubs(
  t: Tracee,
  th: TracedThreads,
  stopped: Map<number, number>,
  drain: (p: Proc) => void,
): void {
  const inside = new Map<number, Proc>();
  for (const tid of stopped.keys()) {
    const p = th.procOf.get(tid);
    if (
      p?.mode && t.getRegs(tid) && p.mode.inStub(Number(t.regs[REG.rip]))
    ) inside.set(tid, p);
  }
  for (let round = 0; inside.size > 0 && round < STEPS_OUT; round++) {
    for (const [tid, p] of inside) {
      const mode = p.mode;
      if (!mode || !t.getRegs(tid) || !mode.inStub(Number(t.regs[REG.rip]))) {
        inside.delete(tid);
        continue;
      }
      const at = Number(t.regs[REG.rip]);
      const sig = t.step(tid);
      if (!t.getRegs(tid)) {
        // Ended (killed from outside): nothing to let go.
        inside.delete(tid);
        stopped.delete(tid);
        continue;
      }
      const rip = Number(t.regs[REG.rip]);
      if (sig === SIGTRAP) {
        // The step's own trap, an interrupt's stop, or a stub's int3 (run
        // now, or pending since before the interrupt): none the program's.
        if (mode.fullTrap(at) || mode.fullTrap(rip - 1)) drain(p);
      } else if (
        sig === SIGSEGV && th.clock !== undefined && mode.readsClock(at)
      ) {
        readCounterFor(t, tid, th.clock);
      } else if (sig !== 0) t.keepSignal(tid, sig); // given at the detach
    }
  }
}

/**
 * An attached trace failed partway (the tracer threw): the program is let
 * go as a detach would, or it ran into a hook's int3 (a full ring) or an
 * exec's breakpoint once we were gone. Threads stopped when it threw are
 * handled from the stop they are at (detachAll's `held`); one not yet
 * announced (a new thread, a fork child whose event had not come) is
 * taken as its process's, and a fork child gets its copy of the hooks
 * taken out by `release`.
 */
export function letGoAfterThrow(
  t: Tracee,
  th: TracedThreads,
  release: (parent: Proc, child: number) => void,
): void {
  detachAll(t, { ...th, release }, t.stops());
}
