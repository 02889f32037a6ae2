/**
 * The ring in shared memory: the part of the injected region the stubs
 * write on every call (control words, slots, ring; inject.ts
 * {@link SHARED_BYTES}) is backed by a memfd made inside the program, and
 * the tracer maps the same memfd (`/proc/PID/fd/N`), so that it reads the
 * records where the stubs wrote them instead of copying them out with
 * process_vm_readv at every drain (25–30% of the tracer's CPU in a
 * sampled run). The program's fd is closed at once: the mapping keeps the
 * memory, in the program after a detach too, as the private region did.
 *
 * A fork child inherits the mapping, shared with its parent: before it
 * runs, its copy is made private again (with the control words and the
 * busy slots its parent's had), and its ring is read by system call, as
 * every ring is when the memfd or the mapping cannot be made, and as the
 * rings of the images fork children exec are (the tracer shares the ring
 * of the program's own process only: a shell's short-lived children paid
 * for the memfd and the mapping and gained nothing).
 *
 * The system calls run in a stopped thread of the program, one
 * single-stepped `syscall` at a time ({@link RemoteSyscalls}).
 *
 * @module
 */

import { statusField } from "./proc_status.ts";
import { cstr, loadLibc, REG } from "./ffi.ts";
import { LAYOUT, SHARED_BYTES, SLOTS } from "./inject.ts";
import type { HookedProcess } from "./hook_mode.ts";
import { EV_STOP, type Tracee, WALL } from "./tracee.ts";

const SYS_MMAP = 9;
const SYS_CLOSE = 3;
const SYS_FTRUNCATE = 77;
const SYS_MEMFD_CREATE = 319;
const SYS_CLONE = 56;
const SYS_WAIT4 = 61;
const CLONE_PTRACE = 0x2000;
const WAIT_ALL_NOHANG = 0x40000001; // __WALL | WNOHANG
const MFD_CLOEXEC = 1;
const PROT_RW = 3;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
/** The memfd's name, as /proc/PID/maps shows it (`/memfd:alloctrace-ring (deleted)`). */
const NAME = "alloctrace-ring";

/**
 * The message and cause of the error {@link RemoteSyscalls.call} throws
 * when the thread ended (or stopped for good) instead: its status is left
 * for the tracer's next wait.
 */
export const ENDED = "the program ended during a system call of the tracer's";

/**
 * System calls run by a stopped thread of a traced program: `syscall` is
 * written over the word at `at` (any mapped code address), the registers
 * set, one instruction stepped. {@link RemoteSyscalls.end} puts the word
 * and the registers back.
 */
export class RemoteSyscalls {
  readonly #t: Tracee;
  readonly #tid: number;
  readonly #at: number;
  readonly #saved: BigUint64Array;
  readonly #word: bigint;

  /** Thread `tid` (stopped) runs the calls at `at`. */
  constructor(t: Tracee, tid: number, at: number) {
    this.#t = t;
    this.#tid = tid;
    this.#at = at;
    t.getRegs(tid);
    this.#saved = t.regs.slice();
    this.#word = t.peek(tid, at);
    t.poke(tid, at, (this.#word & ~0xffffn) | 0x050fn); // syscall
  }

  /** The code address the calls run at. */
  get at(): number {
    return this.#at;
  }

  /** System call `nr` with `args`; its result (-errno on failure). */
  call(nr: number, ...args: (number | bigint)[]): bigint {
    const t = this.#t;
    const regs = t.regs;
    regs.set(this.#saved);
    regs[REG.rip] = BigInt(this.#at);
    regs[REG.rax] = BigInt(nr);
    const at = [REG.rdi, REG.rsi, REG.rdx, REG.r10, REG.r8, REG.r9];
    args.forEach((a, i) => regs[at[i]] = BigInt.asUintN(64, BigInt(a)));
    // Not a syscall to restart (a thread stopped inside one, attached).
    regs[REG.orig_rax] = 0xffffffffffffffffn;
    t.setRegs(this.#tid);
    // A signal that comes first (a timer's) stops the step before the
    // syscall: rax then still held its number, taken for its result
    // (memfd_create "returned" 319, and the program's own fd 319 was
    // resized and closed). It is held for the thread's next continue.
    if (!t.stepAside(this.#tid, this.#at)) {
      throw new Error(ENDED, { cause: ENDED });
    }
    return BigInt.asIntN(64, regs[REG.rax]);
  }

  /** The word and the registers as they were. */
  end(): void {
    const t = this.#t;
    t.poke(this.#tid, this.#at, this.#word);
    t.regs.set(this.#saved);
    t.setRegs(this.#tid);
  }
}

/** The tracer's mapping of a program's shared ring. */
export interface RingView {
  /** The region's first {@link SHARED_BYTES}, as the program sees them. */
  bytes: Uint8Array;
  /** Unmaps it (nothing may read `bytes` after). */
  close(): void;
}

/**
 * Backs the first {@link SHARED_BYTES} of the region at `region` in `p`
 * (mapped, nothing written in that part yet) with a memfd the tracer maps
 * too; `sys` runs the program's calls. Null leaves that part private (then
 * read by system call); it throws only when the part could not be mapped
 * back either (the region is unusable then).
 */
export function shareRing(
  p: HookedProcess,
  sys: RemoteSyscalls,
  region: number,
): RingView | null {
  // The name goes where the trampolines will (mapped, private, ours), not
  // on the stopped thread's stack: below its rsp may be another's memory
  // (a coroutine's or goroutine's small stack, a sigaltstack).
  const nameAt = region + SHARED_BYTES;
  if (!p.mem.transfer(true, [[cstr(NAME), nameAt]])) return null;
  // A seccomp filter may kill the program at a memfd_create (where an
  // mmap passes), or refuse it: under one, the calls are tried first in
  // a throwaway child (every Docker container, most systemd services).
  const seccomp = _seccompMode(p.pid);
  if (seccomp !== 0 && (seccomp !== 2 || !_passes(p, sys, region, nameAt))) {
    return null;
  }
  const fd = sys.call(SYS_MEMFD_CREATE, nameAt, MFD_CLOEXEC);
  if (fd < 0n) return null;
  let view: RingView | null = null;
  try {
    if (sys.call(SYS_FTRUNCATE, fd, SHARED_BYTES) !== 0n) return null;
    view = _mapView(p.mem.pid, fd);
    if (view === null) return null;
    if (_mapShared(sys, region, fd)) return view;
    view.close();
    view = null;
    // A failed MAP_FIXED may have unmapped the part: map it again.
    if (!_privateAgain(sys, region)) {
      throw new Error("the ring's memory could not be mapped again");
    }
    return null;
  } finally {
    sys.call(SYS_CLOSE, fd);
  }
}

/**
 * A fork child's ring, before it runs (`sys`: its calls), whose region's
 * first part is still shared with its parent (`parent`: the tracer's view
 * of it): made private, with the parent's control words (head and tail
 * 0: the child's ring starts empty) and busy slots (a call the forking
 * thread was in returns through its slot in the child too). False when
 * it cannot be (the child's hooks must come out then).
 */
export function unshareRing(
  p: HookedProcess,
  sys: RemoteSyscalls,
  region: number,
  parent: RingView,
): boolean {
  if (!_privateAgain(sys, region)) return false;
  const control = parent.bytes.slice(0, LAYOUT.slots);
  control.fill(0, LAYOUT.head, LAYOUT.head + 8);
  control.fill(0, LAYOUT.tail, LAYOUT.tail + 8);
  const parts: [Uint8Array, number][] = [[control, region]];
  const slots = new BigUint64Array(
    parent.bytes.buffer,
    parent.bytes.byteOffset + LAYOUT.slots,
    SLOTS * 8,
  );
  for (let s = 0; s < SLOTS; s++) {
    if (slots[s * 8] === 0n) continue;
    const at = LAYOUT.slots + s * 64;
    parts.push([parent.bytes.slice(at, at + 64), region + at]);
  }
  return p.mem.transfer(true, parts);
}

// Process `pid`'s seccomp mode (/proc/PID/status `Seccomp:`: 0 none, 1
// strict, 2 filter; -1 when the status cannot be read).
function _seccompMode(pid: number): number {
  return statusField(`/proc/${pid}/status`, "Seccomp", -1);
}

/**
 * Whether the calls that share the ring pass the program's seccomp filter
 * (which cannot be read without CAP_SYS_ADMIN): tried first, with the same
 * arguments, in a throwaway child of the stopped thread (`sys`), which has
 * its filter. A filter that kills (SIGSYS) kills only the child; one that
 * refuses (EPERM, ENOSYS) says so. The child is cloned without an exit
 * signal, so the program is told nothing of it; it is killed, reaped by
 * us (its tracer) and then by the program, with a wait4 of its own.
 */
function _passes(
  p: HookedProcess,
  sys: RemoteSyscalls,
  region: number,
  nameAt: number,
): boolean {
  const t = p.tracee;
  t.child = 0;
  const child = sys.call(SYS_CLONE, CLONE_PTRACE, 0, 0, 0, 0);
  const kid = t.child;
  if (child <= 0n || kid <= 0) return false;
  let ok = false;
  try {
    if (_firstStop(t, kid)) {
      const own = new RemoteSyscalls(t, kid, sys.at);
      const fd = own.call(SYS_MEMFD_CREATE, nameAt, MFD_CLOEXEC);
      ok = fd >= 0n && own.call(SYS_FTRUNCATE, fd, SHARED_BYTES) === 0n &&
        _mapShared(own, region, fd);
    }
  } catch (e) {
    // The child ended in a call (a filter that kills): no sharing.
    if ((e as Error).cause !== ENDED) throw e;
  } finally {
    _reap(t, kid);
    sys.call(SYS_WAIT4, child, 0, WAIT_ALL_NOHANG, 0);
  }
  return ok;
}

// Waits for the first stop of a traced child (false: it ended first).
function _firstStop(t: Tracee, kid: number): boolean {
  for (let i = 0; i < 100; i++) {
    const { tid, s } = t.wait(kid, WALL);
    if (tid !== kid || (s & 0xff) !== 0x7f) return false;
    if (s >>> 16 === EV_STOP) return true;
    t.cont(kid);
  }
  return false;
}

// Kills a traced child and waits until it has ended (through its exit
// stop), whatever a step in it kept for later.
function _reap(t: Tracee, kid: number): void {
  let r = t.takeDeferred(kid);
  loadLibc().kill(kid, 9);
  for (let i = 0; i < 100; i++) {
    r ??= t.wait(kid, WALL);
    if (r.tid !== kid || (r.s & 0xff) !== 0x7f) return;
    t.cont(kid);
    r = undefined;
  }
}

// Maps [region, region + SHARED_BYTES) onto memfd `fd` in the program
// whose calls `sys` runs, in place of what was there.
function _mapShared(sys: RemoteSyscalls, region: number, fd: bigint): boolean {
  return sys.call(
    SYS_MMAP,
    region,
    SHARED_BYTES,
    PROT_RW,
    MAP_SHARED | MAP_FIXED,
    fd,
    0,
  ) === BigInt(region);
}

// Maps [region, region + SHARED_BYTES) private and anonymous again (zeros).
function _privateAgain(sys: RemoteSyscalls, region: number): boolean {
  return sys.call(
    SYS_MMAP,
    region,
    SHARED_BYTES,
    PROT_RW,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    -1,
    0,
  ) === BigInt(region);
}

// The tracer's own mapping of the memfd `fd` of thread `tid`'s process.
function _mapView(tid: number, fd: bigint): RingView | null {
  const c = loadLibc();
  const f = c.open(cstr(`/proc/${tid}/fd/${fd}`), O_RDWR | O_CLOEXEC);
  if (f < 0) return null;
  const ptr = c.mmap(null, BigInt(SHARED_BYTES), PROT_RW, MAP_SHARED, f, 0n);
  c.close(f);
  const at = BigInt(Deno.UnsafePointer.value(ptr));
  if (ptr === null || at === 0xffffffffffffffffn || at === -1n) return null;
  const bytes = new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(ptr, SHARED_BYTES),
  );
  let open = true;
  return {
    bytes,
    close: () => {
      if (!open) return;
      open = false;
      c.munmap(ptr, BigInt(SHARED_BYTES));
    },
  };
}
