/**
 * The breakpoint strategy: an int3 on each hooked function's entry, a
 * ptrace stop per call, stacks by libunwind-ptrace on the stopped thread.
 *
 * Safe under threads because no breakpoint is ever lifted while threads
 * run: each entry's first instruction is executed by writing registers
 * ({@link emulatorFor}: every entry of glibc 2.36's allocators and of
 * execve), and a call returns to a landing breakpoint (ld.so's
 * `_dl_debug_state`, which the tracer keeps planted) that its return
 * address is swapped for, instead of a breakpoint at the caller (which
 * another thread could hit after it was removed, and die of SIGTRAP). Only
 * an entry we cannot emulate is single-stepped with its breakpoint lifted.
 *
 * @module
 */

import { loadLibc, REG } from "./ffi.ts";
import type { Tracee } from "./tracee.ts";
import { type Call, requestedSize } from "./alloc_call.ts";
import {
  emitFree,
  finishCall,
  type HookedProcess,
  type HookMode,
  type ModeSettings,
} from "./hook_mode.ts";
import type { NativeKind } from "./event.ts";
import { RemoteUnwinder } from "./libunwind.ts";

/** Whether the byte `b` has an even number of set bits (x86's PF). */
function evenParity(b: number): boolean {
  let ones = 0;
  for (; b; b >>= 1) ones += b & 1;
  return ones % 2 === 0;
}

/** rflags after the 8-bit `cmp` of `a` with `b` (CF, PF, AF, ZF, SF, OF). */
export function subFlags8(flags: bigint, a: number, b: number): bigint {
  const res = (a - b) & 0xff;
  let f = flags & ~0x8d5n;
  if (a < b) f |= 0x1n;
  if (evenParity(res)) f |= 0x4n;
  if ((a ^ b ^ res) & 0x10) f |= 0x10n;
  if (res === 0) f |= 0x40n;
  if (res & 0x80) f |= 0x80n;
  if ((a ^ b) & (a ^ res) & 0x80) f |= 0x800n;
  return f;
}

/**
 * An instruction executed by writing a stopped thread's registers; false
 * when it cannot be (a `push` whose stack write fails, where the CPU's
 * would fault), the registers untouched: the real instruction runs then.
 */
export type Emulator = (r: BigUint64Array, tid: number) => boolean | void;

const PUSH_REG = [10, 11, 12, 5, 19, 4, 13, 14]; // rax rcx rdx rbx rsp rbp rsi rdi
const PUSH_REX = [9, 8, 7, 6, 3, 2, 1, 0]; // r8 … r15
const GPR = [...PUSH_REG, ...PUSH_REX]; // by the instruction's register number
const EFLAGS = 18;
const SIGTRAP = 5;

/**
 * The emulation of the instruction whose first bytes are `w` at `entry`,
 * or null: `push reg`, `mov %reg,%reg`, `mov $imm32,%reg32`, `test
 * %rdi,%rdi`, `endbr64`, `cmpb $imm8,disp32(%rip)`.
 */
export function emulatorFor(
  t: Tracee,
  w: bigint,
  entry: number,
): Emulator | null {
  const b0 = Number(w & 0xffn);
  const b1 = Number((w >> 8n) & 0xffn);
  const b2 = Number((w >> 16n) & 0xffn);
  const push = (reg: number, len: number): Emulator => (r, tid) => {
    const rsp = r[REG.rsp] - 8n;
    if (!t.poke(tid, Number(rsp), r[reg])) return false;
    r[REG.rsp] = rsp;
    r[REG.rip] = BigInt(entry + len);
  };
  if (b0 >= 0x50 && b0 <= 0x57) return push(PUSH_REG[b0 - 0x50], 1);
  if (b0 === 0x41 && b1 >= 0x50 && b1 <= 0x57) {
    return push(PUSH_REX[b1 - 0x50], 2);
  }
  // endbr64: a no-op while indirect-branch tracking is off.
  if ((w & 0xffffffffn) === 0xfa1e0ff3n) {
    return (r) => {
      r[REG.rip] = BigInt(entry + 4);
    };
  }
  // mov $imm32,%r32 (zero-extends): execve's `mov $0x3b,%eax`.
  if (b0 >= 0xb8 && b0 <= 0xbf) {
    const imm = (w >> 8n) & 0xffffffffn;
    return (r) => {
      r[GPR[b0 - 0xb8]] = imm;
      r[REG.rip] = BigInt(entry + 5);
    };
  }
  // mov %reg,%reg (REX.W 89 /r, register form).
  if ((b0 & 0xfa) === 0x48 && b1 === 0x89 && (b2 >> 6) === 3) {
    const src = ((b0 & 4) << 1) | ((b2 >> 3) & 7);
    const dst = ((b0 & 1) << 3) | (b2 & 7);
    return (r) => {
      r[GPR[dst]] = r[GPR[src]];
      r[REG.rip] = BigInt(entry + 3);
    };
  }
  // cmpb $imm8, disp32(%rip) (glibc's "malloc initialised?" check).
  if (b0 === 0x80 && b1 === 0x3d) {
    const disp = Number(BigInt.asIntN(32, (w >> 16n) & 0xffffffffn));
    const imm = Number((w >> 48n) & 0xffn);
    const target = entry + 7 + disp;
    return (r, tid) => {
      const a = Number(t.peek(tid, target) & 0xffn);
      r[EFLAGS] = subFlags8(r[EFLAGS], a, imm);
      r[REG.rip] = BigInt(entry + 7);
    };
  }
  if (b0 === 0x48 && b1 === 0x85 && b2 === 0xff) {
    // test %rdi,%rdi: CF=OF=0, ZF, SF, PF from the result.
    return (r) => {
      const v = r[REG.rdi];
      let f = r[EFLAGS] & ~(0x1n | 0x4n | 0x40n | 0x80n | 0x800n);
      if (v === 0n) f |= 0x40n;
      if ((v >> 63n) & 1n) f |= 0x80n;
      if (evenParity(Number(v & 0xffn))) f |= 0x4n;
      r[EFLAGS] = f;
      r[REG.rip] = BigInt(entry + 3);
    };
  }
  return null;
}

/**
 * Executes the instruction under the breakpoint at `addr` for `tid` and
 * leaves it at the next one: emulated, or single-stepped with the original
 * byte `orig` back for that one step (registers must be loaded). Returns
 * the signal the thread must be resumed with: 0, or the fault the real
 * instruction met (a push past the stack's end: SIGSEGV, as untraced).
 */
export function stepPast(
  t: Tracee,
  tid: number,
  addr: number,
  orig: number,
  emulate: Emulator | null,
): number {
  if (emulate !== null && emulate(t.regs, tid) !== false) {
    t.setRegs(tid);
    return 0;
  }
  t.setByte(tid, addr, orig);
  t.regs[REG.rip] = BigInt(addr);
  t.setRegs(tid);
  const sig = t.step(tid);
  t.setByte(tid, addr, 0xcc);
  return sig === SIGTRAP ? 0 : sig;
}

interface Hook {
  kind: NativeKind;
  orig: number;
  emulate: Emulator | null;
}

type Pending = Call & { ret: number; rsp: number };

/** Breakpoints in one process. */
export class BreakpointMode implements HookMode {
  readonly name = "breakpoints";
  readonly #p: HookedProcess;
  readonly #s: ModeSettings;
  readonly #landing: number;
  readonly #hooks: Map<number, Hook>;
  readonly #pending = new Map<number, Pending[]>();
  #unwinder: RemoteUnwinder | null = null;

  /**
   * Plants the breakpoints in `p` (thread `tid` stopped); calls return to
   * `landing`, a breakpoint the tracer keeps.
   *
   * @throws {Error} when stacks are wanted and libunwind is missing.
   */
  constructor(
    p: HookedProcess,
    s: ModeSettings,
    landing: number,
    tid: number,
    hooks?: Map<number, Hook>,
  ) {
    this.#p = p;
    this.#s = s;
    this.#landing = landing;
    if (s.wantStacks) {
      this.#unwinder = new RemoteUnwinder(
        loadLibc(),
        (pc) => p.maps.moduleOf(pc),
      );
    }
    if (hooks !== undefined) {
      this.#hooks = new Map(hooks);
      return;
    }
    this.#hooks = new Map();
    const t = p.tracee;
    for (const [kind, off] of s.hookOffsets) {
      const addr = p.libcStart + off;
      // Aliases (glibc's memalign is aligned_alloc) share one breakpoint.
      if (this.#hooks.has(addr)) continue;
      const emulate = emulatorFor(t, t.peek(tid, addr), addr);
      this.#hooks.set(addr, {
        kind,
        orig: t.setByte(tid, addr, 0xcc),
        emulate,
      });
    }
  }

  trap(tid: number, bp: number): boolean {
    const t = this.#p.tracee;
    const regs = t.regs;
    if (bp === this.#landing) {
      // A traced call returning: to its real caller.
      const stack = this.#pending.get(tid) ?? [];
      const rsp = Number(regs[REG.rsp]);
      const i = stack.findLastIndex((p) => rsp === p.rsp + 8);
      if (i < 0) return false; // ld.so's own call of _dl_debug_state
      const p = stack.splice(i, 1)[0];
      finishCall(this.#p.emit, this.#p.mem, tid, p, Number(regs[REG.rax]));
      regs[REG.rip] = BigInt(p.ret);
      t.setRegs(tid);
      t.cont(tid);
      return true;
    }
    const hook = this.#hooks.get(bp);
    if (hook === undefined) return false;
    const rdi = Number(regs[REG.rdi]);
    const rsi = Number(regs[REG.rsi]);
    const rsp = Number(regs[REG.rsp]);
    let stack = this.#pending.get(tid);
    if (stack === undefined) {
      stack = [];
      this.#pending.set(tid, stack);
    }
    // A hooked call made inside another (glibc's realloc calls malloc and
    // free, reallocarray calls realloc) is part of the outer one.
    if (stack.length === 0) {
      if (hook.kind === "free") {
        if (rdi !== 0) emitFree(this.#p.emit, tid, rdi);
      } else {
        const k = hook.kind;
        const s = this.#s;
        const size = requestedSize(k, rdi, rsi, Number(regs[REG.rdx]));
        const sampled = s.sampler === null || s.sampler.sample(size, s.rate);
        const frames = sampled && this.#unwinder !== null
          ? this.#unwinder.unwind(tid, bp)
          : [];
        const ret = Number(t.peek(tid, rsp));
        // The call returns to the landing breakpoint instead of its caller.
        t.poke(tid, rsp, BigInt(this.#landing));
        stack.push({
          kind: k,
          size,
          // realloc's old block, or where posix_memalign stores its result.
          old: k === "realloc" || k === "reallocarray" || k === "posix_memalign"
            ? rdi
            : 0,
          ret,
          rsp,
          frames,
          sampled,
        });
      }
    }
    t.cont(tid, stepPast(t, tid, bp, hook.orig, hook.emulate));
    return true;
  }

  drain(): number {
    return 0; // every call is reported at its stop
  }

  thread(): void {}

  runAs(): void {}

  readsClock(): boolean {
    return false;
  }

  inStub(): boolean {
    return false;
  }

  fullTrap(): boolean {
    return false;
  }

  codeChanged(): void {}

  forked(child: HookedProcess, tid: number): HookMode {
    return new BreakpointMode(child, this.#s, this.#landing, tid, this.#hooks);
  }

  remove(tid: number): void {
    for (const [addr, h] of this.#hooks) {
      this.#p.tracee.setByte(tid, addr, h.orig);
    }
  }

  close(): void {
    this.#unwinder?.close();
  }
}
