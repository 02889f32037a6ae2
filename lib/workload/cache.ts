/**
 * A realistic mixed workload: an LRU cache in front of a slow store.
 * Requests for keys drawn from a skewed distribution either hit (the entry
 * moves to the front of the LRU list) or miss, and a miss allocates a
 * `main.entry` (48 B: key, value, prev, next, hash), a key string and a
 * value buffer of 32 B to 16 KiB; past `capacity` entries the least recently
 * used one is unlinked and becomes garbage. The bucket array is a pointer
 * array held by a global; a request also makes short-lived garbage (a
 * formatted key). Long-lived, churning and short-lived objects of many size
 * classes: what a server's heap looks like.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";

const FILE = "alloctrace/workloads/cache/cache.go";

/**
 * Runs the cache workload for `requests` requests with room for
 * `capacity` entries.
 *
 * @throws {RangeError} for bad counts.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { cache } from "../../mod.ts";
 * const rt = new Runtime();
 * const r = cache(rt, { requests: 2000, capacity: 100, seed: 1 });
 * if (r.hits + r.misses !== 2000 || r.evictions !== r.misses - 100) throw new Error(JSON.stringify(r));
 * ```
 */
export function cache(
  rt: Runtime,
  opts: { requests?: number; capacity?: number; seed?: number } = {},
): { hits: number; misses: number; evictions: number } {
  const requests = opts.requests ?? 100_000;
  const capacity = opts.capacity ?? 5000;
  for (
    const [k, v, min] of [["requests", requests, 0], [
      "capacity",
      capacity,
      1,
    ]] as const
  ) {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new RangeError(`cache: ${k} must be an integer ≥ ${min}, got ${v}`);
    }
  }
  let rng = (opts.seed ?? rt.seed) >>> 0 || 1;
  const rand = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 4294967296;
  };
  // entry: key(0) value(1) prev(2) next(3) hash(4) size(5)
  const Entry = rt.types.define("main.entry", {
    size: 48,
    pointers: [0, 1, 2, 3],
  });
  const pEntry = rt.types.get("*main.entry");
  const u8 = rt.types.get("uint8");
  const nb = 1 << Math.ceil(Math.log2(capacity));
  const gBuckets = rt.global("main.buckets");
  const gHead = rt.global("main.lruHead");
  const gTail = rt.global("main.lruTail");
  const g = rt.curg;
  const fMain = rt.func("main.main", FILE);
  const fGet = rt.func("main.(*LRU).Get", FILE);
  const fPut = rt.func("main.(*LRU).Put", FILE);
  const fKey = rt.func("main.formatKey", FILE);
  const fLoad = rt.func("main.loadValue", FILE);
  const fEvict = rt.func("main.(*LRU).evict", FILE);
  // Host-side index from key to entry address (the model of the map's lookup).
  const index = new Map<number, number>();
  const keyOf = new Map<number, number>();
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  g.enter(fMain, 20);
  rt.setGlobal(gBuckets, rt.makeslice(pEntry, nb));
  const unlink = (e: number) => {
    const prev = rt.load(e, 2);
    const next = rt.load(e, 3);
    if (prev !== 0) rt.store(prev, 3, next);
    else rt.setGlobal(gHead, next);
    if (next !== 0) rt.store(next, 2, prev);
    else rt.setGlobal(gTail, prev);
    rt.store(e, 2, 0);
    rt.store(e, 3, 0);
  };
  const pushFront = (e: number) => {
    const head = rt.getGlobal(gHead);
    rt.store(e, 3, head);
    if (head !== 0) rt.store(head, 2, e);
    rt.setGlobal(gHead, e);
    if (rt.getGlobal(gTail) === 0) rt.setGlobal(gTail, e);
  };
  for (let i = 0; i < requests; i++) {
    // Zipf-like: small keys are hot.
    const key = Math.floor(capacity * 4 * rand() ** 3);
    g.setLine(24);
    g.enter(fKey, 88);
    rt.concatstring(8 + (key % 13)); // formatted key: garbage right away
    g.leave();
    g.setLine(25);
    g.enter(fGet, 40);
    const found = index.get(key);
    if (found !== undefined) {
      hits++;
      unlink(found);
      pushFront(found);
      g.leave();
      continue;
    }
    g.leave();
    misses++;
    g.setLine(27);
    g.enter(fPut, 55);
    const e = g.push(rt.newobject(Entry));
    g.setLine(56);
    rt.store(g.get(e), 0, rt.concatstring(8 + (key % 13)));
    g.setLine(57);
    g.enter(fLoad, 95);
    const size = 32 + Math.floor(16352 * rand() ** 4);
    const v = rt.makeslice(u8, size);
    g.leave();
    rt.store(g.get(e), 1, v);
    const b = key & (nb - 1);
    rt.store(rt.getGlobal(gBuckets), b, g.get(e)); // the bucket points at the newest entry
    pushFront(g.get(e));
    index.set(key, g.get(e));
    keyOf.set(g.get(e), key);
    if (index.size > capacity) {
      g.setLine(60);
      g.enter(fEvict, 72);
      const victim = rt.getGlobal(gTail);
      unlink(victim);
      const k = keyOf.get(victim)!;
      keyOf.delete(victim);
      index.delete(k);
      const vb = k & (nb - 1);
      if (rt.load(rt.getGlobal(gBuckets), vb) === victim) {
        rt.store(rt.getGlobal(gBuckets), vb, 0);
      }
      evictions++;
      g.leave();
    }
    g.leave();
    if (i % 64 === 0) rt.gosched();
  }
  g.setLine(33);
  rt.GC();
  g.leave();
  return { hits, misses, evictions };
}
