/**
 * The leak pattern of `tests/testdata/shared/go1.19/programs/leak`: each
 * iteration allocates a `main.Record` (48 B) with a 256-byte payload hung
 * off it and appends the record to a global slice that is never trimmed (a
 * leak, growing by `growslice`), and makes a 512-byte scratch buffer that is
 * dropped at once. Ends with `runtime.GC()`.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import { goStartup } from "../runtime/startup.ts";
import { concatstring3 } from "./_std.ts";

const FILE = "acceptance/programs/leak/main.go";

/** What a leak run did. */
export interface LeakResult {
  /** Iterations. */
  n: number;
  /** Byte sizes of the global slice's backing arrays, one per growth. */
  growths: number[];
}

/**
 * Runs the leak pattern for `n` iterations (default 2000).
 *
 * @throws {RangeError} for a negative or non-integer `n`.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { leak } from "../../mod.ts";
 * const rt = new Runtime();
 * const r = leak(rt, { n: 300, startup: false });
 * // without the runtime's start-up (see goStartup): 300 records + 300 payloads + the last backing array + the growths bookkeeping array
 * if (rt.readMemStats().HeapObjects !== 602 || r.growths.length !== 10) throw new Error();
 * ```
 */
export function leak(
  rt: Runtime,
  opts: { n?: number; startup?: boolean } = {},
): LeakResult {
  const n = opts.n ?? 2000;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`leak: n must be a non-negative integer, got ${n}`);
  }
  if (opts.startup ?? true) goStartup(rt, "leak");
  const record = rt.types.define("main.Record", {
    size: 48,
    pointers: [1, 3],
  });
  const u8 = rt.types.get("uint8");
  const recPtr = rt.types.get("*main.Record");
  const growth = rt.types.define("main.growth", { size: 16 });
  const g = rt.curg;
  const gLeaked = rt.global("main.leaked");
  const gScratch = rt.global("main.scratchSink");
  const gGrowths = rt.global("main.growths");
  const fMain = rt.func("main.main", FILE);
  const fNew = rt.func("main.newRecord", FILE, "0x2747");
  const fPayload = rt.func("main.makePayload", FILE);
  const fScratch = rt.func("main.makeScratch", FILE);
  const fLeak = rt.func("main.leakIt", FILE, "0xc0000841e0");
  let len = 0;
  let cap = 0;
  const growths: number[] = [];

  g.enter(fMain, 67);
  rt.setGlobal(gGrowths, rt.makeslice(growth, 64));
  for (let i = 0; i < n; i++) {
    g.setLine(70);
    g.enter(fNew, 38);
    const r = g.push(rt.newobject(record));
    g.leave();
    g.push(g.get(r)); // r stays in main.main's frame
    const rs = g.sp - 1;
    g.setLine(71);
    g.enter(fPayload, 41);
    const payload = rt.makeslice(u8, 256);
    g.leave();
    rt.store(g.get(rs), 3, payload);
    g.setLine(72);
    g.enter(fScratch, 44);
    rt.setGlobal(gScratch, rt.makeslice(u8, 512));
    g.leave();
    g.setLine(74);
    g.enter(fLeak, 56);
    if (len === cap) {
      const old = rt.getGlobal(gLeaked);
      const grown = rt.growslice(recPtr, old, len, cap, len + 1);
      rt.setGlobal(gLeaked, grown.addr);
      cap = grown.cap;
      growths.push(cap * 8);
    }
    rt.store(rt.getGlobal(gLeaked), len, g.get(rs));
    len++;
    g.leave();
    g.sp = rs;
  }
  rt.setGlobal(gScratch, 0);
  g.setLine(77);
  rt.GC();
  // The -truth document's `"requested_bytes_each":[` + sizes + `]`, built
  // whether or not a file is named (the string the runtime allocates).
  g.setLine(99);
  const sizes = growths.join(",");
  concatstring3(rt, 24 + sizes.length + 1);
  g.leave();
  return { n, growths };
}
