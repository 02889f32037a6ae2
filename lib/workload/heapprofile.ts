/**
 * The pattern of `tests/testdata/shared/go1.19/programs/heapprofile`: many 64-byte
 * objects (`main.allocSmall`) and fewer 8-KiB ones (`main.allocLarge`),
 * interleaved, every second one of each kept in a preallocated slice of
 * pointers (`main.keepSlices`), then `runtime.GC()`. Its real heap profiles
 * at MemProfileRate 1 and 524288 are in the shared testdata.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";

const FILE = "acceptance/programs/heapprofile/main.go";

/** Parameters of {@link heapprofile}. */
export interface HeapProfileOptions {
  /** 64-byte objects (default 1,000,000). */
  small?: number;
  /** 8192-byte objects (default 10,000). */
  large?: number;
}

/**
 * Runs the heapprofile pattern.
 *
 * @throws {RangeError} for negative or non-integer counts.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { heapprofile } from "../../mod.ts";
 * const rt = new Runtime({ memProfileRate: 1 });
 * heapprofile(rt, { small: 1000, large: 10 });
 * // half of each kept, plus the two slices
 * if (rt.readMemStats().HeapObjects !== 500 + 5 + 2) throw new Error();
 * ```
 */
export function heapprofile(rt: Runtime, opts: HeapProfileOptions = {}): void {
  const nSmall = opts.small ?? 1_000_000;
  const nLarge = opts.large ?? 10_000;
  for (const [k, v] of [["small", nSmall], ["large", nLarge]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(
        `heapprofile: ${k} must be a non-negative integer, got ${v}`,
      );
    }
  }
  const Small = rt.types.define("main.Small", { size: 64, kind: "array" });
  const Large = rt.types.define("main.Large", { size: 8192, kind: "array" });
  const pSmall = rt.types.get("*main.Small");
  const pLarge = rt.types.get("*main.Large");
  const g = rt.curg;
  const gSmall = rt.global("main.keptSmall");
  const gLarge = rt.global("main.keptLarge");
  const fMain = rt.func("main.main", FILE);
  const fKeep = rt.func("main.keepSlices", FILE);
  const fSmall = rt.func("main.allocSmall", FILE);
  const fLarge = rt.func("main.allocLarge", FILE);
  g.enter(fMain, 69);
  g.enter(fKeep, 47);
  rt.setGlobal(gSmall, rt.makeslice(pSmall, Math.floor((nSmall + 1) / 2)));
  rt.setGlobal(gLarge, rt.makeslice(pLarge, Math.floor((nLarge + 1) / 2)));
  g.leave();
  const every = nLarge > 0 ? Math.floor(nSmall / nLarge) : 0;
  let ls = 0;
  let keptS = 0;
  let keptL = 0;
  const large = () => {
    g.enter(fLarge, 43);
    const l = rt.newobject(Large);
    g.leave();
    if (ls % 2 === 0) rt.store(rt.getGlobal(gLarge), keptL++, l);
    ls++;
  };
  for (let i = 0; i < nSmall; i++) {
    g.setLine(73);
    g.enter(fSmall, 40);
    const s = rt.newobject(Small);
    g.leave();
    if (i % 2 === 0) rt.store(rt.getGlobal(gSmall), keptS++, s);
    if (every > 0 && i % every === every - 1 && ls < nLarge) {
      g.setLine(78);
      large();
    }
  }
  g.setLine(86);
  while (ls < nLarge) large();
  g.setLine(91);
  rt.GC();
  g.leave();
}
