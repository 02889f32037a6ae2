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
  EV_FORK,
  EV_STOP,
  EV_VFORK,
  SIGTRAP,
  type Tracee,
  WALL,
} from "./tracee.ts";

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
 * it is a thread of an attached process that has just ended. Started by
 * us (not `attached`), the program is killed on a failure.
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
  if (c.ptrace(PT.SEIZE, BigInt(tid), 0n, options) >= 0n) return true;
  const e = errno();
  if (attached && e === 3 && tid !== pid) return false;
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
 * @throws {Error} as {@link seizeThread}, or when the process is gone.
 */
export function seizeRunning(
  c: Libc,
  t: Tracee,
  pid: number,
  options: bigint,
): Map<number, number> {
  const seized = new Map<number, number>();
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
      seized.set(tid, 0);
      fresh = true;
      // A thread cloned by one already seized is ours already (ptrace's
      // clone option), stopped or about to be: seizing it again fails.
      if (_tracedByUs(pid, tid)) continue;
      if (seizeThread(c, pid, tid, true, options)) t.interrupt(tid);
      else seized.delete(tid); // it ended since the list was read
    }
  }
  for (const tid of seized.keys()) {
    // Wait for its PTRACE_EVENT_STOP; a signal met first is given back later.
    for (;;) {
      const { s } = t.wait(tid, WALL);
      if ((s & 0xff) !== 0x7f) {
        seized.delete(tid); // it ended
        break;
      }
      const event = s >>> 16;
      if (event === EV_STOP) break;
      const sig = (s >> 8) & 0xff;
      if (event === 0 && sig !== SIGTRAP) seized.set(tid, sig);
      if (event === EV_FORK || event === EV_VFORK || event === EV_CLONE) {
        _releaseEarlyChild(t, pid, t.eventMsg(tid));
      }
      t.cont(tid);
      // Another ptrace-stop met on its way (the end of a vfork, a fork,
      // an exec) takes the interrupt's place: ask again, or it would run
      // on untraced while we wait for a stop that never comes.
      t.interrupt(tid);
    }
  }
  return seized;
}

/**
 * A child that `parent` forked while we were seizing it, before any hook
 * was in (a thread of `parent`'s, from clone with CLONE_VM, is left to the
 * tracing loop, which takes it as a new thread): it was born untraced, so
 * it is let go once at its first stop.
 */
function _releaseEarlyChild(t: Tracee, parent: number, child: number): void {
  if (tgidOf(child) === parent) return;
  t.wait(child, WALL);
  t.detach(child);
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
