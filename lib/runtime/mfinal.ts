/**
 * Finalizers and the other special records of objects (Go's `mfinal.go`,
 * and `addspecial`/`removespecial` of `mheap.go`): `SetFinalizer`, the
 * heap-profile bucket of a sampled object, the set of spans that hold
 * specials (the mark scans what finalizer-bearing objects point to) and
 * the queue of finalizers that sweep found ready, run at step boundaries.
 *
 * @module
 */

import type { MSpan, Special } from "./mspan.ts";
import type { Bucket } from "./mprof.ts";
import { hex } from "./print.ts";

/** A finalizer found ready by sweep, and its object. */
interface _Finalizer {
  fn: (addr: number) => void;
  addr: number;
}

/**
 * The special records of one heap and its finalizer queue.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * const rt = new Runtime();
 * const ran: number[] = [];
 * const x = rt.mallocgc(64, null);
 * rt.setFinalizer(x, (a) => ran.push(a));
 * rt.GC(); // unreachable: the finalizer runs, the object survives this cycle
 * if (ran.join() !== String(x) || rt.readMemStats().HeapObjects !== 1) throw new Error("finalizer");
 * ```
 */
export class Specials {
  /** Spans that hold special records (finalizers, profile buckets). */
  readonly spans: Set<MSpan> = new Set();
  #finq: _Finalizer[] = [];

  /** The special record of slot `i` of `span`, made if missing (`addspecial`). */
  special(span: MSpan, i: number): Special {
    if (span.specials === null) {
      span.specials = new Map();
      this.spans.add(span);
    }
    let sp = span.specials.get(i);
    if (sp === undefined) {
      sp = {};
      span.specials.set(i, sp);
    }
    return sp;
  }

  /** Drops the special record of slot `i` of `span`, if any (`removespecial`). */
  remove(span: MSpan, i: number): void {
    if (span.specials === null) return;
    span.specials.delete(i);
    if (span.specials.size === 0) this.spanDone(span);
  }

  /** Forgets `span`'s specials once it has none left. */
  spanDone(span: MSpan): void {
    span.specials = null;
    this.spans.delete(span);
  }

  /**
   * `runtime.SetFinalizer` on slot `i` of `span` (the object at `obj`);
   * `null` removes the finalizer.
   *
   * @throws {RangeError} when the object already has a finalizer.
   */
  setFinalizer(
    span: MSpan,
    i: number,
    obj: number,
    fn: ((addr: number) => void) | null,
  ): void {
    const sp = span.specials?.get(i);
    if (fn === null) {
      if (sp !== undefined) sp.finalizer = undefined;
      return;
    }
    if (sp?.finalizer !== undefined) {
      throw new RangeError(
        `runtime.SetFinalizer: finalizer already set for ${hex(obj)}`,
      );
    }
    this.special(span, i).finalizer = fn;
  }

  /** Attaches a profile record to slot `i` of `span` (`setprofilebucket`). */
  setProfileBucket(span: MSpan, i: number, bucket: Bucket): void {
    this.special(span, i).profile = bucket;
  }

  /** Queues a finalizer to run at the next step boundary (sweep found its object unreachable). */
  queue(fn: (addr: number) => void, addr: number): void {
    this.#finq.push({ fn, addr });
  }

  /** Runs the queued finalizers, oldest first (`runfinq`). */
  run(): void {
    while (this.#finq.length > 0) {
      const { fn, addr } = this.#finq.shift()!;
      fn(addr);
    }
  }
}
