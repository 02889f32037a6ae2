/**
 * The temporaries pattern of `tests/testdata/shared/go1.19/programs/temporaries`:
 * short-lived objects of many sizes and kinds, each from its own site
 * (pointerful and noscan objects, a large object, a slice of pointers,
 * channels of both kinds, a concatenated string, a small map and its first
 * bucket), then tiny 8-byte objects. Every one is dropped before the final
 * `runtime.GC()`.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import { goStartup } from "../runtime/startup.ts";

const FILE = "acceptance/programs/temporaries/main.go";

/**
 * Runs the temporaries pattern for `n` iterations per phase (default 300).
 *
 * @throws {RangeError} for a negative or non-integer `n`.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { temporaries } from "../../mod.ts";
 * const rt = new Runtime();
 * temporaries(rt, { n: 40, startup: false }); // without the runtime's start-up
 * // only the tiny block current at the final GC survives it
 * if (rt.readMemStats().HeapObjects !== 1) throw new Error();
 * ```
 */
export function temporaries(
  rt: Runtime,
  opts: { n?: number; startup?: boolean } = {},
): void {
  const n = opts.n ?? 300;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(
      `temporaries: n must be a non-negative integer, got ${n}`,
    );
  }
  if (opts.startup ?? true) goStartup(rt, "temporaries");
  const t = rt.types;
  const P8 = t.define("main.P8", { size: 8, pointers: [0] });
  const T24 = t.define("main.T24", { size: 24, pointers: [0, 1] });
  const A100 = t.define("[100]uint8", { size: 100, kind: "array" });
  const u8 = t.get("uint8");
  const i64 = t.get("int64");
  const pT24 = t.get("*main.T24");
  const bucket = t.define("map.bucket[string]int", {
    size: 208,
    pointers: [1, 3, 5, 7, 9, 11, 13, 15, 25],
  });
  const g = rt.curg;
  const sink = (name: string) => rt.global(`main.${name}`);
  const sinks = [
    "sinkP8",
    "sinkT24",
    "sink100",
    "sink1000",
    "sink40000",
    "sinkPS",
    "sinkCh",
    "sinkChP",
    "sinkStr",
    "sinkMap",
    "sinkTiny",
  ].map(sink);
  const fMain = rt.func("main.main", FILE);
  const site = (
    name: string,
    line: number,
    sinkIdx: number,
    mainLine: number,
    alloc: () => number,
    args = "",
  ) => {
    const fid = rt.func(`main.${name}`, FILE, args);
    return () => {
      g.setLine(mainLine);
      g.enter(fid, line);
      rt.setGlobal(sinks[sinkIdx], alloc());
      g.leave();
    };
  };
  const steps = [
    site("tmpPtr8", 58, 0, 100, () => rt.newobject(P8)),
    site("tmp24", 61, 1, 101, () => rt.newobject(T24)),
    site("tmp100", 64, 2, 102, () => rt.newobject(A100)),
    site("tmp1000", 67, 3, 103, () => rt.makeslice(u8, 1000)),
    site("tmp40000", 70, 4, 104, () => rt.makeslice(u8, 40000)),
    site("tmpPtrSlice", 73, 5, 105, () => rt.makeslice(pT24, 12)),
    site("tmpChan", 76, 6, 106, () => rt.makechan(t.get("int"), 8)),
    site("tmpChanPtr", 79, 7, 107, () => rt.makechan(pT24, 4)),
    site(
      "tmpString",
      82,
      8,
      108,
      () => rt.concatstring(40),
      "{0xc00009c000?, 0xc000086160?}, {0xc00009c018?, 0x0?}",
    ),
    site("tmpMap", 86, 9, 109, () => {
      const m = g.push(rt.makemapSmall());
      rt.line(87);
      rt.mapassignBucket(g.get(m), bucket);
      return g.get(m);
    }, "{0xc00009c000, 0x14}"),
  ];
  g.enter(fMain, 99);
  for (let i = 0; i < n; i++) for (const step of steps) step();
  const tiny = site("tmpTiny8", 92, 10, 112, () => rt.newobject(i64), "0xfe");
  for (let i = 0; i < n; i++) tiny();
  for (const s of sinks) rt.setGlobal(s, 0);
  g.setLine(116);
  rt.GC();
  g.leave();
}
