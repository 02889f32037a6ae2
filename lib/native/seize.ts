/**
 * Getting a program's threads under ptrace: starting a program stopped
 * before its exec, seizing a thread, seizing every thread of a running
 * process (`native -p`), and what `/proc` says of a thread (its process,
 * whether it has ended, whether we trace it).
 *
 * @module
 */

import { cstr, errno, type Libc, PT, ptrOf } from "./ffi.ts";
import { statusField, tgidOf } from "./proc_status.ts";
import {
  EV_CLONE,
  EV_EXEC,
  EV_FORK,
  EV_STOP,
  EV_VFORK,
  SIGTRAP,
  type Tracee,
  WALL,
  WNOHANG,
} from "./tracee.ts";
import { ProcMaps } from "./proc_maps.ts";

const SIGPIPE = 13;
const POSIX_SPAWN_SETSIGDEF = 0x04;

/**
 * Spawns `sh -c 'kill -STOP $$; exec "$0" "$@"' argv…`, stopped before its
 * exec; its pid.
 */
export function spawnStopped(c: Libc, argv: string[]): number {
  const keep: Uint8Array[] = [];
  const strArray = (xs: string[]) => {
    const arr = new BigUint64Array(xs.length + 1);
    xs.forEach((x, i) => {
      const b = cstr(x);
      keep.push(b);
      arr[i] = ptrOf(b);
    });
    return new Uint8Array(arr.buffer);
  };
  const args = ["sh", "-c", 'kill -STOP $$; exec "$0" "$@"', ...argv];
  const env = Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`);
  // Deno ignores SIGPIPE, and an ignored signal stays ignored across exec:
  // the program gets SIGPIPE's default back, as a shell would start it
  // (Rust's Command does the same), so `prog | head` ends it as without us.
  const attr = new Uint8Array(512); // glibc's posix_spawnattr_t is 336 bytes
  const sigs = new BigUint64Array(16); // sigset_t
  sigs[0] = 1n << BigInt(SIGPIPE - 1);
  c.posix_spawnattr_init(attr);
  c.posix_spawnattr_setsigdefault(attr, new Uint8Array(sigs.buffer));
  c.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF);
  const pidBuf = new Int32Array(1);
  const rc = c.posix_spawn(
    new Uint8Array(pidBuf.buffer),
    cstr("/bin/sh"),
    null,
    attr,
    strArray(args),
    strArray(env),
  );
  if (rc !== 0) {
    throw new Error(
      `cannot start ${argv[0]}: posix_spawn failed (errno ${rc})`,
    );
  }
  const pid = pidBuf[0];
  const status = new Uint8Array(4);
  c.waitpid(pid, status, 2 /* WUNTRACED */);
  return pid;
}

/**
 * Seizes thread `tid` of process `pid` with ptrace `options`; false when
 * it is a thread of an attached process that has just ended (or that an
 * exec is tearing down). Started by us (not `attached`), the program is
 * killed on a failure.
 *
 * @throws {Error} when ptrace is not permitted, the process is gone, or
 *   its main thread has ended (ptrace cannot attach to it then).
 */
export function seizeThread(
  c: Libc,
  pid: number,
  tid: number,
  attached: boolean,
  options: bigint,
): boolean {
  let e = 0;
  // A thread an exec is tearing down (killed, or a zombie leader the
  // exec'ing thread is taking the place of) refuses the seize with EPERM
  // for a moment: tried again while it is ending (up to ~2 s: an exec on
  // a loaded machine), or there untraced (~0.2 s), not reported as
  // Yama's refusal.
  for (let tries = 0;; tries++) {
    if (c.ptrace(PT.SEIZE, BigInt(tid), 0n, options) >= 0n) return true;
    e = errno();
    if (!attached || e !== 1 || tries >= 400) break;
    if (!_exiting(tid) && (tries >= 40 || !_untraced(tid))) break;
    c.usleep(5000);
  }
  // A thread other than the leader that has ended or is ending (an
  // exec's doing: the image check sees it), or is gone.
  if (
    attached && tid !== pid &&
    (e === 3 || (e === 1 && (_exiting(tid) || _untraced(tid) ||
      !_exists(pid, tid))))
  ) return false;
  if (!attached) c.kill(pid, 9);
  if (attached && e === 1 && tid === pid && _ended(pid)) {
    // ptrace refuses an ended thread: it was not a permission problem.
    throw new Error(
      `process ${pid}'s main thread has ended (pthread_exit) while its other threads run on: ptrace cannot attach to such a process`,
    );
  }
  throw new Error(
    e === 3
      ? `no process ${tid}`
      : `ptrace is not permitted here (errno ${e}${
        e === 1
          ? ", EPERM: Yama ptrace_scope (attaching needs ptrace_scope 0, or CAP_SYS_PTRACE), a seccomp filter, another tracer, or another user's process"
          : ""
      })`,
  );
}

/**
 * Seizes every thread of the running process `pid` (threads that start
 * meanwhile too) and waits until each is stopped: the threads seized, with
 * the signal each was about to take (0: none), to give back at its first
 * continue.
 *
 * An exec by one of its threads meanwhile (a new image: what was read of
 * the old one is wrong) lets every thread go again, and the seize starts
 * over. Until every thread is stopped, the threads are seized without
 * PTRACE_O_TRACEEXIT (set once they are): an exec kills the other threads
 * and waits, holding the process's cred_guard_mutex, until the leader has
 * ended; a leader of ours would stop at its exit for us, while we were
 * blocked in the PTRACE_SEIZE of another thread on that mutex (a
 * kernel-level deadlock, ptrace_attach against de_thread).
 *
 * @throws {Error} as {@link seizeThread}, when the process is gone, or when
 *   it was exec'ing all the while.
 */
export function seizeRunning(
  c: Libc,
  t: Tracee,
  pid: number,
  options: bigint,
): Map<number, number> {
  // Threads an exec killed are reaped meanwhile by another thread of ours
  // (_reap_worker.ts: the deadlock no order of seizes avoids).
  const stop = new SharedArrayBuffer(4);
  const reaper = new Worker(new URL("./_reap_worker.ts", import.meta.url), {
    type: "module",
  });
  reaper.postMessage({ pid, stop });
  try {
    return _seizeAll(c, t, pid, options);
  } finally {
    Atomics.store(new Int32Array(stop), 0, 1);
    reaper.terminate();
  }
}

/** {@link seizeRunning}'s tries. */
function _seizeAll(
  c: Libc,
  t: Tracee,
  pid: number,
  options: bigint,
): Map<number, number> {
  for (let tries = 0;; tries++) {
    const seized = _seizeOnce(c, t, pid, options & ~PT.O_TRACEEXIT);
    // Seized in the middle of an execve, its new image's loader has not
    // mapped libc yet (the hooks cannot go in: it was reported as a
    // static program): let go, and seized again once it has.
    if (seized !== null && !_loading(pid)) {
      for (const tid of seized.keys()) {
        c.ptrace(PT.SETOPTIONS, BigInt(tid), 0n, options);
      }
      return seized;
    }
    _letGo(c, t, pid);
    if (tries >= 100) {
      throw new Error(
        `process ${pid} was exec'ing all the while alloctrace tried to attach: try again`,
      );
    }
    c.usleep(2000);
  }
}

/**
 * One try of {@link seizeRunning}: the threads seized and stopped, or null
 * when the process exec'd meanwhile (its threads are left to
 * {@link _letGo}).
 */
function _seizeOnce(
  c: Libc,
  t: Tracee,
  pid: number,
  options: bigint,
): Map<number, number> | null {
  const image = _imageOf(pid);
  const seized = new Map<number, number>();
  const stopped = new Set<number>();
  // Threads can start while we seize: read the list until it holds no new one.
  for (let fresh = true; fresh;) {
    fresh = false;
    let tids: number[];
    try {
      tids = [...Deno.readDirSync(`/proc/${pid}/task`)].map((d) =>
        Number(d.name)
      );
    } catch {
      throw new Error(`no process ${pid}`);
    }
    for (const tid of tids) {
      if (seized.has(tid)) continue;
      // A thread cloned by one already seized is ours already (ptrace's
      // clone option), stopped or about to be: seizing it again fails.
      if (_tracedByUs(pid, tid)) continue;
      seized.set(tid, 0);
      fresh = true;
      if (seizeThread(c, pid, tid, true, options)) t.interrupt(tid);
      else seized.delete(tid); // it ended since the list was read
    }
    if (!_waitStops(c, t, pid, image, seized, stopped)) return null;
  }
  return _imageOf(pid) === image ? seized : null;
}

/**
 * Waits until every thread of `seized` has stopped (`stopped`), reaping
 * whatever comes first (one wait for all: a thread an exec killed must be
 * reaped before the exec can go on, and another may only stop then).
 * A thread cloned meanwhile (ours by ptrace's clone option) joins
 * `seized` at its first stop; a forked child is let go. False when an
 * exec came, or a thread never stopped within 5 s.
 */
function _waitStops(
  c: Libc,
  t: Tracee,
  pid: number,
  image: string,
  seized: Map<number, number>,
  stopped: Set<number>,
): boolean {
  /** Children announced by a clone, fork or vfork event, not yet stopped. */
  const born = new Set<number>();
  const end = performance.now() + 5000;
  for (;;) {
    let waiting = born.size > 0;
    for (const tid of seized.keys()) if (!stopped.has(tid)) waiting = true;
    if (!waiting) return true;
    const { tid, s } = t.wait(-1, WALL | WNOHANG);
    if (tid <= 0) {
      // Nothing yet. A thread whose id is gone without a report never
      // stops: an exec (its thread takes its leader's id), or the reaper
      // took its end.
      for (const x of seized.keys()) {
        if (stopped.has(x) || _exists(pid, x)) continue;
        if (_imageOf(pid) !== image) return false;
        seized.delete(x);
      }
      if (tid < 0 || performance.now() > end) return false;
      c.usleep(200);
      continue;
    }
    if ((s & 0xff) !== 0x7f) {
      // Ended.
      seized.delete(tid);
      stopped.delete(tid);
      born.delete(tid);
      continue;
    }
    const sig = (s >> 8) & 0xff;
    const event = s >>> 16;
    if (!seized.has(tid)) {
      born.delete(tid);
      if (tgidOf(tid) === pid) {
        // A thread cloned by one of ours: ours, stopped.
        seized.set(tid, 0);
        stopped.add(tid);
      } else t.detach(tid); // a child forked before any hook was in: untraced
      continue;
    }
    if (event === EV_STOP) {
      stopped.add(tid);
      continue;
    }
    if (event === EV_EXEC) return false;
    if (event === 0 && sig !== SIGTRAP) seized.set(tid, sig);
    if (event === EV_FORK || event === EV_VFORK || event === EV_CLONE) {
      const child = t.eventMsg(tid);
      if (!seized.has(child)) born.add(child);
    }
    t.cont(tid);
    // Another ptrace-stop met on its way (the end of a vfork, a fork)
    // takes the interrupt's place: ask again, or it would run on untraced
    // while we wait for a stop that never comes.
    t.interrupt(tid);
  }
}

/**
 * Lets every thread of `pid` that we trace go (each stopped first), after
 * a seize that met an exec: the threads of the new image are seized anew.
 */
function _letGo(c: Libc, t: Tracee, pid: number): void {
  for (const [tid, sig] of t.stopped()) t.detach(tid, sig);
  const running = new Set<number>();
  try {
    for (const d of Deno.readDirSync(`/proc/${pid}/task`)) {
      const tid = Number(d.name);
      if (_tracedByUs(pid, tid) && t.interrupt(tid)) running.add(tid);
    }
  } catch {
    // gone
  }
  const end = performance.now() + 5000;
  while (running.size > 0 && performance.now() < end) {
    const { tid, s } = t.wait(-1, WALL | WNOHANG);
    if (tid < 0) break;
    if (tid === 0) {
      c.usleep(200);
      continue;
    }
    running.delete(tid);
    if ((s & 0xff) !== 0x7f) continue;
    const sig = (s >> 8) & 0xff;
    const event = s >>> 16;
    // (A thread born meanwhile stops too: let go as well.)
    t.detach(tid, event === 0 && sig !== SIGTRAP ? sig : 0);
  }
}

/**
 * Whether thread `tid` of `pid` is traced by this process: its TracerPid
 * is a thread id (ours runs in a Worker), so its thread group is compared.
 */
function _tracedByUs(pid: number, tid: number): boolean {
  const tracer = statusField(`/proc/${pid}/task/${tid}/status`, "TracerPid");
  return tracer !== 0 &&
    statusField(`/proc/${tracer}/status`, "Tgid") === Deno.pid;
}

/** Whether thread `tid` has ended (a zombie: a main thread whose process runs on). */
function _ended(tid: number): boolean {
  try {
    const st = Deno.readTextFileSync(`/proc/${tid}/stat`);
    return /^[ZX]/.test(st.slice(st.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** Whether thread `tid` is ending (PF_EXITING) or has ended (a zombie). */
function _exiting(tid: number): boolean {
  try {
    const st = Deno.readTextFileSync(`/proc/${tid}/stat`);
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    return /^[ZX]/.test(f[0]) || (Number(f[6]) & 0x4) !== 0;
  } catch {
    return false;
  }
}

/** Whether thread `tid` is there with no tracer. */
function _untraced(tid: number): boolean {
  try {
    Deno.statSync(`/proc/${tid}`);
  } catch {
    return false;
  }
  return statusField(`/proc/${tid}/status`, "TracerPid") === 0;
}

/** Whether `tid` is (still) a thread of `pid`. */
function _exists(pid: number, tid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}/task/${tid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `pid`'s image begins (startcode) and its stack's start
 * (startstack): an exec changes them (randomized), or "" when it is gone.
 */
function _imageOf(pid: number): string {
  try {
    const st = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    return `${f[23]} ${f[25]}`;
  } catch {
    return "";
  }
}

/** Whether `pid`'s image is being loaded: ld.so mapped, libc not yet. */
function _loading(pid: number): boolean {
  const maps = new ProcMaps(pid);
  maps.refresh();
  return maps.ldStart() !== undefined && maps.libcStart() === undefined;
}
