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
 * be made), every call stops at a breakpoint, stacks are unwound by
 * libunwind-ptrace on the stopped thread, and the first instruction is
 * executed by writing registers (`push`, `mov`, `test`, `endbr64`, glibc's
 * `cmpb $0,…(%rip)`: every entry of glibc 2.36's allocators), so no
 * breakpoint is ever lifted while other threads run; an instruction we
 * cannot emulate is single-stepped over (restore, step, re-plant: with
 * several threads a call can slip past then). The result is read when the
 * call returns to `_dl_debug_state`'s breakpoint, which its return address
 * is swapped for (a breakpoint no other code reaches, never lifted).
 *
 * @module
 */

import {
  cstr,
  errno,
  type Libc,
  loadLibc,
  loadUnwind,
  PT,
  ptrOf,
  REG,
  type Unwind,
} from "./ffi.ts";
import { Sampler } from "../profile/sampling.ts";
import {
  assemble,
  type HookSpec,
  type Injection,
  LAYOUT,
  REC_FREE,
  REGION_BYTES,
} from "./inject.ts";
import { type Call, HookRing, requestedSize, SIZE_EXPR } from "./hook_ring.ts";
import { NATIVE_KINDS } from "./event.ts";
import { RemoteMemory } from "./remote.ts";
import type { NativeEvent } from "./event.ts";

export type { NativeEvent, NativeFrame } from "./event.ts";

/** Options of a trace. */
export interface NativeOptions {
  /** Unwind a stack for each allocation (default true). */
  stacks?: boolean;
  /**
   * Like runtime.MemProfileRate: unwind stacks only for allocations the
   * exponential sampler picks, one per this many bytes on average (0: every
   * allocation).
   */
  memProfileRate?: number;
  /** Seed of the sampler. */
  seed?: number;
  /** Called for each event. */
  onEvent: (e: NativeEvent) => void;
  /** Called with the program's pid once it is started. */
  onStart?: (pid: number) => void;
  /** Called when the program itself runs (the start-up shell exec'd it). */
  onExec?: () => void;
  /**
   * `inject` (default): in-process hooks written into the program (no stop
   * per call; see inject.ts), falling back to breakpoints when they cannot
   * be made; `breakpoints`: a ptrace stop at every call.
   */
  mode?: "inject" | "breakpoints";
  /**
   * Behave as if the in-process hooks could not be planted, so that the
   * fallback to breakpoints runs (for tests of that path).
   */
  injectFails?: boolean;
}

const WALL = 0x40000000;
const WNOHANG = 1;
const SIGTRAP = 5;
const SIGSTOP = 19;
const SIGCONT = 18;
const EV_FORK = 1;
const EV_VFORK = 2;
const EV_CLONE = 3;
const EV_EXEC = 4;
const EV_EXIT = 6;
const EV_STOP = 128;

interface Map0 {
  start: number;
  end: number;
  offset: number;
  path: string;
}

function readMaps(pid: number): Map0[] {
  const text = Deno.readTextFileSync(`/proc/${pid}/maps`);
  const out: Map0[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(
      line,
    );
    if (m) {
      out.push({
        start: parseInt(m[1], 16),
        end: parseInt(m[2], 16),
        offset: parseInt(m[3], 16),
        path: m[4],
      });
    }
  }
  return out;
}

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

/** The first 8 bytes of `b` as a little-endian word (for PTRACE_POKEDATA). */
const wordOf = (b: Uint8Array): bigint =>
  new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);

/**
 * Traces `argv` to its end and returns its exit code (128 + signal when a
 * signal killed it).
 *
 * @throws {Error} when ptrace is not permitted, the program cannot be
 *   started, or libunwind is missing (with stacks on).
 */
export function traceNative(argv: string[], opts: NativeOptions): number {
  const c: Libc = loadLibc();
  const wantStacks = opts.stacks ?? true;
  const rate = opts.memProfileRate ?? 0;
  const sampler = rate > 0
    ? new Sampler("exponential", opts.seed ?? 1, 0, rate)
    : null;
  // libunwind-ptrace serves the breakpoint mode only: loaded for it at
  // once, or when the injected hooks cannot be made.
  // (Assigned in a closure: the cast keeps TypeScript from narrowing it to null.)
  let unwind = null as Unwind | null;
  const needUnwind = () => {
    if (!wantStacks || unwind !== null) return;
    const u = loadUnwind();
    as = u.u._Ux86_64_create_addr_space(
      Deno.UnsafePointer.create(BigInt(Deno.UnsafePointer.value(u.accessors))),
      0,
    );
    u.u._Ux86_64_set_caching_policy(as, 1);
    unwind = u;
  };
  let as: Deno.PointerValue = null;
  if (opts.mode === "breakpoints") needUnwind();
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
  const hookOffsets: [NativeEvent["kind"], number][] = [];
  for (const k of NATIVE_KINDS) {
    try {
      hookOffsets.push([k, offsetOf(libcHandle, k)]);
    } catch {
      // not in this libc
    }
  }
  const rbrkOffset = offsetOf(null, "_dl_debug_state");

  // Spawn `sh -c 'kill -STOP $$; exec "$0" "$@"' prog args…`, stopped before its exec.
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
  const pidBuf = new Int32Array(1);
  const rc = c.posix_spawn(
    new Uint8Array(pidBuf.buffer),
    cstr("/bin/sh"),
    null,
    null,
    strArray(args),
    strArray(env),
  );
  if (rc !== 0) {
    throw new Error(
      `cannot start ${argv[0]}: posix_spawn failed (errno ${rc})`,
    );
  }
  const pid = pidBuf[0];
  const status = new Int32Array(1);
  const st8 = new Uint8Array(status.buffer);
  const wait = (who: number, flags: number) => {
    const r = c.waitpid(who, st8, flags);
    return { tid: r, s: status[0] };
  };
  wait(pid, 2 /* WUNTRACED */);
  const seize = c.ptrace(
    PT.SEIZE,
    BigInt(pid),
    0n,
    PT.O_TRACEEXEC | PT.O_EXITKILL | PT.O_TRACECLONE | PT.O_TRACEFORK |
      PT.O_TRACEVFORK | PT.O_TRACEEXIT,
  );
  if (seize < 0n) {
    const e = errno();
    c.kill(pid, 9);
    throw new Error(
      `ptrace is not permitted here (errno ${e}${
        e === 1
          ? ", EPERM: Yama ptrace_scope, a seccomp filter or a missing CAP_SYS_PTRACE"
          : ""
      })`,
    );
  }
  c.kill(pid, SIGCONT);
  opts.onStart?.(pid);

  const regs = new BigUint64Array(27);
  const regsPtr = ptrOf(regs);
  const getRegs = (tid: number) =>
    c.ptrace(PT.GETREGS, BigInt(tid), 0n, regsPtr);
  const setRegs = (tid: number) =>
    c.ptrace(PT.SETREGS, BigInt(tid), 0n, regsPtr);
  const peek = (tid: number, addr: number) =>
    BigInt.asUintN(64, c.ptrace(PT.PEEKDATA, BigInt(tid), BigInt(addr), 0n));
  const poke = (tid: number, addr: number, word: bigint) =>
    c.ptrace(PT.POKEDATA, BigInt(tid), BigInt(addr), word);
  const setByte = (tid: number, addr: number, byte: number) => {
    const w = peek(tid, addr);
    const old = Number(w & 0xffn);
    poke(tid, addr, (w & ~0xffn) | BigInt(byte));
    return old;
  };
  const cont = (tid: number, sig = 0) =>
    c.ptrace(PT.CONT, BigInt(tid), 0n, BigInt(sig));

  // Breakpoints: address → original byte.
  const hooks = new Map<
    number,
    {
      kind: NativeEvent["kind"];
      orig: number;
      emulate: ((r: BigUint64Array, tid: number) => void) | null;
    }
  >();
  let rbrk = 0;
  let rbrkOrig = 0;
  let hooked = false;
  // Breakpoint mode: per thread, calls whose return breakpoint is pending.
  const pending = new Map<number, (Call & { ret: number; rsp: number })[]>();
  const upts = new Map<number, Deno.PointerValue>();
  const cursor = new Uint8Array(8192);
  const word = new BigUint64Array(1);
  const wordU8 = new Uint8Array(word.buffer);
  const nameBuf = new Uint8Array(512);
  const names = new Map<number, { name: string; off: number }>();
  let maps: Map0[] = [];
  const moduleOf = (pc: number): { path: string; rel: number } => {
    let m = maps.find((x) => pc >= x.start && pc < x.end);
    if (m === undefined) {
      maps = readMaps(pid);
      m = maps.find((x) => pc >= x.start && pc < x.end);
    }
    if (m === undefined) return { path: "?", rel: pc };
    // Non-PIE executables are linked at their load address; PIE and
    // shared objects are looked up relative to their first mapping.
    const first = maps.find((x) => x.path === m!.path && x.offset === 0);
    const rel = first !== undefined && first.start >= 0x1000000
      ? pc - first.start
      : pc;
    return { path: m.path, rel };
  };
  const unwindStack = (tid: number, entry: number): NativeEvent["frames"] => {
    if (unwind === null) return [];
    // rip is past the int3: rewind it to the entry so the unwinder reads the right CFI row.
    c.ptrace(PT.POKEUSER, BigInt(tid), 128n, BigInt(entry));
    let upt = upts.get(tid);
    if (upt === undefined) {
      upt = unwind.upt._UPT_create(tid);
      upts.set(tid, upt);
    }
    const frames: NativeEvent["frames"] = [];
    if (unwind.u._Ux86_64_init_remote(cursor, as, upt) < 0) return frames;
    for (let i = 0; i < 32; i++) {
      if (unwind.u._Ux86_64_get_reg(cursor, 16, wordU8) < 0) break;
      const pc = Number(word[0]);
      if (pc === 0) break;
      let n = names.get(pc);
      if (n === undefined) {
        const ok = unwind.u._Ux86_64_get_proc_name(
          cursor,
          nameBuf,
          BigInt(nameBuf.length),
          wordU8,
        ) === 0;
        const end = nameBuf.indexOf(0);
        n = ok
          ? {
            name: new TextDecoder().decode(
              nameBuf.subarray(0, end < 0 ? 0 : end),
            ),
            off: Number(word[0]),
          }
          : { name: "", off: 0 };
        names.set(pc, n);
      }
      const mod = moduleOf(pc);
      frames.push({
        pc,
        name: n.name,
        off: n.off,
        module: mod.path,
        rel: mod.rel,
      });
      if (unwind.u._Ux86_64_step(cursor) <= 0) break;
    }
    return frames;
  };
  // Step `tid` over the breakpoint at `addr` (original byte `orig`).
  const stepOver = (tid: number, addr: number, orig: number) => {
    setByte(tid, addr, orig);
    getRegs(tid);
    regs[REG.rip] = BigInt(addr);
    setRegs(tid);
    c.ptrace(PT.SINGLESTEP, BigInt(tid), 0n, 0n);
    wait(tid, WALL);
    setByte(tid, addr, 0xcc);
  };
  // The first instruction of a hooked function, executed by us instead of
  // being single-stepped: one ptrace stop per call instead of two, and no
  // window in which the breakpoint is lifted.
  const PUSH_REG = [10, 11, 12, 5, 19, 4, 13, 14]; // rax rcx rdx rbx rsp rbp rsi rdi
  const PUSH_REX = [9, 8, 7, 6, 3, 2, 1, 0]; // r8 … r15
  const GPR = [...PUSH_REG, ...PUSH_REX]; // by the instruction's register number
  const emulatorFor = (
    w: bigint,
    entry: number,
  ): ((r: BigUint64Array, tid: number) => void) | null => {
    const b0 = Number(w & 0xffn);
    const b1 = Number((w >> 8n) & 0xffn);
    const b2 = Number((w >> 16n) & 0xffn);
    const push =
      (reg: number, len: number) => (r: BigUint64Array, tid: number) => {
        r[REG.rsp] -= 8n;
        poke(tid, Number(r[REG.rsp]), r[reg]);
        r[REG.rip] = BigInt(entry + len);
      };
    if (b0 >= 0x50 && b0 <= 0x57) return push(PUSH_REG[b0 - 0x50], 1);
    // endbr64: a no-op while indirect-branch tracking is off (it is for
    // a traced program: ptrace and IBT are not combined here).
    if ((w & 0xffffffffn) === 0xfa1e0ff3n) {
      return (r) => {
        r[REG.rip] = BigInt(entry + 4);
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
        const a = Number(peek(tid, target) & 0xffn);
        r[18] = subFlags8(r[18], a, imm);
        r[REG.rip] = BigInt(entry + 7);
      };
    }
    if (b0 === 0x41 && b1 >= 0x50 && b1 <= 0x57) {
      return push(PUSH_REX[b1 - 0x50], 2);
    }
    if (b0 === 0x48 && b1 === 0x85 && b2 === 0xff) {
      // test %rdi,%rdi: CF=OF=0, ZF, SF, PF from the result.
      return (r) => {
        const v = r[REG.rdi];
        let f = r[18] & ~(0x1n | 0x4n | 0x40n | 0x80n | 0x800n);
        if (v === 0n) f |= 0x40n;
        if ((v >> 63n) & 1n) f |= 0x80n;
        if (evenParity(Number(v & 0xffn))) f |= 0x4n;
        r[18] = f;
        r[REG.rip] = BigInt(entry + 3);
      };
    }
    return null;
  };
  const libcStartOf = (): number | undefined =>
    maps.find((m) =>
      /\/libc\.so\.6$|\/libc-[\d.]+\.so$/.test(m.path) && m.offset === 0
    )?.start;
  const plantHooks = (tid: number, libcStart: number) => {
    for (const [kind, off] of hookOffsets) {
      const addr = libcStart + off;
      // Aliases (glibc's memalign is aligned_alloc) share one breakpoint.
      if (hooks.has(addr)) continue;
      const emulate = emulatorFor(peek(tid, addr), addr);
      hooks.set(addr, { kind, orig: setByte(tid, addr, 0xcc), emulate });
    }
    return true;
  };

  const t0 = performance.now();
  const emitFree = (tid: number, addr: number) =>
    opts.onEvent({
      kind: "free",
      tid,
      addr,
      size: 0,
      old: 0,
      frames: [],
      sampled: false,
      time: performance.now() - t0,
    });

  const mem = new RemoteMemory(c, pid);

  // An allocation call returned `result`: its events.
  const finishCall = (
    tid: number,
    p: Call,
    result: number,
    stored?: number,
  ) => {
    if (p.kind === "posix_memalign") {
      // It returns an error number; the block goes to *memptr.
      result = result === 0 ? stored ?? mem.readWord(p.old) : 0;
      p.old = 0;
    }
    // realloc frees the old block when it moves it, and realloc(p, 0) frees p.
    if (
      (p.kind === "realloc" || p.kind === "reallocarray") && p.old !== 0 &&
      (result !== 0 || p.size === 0)
    ) {
      emitFree(tid, p.old);
    }
    if (result !== 0) {
      opts.onEvent({
        kind: p.kind,
        tid,
        addr: result,
        size: p.size,
        old: p.old,
        frames: p.frames,
        sampled: p.sampled,
        time: performance.now() - t0,
      });
    }
  };

  // ---- in-process hooks (inject.ts, hook_ring.ts) ----
  // (Assigned in closures: the cast keeps TypeScript from narrowing it to null.)
  let ring = null as HookRing | null;
  const vforkKids = new Set<number>();
  const knownTids = new Set<number>([pid]);
  // Maps `len` bytes near libc in the program (one mmap syscall run in it,
  // at `at`, an int3 it is stopped on): within ±2 GiB, for the entry jumps.
  const injectMmap = (tid: number, at: number, near: number): number => {
    getRegs(tid);
    const saved = regs.slice();
    const w = peek(tid, at);
    poke(tid, at, (w & ~0xffffn) | 0x050fn); // syscall
    try {
      for (let k = 1; k <= 32; k++) {
        for (const hint of [near - k * 0x4000000, near + k * 0x4000000]) {
          if (hint <= 0x10000) continue;
          regs.set(saved);
          regs[REG.rip] = BigInt(at);
          regs[REG.rax] = 9n; // mmap
          regs[REG.rdi] = BigInt(hint);
          regs[REG.rsi] = BigInt(REGION_BYTES);
          regs[REG.rdx] = 7n; // PROT_READ | PROT_WRITE | PROT_EXEC
          regs[REG.r10] = 0x100022n; // MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE
          regs[REG.r8] = 0xffffffffffffffffn;
          regs[REG.r9] = 0n;
          setRegs(tid);
          c.ptrace(PT.SINGLESTEP, BigInt(tid), 0n, 0n);
          wait(tid, WALL);
          getRegs(tid);
          const r = BigInt.asIntN(64, regs[REG.rax]);
          if (r === BigInt(hint)) return hint;
          if (r === -1n || r === -12n || r === -13n) return -1; // EPERM, ENOMEM, EACCES
        }
      }
      return -1;
    } finally {
      poke(tid, at, w);
      regs.set(saved);
      setRegs(tid);
    }
  };
  // Writes the stubs and patches the entries (`tid` is stopped on the int3
  // at `at`); false leaves everything as it was.
  const plantInjected = (tid: number, libcStart: number, at: number) => {
    // A CET shadow stack would refuse the swapped return addresses.
    try {
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      if (/^x86_Thread_features:.*\bshstk\b/m.test(status)) return false;
    } catch {
      // no status: go on
    }
    const specs: HookSpec[] = [];
    for (const [kind, off] of hookOffsets) {
      const entry = libcStart + off;
      if (specs.some((h) => h.entry === entry)) continue; // aliases
      const head = new Uint8Array(16);
      const dv = new DataView(head.buffer);
      dv.setBigUint64(0, peek(tid, entry), true);
      dv.setBigUint64(8, peek(tid, entry + 8), true);
      specs.push({
        kind: kind === "free" ? REC_FREE : NATIVE_KINDS.indexOf(kind) + 1,
        entry,
        head,
        size: SIZE_EXPR[kind] ?? "rdi",
        resultAt: kind === "posix_memalign" ? "rdi" : undefined,
      });
    }
    const region = injectMmap(tid, at, libcStart);
    if (region < 0) return false;
    let code: Injection | null;
    try {
      code = assemble(region, specs);
    } catch {
      code = null;
    }
    if (code === null) return false;
    if (!mem.transfer(true, [[code.code, region + LAYOUT.tramps]])) {
      return false;
    }
    const r = new HookRing({
      mem,
      pid,
      region,
      code,
      entryOf: new Map(specs.map((h) => [h.kind, h.entry])),
      sampler,
      rate,
      wantStacks,
      moduleOf,
      finish: finishCall,
      free: emitFree,
    });
    if (!r.init()) return false;
    for (const p of code.patches) poke(tid, p.entry, wordOf(p.word));
    ring = r;
    return true;
  };
  let exitCode = -1;
  const alive = new Set<number>([pid]);
  // While the program runs, the ring is read every few milliseconds (the
  // tracer's own thread): events reach consumers as they happen, and the
  // program rarely finds the ring full.
  let idle = 0;
  while (alive.size > 0) {
    const { tid, s } = wait(-1, WALL | (ring !== null ? WNOHANG : 0));
    if (tid === 0) {
      if (ring!.drain(false) > 0) idle = 0;
      else c.usleep(250 << Math.min(idle++, 4)); // up to 4 ms
      continue;
    }
    idle = 0;
    if (tid < 0) break;
    const sig = (s >> 8) & 0xff;
    const event = s >>> 16;
    if ((s & 0x7f) === 0) {
      alive.delete(tid);
      if (tid === pid) exitCode = (s >> 8) & 0xff;
      continue;
    }
    if ((s & 0xff) !== 0x7f) {
      alive.delete(tid);
      if (tid === pid) exitCode = 128 + (s & 0x7f);
      continue;
    }
    alive.add(tid);
    // Whatever the stop, the ring first: records are older than it.
    ring?.drain(false);
    if (event === EV_EXIT) {
      cont(tid);
      continue;
    }
    if (sig === SIGTRAP && event === EV_EXEC) {
      if (tid === pid) ring = null; // that image is gone
      if (tid === pid && rbrk === 0) {
        opts.onExec?.();
        maps = readMaps(pid);
        const ld = maps.find((m) =>
          /ld-linux[^/]*\.so/.test(m.path) && m.offset === 0
        );
        if (ld !== undefined) {
          rbrk = ld.start + rbrkOffset;
          rbrkOrig = setByte(pid, rbrk, 0xcc);
        }
      }
      cont(tid);
      continue;
    }
    if (
      sig === SIGTRAP &&
      (event === EV_CLONE || event === EV_FORK || event === EV_VFORK)
    ) {
      c.ptrace(PT.GETEVENTMSG, BigInt(tid), 0n, ptrOf(word));
      const child = Number(word[0]);
      if (event === EV_FORK) {
        // A fork child has its own copy of our breakpoints: take them out and let it go.
        wait(child, WALL);
        for (const p of ring?.code.patches ?? []) {
          poke(child, p.entry, wordOf(p.orig));
        }
        for (const [addr, h] of hooks) setByte(child, addr, h.orig);
        if (rbrk > 0) setByte(child, rbrk, rbrkOrig);
        c.ptrace(PT.DETACH, BigInt(child), 0n, 0n);
      } else {
        alive.add(child);
        // A vfork child runs on its parent's thread pointer.
        if (event === EV_VFORK) vforkKids.add(child);
      }
      cont(tid);
      continue;
    }
    if (event === EV_STOP || (sig === SIGSTOP && event === 0 && tid !== pid)) {
      if (!knownTids.has(tid)) {
        // A new thread, before it runs: its thread pointer names its records.
        knownTids.add(tid);
        if (!vforkKids.has(tid) && ring !== null && getRegs(tid) >= 0n) {
          ring.thread(Number(regs[REG.fs_base]), tid);
        }
      }
      cont(tid);
      continue;
    }
    if (sig !== SIGTRAP || event !== 0) {
      cont(tid, sig === SIGSTOP ? 0 : sig);
      continue;
    }
    getRegs(tid);
    const bp = Number(regs[REG.rip]) - 1;
    if (ring !== null && ring.code.fullTraps.has(bp)) {
      ring.drain(true); // room made: the stub retries
      cont(tid);
      continue;
    }
    if (bp === rbrk && rbrk > 0) {
      // A traced call returning (breakpoint mode): to its real caller.
      const stack = pending.get(tid) ?? [];
      const rsp = Number(regs[REG.rsp]);
      const i = stack.findLastIndex((p) => rsp === p.rsp + 8);
      if (i >= 0) {
        const p = stack.splice(i, 1)[0];
        finishCall(tid, p, Number(regs[REG.rax]));
        regs[REG.rip] = BigInt(p.ret);
        setRegs(tid);
        cont(tid);
        continue;
      }
    }
    if (bp === rbrk && rbrk !== 0) {
      // The first stops come before libc is mapped: wait for it.
      maps = readMaps(pid);
      const libc = libcStartOf();
      if (!hooked && libc !== undefined) {
        if (
          opts.mode !== "breakpoints" && !opts.injectFails &&
          plantInjected(tid, libc, rbrk)
        ) {
          hooked = true;
        } else {
          try {
            needUnwind();
          } catch (e) {
            c.kill(pid, 9); // nothing left stopped
            throw e;
          }
          hooked = plantHooks(tid, libc);
        }
        // The breakpoint mode keeps it: calls return to it.
        if (hooked && ring !== null) {
          setByte(tid, rbrk, rbrkOrig);
          rbrk = -1;
        }
      }
      // _dl_debug_state is a bare `ret`: do it here.
      regs[REG.rip] = peek(tid, Number(regs[REG.rsp]));
      regs[REG.rsp] += 8n;
      setRegs(tid);
      cont(tid);
      continue;
    }
    const hook = hooks.get(bp);
    if (hook !== undefined) {
      const rdi = Number(regs[REG.rdi]);
      const rsi = Number(regs[REG.rsi]);
      const rsp = Number(regs[REG.rsp]);
      const stack = pending.get(tid) ?? [];
      pending.set(tid, stack);
      // A hooked call made inside another (glibc's realloc calls malloc and
      // free, reallocarray calls realloc) is part of the outer one.
      const nested = stack.length > 0;
      if (!nested) {
        if (hook.kind === "free") {
          if (rdi !== 0) emitFree(tid, rdi);
        } else {
          const k = hook.kind;
          const size = requestedSize(k, rdi, rsi, Number(regs[REG.rdx]));
          const sampled = sampler === null || sampler.sample(size, rate);
          const frames = sampled ? unwindStack(tid, bp) : [];
          const retAddr = Number(peek(tid, rsp));
          // The call returns to _dl_debug_state's breakpoint instead of
          // its caller: a breakpoint no other code runs into, so it is
          // never lifted while other threads run (a breakpoint on the
          // caller's return address was, and a thread already stopped on
          // it got a SIGTRAP of its own once it was gone).
          poke(tid, rsp, BigInt(rbrk));
          stack.push({
            kind: k,
            size,
            // realloc's old block, or where posix_memalign stores its result.
            old:
              k === "realloc" || k === "reallocarray" || k === "posix_memalign"
                ? rdi
                : 0,
            ret: retAddr,
            rsp,
            frames,
            sampled,
          });
        }
      }
      if (hook.emulate !== null) {
        hook.emulate(regs, tid);
        setRegs(tid);
      } else stepOver(tid, bp, hook.orig);
      cont(tid);
      continue;
    }
    // A SIGTRAP of the program's own.
    cont(tid, SIGTRAP);
  }
  if (unwind !== null) {
    for (const u of upts.values()) unwind.upt._UPT_destroy(u);
  }

  return exitCode;
}
