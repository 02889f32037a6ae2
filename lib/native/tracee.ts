/**
 * The ptrace side of a traced program's threads: one register buffer, and
 * get/set registers, peek/poke, continue, single-step, listen, detach and
 * wait, by thread id (every request from the thread that seized them).
 *
 * @module
 */

import { type Libc, PT, ptrOf, REG } from "./ffi.ts";

/** The signal of a breakpoint or a ptrace event stop. */
export const SIGTRAP = 5;
// ptrace events (a stop's status >> 16).
/** PTRACE_EVENT_FORK. */
export const EV_FORK = 1;
/** PTRACE_EVENT_VFORK. */
export const EV_VFORK = 2;
/** PTRACE_EVENT_CLONE. */
export const EV_CLONE = 3;
/** PTRACE_EVENT_EXEC (its message: the exec'd thread's former id). */
export const EV_EXEC = 4;
/** PTRACE_EVENT_VFORK_DONE. */
export const EV_VFORK_DONE = 5;
/** PTRACE_EVENT_EXIT. */
export const EV_EXIT = 6;
/** PTRACE_EVENT_STOP (an interrupt, a group stop, a new thread's first stop). */
export const EV_STOP = 128;

/** waitpid: any child, clone or not. */
export const WALL = 0x40000000;
/** waitpid: return 0 when nothing changed. */
export const WNOHANG = 1;
/**
 * waitpid: only the children and tracees of the calling thread. The
 * tracer's worker thread started or seized every thread it traces; the
 * tools the main thread runs meanwhile (addr2line, c++filt) are its own,
 * and waitpid(-1) here used to reap them first (their output lost:
 * ECHILD), whenever a new stack was symbolized while the program ran.
 */
const WNOTHREAD = 0x20000000;

/** The first 8 bytes of `b` as a little-endian word (for PTRACE_POKEDATA). */
export const wordOf = (b: Uint8Array): bigint =>
  new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);

/** A stop or an end, as waitpid reports it. */
export interface WaitResult {
  /** The thread (0: none yet with WNOHANG; < 0: no child left). */
  tid: number;
  /** The raw status. */
  s: number;
}

/** ptrace requests on the threads of traced programs. */
export class Tracee {
  /** `struct user_regs_struct` of the last {@link Tracee.getRegs}. */
  readonly regs: BigUint64Array = new BigUint64Array(27);
  readonly #c: Libc;
  readonly #regsPtr: bigint;
  readonly #status = new Int32Array(1);
  readonly #st8 = new Uint8Array(this.#status.buffer);
  readonly #word = new BigUint64Array(1);
  /**
   * Signals that arrived while a thread ran the tracer's own instructions
   * (a {@link Tracee.stepAside}), with their siginfo: given at its next
   * continue or detach, not swallowed.
   */
  readonly #held = new Map<number, Uint8Array[]>();
  /** Ends and stops reaped out of turn, for the next wait(-1). */
  readonly #deferred: WaitResult[] = [];
  /**
   * Threads whose stop was reaped and that were not let run since, with
   * that stop's wait status: what a trace that fails
   * partway must let go itself (an interrupt would never stop them again).
   */
  readonly #stopped = new Map<number, number>();

  /** ptrace through libc `c`. */
  constructor(c: Libc) {
    this.#c = c;
    this.#regsPtr = ptrOf(this.regs);
  }

  /** Loads `tid`'s registers into {@link Tracee.regs}; false when it is gone. */
  getRegs(tid: number): boolean {
    return this.#c.ptrace(PT.GETREGS, BigInt(tid), 0n, this.#regsPtr) >= 0n;
  }

  /** Writes {@link Tracee.regs} to `tid`. */
  setRegs(tid: number): void {
    this.#c.ptrace(PT.SETREGS, BigInt(tid), 0n, this.#regsPtr);
  }

  /** The word at `addr`. */
  peek(tid: number, addr: number): bigint {
    return BigInt.asUintN(
      64,
      this.#c.ptrace(PT.PEEKDATA, BigInt(tid), BigInt(addr), 0n),
    );
  }

  /** Writes the word at `addr` (even in read-only code); false when it cannot (unmapped). */
  poke(tid: number, addr: number, word: bigint): boolean {
    return this.#c.ptrace(PT.POKEDATA, BigInt(tid), BigInt(addr), word) >= 0n;
  }

  /** Sets the byte at `addr`; returns the one it replaced. */
  setByte(tid: number, addr: number, byte: number): number {
    const w = this.peek(tid, addr);
    this.poke(tid, addr, (w & ~0xffn) | BigInt(byte));
    return Number(w & 0xffn);
  }

  /** Resumes `tid`, delivering `sig` (0: none; or a signal held for it). */
  cont(tid: number, sig = 0): void {
    this.#stopped.delete(tid);
    this.#c.ptrace(PT.CONT, BigInt(tid), 0n, BigInt(this.#give(tid, sig)));
  }

  // The signal to resume `tid` with: `sig`, or the first held for it (its
  // siginfo put back, so that a handler sees the timer's or sender's).
  // The others are sent again (pending, they come at its next stops).
  #give(tid: number, sig: number): number {
    const infos = this.#held.get(tid);
    if (infos === undefined) return sig;
    this.#held.delete(tid);
    const signo = (i: Uint8Array) => new Int32Array(i.buffer, 0, 1)[0];
    if (sig === 0) {
      const first = infos.shift()!;
      this.#c.ptrace(PT.SETSIGINFO, BigInt(tid), 0n, ptrOf(first));
      sig = signo(first);
    }
    for (const i of infos) if (signo(i) !== sig) this.#c.kill(tid, signo(i));
    return sig;
  }

  /**
   * Runs the instruction at `tid`'s rip ({@link Tracee.regs}, set) to its
   * end. A signal that stops it first is held for its next continue; an
   * event stop met first (an interrupt's left pending, the end of a vfork
   * it was in) is let pass; the registers are set again and the step
   * tried again. True when it ran (a SIGTRAP stop past `from`; its
   * registers then in {@link Tracee.regs}); false when the thread ended or
   * stopped at its exit (killed): that status is kept for the next
   * wait(-1), as if not reaped here.
   */
  stepAside(tid: number, from: number): boolean {
    const want = this.regs.slice();
    // After a clone's event stop the call has run: it is stepped on from
    // there (set again, the registers would run it twice).
    let ran = false;
    for (let tries = 0; tries < 1000; tries++) {
      if (tries > 0 && !ran) {
        this.regs.set(want);
        this.setRegs(tid);
      }
      this.#c.ptrace(PT.SINGLESTEP, BigInt(tid), 0n, 0n);
      const r = this.wait(tid, WALL);
      const s = r.s;
      if (r.tid !== tid || (s & 0xff) !== 0x7f) {
        if (r.tid === tid) this.#deferred.push(r);
        return false;
      }
      const sig = (s >> 8) & 0xff;
      const event = s >>> 16;
      if (event === EV_EXIT) {
        this.#deferred.push(r); // killed: its exit next
        return false;
      }
      if (event === EV_CLONE || event === EV_FORK || event === EV_VFORK) {
        this.child = this.eventMsg(tid);
        ran = true;
      }
      if (event !== 0) continue;
      if (sig === SIGTRAP && this.getRegs(tid) && this.reg(REG.rip) !== from) {
        return true;
      }
      // A signal delivered before the instruction ran (its rip unmoved).
      this.keepSignal(tid, sig);
    }
    return false;
  }

  /**
   * Keeps the signal `sig` that `tid` is stopped to take (a
   * signal-delivery stop: resumed with no signal, it would be lost), with
   * its siginfo, for its next continue or detach; as many as come (the
   * same standard signal twice is one, as pending it would be).
   */
  keepSignal(tid: number, sig: number): void {
    const info = new Uint8Array(128);
    this.#c.ptrace(PT.GETSIGINFO, BigInt(tid), 0n, ptrOf(info));
    const held = this.#held.get(tid) ?? [];
    if (sig >= 32 || !held.some((i) => i[0] === sig)) held.push(info);
    this.#held.set(tid, held);
  }

  /**
   * The child of the last clone, fork or vfork a {@link Tracee.stepAside}
   * ran (its event's message).
   */
  child = 0;

  /**
   * Takes back the status of `tid` a {@link Tracee.stepAside} kept for the
   * next wait(-1) (its end, or its exit stop): the caller deals with it.
   */
  takeDeferred(tid: number): WaitResult | undefined {
    const i = this.#deferred.findIndex((r) => r.tid === tid);
    return i < 0 ? undefined : this.#deferred.splice(i, 1)[0];
  }

  /** Leaves a group-stopped `tid` stopped, still reporting (PTRACE_LISTEN). */
  listen(tid: number): boolean {
    this.#stopped.delete(tid);
    return this.#c.ptrace(PT.LISTEN, BigInt(tid), 0n, 0n) >= 0n;
  }

  /** Stops a running `tid` (PTRACE_INTERRUPT; it reports a PTRACE_EVENT_STOP). */
  interrupt(tid: number): boolean {
    return this.#c.ptrace(PT.INTERRUPT, BigInt(tid), 0n, 0n) >= 0n;
  }

  /** Lets `tid` go, delivering `sig` (or a signal held for it). */
  detach(tid: number, sig = 0): void {
    this.#stopped.delete(tid);
    this.#c.ptrace(PT.DETACH, BigInt(tid), 0n, BigInt(this.#give(tid, sig)));
  }

  /**
   * Executes one instruction of `tid` and waits for it; the signal it
   * stopped with (SIGTRAP, or a fault of the instruction's: SIGSEGV).
   */
  step(tid: number): number {
    this.#c.ptrace(PT.SINGLESTEP, BigInt(tid), 0n, 0n);
    return (this.wait(tid, WALL).s >> 8) & 0xff;
  }

  /** The ptrace event message (a new child's pid). */
  eventMsg(tid: number): number {
    this.#c.ptrace(PT.GETEVENTMSG, BigInt(tid), 0n, ptrOf(this.#word));
    return Number(this.#word[0]);
  }

  /** Sets `tid`'s rip (PTRACE_POKEUSER). */
  setRip(tid: number, rip: number): void {
    this.#c.ptrace(PT.POKEUSER, BigInt(tid), 128n, BigInt(rip));
  }

  /** waitpid(who, flags), among this thread's children and tracees only. */
  wait(who: number, flags: number): WaitResult {
    if (who === -1 && this.#deferred.length > 0) return this.#deferred.shift()!;
    const r = this.#c.waitpid(who, this.#st8, flags | WNOTHREAD);
    const s = this.#status[0];
    if (r > 0) {
      if ((s & 0xff) !== 0x7f) this.#stopped.delete(r);
      else {
        this.#stopped.set(r, s);
      }
    }
    return { tid: r, s };
  }

  /**
   * The threads stopped and not let run since their stop was reaped, each
   * with the signal it was about to take (0: none).
   */
  stopped(): Map<number, number> {
    const m = new Map<number, number>();
    for (const [tid, s] of this.#stopped) {
      // A signal-delivery stop's signal is the program's (a SIGTRAP may
      // be one of our breakpoints: not given back).
      const sig = (s >> 8) & 0xff;
      m.set(tid, s >>> 16 === 0 && sig !== SIGTRAP ? sig : 0);
    }
    return m;
  }

  /**
   * The threads stopped and not let run since their stop was reaped, each
   * with that stop's wait status (what a detach needs to undo the stop:
   * a breakpoint's, an exec's, a fault's).
   */
  stops(): Map<number, number> {
    return new Map(this.#stopped);
  }

  /** rip, rsp and a register by index, from {@link Tracee.regs}. */
  reg(i: number): number {
    return Number(this.regs[i]);
  }

  /** The thread pointer of the last registers read. */
  get fsBase(): number {
    return Number(this.regs[REG.fs_base]);
  }
}
