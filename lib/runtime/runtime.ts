/**
 * The simulated Go runtime as a program calls it: `mallocgc`'s callers
 * (`newobject`, `makeslice`, `growslice`, `makechan`, maps, strings), frames
 * and goroutines, pointer loads and stores, `runtime.GC`, finalizers,
 * `runtime.ReadMemStats` and the heap profile. Its parts and their wiring
 * are `RuntimeParts` (`runtime_parts.ts`). Pure and synchronous.
 *
 * @module
 */

import type { Goroutine } from "./goroutine.ts";
import type { MSpan } from "./mspan.ts";
import { type MemStats, readMemStats } from "./mstats.ts";
export type { MemStats } from "./mstats.ts";
import { AllocKind } from "../stack/allockind.ts";
import type { HeapProfile } from "./mprof.ts";
import type { GoType } from "./types.ts";
import { findObject } from "./mbitmap.ts";
import { growslice, makeslice } from "./slice.ts";
import { makechan } from "./chan.ts";
import { makemapSmall, mapassignBucket } from "./map.ts";
import { concatstring } from "./string.ts";
import { RuntimeParts } from "./runtime_parts.ts";
import { noType } from "./argcheck.ts";

export { AllocKind };
export { MAX_ALLOC, TINY_SIZE, TINY_SPAN_CLASS } from "./malloc.ts";
export { HCHAN_SIZE } from "./types.ts";

/**
 * A simulated Go runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime({ preset: "go1.19" });
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const a = rt.newobject(node);
 * const b = rt.newobject(node);
 * if (a !== 0xc000000000 || b !== a + 16) throw new Error("addresses");
 * if (rt.readMemStats().HeapAlloc !== 32) throw new Error("stats");
 * ```
 */
export class Runtime extends RuntimeParts {
  // ---- allocation (malloc.ts) ----

  /** Address returned for every zero-size allocation (`runtime.zerobase`). */
  get zerobase(): number {
    return this.preset.zerobase;
  }

  /**
   * Allocates one object of type `typ` (`runtime.newobject`).
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
   * const p = rt.newobject(t);
   * if (rt.sizeOf(p) !== 64) throw new Error("size class");
   * ```
   */
  newobject(typ: GoType, p: number = this.sched.curg.p): number {
    const x = this.malloc.mallocFast(typ ?? noType("newobject", typ), p);
    if (x >= 0) return this.words.arenaStart + x;
    return this.malloc.mallocgc(typ.size, typ, true, p, AllocKind.newobject);
  }

  /**
   * {@link newobject} on the running goroutine's P, giving the object's
   * offset from the arena start (`heap.arenaStart`) instead of its address:
   * a small integer, which crosses calls unboxed and goes straight to
   * `words.storeOff`/`loadOff`.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 16, pointers: [0] });
   * const off = rt.newobjectOff(t);
   * if (rt.sizeOf(rt.heap.arenaStart + off) !== 16) throw new Error("offset");
   * ```
   */
  newobjectOff(typ: GoType): number {
    const p = this.sched.curg.p;
    const x = this.malloc.mallocFast(typ ?? noType("newobjectOff", typ), p);
    if (x >= 0) return x;
    return this.malloc.mallocgc(typ.size, typ, true, p, AllocKind.newobject) -
      this.words.arenaStart;
  }

  /**
   * The fast path of {@link newobjectOff} alone (`nextFreeFast` and the
   * bookkeeping of an allocation nobody watches): the object's offset, or
   * -1 when the allocation needs the full path, for which the caller then
   * calls {@link newobjectOff}. The fast path reads none of the goroutine's
   * frames (no sample is taken, no consumer sees the stack, no GC starts),
   * so a workload may enter the allocating function's frame only when it
   * fails: binary-trees' leaves, half its nodes.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime({ memProfileRate: 0 });
   * const t = rt.types.define("main.T", { size: 16, pointers: [0] });
   * const off = rt.newobjectFastOff(t); // the first: its span is not cached yet
   * if (off !== -1 || rt.newobjectOff(t) < 0) throw new Error("full path");
   * if (rt.newobjectFastOff(t) < 0) throw new Error("fast path");
   * ```
   */
  newobjectFastOff(typ: GoType): number {
    return this.malloc.mallocFast(
      typ ?? noType("newobjectFastOff", typ),
      this.sched.curg.p,
    );
  }

  /**
   * Allocates the backing array of `make([]elem, n)` (`runtime.makeslice`).
   *
   * @throws {RangeError} for a negative or non-integer length.
   */
  makeslice(elem: GoType, n: number, p: number = this.sched.curg.p): number {
    return makeslice(this.malloc, elem, n, p);
  }

  /**
   * `append` past capacity (`runtime.growslice`, see {@link growslice}):
   * the new backing array and its capacity.
   */
  growslice(
    elem: GoType,
    old: number,
    oldLen: number,
    oldCap: number,
    newLen: number,
    p: number = this.sched.curg.p,
  ): { addr: number; cap: number } {
    return growslice(
      this.malloc,
      this.words,
      elem,
      old,
      oldLen,
      oldCap,
      newLen,
      p,
    );
  }

  /** `make(chan T, n)` (`runtime.makechan`, see {@link makechan}). */
  makechan(elem: GoType, n: number, p: number = this.sched.curg.p): number {
    return makechan(
      this.malloc,
      this.words,
      this.types,
      this.sched.curg,
      this.preset.makechanChanType,
      elem,
      n,
      p,
    );
  }

  /** A string of `len` bytes made by concatenation (`concatstrings` → `rawstring`). */
  concatstring(len: number, p: number = this.sched.curg.p): number {
    return concatstring(this.malloc, len, p);
  }

  /** `make(map[K]V)` with no hint (`runtime.makemap_small`): a `runtime.hmap`. */
  makemapSmall(p: number = this.sched.curg.p): number {
    return makemapSmall(this.malloc, this.types, p);
  }

  /** The first insert into a small map allocates its bucket array (see {@link mapassignBucket}). */
  mapassignBucket(
    hmap: number,
    bucket: GoType,
    p: number = this.sched.curg.p,
  ): number {
    return mapassignBucket(this.malloc, this.words, hmap, bucket, p);
  }

  /**
   * Frees the live object at `addr` at once (see {@link Malloc.free}).
   *
   * @throws {RangeError} when `addr` is not the start of a live object.
   */
  free(addr: number): void {
    this.malloc.free(addr);
  }

  /** The bytes mallocgc gives a request of `size` (`roundupsize`, see {@link Malloc.roundupsize}). */
  roundupsize(size: number, noscan = true): number {
    return this.malloc.roundupsize(size, noscan);
  }

  // ---- statistics (mstats.ts) ----

  /** Completed GC cycles (the counters are in {@link stats}). */
  get numGC(): number {
    return this.stats.numGC;
  }

  // ---- frames ----

  /** The id of function `name` (defined in `file`) in the symbol table. */
  func(name: string, file?: string, args?: string): number {
    return this.symtab.func(name, file, args);
  }

  /**
   * Runs `body` as a call of Go function `fn` (in `file`) currently at
   * `line`: the frame shows in tracebacks and profiles, and the root slots
   * pushed inside are dropped when it returns.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * const t = rt.types.define("main.T", { size: 8, pointers: [0] });
   * const x = rt.call("main.alloc", "main.go", 16, () => rt.newobject(t));
   * if (rt.curg.depth !== 0 || rt.sizeOf(x) !== 8) throw new Error();
   * ```
   */
  call<T>(fn: string | number, file: string, line: number, body: () => T): T {
    return this.sched.call(fn, file, line, body);
  }

  /**
   * Runs `body` as a new goroutine started by a `go` statement at the
   * current frame: it gets the next goroutine id, runs on P `id mod
   * GOMAXPROCS`, shows `created by` the current function in tracebacks, and
   * is dead when `body` returns. Scheduling is sequential: the creator
   * resumes after it.
   */
  go(fn: string, file: string, line: number, body: () => void): void {
    this.sched.go(fn, file, line, body);
  }

  /**
   * Makes a goroutine (a `go fn()` at the current frame) without running
   * it: its first frame is `fn` at `line`. Run code on it with
   * {@link switchTo}; {@link exitg} ends it. For workloads that interleave
   * goroutines step by step.
   */
  newg(fn: string, file: string, line: number): Goroutine {
    return this.sched.newg(fn, file, line);
  }

  /** Makes `g` the running goroutine (the previous one becomes runnable); returns the previous. */
  switchTo(g: Goroutine): Goroutine {
    return this.sched.switchTo(g);
  }

  /** Ends goroutine `g` (its roots are dropped); switches back to `to` if `g` was running. */
  exitg(g: Goroutine, to: Goroutine): void {
    this.sched.exitg(g, to);
  }

  /** Enters function `fid` at `line` on the current goroutine (the closure-free form of {@link call}). */
  enter(fid: number, line: number): void {
    this.sched.curg.enter(fid, line);
  }

  /** Returns from the current goroutine's innermost frame. */
  leave(): void {
    this.sched.curg.leave();
  }

  /** Sets the current line of the innermost frame. */
  line(n: number): void {
    this.sched.curg.setLine(n);
  }

  /** The function name of the current goroutine's innermost frame, or "" (the allocation site). */
  site(): string {
    return this.sched.site();
  }

  /**
   * The span holding the live object that starts at `addr` (see
   * {@link findObject}).
   */
  objectSpan(addr: number): MSpan {
    return findObject(this.heap, addr);
  }

  /** The rounded size of the live object at `addr` (throws like {@link objectSpan}). */
  sizeOf(addr: number): number {
    return this.objectSpan(addr).elemsize;
  }

  /** Statistics in the shape of `runtime.MemStats`. */
  readMemStats(): MemStats {
    return readMemStats(this);
  }

  /**
   * `runtime.ReadMemStats` as a Go program calls it: the world stops and
   * every P's mcache is flushed (`flushallmcaches` → `releaseAll`: cached
   * spans go back to their mcentral, the slots refill counted in heapLive
   * but never used are taken out again, the tiny block is dropped), then
   * the statistics are read. {@link readMemStats} only looks.
   *
   * @example
   * ```ts
   * import { Runtime } from "../../mod.ts";
   * const rt = new Runtime();
   * rt.mallocgc(64, null);
   * const live = rt.heapLive;
   * rt.ReadMemStats();
   * if (rt.heapLive !== live - (128 - 1) * 64) throw new Error(String(rt.heapLive));
   * ```
   */
  ReadMemStats(): MemStats {
    for (const c of this.mcaches) {
      c.releaseAll(this.central, this.heap, this.sweeper, this.pacer);
    }
    return this.readMemStats();
  }

  // ---- goroutines and roots ----

  /** The pointer in global slot `i`. */
  getGlobal(i: number): number {
    return this.globals.values[i];
  }

  // ---- pointer words (mbitmap.ts) ----

  /** Stores pointer `v` (or 0) into pointer word `word` of the object at `obj`. */
  store(obj: number, word: number, v: number): void {
    this.words.store(obj, word, v);
  }

  /** Loads pointer word `word` of the object at `obj`. */
  load(obj: number, word: number): number {
    return this.words.load(obj, word);
  }

  /** Stores pointer `v` at heap address `addr` (see {@link PointerWords.storeAt}). */
  storeAt(addr: number, v: number): void {
    this.words.storeAt(addr, v);
  }

  /** Loads the pointer at heap address `addr` (see {@link PointerWords.loadAt}). */
  loadAt(addr: number): number {
    return this.words.loadAt(addr);
  }

  // ---- collection ----

  /** Heap bytes the pacer counts as live (see {@link GCController.heapLive}). */
  get heapLive(): number {
    return this.pacer.heapLive;
  }

  /** GOGC (-1 = off). */
  get gcpercent(): number {
    return this.gc.gcpercent;
  }

  /**
   * `runtime.GC()`: runs a full cycle and returns after its sweep has
   * finished, so the heap (and the profile) is as of this cycle.
   */
  GC(): void {
    if (this.gc.inGC) throw new Error("runtime.GC called during a GC");
    this.gc.startCycle(true, 0);
    this.sweeper.finish("GC");
    this.memprofile.mProf_PostSweep();
    this.specials.run();
  }

  /** `runtime.Gosched()`: a step boundary; the background sweeper and finalizers run. */
  gosched(): void {
    if (
      this.gc.marking && !this.gc.inGC && this.gc.stepMarkDone()
    ) {
      this.gc.finishMark();
    }
    if (!this.sweeper.done) this.sweeper.bgsweep(10);
    this.specials.run();
  }

  /**
   * `runtime.SetFinalizer(obj, fn)`: when the object is found unreachable
   * it survives one more cycle and `fn(obj)` runs at the next step
   * boundary. `null` removes the finalizer.
   */
  setFinalizer(obj: number, fn: ((addr: number) => void) | null): void {
    const span = this.objectSpan(obj);
    this.specials.setFinalizer(span, span.objIndex(obj), obj, fn);
  }

  // ---- heap profiling ----

  /** `runtime.MemProfileRate`, read at every allocation (it may change during a run). */
  get memProfileRate(): number {
    return this.sampling.rate;
  }

  /** Sets `runtime.MemProfileRate`. @throws {RangeError} for a negative or non-integer rate. */
  set memProfileRate(rate: number) {
    this.sampling.rate = rate;
  }

  /** Forces every allocation into the profile (the seed's allocfreetrace). */
  get forceProfile(): boolean {
    return this.sampling.force;
  }

  /** Sets forced profiling. */
  set forceProfile(on: boolean) {
    this.sampling.force = on;
  }

  /** `runtime.MemProfile(inuseZero)`: the published heap-profile records. */
  MemProfile(inuseZero = true): ReturnType<HeapProfile["MemProfile"]> {
    return this.memprofile.MemProfile(inuseZero);
  }
}
