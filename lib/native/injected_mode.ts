/**
 * The injected strategy: stubs written into the program (inject.ts) record
 * each call in a ring buffer that hook_ring.ts reads, so no call stops it.
 * Planting maps a region near libc (an `mmap` syscall run in the program,
 * on a thread stopped at an int3), writes the stubs and patches each
 * entry with a jump to its stub.
 *
 * @module
 */

import { REG } from "./ffi.ts";
import {
  assemble,
  type HookSpec,
  type Injection,
  LAYOUT,
  REC_FREE,
  REGION_BYTES,
} from "./inject.ts";
import { HookRing, type RingOptions, SIZE_EXPR } from "./hook_ring.ts";
import type { HookedProcess, HookMode, ModeSettings } from "./hook_mode.ts";
import { NATIVE_KINDS } from "./event.ts";
import { wordOf } from "./tracee.ts";

/**
 * Maps the region in `p` within ±2 GiB of `near` (one mmap syscall run by
 * `tid`, stopped on the int3 at `at`); its address, or -1.
 */
function injectMmap(
  p: HookedProcess,
  tid: number,
  at: number,
  near: number,
): number {
  const t = p.tracee;
  const regs = t.regs;
  t.getRegs(tid);
  const saved = regs.slice();
  const w = t.peek(tid, at);
  t.poke(tid, at, (w & ~0xffffn) | 0x050fn); // syscall
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
        // Not a syscall to restart (a thread stopped inside one, attached).
        regs[REG.orig_rax] = 0xffffffffffffffffn;
        t.setRegs(tid);
        t.step(tid);
        t.getRegs(tid);
        const r = BigInt.asIntN(64, regs[REG.rax]);
        if (r === BigInt(hint)) return hint;
        if (r === -1n || r === -12n || r === -13n) return -1; // EPERM, ENOMEM, EACCES
      }
    }
    return -1;
  } finally {
    t.poke(tid, at, w);
    regs.set(saved);
    t.setRegs(tid);
  }
}

/** The injected hooks of one process. */
export class InjectedMode implements HookMode {
  readonly name = "inject";
  readonly #p: HookedProcess;
  readonly #s: ModeSettings;
  readonly #ring: HookRing;
  readonly #opts: RingOptions;

  private constructor(
    p: HookedProcess,
    s: ModeSettings,
    ring: HookRing,
    opts: RingOptions,
  ) {
    this.#p = p;
    this.#s = s;
    this.#ring = ring;
    this.#opts = opts;
  }

  /**
   * Writes the stubs into `p` and patches the entries (`tid` is stopped
   * on the int3 at `at`); null leaves the program's code as it was.
   */
  static plant(
    p: HookedProcess,
    s: ModeSettings,
    tid: number,
    at: number,
  ): InjectedMode | null {
    // A CET shadow stack would refuse the swapped return addresses.
    try {
      const status = Deno.readTextFileSync(`/proc/${p.pid}/status`);
      if (/^x86_Thread_features:.*\bshstk\b/m.test(status)) return null;
    } catch {
      // no status: go on
    }
    const t = p.tracee;
    const specs: HookSpec[] = [];
    for (const [kind, off] of s.hookOffsets) {
      const entry = p.libcStart + off;
      if (specs.some((h) => h.entry === entry)) continue; // aliases
      const head = new Uint8Array(16);
      const dv = new DataView(head.buffer);
      dv.setBigUint64(0, t.peek(tid, entry), true);
      dv.setBigUint64(8, t.peek(tid, entry + 8), true);
      specs.push({
        kind: kind === "free" ? REC_FREE : NATIVE_KINDS.indexOf(kind) + 1,
        entry,
        head,
        size: SIZE_EXPR[kind] ?? "rdi",
        resultAt: kind === "posix_memalign" ? "rdi" : undefined,
        enter: kind === "realloc" || kind === "reallocarray",
      });
    }
    const region = injectMmap(p, tid, at, p.libcStart);
    if (region < 0) return null;
    let code: Injection | null;
    try {
      code = assemble(region, specs);
    } catch {
      code = null;
    }
    if (code === null) return null;
    if (!p.mem.transfer(true, [[code.code, region + LAYOUT.tramps]])) {
      return null;
    }
    const opts = InjectedMode.#ringOptions(p, s, region, code, specs);
    const ring = new HookRing(opts);
    if (!ring.init()) return null;
    for (const patch of code.patches) {
      t.poke(tid, patch.entry, wordOf(patch.word));
    }
    return new InjectedMode(p, s, ring, opts);
  }

  static #ringOptions(
    p: HookedProcess,
    s: ModeSettings,
    region: number,
    code: Injection,
    specs: HookSpec[],
  ): RingOptions {
    return {
      mem: p.mem,
      pid: p.pid,
      region,
      code,
      entryOf: new Map(specs.map((h) => [h.kind, h.entry])),
      sampler: s.sampler,
      rate: s.rate,
      wantStacks: s.wantStacks,
      stackCache: s.stackCache,
      stats: s.stats,
      moduleOf: (pc) => p.maps.moduleOf(pc),
      out: p.out,
      codeRanges: () => p.maps.codeRanges(),
      stackAt: (rsp) => p.maps.stackAt(rsp),
    };
  }

  trap(tid: number, bp: number): boolean {
    if (!this.#ring.code.fullTraps.has(bp)) return false;
    this.#ring.drain(true); // room made: the stub retries
    this.#p.tracee.cont(tid);
    return true;
  }

  drain(force: boolean): number {
    return this.#ring.drain(force);
  }

  thread(tid: number, fs: number, rsp?: number): void {
    this.#ring.thread(fs, tid, rsp);
  }

  runAs(fs: number, tid: number): void {
    this.#ring.thread(fs, tid);
  }

  forked(child: HookedProcess): HookMode {
    const o = this.#opts;
    const opts: RingOptions = {
      ...o,
      mem: child.mem,
      pid: child.pid,
      moduleOf: (pc) => child.maps.moduleOf(pc),
      out: child.out,
      codeRanges: () => child.maps.codeRanges(),
      stackAt: (rsp) => child.maps.stackAt(rsp),
    };
    const ring = this.#ring.forked(opts);
    if (ring === null) throw new Error("cannot read the fork child's ring");
    return new InjectedMode(child, this.#s, ring, opts);
  }

  remove(tid: number): void {
    for (const patch of this.#ring.code.patches) {
      this.#p.tracee.poke(tid, patch.entry, wordOf(patch.orig));
    }
  }

  readsClock(rip: number): boolean {
    return this.#ring.code.tscReads.has(rip);
  }

  codeChanged(): void {
    this.#ring.codeChanged();
  }

  close(): void {}
}
