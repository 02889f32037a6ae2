/**
 * Tracing malloc, calloc, realloc, free and the aligned/array allocators of
 * a native program with ptrace from Deno's FFI, and its native stacks with
 * libunwind-ptrace (reference: shared/reference/native-tracing.md; no C code
 * of ours). The child is started stopped (`sh -c 'kill -STOP $$; exec "$0"
 * "$@"'`), seized, and followed to its exec; a breakpoint on ld.so's
 * `_dl_debug_state` says when libc is mapped, and then the hooked functions
 * get breakpoints. A hit records the arguments and, for allocations, plants
 * a breakpoint on the return address to read the result; the stack is
 * unwound at entry (only for sampled calls when a sampling rate is set).
 *
 * When a hooked function's first instruction is one we can emulate (`push
 * reg`, `test %rdi,%rdi`), the breakpoint stays and the instruction is
 * executed by writing registers; otherwise classic breakpoints are used
 * (restore, single-step, re-plant), where with several threads a call can
 * slip past while another thread steps over the breakpoint.
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
  REG,
  type Unwind,
} from "./ffi.ts";
import { Sampler } from "../profile/sampling.ts";

/** One native allocation event. */
export interface NativeEvent {
  /** `malloc`, `calloc`, `realloc` or `free`. */
  kind:
    | "malloc"
    | "calloc"
    | "realloc"
    | "free"
    | "posix_memalign"
    | "aligned_alloc"
    | "memalign"
    | "valloc"
    | "reallocarray";
  /** Thread id. */
  tid: number;
  /** Result (allocations) or argument (free). */
  addr: number;
  /** Bytes (allocations; `calloc`: n × size). */
  size: number;
  /** `realloc`'s old pointer. */
  old: number;
  /** The stack at entry: PCs with names, innermost first (empty without stacks or when not sampled). */
  frames: NativeFrame[];
  /** Whether the heap-profile sampler chose it (always, without a sampling rate). */
  sampled: boolean;
}

/** A native frame: its PC, symbol (from libunwind), module, and the address inside the module's file. */
export interface NativeFrame {
  /** Program counter (return address, except the first frame). */
  pc: number;
  /** Symbol name from libunwind (empty when the module has none). */
  name: string;
  /** Offset from the symbol's start. */
  off: number;
  /** Path of the mapped file. */
  module: string;
  /** Address to look up in the module's ELF file (for addr2line). */
  rel: number;
}

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
}

const WALL = 0x40000000;
const SIGTRAP = 5;
const SIGSTOP = 19;
const SIGCONT = 18;
const EV_FORK = 1;
const EV_VFORK = 2;
const EV_CLONE = 3;
const EV_EXEC = 4;
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

/** The bytes an allocation call asks for, from its arguments. */
function requestedSize(
  kind: NativeEvent["kind"],
  rdi: number,
  rsi: number,
  rdx: number,
): number {
  return kind === "calloc"
    ? rdi * rsi
    : kind === "realloc" || kind === "aligned_alloc" || kind === "memalign"
    ? rsi
    : kind === "posix_memalign"
    ? rdx
    : kind === "reallocarray"
    ? rsi * rdx
    : rdi;
}

const ptrOf = (b: ArrayBufferView) =>
  BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b as BufferSource)));

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
  const unwind: Unwind | null = wantStacks ? loadUnwind() : null;
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
  for (
    const k of [
      "malloc",
      "calloc",
      "realloc",
      "free",
      "posix_memalign",
      "aligned_alloc",
      "memalign",
      "valloc",
      "reallocarray",
    ] as const
  ) {
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
      PT.O_TRACEVFORK,
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
  const returns = new Map<number, { orig: number; refs: number }>();
  let rbrk = 0;
  let rbrkOrig = 0;
  let hooked = false;
  const pending = new Map<
    number,
    {
      kind: NativeEvent["kind"];
      size: number;
      old: number;
      ret: number;
      rsp: number;
      frames: NativeEvent["frames"];
      sampled: boolean;
    }[]
  >();
  const upts = new Map<number, Deno.PointerValue>();
  let as: Deno.PointerValue = null;
  if (unwind !== null) {
    as = unwind.u._Ux86_64_create_addr_space(
      Deno.UnsafePointer.create(
        BigInt(Deno.UnsafePointer.value(unwind.accessors)),
      ),
      0,
    );
    unwind.u._Ux86_64_set_caching_policy(as, 1);
  }
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
        let low = Number(v & 0xffn);
        let ones = 0;
        while (low) {
          ones += low & 1;
          low >>= 1;
        }
        if (ones % 2 === 0) f |= 0x4n;
        r[18] = f;
        r[REG.rip] = BigInt(entry + 3);
      };
    }
    return null;
  };
  const plantHooks = (tid: number) => {
    maps = readMaps(pid);
    const libcMap = maps.find((m) =>
      /\/libc\.so\.6$|\/libc-[\d.]+\.so$/.test(m.path) && m.offset === 0
    );
    if (libcMap === undefined) return false;
    for (const [kind, off] of hookOffsets) {
      const addr = libcMap.start + off;
      // Aliases (glibc's memalign is aligned_alloc) share one breakpoint.
      if (hooks.has(addr)) continue;
      const emulate = emulatorFor(peek(tid, addr), addr);
      hooks.set(addr, { kind, orig: setByte(tid, addr, 0xcc), emulate });
    }
    return true;
  };

  const emitFree = (tid: number, addr: number) =>
    opts.onEvent({
      kind: "free",
      tid,
      addr,
      size: 0,
      old: 0,
      frames: [],
      sampled: false,
    });

  let exitCode = -1;
  const alive = new Set<number>([pid]);
  while (alive.size > 0) {
    const { tid, s } = wait(-1, WALL);
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
    if (sig === SIGTRAP && event === EV_EXEC) {
      if (tid === pid && rbrk === 0) {
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
        for (const [addr, h] of hooks) setByte(child, addr, h.orig);
        for (const [addr, r] of returns) setByte(child, addr, r.orig);
        c.ptrace(PT.DETACH, BigInt(child), 0n, 0n);
      } else alive.add(child);
      cont(tid);
      continue;
    }
    if (event === EV_STOP || (sig === SIGSTOP && event === 0 && tid !== pid)) {
      cont(tid);
      continue;
    }
    if (sig !== SIGTRAP || event !== 0) {
      cont(tid, sig === SIGSTOP ? 0 : sig);
      continue;
    }
    getRegs(tid);
    const bp = Number(regs[REG.rip]) - 1;
    if (bp === rbrk && rbrk !== 0) {
      if (!hooked && plantHooks(tid)) {
        hooked = true;
        setByte(tid, rbrk, rbrkOrig);
        rbrk = -1;
      }
      // _dl_debug_state is a bare `ret`: do it here.
      regs[REG.rip] = peek(tid, Number(regs[REG.rsp]));
      regs[REG.rsp] += 8n;
      setRegs(tid);
      cont(tid);
      continue;
    }
    const hook = hooks.get(bp);
    const ret = returns.get(bp);
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
          const r = returns.get(retAddr);
          if (r === undefined) {
            returns.set(retAddr, {
              orig: setByte(tid, retAddr, 0xcc),
              refs: 1,
            });
          } else r.refs++;
        }
      }
      if (hook.emulate !== null) {
        hook.emulate(regs, tid);
        setRegs(tid);
      } else stepOver(tid, bp, hook.orig);
      cont(tid);
      continue;
    }
    if (ret !== undefined) {
      const stack = pending.get(tid) ?? [];
      const i = stack.findLastIndex((p) =>
        p.ret === bp && Number(regs[REG.rsp]) === p.rsp + 8
      );
      if (i >= 0) {
        const p = stack.splice(i, 1)[0];
        let result = Number(regs[REG.rax]);
        if (p.kind === "posix_memalign") {
          // It returns an error number; the block goes to *memptr.
          result = result === 0 ? Number(peek(tid, p.old)) : 0;
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
          });
        }
        ret.refs--;
      }
      regs[REG.rip] = BigInt(bp);
      setRegs(tid);
      if (ret.refs <= 0) {
        setByte(tid, bp, ret.orig);
        returns.delete(bp);
      } else stepOver(tid, bp, ret.orig);
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
