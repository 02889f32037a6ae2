/**
 * The heap profiler's records (reference sections 4 and 5): stack buckets
 * found through Go's stack hash in 179,999 chains (size in the key from
 * Go 1.3, so go1.19 has it and go1.2-seed not), newest bucket first, and
 * the profile cycles that make a profile "as of the last GC": Go 1.2's
 * recent → settled at each GC, Go 1.19's three-slot future ring with
 * `mProf_Malloc`, `mProf_Free`, `mProf_NextCycle`, `mProf_Flush` and
 * `mProf_PostSweep`. `MemProfile(inuseZero)` returns raw sampled records.
 *
 * @module
 */

/** Counts of one profile cycle. */
export interface MemRecordCycle {
  /** Objects allocated. */
  allocs: number;
  /** Objects freed. */
  frees: number;
  /** Bytes allocated. */
  allocBytes: number;
  /** Bytes freed. */
  freeBytes: number;
}

/** `runtime.MemProfileRecord`. */
export interface MemProfileRecord {
  /** Bytes allocated. */
  AllocBytes: number;
  /** Bytes freed. */
  FreeBytes: number;
  /** Objects allocated. */
  AllocObjects: number;
  /** Objects freed. */
  FreeObjects: number;
  /** The stack: return PCs, innermost first, up to the first zero (32 at most). */
  Stack: number[];
}

/** Go's `BuckHashSize`. */
export const BUCK_HASH_SIZE = 179999;
/** Go's `maxStack`. */
export const MAX_STACK = 32;

const newCycle = (): MemRecordCycle => ({
  allocs: 0,
  frees: 0,
  allocBytes: 0,
  freeBytes: 0,
});

function addCycle(dst: MemRecordCycle, src: MemRecordCycle): void {
  dst.allocs += src.allocs;
  dst.frees += src.frees;
  dst.allocBytes += src.allocBytes;
  dst.freeBytes += src.freeBytes;
}

function clearCycle(c: MemRecordCycle): void {
  c.allocs =
    c.frees =
    c.allocBytes =
    c.freeBytes =
      0;
}

/** A profile bucket: one stack (and, from Go 1.3, one size) with its cycles. */
export class Bucket {
  /** Next bucket in the same hash chain. */
  next: Bucket | null = null;
  /** Next bucket in the list of all buckets (older). */
  allnext: Bucket | null = null;
  /** Stack hash, high and low 32 bits. */
  readonly hashHi: number;
  /** Low 32 bits of the hash. */
  readonly hashLo: number;
  /** Rounded object size (0 in go1.2-seed, where it is not in the key). */
  readonly size: number;
  /** Return PCs, innermost first. */
  readonly stk: readonly number[];
  /** Published counts (Go 1.2: settled). */
  readonly active: MemRecordCycle = newCycle();
  /** Go 1.19: the three future cycles. Go 1.2: `future[0]` is `recent`. */
  readonly future: readonly [MemRecordCycle, MemRecordCycle, MemRecordCycle] = [
    newCycle(),
    newCycle(),
    newCycle(),
  ];

  /** Makes a bucket. */
  constructor(
    hashHi: number,
    hashLo: number,
    size: number,
    stk: readonly number[],
  ) {
    this.hashHi = hashHi;
    this.hashLo = hashLo;
    this.size = size;
    this.stk = stk;
  }
}

/**
 * Go's stack hash with uint64 wrap-around, on two 32-bit halves:
 * per PC `h += pc; h += h << 10; h ^= h >> 6`, the size mixed the same way
 * when `withSize`, then `h += h << 3; h ^= h >> 11`.
 *
 * @example
 * ```ts
 * import { stackHash } from "../../mod.ts";
 * const [hi, lo] = stackHash([0x4b3c68, 0x437452], 112, true);
 * const big = (BigInt(hi) << 32n) | BigInt(lo);
 * let h = 0n; const M = (1n << 64n) - 1n;
 * for (const v of [0x4b3c68n, 0x437452n, 112n]) { h = (h + v) & M; h = (h + (h << 10n)) & M; h ^= h >> 6n; }
 * h = (h + (h << 3n)) & M; h ^= h >> 11n;
 * if (big !== h) throw new Error();
 * ```
 */
export function stackHash(
  stk: readonly number[],
  size: number,
  withSize: boolean,
): [number, number] {
  let hi = 0;
  let lo = 0;
  const add = (vhi: number, vlo: number) => {
    const l = lo + vlo;
    lo = l >>> 0;
    hi = (hi + vhi + (l > 0xffffffff ? 1 : 0)) >>> 0;
  };
  const shlAdd = (n: number) => {
    add(((hi << n) | (lo >>> (32 - n))) >>> 0, (lo << n) >>> 0);
  };
  const xorShr = (n: number) => {
    lo = (lo ^ ((lo >>> n) | (hi << (32 - n)))) >>> 0;
    hi = (hi ^ (hi >>> n)) >>> 0;
  };
  const mix = (v: number) => {
    add(Math.floor(v / 0x100000000) >>> 0, v >>> 0);
    shlAdd(10);
    xorShr(6);
  };
  for (const pc of stk) mix(pc);
  if (withSize) mix(size);
  shlAdd(3);
  xorShr(11);
  return [hi, lo];
}

/**
 * Profile-cycle semantics: Go 1.2's recent → settled at each GC, or Go
 * 1.3+'s three-slot future ring.
 */
export type CycleModel = "recent-settled" | "future-ring";

/**
 * The heap profiler's bucket table and cycles.
 *
 * @example
 * ```ts
 * import { HeapProfile } from "../../mod.ts";
 * const p = new HeapProfile("future-ring", true);
 * const b = p.mProf_Malloc([0x401000, 0x402000], 64);
 * p.mProf_Free(b, 64);
 * // before any GC, MemProfile falls back to everything recorded
 * const [r] = p.MemProfile(true);
 * if (r.AllocObjects !== 1 || r.FreeObjects !== 1) throw new Error();
 * ```
 */
export class HeapProfile {
  /** Cycle semantics. */
  readonly model: CycleModel;
  /** Whether a bucket's key includes the object size (Go 1.3+). */
  readonly bySize: boolean;
  /** `mProfCycle`: the cycle counter (value only; the flushed flag is separate). */
  cycle = 0;
  /** Whether the current cycle was flushed. */
  flushed = false;
  /** The newest bucket (`mbuckets`). */
  mbuckets: Bucket | null = null;
  /** Number of buckets. */
  nbuckets = 0;
  readonly #chains = new Map<number, Bucket>();

  /** Makes an empty profile with the given cycle model and bucket key. */
  constructor(model: CycleModel, bySize: boolean) {
    this.model = model;
    this.bySize = bySize;
  }

  #lastStk: readonly number[] | null = null;
  #lastSize = -1;
  #lastBucket: Bucket | null = null;

  /** Finds or makes the bucket of a stack (and size, from Go 1.3). */
  stkbucket(stk: readonly number[], size: number): Bucket {
    const withSize = this.bySize;
    const key = withSize ? size : 0;
    // The same stack array (the runtime reuses it for repeated stacks) and size: the same bucket.
    if (stk === this.#lastStk && key === this.#lastSize) {
      return this.#lastBucket!;
    }
    const b = this.#lookup(stk, size, withSize, key);
    this.#lastStk = stk;
    this.#lastSize = key;
    this.#lastBucket = b;
    return b;
  }

  #lookup(
    stk: readonly number[],
    size: number,
    withSize: boolean,
    key: number,
  ): Bucket {
    const [hi, lo] = stackHash(stk, size, withSize);
    const i = ((hi % BUCK_HASH_SIZE) * (0x100000000 % BUCK_HASH_SIZE) + lo) %
      BUCK_HASH_SIZE;
    for (let b = this.#chains.get(i) ?? null; b !== null; b = b.next) {
      if (
        b.hashHi === hi && b.hashLo === lo && b.size === key &&
        b.stk.length === stk.length && b.stk.every((pc, k) => pc === stk[k])
      ) return b;
    }
    const b = new Bucket(hi, lo, key, stk.slice(0, MAX_STACK));
    b.next = this.#chains.get(i) ?? null;
    this.#chains.set(i, b);
    b.allnext = this.mbuckets;
    this.mbuckets = b;
    this.nbuckets++;
    return b;
  }

  /** Records a sampled allocation; returns its bucket (for the object's profile special). */
  mProf_Malloc(stk: readonly number[], size: number): Bucket {
    const b = this.stkbucket(stk, size);
    const c = this.model === "future-ring"
      ? b.future[(this.cycle + 2) % 3]
      : b.future[0];
    c.allocs++;
    c.allocBytes += size;
    return b;
  }

  /** Records the free of a sampled object (called by sweep through its special). */
  mProf_Free(b: Bucket, size: number): void {
    const c = this.model === "future-ring"
      ? b.future[(this.cycle + 1) % 3]
      : b.future[0];
    c.frees++;
    c.freeBytes += size;
  }

  /** Go 1.19: at mark termination, the cycle advances (`mProf_NextCycle`). */
  mProf_NextCycle(): void {
    if (this.model !== "future-ring") return;
    this.cycle = (this.cycle + 1) % 100663296;
    this.flushed = false;
  }

  /**
   * After the world restarts (Go 1.19, `mProf_Flush`: publish the slot of
   * the cycle that just ended, once); at the end of each GC in Go 1.2
   * (`MProf_GC`: recent → settled).
   */
  mProf_Flush(): void {
    if (this.model === "recent-settled") {
      for (let b = this.mbuckets; b !== null; b = b.allnext) {
        addCycle(b.active, b.future[0]);
        clearCycle(b.future[0]);
      }
      return;
    }
    if (this.flushed) return;
    this.#flushSlot(this.cycle % 3);
    this.flushed = true;
  }

  /** Go 1.19: `runtime.GC()` after its sweep publishes the frees of the cycle it forced (`mProf_PostSweep`). */
  mProf_PostSweep(): void {
    if (this.model !== "future-ring") return;
    this.#flushSlot((this.cycle + 1) % 3);
  }

  #flushSlot(slot: number): void {
    for (let b = this.mbuckets; b !== null; b = b.allnext) {
      addCycle(b.active, b.future[slot]);
      clearCycle(b.future[slot]);
    }
  }

  /**
   * `runtime.MemProfile(p, inuseZero)`: the published records, newest
   * bucket first; with no published data at all (no GC yet), everything
   * recorded so far is published first, as Go does.
   */
  MemProfile(inuseZero: boolean): MemProfileRecord[] {
    if (this.model === "future-ring") this.#flushSlot(this.cycle % 3);
    let clear = true;
    for (let b = this.mbuckets; b !== null; b = b.allnext) {
      if (b.active.allocs !== 0 || b.active.frees !== 0) {
        clear = false;
        break;
      }
    }
    if (clear) {
      for (let b = this.mbuckets; b !== null; b = b.allnext) {
        for (const f of b.future) {
          addCycle(b.active, f);
          clearCycle(f);
        }
      }
    }
    const out: MemProfileRecord[] = [];
    for (let b = this.mbuckets; b !== null; b = b.allnext) {
      const a = b.active;
      if (inuseZero || a.allocBytes !== a.freeBytes) {
        out.push({
          AllocBytes: a.allocBytes,
          FreeBytes: a.freeBytes,
          AllocObjects: a.allocs,
          FreeObjects: a.frees,
          Stack: [...b.stk],
        });
      }
    }
    return out;
  }
}
