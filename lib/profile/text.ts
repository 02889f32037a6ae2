/**
 * The legacy text heap profile (`pprof.Lookup("heap").WriteTo(w, 1)`) of
 * each preset's Go version (reference section 6): the `heap profile:`
 * header with `@ heap/2×rate`, records sorted by in-use bytes, `#` frame
 * lines aligned by Go's tabwriter with leading runtime frames skipped, and
 * the `# runtime.MemStats` trailer of that version.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import type { MemProfileRecord } from "../runtime/mprof.ts";
import { type FullMemStats, fullMemStats } from "../runtime/mstats.ts";
import { tabwrite } from "./_tabwriter.ts";

const hex = (n: number) => "0x" + n.toString(16);

/** Go's `%v` of a float64: shortest digits, exponent form below 1e-4 or from 1e21. */
export function goFloatV(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e < -4 || e >= 21) {
    const [m, exp] = x.toExponential().split("e");
    const n = Number(exp);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(x);
}

function trailer(format: "short" | "full", s: FullMemStats): string {
  const arr = (a: number | boolean | number[]) =>
    `[${(a as number[]).join(" ")}]`;
  const lines = [
    "",
    "# runtime.MemStats",
    `# Alloc = ${s.Alloc}`,
    `# TotalAlloc = ${s.TotalAlloc}`,
    `# Sys = ${s.Sys}`,
    `# Lookups = ${s.Lookups}`,
    `# Mallocs = ${s.Mallocs}`,
    `# Frees = ${s.Frees}`,
    `# HeapAlloc = ${s.HeapAlloc}`,
    `# HeapSys = ${s.HeapSys}`,
    `# HeapIdle = ${s.HeapIdle}`,
    `# HeapInuse = ${s.HeapInuse}`,
    `# HeapReleased = ${s.HeapReleased}`,
    `# HeapObjects = ${s.HeapObjects}`,
    `# Stack = ${s.StackInuse} / ${s.StackSys}`,
    `# MSpan = ${s.MSpanInuse} / ${s.MSpanSys}`,
    `# MCache = ${s.MCacheInuse} / ${s.MCacheSys}`,
    `# BuckHashSys = ${s.BuckHashSys}`,
  ];
  if (format === "short") {
    lines.push(
      `# NextGC = ${s.NextGC}`,
      `# PauseNs = ${arr(s.PauseNs)}`,
      `# NumGC = ${s.NumGC}`,
      `# EnableGC = ${s.EnableGC}`,
      `# DebugGC = ${s.DebugGC}`,
    );
  } else {
    lines.push(
      `# GCSys = ${s.GCSys}`,
      `# OtherSys = ${s.OtherSys}`,
      `# NextGC = ${s.NextGC}`,
      `# LastGC = ${s.LastGC}`,
      `# PauseNs = ${arr(s.PauseNs)}`,
      `# PauseEnd = ${arr(s.PauseEnd)}`,
      `# NumGC = ${s.NumGC}`,
      `# NumForcedGC = ${s.NumForcedGC}`,
      `# GCCPUFraction = ${goFloatV(s.GCCPUFraction as number)}`,
      `# DebugGC = ${s.DebugGC}`,
      `# MaxRSS = ${s.MaxRSS}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Sorts records by in-use bytes, largest first (stable; see the README on Go's unstable sort). */
export function sortByInuse(records: MemProfileRecord[]): MemProfileRecord[] {
  return records
    .map((r, i) => ({ r, i }))
    .sort((a, b) =>
      (b.r.AllocBytes - b.r.FreeBytes) - (a.r.AllocBytes - a.r.FreeBytes) ||
      a.i - b.i
    )
    .map((x) => x.r);
}

/**
 * The text heap profile of `rt` now (debug = 1).
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { writeHeapProfileText } from "../../mod.ts";
 * const rt = new Runtime({ memProfileRate: 1 });
 * const t = rt.types.define("main.T", { size: 100 });
 * const keep = rt.global("main.keep");
 * rt.call("main.alloc", "main.go", 12, () => rt.setGlobal(keep, rt.newobject(t)));
 * rt.GC();
 * const text = writeHeapProfileText(rt);
 * if (!text.startsWith("heap profile: 1: 112 [1: 112] @ heap/2\n1: 112 [1: 112] @ 0x")) throw new Error(text);
 * ```
 */
export function writeHeapProfileText(rt: Runtime): string {
  const format = rt.preset.textProfile;
  // Go 1.19 reads MemStats first; Go 1.2 after writing the records.
  const early = format.memStatsFirst ? fullMemStats(rt) : null;
  const records = rt.MemProfile(true);
  let total = { inuseObj: 0, inuse: 0, allocObj: 0, alloc: 0 };
  for (const r of records) {
    total = {
      inuseObj: total.inuseObj + r.AllocObjects - r.FreeObjects,
      inuse: total.inuse + r.AllocBytes - r.FreeBytes,
      allocObj: total.allocObj + r.AllocObjects,
      alloc: total.alloc + r.AllocBytes,
    };
  }
  let out =
    `heap profile: ${total.inuseObj}: ${total.inuse} [${total.allocObj}: ${total.alloc}] @ heap/${
      2 * rt.memProfileRate
    }\n`;
  for (const r of sortByInuse(records)) {
    out += `${r.AllocObjects - r.FreeObjects}: ${
      r.AllocBytes - r.FreeBytes
    } [${r.AllocObjects}: ${r.AllocBytes}] @`;
    for (const pc of r.Stack) out += " " + hex(pc);
    out += "\n";
    out += frameLines(rt, r.Stack, format.pcMinusOne);
    out += "\n";
  }
  out += trailer(format.trailer, early ?? fullMemStats(rt));
  return tabwrite(out);
}

/** The `#` lines of one record: leading runtime frames and runtime.goexit skipped. */
function frameLines(
  rt: Runtime,
  stk: readonly number[],
  pcMinusOne: boolean,
): string {
  const render = (skipRuntime: boolean) => {
    let s = "";
    let skipping = skipRuntime;
    for (const pc of stk) {
      const hit = rt.symtab.lookup(pc);
      if (hit === undefined) {
        s += `#\t${hex(pcMinusOne ? pc - 1 : pc)}\n`;
        skipping = false;
        continue;
      }
      const name = hit.fn.name;
      if (name === "runtime.goexit") continue;
      if (skipping && name.startsWith("runtime.")) continue;
      skipping = false;
      const shown = pcMinusOne ? pc - 1 : pc;
      s += `#\t${hex(shown)}\t${name}+${
        hex(shown - hit.fn.entry)
      }\t${hit.fn.file}:${hit.line}\n`;
    }
    return s;
  };
  const s = render(true);
  return s !== "" ? s : render(false);
}
