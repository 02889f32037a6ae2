/**
 * What the stopped threads' stacks hold of the hooks' region, for the
 * detach that would unmap it: each thread's stack from its stack pointer
 * up, and, for every signal frame found there, the stack the interrupted
 * code was on (a handler on a sigaltstack that interrupted the real
 * malloc: the call's frames, with the trampoline address it returns to,
 * are on the normal stack, which the thread's stack pointer is not on).
 *
 * @module
 */

import type { Mapping } from "./proc_maps.ts";

/** Reads the program's memory (ProcMem). */
export interface StackMemory {
  /** Copies each piece from the program's memory; whether every byte came. */
  transfer(write: boolean, parts: readonly [Uint8Array, number][]): boolean;
  /** The 8 bytes at `addr` (0 when unreadable). */
  readWord(addr: number): number;
}

/** The most bytes of one stack mapping looked through. */
export const MAX_STACK_SCAN = 16 << 20;

// x86-64 rt_sigreturn trampoline (glibc's and musl's __restore_rt, Go's
// sigreturn): mov rax, 15; syscall. A handler's return address is one.
const SIGRETURN = [0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05];
// In the frame above that return address: the ucontext (8 on), whose
// mcontext keeps the interrupted rsp 160 bytes in.
const FRAME_RSP = 8 + 160;

/**
 * Every word of the region [lo, hi) on the stacks of the threads whose
 * stack pointers are `sps`, and on every stack a signal frame there was
 * taken from, each address looked at once: where each was found → its
 * value. Null when a stack cannot be read, is not mapped, or is over
 * {@link MAX_STACK_SCAN} (what cannot be looked through keeps the region).
 *
 * @example
 * ```ts ignore
 * const seen = _regionWords(mem, parseMaps(text), [rsp], lo, hi);
 * ```
 */
export function _regionWords(
  mem: StackMemory,
  maps: readonly Mapping[],
  sps: readonly number[],
  lo: number,
  hi: number,
): Map<number, number> | null {
  const [blo, bhi] = [BigInt(lo), BigInt(hi)];
  const code = maps.filter((m) => m.exec && (m.end <= lo || m.start >= hi));
  const [clo, chi] = code.length === 0 ? [0n, 0n] : [
    BigInt(Math.min(...code.map((m) => m.start))),
    BigInt(Math.max(...code.map((m) => m.end))),
  ];
  const isCode = (w: bigint) =>
    w >= clo && w < chi &&
    code.some((m) => w >= BigInt(m.start) && w < BigInt(m.end));
  /** Mapping → the lowest address looked through in it (up to its end). */
  const from = new Map<Mapping, number>();
  /** Code address → whether it is a sigreturn trampoline. */
  const sigreturn = new Map<number, boolean>();
  const out = new Map<number, number>();
  const work = sps.map((sp) => sp - (sp % 8)); // (a number: no 32-bit &)
  while (work.length > 0) {
    const at = work.pop()!;
    const m = maps.find((m) => at >= m.start && at < m.end);
    if (m === undefined || m.end - at > MAX_STACK_SCAN) return null;
    const end = from.get(m) ?? m.end;
    if (at >= end) continue; // looked through already
    from.set(m, at);
    const stack = new Uint8Array(end - at);
    if (!mem.transfer(false, [[stack, at]])) return null;
    const words = new BigUint64Array(stack.buffer);
    const calls: number[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (w >= blo && w < bhi) out.set(at + 8 * i, Number(w));
      else if (isCode(w)) calls.push(i);
    }
    _learn(mem, calls.map((i) => Number(words[i])), sigreturn);
    for (const i of calls) {
      if (!sigreturn.get(Number(words[i]))) continue;
      // A signal frame: the interrupted code's stack is looked through too
      // (0, unreadable, is no mapping: the region stays).
      const rsp = mem.readWord(at + 8 * i + FRAME_RSP);
      work.push(rsp - (rsp % 8));
    }
  }
  return out;
}

// Reads the first bytes at each code address not yet known and notes
// whether they are a sigreturn trampoline's.
function _learn(
  mem: StackMemory,
  addrs: number[],
  known: Map<number, boolean>,
): void {
  const fresh = [...new Set(addrs)].filter((a) => !known.has(a));
  if (fresh.length === 0) return;
  const n = SIGRETURN.length;
  const buf = new Uint8Array(fresh.length * n);
  const parts = fresh.map((a, k) =>
    [buf.subarray(k * n, (k + 1) * n), a] as [Uint8Array, number]
  );
  if (!mem.transfer(false, parts)) {
    // One piece past the end of its mapping (an address near a code
    // mapping's end): each on its own, what cannot be read is no trampoline.
    for (const [b, a] of parts) {
      known.set(a, mem.transfer(false, [[b, a]]) && _isSigreturn(b));
    }
    return;
  }
  for (const [b, a] of parts) known.set(a, _isSigreturn(b));
}

function _isSigreturn(b: Uint8Array): boolean {
  return SIGRETURN.every((x, i) => b[i] === x);
}
