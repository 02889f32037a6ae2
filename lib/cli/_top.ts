/**
 * A `go tool pprof -top`-like table of the heap profile, for summaries.
 *
 * @module
 */

import type { HeapSample } from "../profile/proto.ts";
import {
  HEAP_SAMPLE_TYPES,
  type HeapSampleType,
} from "../profile/sample_types.ts";
import { fmtBytes, printable } from "../report/units.ts";

// Callers (native) take the formatter from here too.
export { fmtBytes };

/** The top `n` functions by flat value of `type`, as lines of a table. */
export function topTable(
  samples: readonly HeapSample[],
  type: HeapSampleType,
  n = 10,
): string[] {
  const k = HEAP_SAMPLE_TYPES.indexOf(type);
  const flat = new Map<string, number>();
  const cum = new Map<string, number>();
  let total = 0;
  for (const s of samples) {
    const v = s.values[k];
    if (v === 0 || s.frames.length === 0) continue;
    total += v;
    const leaf = s.frames[0].func;
    flat.set(leaf, (flat.get(leaf) ?? 0) + v);
    for (const f of new Set(s.frames.map((f) => f.func))) {
      cum.set(f, (cum.get(f) ?? 0) + v);
    }
  }
  const bytes = type.endsWith("space");
  const fmt = (v: number) => (bytes ? fmtBytes(v) : String(v));
  const pct = (v: number) =>
    total === 0 ? "0%" : `${(100 * v / total).toFixed(2)}%`;
  const rows = [...cum.keys()]
    .sort((a, b) =>
      (flat.get(b) ?? 0) - (flat.get(a) ?? 0) || (cum.get(b)! - cum.get(a)!)
    )
    .slice(0, n);
  const lines = [
    `${"flat".padStart(10)} ${"flat%".padStart(7)} ${"sum%".padStart(7)} ${
      "cum".padStart(10)
    } ${"cum%".padStart(7)}`,
  ];
  let sum = 0;
  for (const f of rows) {
    const fl = flat.get(f) ?? 0;
    sum += fl;
    lines.push(
      `${fmt(fl).padStart(10)} ${pct(fl).padStart(7)} ${pct(sum).padStart(7)} ${
        fmt(cum.get(f)!).padStart(10)
      } ${pct(cum.get(f)!).padStart(7)}  ${printable(f)}`,
    );
  }
  return lines;
}

/**
 * Lines of a text table, columns two spaces apart: the figures
 * right-aligned to their widest cell, the last `textColumns` columns (text:
 * a site name, a function) left-aligned, the very last not padded.
 */
export function alignColumns(
  head: string[],
  rows: string[][],
  textColumns = 1,
): string[] {
  // (Names come from traces and programs: none acts on the terminal.)
  rows = rows.map((r) => r.map(printable));
  const w = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const firstText = head.length - textColumns;
  const fmt = (cells: string[]) =>
    cells.map((c, i) =>
      i === cells.length - 1
        ? c
        : i >= firstText
        ? c.padEnd(w[i])
        : c.padStart(w[i])
    ).join("  ");
  return [head, ...rows].map(fmt);
}
