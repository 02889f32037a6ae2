/**
 * Tracing malloc, calloc, realloc, free and the aligned/array allocators of
 * a native program with ptrace from Deno's FFI, and its native stacks with
 * libunwind-ptrace (reference: shared/reference/native-tracing.md; no C code
 * of ours). The child is started stopped (`sh -c 'kill -STOP $$; exec "$0"
 * "$@"'`), seized, and followed to its exec; a breakpoint on ld.so's
 * `_dl_debug_state` says when libc is mapped, and then libc's allocation
 * functions are hooked.
 *
 * By default the hooks run inside the program (inject.ts): at that first
 * stop the tracer maps a page in the program, writes a stub per hooked
 * function and patches each entry with a jump to it. A stub appends the
 * call to a ring buffer, and an allocation's result is appended by a
 * trampoline its return address is swapped for. When a stack is wanted
 * (every allocation with stacks on; with a rate, the ones Go's sampler
 * picks, from countdowns the tracer draws ahead), the stub copies the
 * callee-saved registers and up to ~2 KB of the stack into the call's slot,
 * and the tracer unwinds that copy with `.eh_frame` (eh_unwind.ts); the
 * ring is read by hook_ring.ts, the program's memory through remote.ts. The
 * program stops only when the ring or the slots are full and when a thread
 * exits; the tracer reads the ring then and at every other stop.
 *
 * Without them (`mode: "breakpoints"`, or when the page or the stubs cannot
 * be made), every call stops at a breakpoint (breakpoint_mode.ts). Both
 * strategies are {@link HookMode}s, one per traced process.
 *
 * Processes are followed: an exec is caught at libc's `execve` (a
 * breakpoint: the ring is read before the old image goes) and the new
 * image is hooked when its loader reaches `_dl_debug_state`, as the first
 * was; a fork child (on by default) gets its own copy of the hooks and
 * its own reader; a vfork child's calls, made on its parent's thread until
 * it execs or exits, are its own. Every event carries its pid and image.
 * Job control passes through: a stop signal is delivered and the group
 * stop is kept (PTRACE_LISTEN) until SIGCONT.
 *
 * Starting the program stopped and seizing threads are in seize.ts; the
 * hooks planted into a running process (`-p`) and the detach, attach.ts;
 * what is kept of each process, traced_proc.ts.
 *
 * @module
 */

import { cstr, type Libc, loadLibc, loadUnwind, PT, REG } from "./ffi.ts";
import { Sampler } from "../runtime/sampling.ts";
import { EventObjects, type EventOut, NATIVE_KINDS } from "./event.ts";
import { RemoteMemory } from "./remote.ts";
import { ProcMaps } from "./proc_maps.ts";
import {
  EV_CLONE,
  EV_EXEC,
  EV_EXIT,
  EV_FORK,
  EV_STOP,
  EV_VFORK,
  EV_VFORK_DONE,
  SIGTRAP,
  Tracee,
  WALL,
  WNOHANG,
} from "./tracee.ts";
import type { ModeEvent, ModeSettings } from "./hook_mode.ts";
import { BreakpointMode, emulatorFor, stepPast } from "./breakpoint_mode.ts";
import { InjectedMode } from "./injected_mode.ts";
import { ENDED } from "./ring_map.ts";
import { detachAll, letGoAfterThrow, plantRunning } from "./attach.ts";
import { seizeRunning, seizeThread, spawnStopped } from "./seize.ts";
import { tgidOf } from "./proc_status.ts";
import { type Proc, reachThrough } from "./traced_proc.ts";
import { readCounterFor, stubClock } from "./stub_clock.ts";

import type { NativeOptions } from "./native_options.ts";

export type { NativeEvent, NativeFrame } from "./event.ts";
export type { NativeOptions } from "./native_options.ts";
export { subFlags8 } from "./breakpoint_mode.ts";

const SIGCONT = 18;
const SIGSEGV = 11;
/** SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: the signals of a group stop. */
const STOP_SIGNALS = new Set([19, 20, 21, 22]);
const SYS_CLONE = 56n;
const SYS_CLONE3 = 435n;
const CLONE_VM = 0x100n;

/**
 * Traces `argv` to its end and returns its exit code (128 + signal when a
 * signal killed it).
 *
 * @throws {Error} when ptrace is not permitted, the program cannot be
 *   started, or libunwind is missing (with stacks on, for breakpoints).
 */
export function traceNative(argv: string[], opts: NativeOptions): number {
  const undo: { fail?: () => void } = {};
  try {
    return _trace(argv, opts, undo);
  } catch (e) {
    // Whatever threw (not a program's fault): an attached program is let
    // go clean, one we started is killed; nothing is left stopped.
    // A clean-up that throws too (the consumer failing again on the
    // rings' last records) has let the program go all the same: the
    // first error is the one reported.
    try {
      undo.fail?.();
    } catch { /* the first error is reported */ }
    throw e;
  }
}

/**
 * Kills the threads `tids` and every other one the tracer holds stopped (a
 * fork child whose first stop was waited for and not yet counted, or one
 * held until its parent's fork event: not in the tracer's `alive`, and left
 * in its ptrace stop until the tracer's thread ends, which for a library
 * caller is never), then reaps what it can of them within ~1 s: each exit
 * stop let run into the kill, each end taken.
 */
function killAll(c: Libc, t: Tracee, tids: number[]): void {
  const left = new Set([...tids, ...t.stopped().keys()]);
  for (const tid of left) c.kill(tid, 9);
  for (let round = 0; round < 200 && left.size > 0; round++) {
    for (const tid of left) {
      const { tid: r, s } = t.wait(tid, WALL | WNOHANG);
      if (r < 0 || (r === tid && (s & 0xff) !== 0x7f)) left.delete(tid);
      else if (r === tid) t.cont(tid); // a stop on its way out
    }
    if (left.size > 0) c.usleep(5000);
  }
}

// traceNative's body; `undo.fail` is set, once there are threads to let
// go, to what leaves them as they should be if this throws.
function _trace(
  argv: string[],
  opts: NativeOptions,
  undo: { fail?: () => void },
): number {
  const c: Libc = loadLibc();
  const t = new Tracee(c);
  const wantStacks = opts.stacks ?? true;
  const rate = opts.memProfileRate ?? 0;
  const followForks = opts.followForks ?? true;
  // libunwind-ptrace serves the breakpoint mode: missing, it fails now.
  if (opts.mode === "breakpoints" && wantStacks) loadUnwind();
  // Offsets of the hooked functions, from our own process's libc and ld.so.
  const info = new BigUint64Array(4);
  const infoU8 = new Uint8Array(info.buffer);
  const offsetOf = (handle: Deno.PointerValue, name: string): number => {
    const p = c.dlsym(handle, cstr(name));
    if (p === null) throw new Error(`cannot find ${name} in this process`);
    if (c.dladdr(p, infoU8) === 0) throw new Error(`dladdr(${name}) failed`);
    return Number(BigInt(Deno.UnsafePointer.value(p)) - info[1]);
  };
  const libcHandle = c.dlopen(cstr("libc.so.6"), 0x4 /* RTLD_NOLOAD */ | 0x1);
  const settings: ModeSettings = {
    hookOffsets: [],
    wantStacks,
    sampler: rate > 0
      ? new Sampler("exponential", opts.seed ?? 1, 0, rate)
      : null,
    rate,
    stackCache: opts.stackCache ?? true,
    sharedRing: opts.sharedRing ?? true,
    stats: opts.stats ?? { unwound: 0, reused: 0 },
  };
  for (const k of NATIVE_KINDS) {
    try {
      settings.hookOffsets.push([k, offsetOf(libcHandle, k)]);
    } catch {
      // not in this libc
    }
  }
  const rbrkOffset = offsetOf(null, "_dl_debug_state");
  const execveOffset = offsetOf(libcHandle, "execve");

  const attached = opts.attach !== undefined;
  const pid = attached ? opts.attach! : spawnStopped(c, argv);
  // An attached process must outlive us: no PTRACE_O_EXITKILL then.
  const ptraceOptions = PT.O_TRACEEXEC | PT.O_TRACECLONE | PT.O_TRACEFORK |
    PT.O_TRACEVFORK | PT.O_TRACEVFORKDONE | PT.O_TRACEEXIT |
    (attached ? 0n : PT.O_EXITKILL);
  /** Attached: the threads seized, all stopped, with the signals they were about to take. */
  const seized = attached
    ? seizeRunning(c, t, pid, ptraceOptions)
    : new Map<number, number>();
  if (!attached) {
    seizeThread(c, pid, pid, false, ptraceOptions);
    c.kill(pid, SIGCONT);
  }
  undo.fail = () => {
    if (!attached) c.kill(pid, 9);
    else for (const [tid, sig] of t.stopped()) t.detach(tid, sig);
  };
  opts.onStart?.(pid);

  const t0 = performance.now();
  // The hooks' events carry the time their stub saw them (stub_clock.ts);
  // the clock is read at each stop and before each reading of the rings.
  const clock = stubClock(c, t0);
  const out: EventOut = opts.out ??
    new EventObjects(opts.onEvent ?? (() => {}));
  /** Process of each thread (a vfork child: its parent's, whose memory it runs on). */
  const procOf = new Map<number, Proc>();
  /** The pid each thread's events are charged to. */
  const pidOfTid = new Map<number, number>([[pid, pid]]);
  // Changes of pidOfTid, counted: the ring readers' cached pid of their
  // last thread is good while the count stays.
  let pidEpoch = 0;
  const setPidOf = (tid: number, p: number) => {
    pidOfTid.set(tid, p);
    pidEpoch++;
  };
  const knownTids = new Set<number>([pid]);
  // Threads that stopped before their creator's clone event was read: known
  // past their end, until that event comes (a long run's ended threads are
  // otherwise forgotten: thread ids are reused).
  const unannounced = new Set<number>();
  const alive = new Set<number>([pid]);
  /** vfork parent thread → [its thread pointer, the child]. */
  const vforks = new Map<number, [number, number]>();
  const imageOf = (p: number) => {
    try {
      return Deno.readLinkSync(`/proc/${p}/exe`);
    } catch {
      return "?";
    }
  };
  const newProc = (p: number, from?: Proc): Proc => {
    const image = from?.image ?? imageOf(p);
    let lastTid = -1;
    let lastPid = p;
    let lastEpoch = pidEpoch;
    const proc: Proc = {
      pid: p,
      tracee: t,
      mem: new RemoteMemory(c, p),
      maps: new ProcMaps(p),
      libcStart: from?.libcStart ?? 0,
      image,
      // A fork child runs its parent's image (not a later one of that path).
      imageId: from?.imageId ?? out.imageId(image),
      mode: null,
      rbrk: from?.rbrk ?? 0,
      rbrkOrig: from?.rbrkOrig ?? 0,
      execBp: from?.execBp ?? 0,
      execOrig: from?.execOrig ?? 0,
      emit: (e: ModeEvent) =>
        out.event(
          NATIVE_KINDS.indexOf(e.kind),
          e.tid,
          pidOfTid.get(e.tid) ?? p,
          proc.imageId,
          e.addr,
          e.size,
          e.old,
          e.frames.length === 0 ? -1 : out.stackId(e.frames),
          e.sampled,
          performance.now() - t0,
        ),
      out: {
        put: (kind, tid, addr, size, old, stack, sampled, stamp) => {
          // The last thread's pid again, without a lookup (the usual case).
          if (tid !== lastTid || pidEpoch !== lastEpoch) {
            lastTid = tid;
            lastEpoch = pidEpoch;
            lastPid = pidOfTid.get(tid) ?? p;
          }
          out.event(
            kind,
            tid,
            lastPid,
            proc.imageId,
            addr,
            size,
            old,
            stack,
            sampled,
            clock.at(stamp),
          );
        },
        stackId: (frames) => out.stackId(frames),
      },
    };
    return proc;
  };
  const root = newProc(pid);
  procOf.set(pid, root);
  let rootExecd = attached;

  // A process image begins (its exec): hook it when its loader says libc is there.
  const startImage = (proc: Proc) => {
    proc.mode?.close();
    proc.mode = null;
    const old = proc.imageId;
    proc.image = imageOf(proc.pid);
    proc.imageId = out.imageId(proc.image, true);
    out.execd?.(proc.pid, old, proc.imageId);
    proc.maps.refresh();
    proc.execBp = 0;
    proc.rbrk = 0;
    proc.libcStart = 0;
    const ld = proc.maps.ldStart();
    if (ld !== undefined) {
      proc.rbrk = ld + rbrkOffset;
      proc.rbrkOrig = t.setByte(proc.pid, proc.rbrk, 0xcc);
    }
  };
  // libc is mapped: plant the hooks (`tid` stopped on the int3 at `at`).
  const plant = (proc: Proc, tid: number, libc: number, at: number) => {
    proc.libcStart = libc;
    if (opts.mode !== "breakpoints" && !opts.injectFails) {
      // The ring shared with us only in the program's own process (its
      // execs too): making and mapping one for each image of a shell's
      // children cost ~14% more CPU on a loop of 300 fork+execs.
      const sharedRing = settings.sharedRing && proc.pid === pid;
      try {
        proc.mode = InjectedMode.plant(
          proc,
          { ...settings, sharedRing },
          tid,
          at,
        );
      } catch (e) {
        // It ended there: the loop's next wait says how (its exit code).
        if ((e as Error).cause === ENDED) return;
        throw e;
      }
    }
    if (proc.mode === null) {
      try {
        proc.mode = new BreakpointMode(proc, settings, proc.rbrk, tid);
      } catch (e) {
        c.kill(pid, 9); // nothing left stopped
        throw e;
      }
    }
    // execve: read the ring before the image goes.
    proc.execBp = libc + execveOffset;
    proc.execOrig = t.setByte(tid, proc.execBp, 0xcc);
    // _dl_debug_state's breakpoint stays: the breakpoint mode's calls
    // return to it, and the injected hooks learn of each dlopen and
    // dlclose there (their stack hashes tell code addresses by the maps).
  };
  // Takes every hook and breakpoint out of a fork child we do not follow.
  const release = (parent: Proc, child: number) => {
    parent.mode?.remove(child);
    if (parent.rbrk > 0) t.setByte(child, parent.rbrk, parent.rbrkOrig);
    if (parent.execBp > 0) t.setByte(child, parent.execBp, parent.execOrig);
    t.detach(child);
  };
  /** Threads stopped before the event that announces them. */
  const earlyStops = new Set<number>();
  const vforkKids = new Set<number>();
  // A fork child of `tid` (of `proc`): traced as a process of its own, or
  // let go untraced (--no-follow-forks); both then run on.
  const follow = (proc: Proc, tid: number, child: number) => {
    if (!earlyStops.delete(child)) t.wait(child, WALL); // its first stop
    knownTids.add(child);
    if (!followForks) {
      release(proc, child);
    } else {
      const kid = newProc(child, proc);
      out.forked?.(pidOfTid.get(tid) ?? proc.pid, child, kid.imageId);
      kid.maps.refresh();
      procOf.set(child, kid);
      setPidOf(child, child);
      alive.add(child);
      try {
        kid.mode = proc.mode?.forked(kid, child) ?? null;
      } catch (e) {
        kid.mode = null;
        // Killed while its ring was made its own: what the step kept of
        // its end is dropped (the release lets it end): read later, it
        // was taken for a new process's stop, alive for ever.
        if ((e as Error).cause === ENDED) t.takeDeferred(child);
      }
      if (proc.mode !== null && kid.mode === null) {
        // Its hooks cannot be read: let it go untraced, unharmed.
        release(proc, child);
        procOf.delete(child);
        alive.delete(child);
      } else t.cont(child);
    }
    t.cont(tid);
  };
  // Whether the clone `tid` is stopped in shares its memory (CLONE_VM: a
  // thread, or a process on the same memory); clone's flags are its first
  // argument, clone3's the first word of the struct it points to.
  const cloneSharesMemory = (tid: number): boolean => {
    if (!t.getRegs(tid)) return true;
    const nr = t.regs[REG.orig_rax];
    const arg = t.regs[REG.rdi];
    const flags = nr === SYS_CLONE
      ? arg
      : nr === SYS_CLONE3
      ? t.peek(tid, Number(arg))
      : CLONE_VM;
    return (flags & CLONE_VM) !== 0n;
  };
  // A new thread, before it runs: its thread pointer names its records.
  const newThread = (proc: Proc, tid: number) => {
    knownTids.add(tid);
    alive.add(tid);
    if (proc.mode !== null && !vforkKids.has(tid) && t.getRegs(tid)) {
      proc.mode.thread(tid, t.fsBase, Number(t.regs[REG.rsp]));
    }
    t.cont(tid);
  };
  // A process with no thread left: what its hooks hold (the ring's
  // mapping) goes too, once what is left in it is read (a shared ring
  // outlives it).
  const closeIfLast = (proc: Proc) => {
    if (proc.mode && ![...procOf.values()].includes(proc)) {
      proc.mode.drain(false);
      proc.mode.close();
    }
  };
  const execEmulation = new Map<number, ReturnType<typeof emulatorFor>>();
  // Threads past their exit stop: alive until reaped (a main thread that
  // ended first is reaped only with its whole process), never reached
  // through, nor waited for, again.
  const exiting = new Set<number>();
  // Thread `tid` of `proc` stopped at its exit.
  const threadExits = (proc: Proc, tid: number) => {
    exiting.add(tid);
    if (tid !== proc.mem.pid) return;
    // The thread its memory and maps are reached through is ending (a
    // main thread's pthread_exit): through another one from now on, or
    // the rest of the process's calls would be read from nowhere.
    const other = [...alive].find((x) =>
      !exiting.has(x) && procOf.get(x) === proc && !vforkKids.has(x)
    );
    if (other !== undefined) reachThrough(proc, other);
  };

  undo.fail = () => {
    if (attached) {
      letGoAfterThrow(t, {
        alive,
        exiting,
        procOf,
        threadExits,
        vforking: [...vforks.values()].map((v) => v[1]),
      }, release);
    } else killAll(c, t, [...alive, ...earlyStops]);
  };
  let exitCode = -1;
  if (attached) {
    const mode = plantRunning(
      t,
      root,
      seized,
      settings,
      rbrkOffset,
      execveOffset,
    );
    for (const [tid, sig] of seized) {
      knownTids.add(tid);
      alive.add(tid);
      procOf.set(tid, root);
      setPidOf(tid, pid);
      if (t.getRegs(tid)) {
        mode.thread(tid, t.fsBase, Number(t.regs[REG.rsp]));
      }
      t.cont(tid, sig);
    }
  }
  const deadline = opts.detachWanted;
  // While the program runs, the rings are read every few milliseconds (the
  // tracer's own thread): events reach consumers as they happen, and the
  // program rarely finds a ring full.
  let idle = 0;
  const drainAll = () => {
    let n = 0;
    for (const p of new Set(procOf.values())) n += p.mode?.drain(false) ?? 0;
    return n;
  };
  let killed = false;
  while (alive.size > 0) {
    if (attached && deadline?.()) {
      clock.sync();
      detachAll(t, {
        alive,
        exiting,
        procOf,
        threadExits,
        clock,
        release,
        vforking: [...vforks.values()].map((v) => v[1]),
      }, t.stops()); // (threads stopped before their event: earlyStops)
      exitCode = 0; // it runs on
      break;
    }
    if (!attached && !killed && opts.killWanted?.()) {
      killed = true;
      for (const tid of alive) c.kill(tid, 9);
      // A stopped child waiting for a fork event its killed parent never
      // sends: let it run into the kill (it stayed stopped for ever).
      for (const tid of earlyStops) t.cont(tid);
      earlyStops.clear();
    }
    const { tid, s } = t.wait(-1, WALL | WNOHANG);
    clock.sync();
    if (tid === 0) {
      if (drainAll() > 0) idle = 0;
      else c.usleep(250 << Math.min(idle++, 4)); // up to 4 ms
      continue;
    }
    idle = 0;
    if (tid < 0) break;
    const sig = (s >> 8) & 0xff;
    const event = s >>> 16;
    const proc = procOf.get(tid);
    if ((s & 0x7f) === 0 || (s & 0xff) !== 0x7f) {
      // Exited, or killed by a signal.
      if (!unannounced.has(tid)) knownTids.delete(tid);
      // (A vfork child's calls may still be read under its parent's
      // thread: its pid stays known.)
      if (!vforkKids.delete(tid) && tid !== pid && pidOfTid.delete(tid)) {
        pidEpoch++;
      }
      alive.delete(tid);
      exiting.delete(tid);
      procOf.delete(tid);
      if (proc !== undefined) closeIfLast(proc);
      if (tid === pid) {
        exitCode = (s & 0x7f) === 0 ? sig : 128 + (s & 0x7f);
        if (opts.ended) opts.ended.signal = s & 0x7f;
      }
      continue;
    }
    alive.add(tid);
    if (killed) {
      // Whatever stops after the kill (a fork child whose parent was
      // killed before its fork event was read; a thread or child born
      // since) is killed too and let run into it: left stopped, it and
      // this loop waited for ever. Its ring is read first: the calls made
      // before Ctrl-C are reported (the main thread's kill can come
      // before the tracer has read them).
      proc?.mode?.drain(false);
      c.kill(tid, 9);
      t.cont(tid);
      continue;
    }
    if (proc === undefined) {
      // A new thread or child whose clone/fork event has not come yet.
      const tgid = tgidOf(tid);
      const owner = tgid === tid ? undefined : procOf.get(tgid);
      if (owner === undefined && event === EV_EXIT) {
        t.cont(tid); // ending: its end comes next
        continue;
      }
      if (owner === undefined) {
        earlyStops.add(tid); // stays stopped until its event comes
        continue;
      }
      procOf.set(tid, owner);
      setPidOf(tid, tgid);
      unannounced.add(tid);
      newThread(owner, tid);
      continue;
    }
    // Whatever the stop, that process's ring first: records are older than it.
    proc.mode?.drain(false);
    if (event === EV_EXIT) {
      threadExits(proc, tid);
      t.cont(tid);
      continue;
    }
    if (sig === SIGTRAP && event === EV_EXEC) {
      // The thread that exec'd is now the process's only one, with its
      // pid; its old id (another thread's) is gone without an exit report.
      const former = t.eventMsg(tid);
      if (former !== tid) {
        alive.delete(former);
        exiting.delete(former);
        procOf.delete(former);
        knownTids.delete(former);
      }
      // A main thread that had ended lives again as this one.
      exiting.delete(tid);
      let p = proc;
      if (p.pid !== tid || pidOfTid.get(tid) !== p.pid) {
        // A vfork child's exec: its own process from now on.
        p = newProc(tid);
        procOf.set(tid, p);
        setPidOf(tid, tid);
        // Its parent's last user, once the parent has died (killed while
        // it waited for this exec): the parent's hooks go with it, as at a
        // last thread's end (their view stayed mapped to the trace's end).
        closeIfLast(proc);
      }
      // Its memory and maps are the exec'd thread's (the thread they were
      // reached through may have been another, now gone).
      reachThrough(p, tid);
      startImage(p);
      if (tid === pid && !rootExecd) {
        rootExecd = true;
        opts.onExec?.();
      }
      t.cont(tid);
      continue;
    }
    if (sig === SIGTRAP && event === EV_CLONE && !cloneSharesMemory(tid)) {
      // A clone without CLONE_VM is a fork whose exit signal is not SIGCHLD.
      follow(proc, tid, t.eventMsg(tid));
      continue;
    }
    if (sig === SIGTRAP && event === EV_CLONE) {
      const child = t.eventMsg(tid);
      if (knownTids.has(child) && !alive.has(child)) {
        // The thread ran and ended before its creator's event was read:
        // counted alive again, a detach would wait for it for ever.
        knownTids.delete(child);
        unannounced.delete(child);
        t.cont(tid);
        continue;
      }
      unannounced.delete(child);
      if (!procOf.has(child)) {
        procOf.set(child, proc);
        setPidOf(child, pidOfTid.get(tid) ?? proc.pid);
      }
      alive.add(child);
      if (earlyStops.delete(child)) newThread(proc, child);
      t.cont(tid);
      continue;
    }
    if (sig === SIGTRAP && event === EV_FORK) {
      follow(proc, tid, t.eventMsg(tid));
      continue;
    }
    if (sig === SIGTRAP && event === EV_VFORK) {
      const child = t.eventMsg(tid);
      // A child of its own, as a fork's (posix_spawn's too): the consumer
      // tells it from the process started.
      out.forked?.(pidOfTid.get(tid) ?? proc.pid, child, proc.imageId);
      // The child runs on its parent's memory and thread pointer until it
      // execs or exits: what is recorded under that pointer is the child's.
      procOf.set(child, proc);
      setPidOf(child, child);
      vforkKids.add(child);
      alive.add(child);
      if (t.getRegs(tid)) {
        vforks.set(tid, [t.fsBase, child]);
        proc.mode?.runAs(t.fsBase, child);
      }
      if (earlyStops.delete(child)) newThread(proc, child);
      t.cont(tid);
      continue;
    }
    if (sig === SIGTRAP && event === EV_VFORK_DONE) {
      const v = vforks.get(tid);
      if (v !== undefined) {
        vforks.delete(tid);
        proc.mode?.runAs(v[0], tid);
      }
      t.cont(tid);
      continue;
    }
    if (event === EV_STOP) {
      if (!knownTids.has(tid)) newThread(proc, tid);
      else if (STOP_SIGNALS.has(sig) && rootExecd) {
        // A group stop (job control): it stays stopped until SIGCONT.
        if (!t.listen(tid)) t.cont(tid);
      } else t.cont(tid);
      continue;
    }
    if (
      sig === SIGSEGV && event === 0 && t.getRegs(tid) &&
      proc.mode?.readsClock(Number(t.regs[REG.rip]))
    ) {
      // A stub's rdtsc in a program that turned the counter off for itself
      // (prctl PR_SET_TSC): read here, the same counter, and run past it.
      readCounterFor(t, tid, clock);
      t.cont(tid);
      continue;
    }
    if (sig !== SIGTRAP || event !== 0) {
      // A signal for the program (SIGSTOP and SIGTSTP too: job control).
      t.cont(tid, sig);
      continue;
    }
    t.getRegs(tid);
    const bp = Number(t.regs[REG.rip]) - 1;
    if (proc.mode?.trap(tid, bp)) continue;
    if (bp === proc.execBp && proc.execBp !== 0) {
      // An exec is coming: the ring was read at this stop; run `mov $59,%eax`.
      let em = execEmulation.get(bp);
      if (em === undefined) {
        // Only the first byte is ours: the rest of the word is the program's.
        const w = t.peek(tid, bp);
        em = emulatorFor(t, (w & ~0xffn) | BigInt(proc.execOrig), bp);
        execEmulation.set(bp, em);
      }
      // (Single-stepped when it cannot be emulated.)
      t.cont(tid, stepPast(t, tid, bp, proc.execOrig, em));
      continue;
    }
    if (bp === proc.rbrk && proc.rbrk !== 0) {
      // The first stops come before libc is mapped: wait for it.
      proc.maps.refresh();
      const libc = proc.maps.libcStart();
      if (proc.mode === null && libc !== undefined) {
        plant(proc, tid, libc, bp);
      } else proc.mode?.codeChanged(); // a dlopen or dlclose
      // _dl_debug_state is a bare `ret`: do it here.
      t.regs[REG.rip] = t.peek(tid, Number(t.regs[REG.rsp]));
      t.regs[REG.rsp] += 8n;
      t.setRegs(tid);
      t.cont(tid);
      continue;
    }
    // A SIGTRAP of the program's own.
    t.cont(tid, SIGTRAP);
  }
  for (const p of new Set(procOf.values())) p.mode?.close();
  if (opts.clock) opts.clock.error = clock.error;
  return exitCode;
}
