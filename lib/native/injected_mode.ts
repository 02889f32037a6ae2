/**
 * The injected strategy: stubs written into the program (inject.ts) record
 * each call in a ring buffer that hook_ring.ts reads, so no call stops it.
 * Planting maps a region near libc (an `mmap` syscall run in the program,
 * on a thread stopped at an int3), writes the stubs and patches each
 * entry with a jump to its stub.
 *
 * @module
 */

import {
  assemble,
  type HookSpec,
  type Injection,
  LAYOUT,
  REC_FREE,
  REGION_BYTES,
  SLOTS,
} from "./inject.ts";
import { HookRing, type RingOptions } from "./hook_ring.ts";
import { SIZE_EXPR } from "./alloc_call.ts";
import type { HookedProcess, HookMode, ModeSettings } from "./hook_mode.ts";
import { NATIVE_KINDS } from "./event.ts";
import { wordOf } from "./tracee.ts";
import { REG } from "./ffi.ts";
import { parseMaps } from "./proc_maps.ts";
import { _regionWords } from "./_stack_scan.ts";
import {
  ENDED,
  RemoteSyscalls,
  type RingView,
  shareRing,
  unshareRing,
} from "./ring_map.ts";

/**
 * Maps the region within ±2 GiB of `near` (an mmap system call run by
 * `sys`); its address, or -1.
 */
function injectMmap(sys: RemoteSyscalls, near: number): number {
  for (let k = 1; k <= 32; k++) {
    for (const hint of [near - k * 0x4000000, near + k * 0x4000000]) {
      if (hint <= 0x10000) continue;
      const r = sys.call(
        9, // mmap
        hint,
        REGION_BYTES,
        7, // PROT_READ | PROT_WRITE | PROT_EXEC
        0x100022, // MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE
        -1,
        0,
      );
      if (r === BigInt(hint)) return hint;
      if (r === -1n || r === -12n || r === -13n) return -1; // EPERM, ENOMEM, EACCES
    }
  }
  return -1;
}

// An address in the region's int3 padding after the trampolines' common
// return path (inject.ts), where a stopped thread can run a system call.
const PAD = LAYOUT.code - 8;

/** The injected hooks of one process. */
export class InjectedMode implements HookMode {
  readonly name = "inject";
  readonly #p: HookedProcess;
  readonly #s: ModeSettings;
  readonly #ring: HookRing;
  readonly #opts: RingOptions;
  /** The tracer's mapping of the ring (ring_map.ts), or null: read by system call. */
  readonly #view: RingView | null;
  #closed = false;
  /** The region was unmapped in the program ({@link InjectedMode.free}). */
  #freed = false;

  private constructor(
    p: HookedProcess,
    s: ModeSettings,
    ring: HookRing,
    opts: RingOptions,
    view: RingView | null,
  ) {
    this.#p = p;
    this.#s = s;
    this.#ring = ring;
    this.#opts = opts;
    this.#view = view;
  }

  /**
   * Writes the stubs into `p` and patches the entries (`tid` is stopped
   * on the int3 at `at`); null leaves the program's code as it was.
   *
   * @throws {Error} with cause {@link ENDED} when the program ended (or
   *   `tid` stopped for good) during it.
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
    let region = -1;
    let view: RingView | null = null;
    const sys = new RemoteSyscalls(t, tid, at);
    try {
      region = injectMmap(sys, p.libcStart);
      if (region >= 0 && s.sharedRing) view = shareRing(p, sys, region);
    } catch (e) {
      // The program ended meanwhile: the tracer's loop reads how.
      if ((e as Error).cause === ENDED) throw e;
      region = -1; // the region's ring could not be mapped again
    } finally {
      sys.end();
    }
    if (region < 0) return null;
    const mode = InjectedMode.#write(p, s, tid, region, specs, view);
    if (mode === null) view?.close();
    return mode;
  }

  // The stubs written into the region, the ring's control words, and the
  // entries patched; null when something could not be.
  static #write(
    p: HookedProcess,
    s: ModeSettings,
    tid: number,
    region: number,
    specs: HookSpec[],
    view: RingView | null,
  ): InjectedMode | null {
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
    const opts = InjectedMode.#ringOptions(p, s, region, code, specs, view);
    const ring = new HookRing(opts);
    if (!ring.init()) return null;
    for (const patch of code.patches) {
      p.tracee.poke(tid, patch.entry, wordOf(patch.word));
    }
    return new InjectedMode(p, s, ring, opts, view);
  }

  static #ringOptions(
    p: HookedProcess,
    s: ModeSettings,
    region: number,
    code: Injection,
    specs: HookSpec[],
    view: RingView | null,
  ): RingOptions {
    return {
      mem: p.mem,
      view: view?.bytes ?? null,
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
    // (Closed: the view is unmapped; freed: the region.)
    return this.#closed || this.#freed ? 0 : this.#ring.drain(force);
  }

  thread(tid: number, fs: number, rsp?: number): void {
    this.#ring.thread(fs, tid, rsp);
  }

  runAs(fs: number, tid: number): void {
    this.#ring.thread(fs, tid);
  }

  forked(child: HookedProcess, tid: number): HookMode {
    const o = this.#opts;
    if (this.#view !== null) {
      // Its ring is still its parent's: its own before it runs. The
      // syscalls run on the stubs' padding (int3s no code reaches).
      const sys = new RemoteSyscalls(child.tracee, tid, o.region + PAD);
      let own: boolean;
      try {
        own = unshareRing(child, sys, o.region, this.#view);
      } finally {
        sys.end();
      }
      if (!own) throw new Error("cannot give the fork child its own ring");
    }
    const opts: RingOptions = {
      ...o,
      view: null,
      mem: child.mem,
      pid: child.pid,
      moduleOf: (pc) => child.maps.moduleOf(pc),
      out: child.out,
      codeRanges: () => child.maps.codeRanges(),
      stackAt: (rsp) => child.maps.stackAt(rsp),
    };
    const ring = this.#ring.forked(opts);
    if (ring === null) throw new Error("cannot read the fork child's ring");
    return new InjectedMode(child, this.#s, ring, opts, null);
  }

  remove(tid: number): void {
    const t = this.#p.tracee;
    for (const patch of this.#ring.code.patches) {
      t.poke(tid, patch.entry, wordOf(patch.orig));
    }
    // The stubs stay mapped: a thread inside the real malloc returns
    // through its stub. In a program that turned rdtsc off for itself
    // (PR_TSC_SIGSEGV), the stub's rdtsc would then kill it, with no
    // tracer to read the counter: each read becomes xor eax, eax (a stamp
    // no one reads).
    for (const at of this.#ring.code.tscReads) {
      t.setByte(tid, at, 0x31);
      t.setByte(tid, at + 1, 0xc0);
    }
  }

  free(tid: number, threads: readonly number[]): boolean {
    const lo = this.#opts.region;
    const hi = lo + REGION_BYTES;
    const p = this.#p;
    const t = p.tracee;
    // Every thread of the process must be among `threads` (stopped): one
    // that runs could be inside the stubs, or call through them.
    try {
      const mine = new Set(threads);
      for (const e of Deno.readDirSync(`/proc/${p.pid}/task`)) {
        if (!mine.has(Number(e.name))) return false;
      }
    } catch {
      return false;
    }
    let maps;
    try {
      maps = parseMaps(Deno.readTextFileSync(`/proc/${p.pid}/maps`));
    } catch {
      return false;
    }
    // A call in flight (a thread inside the real malloc) returns to its
    // slot's trampoline: the stub put that address where the call's return
    // address was, at the call's entry rsp, which the slot keeps with the
    // caller's return address. Each busy slot must have it there, and the
    // caller's is put back in its place (the call then returns straight to
    // its caller, unrecorded).
    const slots = new Uint8Array(SLOTS * 64);
    if (!p.mem.transfer(false, [[slots, lo + LAYOUT.slots]])) return false;
    const words = new BigUint64Array(slots.buffer);
    const tramps = lo + LAYOUT.tramps;
    /** Where a busy slot's trampoline address is → the caller's return address. */
    const back = new Map<number, bigint>();
    for (let slot = 0; slot < SLOTS; slot++) {
      if (words[slot * 8] === 0n) continue;
      const ret = words[slot * 8 + 1];
      const at = Number(words[slot * 8 + 5]);
      // Going back into the region, or not at its place (the call left by
      // a longjmp, or this thread ended in it): not a call we can end.
      if (ret >= BigInt(lo) && ret < BigInt(hi)) return false;
      if (p.mem.readWord(at) !== tramps + slot * 16) return false;
      back.set(at, ret);
    }
    // And no thread may have any other address of the region's code
    // anywhere it can still return or resume to: its pc, or on its stack
    // above its stack pointer (a signal frame's pc: a stub interrupted by a
    // handler that still runs), or on the stack a signal frame there was
    // taken from. Each busy slot's trampoline address must be among those
    // seen (a stack looked through), once: a call in flight on a stack that
    // was not (a handler's after a swapcontext) keeps the region. The
    // region's data addresses (a slot's, left on a stack or in a signal
    // frame's registers by the stub) are read by no code but the stubs'.
    const sps: number[] = [];
    for (const tid of threads) {
      if (!t.getRegs(tid)) return false;
      const rip = t.reg(REG.rip);
      if (rip >= lo && rip < hi) return false;
      sps.push(t.reg(REG.rsp));
    }
    const seen = _regionWords(p.mem, maps, sps, lo, hi);
    if (seen === null) return false;
    const [clo, chi] = [tramps, tramps + this.#ring.code.code.length];
    for (const [at, w] of seen) {
      if (w >= clo && w < chi && !back.has(at)) return false;
    }
    for (const at of back.keys()) if (!seen.has(at)) return false;
    for (const [at, ret] of back) {
      if (!p.mem.writeWord(at, ret)) return false;
    }
    // munmap run at malloc's entry (its own bytes back, nobody running).
    const sys = new RemoteSyscalls(t, tid, this.#ring.code.patches[0].entry);
    try {
      this.#freed = sys.call(11, /* munmap */ lo, REGION_BYTES) === 0n;
    } catch {
      // it ended there: nothing left to free
    } finally {
      sys.end();
    }
    return this.#freed;
  }

  readsClock(rip: number): boolean {
    return this.#ring.code.tscReads.has(rip);
  }

  inStub(rip: number): boolean {
    const from = this.#opts.region + LAYOUT.tramps;
    return rip >= from && rip < from + this.#ring.code.code.length;
  }

  fullTrap(at: number): boolean {
    return this.#ring.code.fullTraps.has(at);
  }

  codeChanged(): void {
    this.#ring.codeChanged();
  }

  close(): void {
    this.#closed = true;
    this.#view?.close();
  }
}
