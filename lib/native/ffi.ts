/**
 * FFI bindings for native tracing: libc's ptrace, waitpid, kill,
 * posix_spawn, dlopen/dlsym/dladdr, and libunwind-ptrace's remote
 * unwinder (reference: shared/reference/native-tracing.md). Loaded on
 * demand; errors name the Debian package to install.
 *
 * @module
 */

/** ptrace requests and options used. */
export const PT = {
  PEEKDATA: 2n,
  PEEKUSER: 3n,
  POKEDATA: 5n,
  POKEUSER: 6n,
  CONT: 7n,
  KILL: 8n,
  SINGLESTEP: 9n,
  GETREGS: 12n,
  SETREGS: 13n,
  DETACH: 17n,
  SETOPTIONS: 0x4200n,
  SEIZE: 0x4206n,
  INTERRUPT: 0x4207n,
  LISTEN: 0x4208n,
  GETEVENTMSG: 0x4201n,
  GETSIGINFO: 0x4202n,
  SETSIGINFO: 0x4203n,
  O_TRACEFORK: 0x2n,
  O_TRACEVFORK: 0x4n,
  O_TRACECLONE: 0x8n,
  O_TRACEEXEC: 0x10n,
  O_TRACEVFORKDONE: 0x20n,
  O_TRACEEXIT: 0x40n,
  O_EXITKILL: 0x100000n,
} as const;

/** Index of registers in `struct user_regs_struct` (27 × u64). */
export const REG = {
  rax: 10,
  rdi: 14,
  rsi: 13,
  rdx: 12,
  rip: 16,
  rsp: 19,
  r8: 9,
  r9: 8,
  r10: 7,
  fs_base: 21,
  orig_rax: 15,
} as const;

const LIBC_SYMBOLS = {
  ptrace: { parameters: ["i64", "i64", "u64", "u64"], result: "i64" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  usleep: { parameters: ["u32"], result: "i32" },
  posix_spawn: {
    parameters: ["buffer", "buffer", "pointer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: {
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  dladdr: { parameters: ["pointer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  process_vm_readv: {
    parameters: ["i32", "buffer", "u64", "buffer", "u64", "u64"],
    result: "i64",
  },
  process_vm_writev: {
    parameters: ["i32", "buffer", "u64", "buffer", "u64", "u64"],
    result: "i64",
  },
} as const;

const UNWIND_SYMBOLS = {
  _Ux86_64_create_addr_space: {
    parameters: ["pointer", "i32"],
    result: "pointer",
  },
  _Ux86_64_set_caching_policy: {
    parameters: ["pointer", "i32"],
    result: "i32",
  },
  _Ux86_64_init_remote: {
    parameters: ["buffer", "pointer", "pointer"],
    result: "i32",
  },
  _Ux86_64_step: { parameters: ["buffer"], result: "i32" },
  _Ux86_64_get_reg: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  _Ux86_64_get_proc_name: {
    parameters: ["buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
} as const;

const UPT_SYMBOLS = {
  _UPT_create: { parameters: ["i32"], result: "pointer" },
  _UPT_destroy: { parameters: ["pointer"], result: "void" },
} as const;

/** The address of a buffer's first byte, for pointer-sized FFI arguments. */
export const ptrOf = (b: ArrayBufferView): bigint =>
  BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b as BufferSource)));

/** A C string in a buffer. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s + "\0");
  return new Uint8Array(b);
}

/** The libc bindings. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let libc: Libc | null = null;

/** Loads libc (once). */
export function loadLibc(): Libc {
  if (libc === null) libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
  return libc;
}

/** errno after a failed call. */
export function errno(): number {
  const p = loadLibc().__errno_location();
  return new Deno.UnsafePointerView(p!).getInt32();
}

/** The remote unwinder. */
export interface Unwind {
  u: Deno.DynamicLibrary<typeof UNWIND_SYMBOLS>["symbols"];
  upt: Deno.DynamicLibrary<typeof UPT_SYMBOLS>["symbols"];
  accessors: Deno.PointerValue;
}

/**
 * Loads libunwind-ptrace. libunwind-x86_64 is loaded RTLD_GLOBAL first
 * because libunwind-ptrace uses its symbols without a DT_NEEDED on it.
 *
 * @throws {Error} naming the Debian package when the libraries are missing.
 */
export function loadUnwind(): Unwind {
  const c = loadLibc();
  const RTLD_NOW_GLOBAL = 0x2 | 0x100;
  const h = c.dlopen(cstr("libunwind-x86_64.so.8"), RTLD_NOW_GLOBAL);
  if (h === null) {
    throw new Error("libunwind is missing: apt-get install libunwind8");
  }
  const hp = c.dlopen(cstr("libunwind-ptrace.so.0"), RTLD_NOW_GLOBAL);
  if (hp === null) {
    throw new Error("libunwind-ptrace is missing: apt-get install libunwind8");
  }
  const accessors = c.dlsym(hp, cstr("_UPT_accessors"));
  return {
    u: Deno.dlopen("libunwind-x86_64.so.8", UNWIND_SYMBOLS).symbols,
    upt: Deno.dlopen("libunwind-ptrace.so.0", UPT_SYMBOLS).symbols,
    accessors,
  };
}
