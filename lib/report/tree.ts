/**
 * A compact call tree of heap-profile samples for the terminal, like `go
 * tool pprof -tree` folded into one indented tree: each line a function with
 * its cumulative value and share, children of at least 1 % of the total,
 * coloured by share on a terminal and plain otherwise.
 *
 * @module
 */

import type { HeapSample } from "../profile/proto.ts";
import {
  HEAP_SAMPLE_TYPES,
  type HeapSampleType,
} from "../profile/sample_types.ts";
import { fmtBytes, printable } from "./units.ts";

interface TNode {
  name: string;
  value: number;
  kids: Map<string, TNode>;
}

/** Options of {@link callTree}. */
export interface TreeOptions {
  /** Sample type (default alloc_space). */
  type?: HeapSampleType;
  /** Smallest share of the total shown (default 0.01). */
  minShare?: number;
  /** Deepest level shown (default 12). */
  maxDepth?: number;
  /** ANSI colours. */
  color?: boolean;
}

/**
 * The call tree of `samples` as lines.
 *
 * @example
 * ```ts
 * import { callTree } from "./tree.ts";
 * const lines = callTree([{ values: [1, 64, 1, 64], frames: [{ func: "main.f", file: "", line: 1 }, { func: "main.main", file: "", line: 2 }] }]);
 * if (lines[0] !== "100.0%  64B  main.main" || lines[1] !== "100.0%  64B    main.f") throw new Error(lines.join("\n"));
 * ```
 */
export function callTree(
  samples: readonly HeapSample[],
  opts: TreeOptions = {},
): string[] {
  const type = opts.type ?? "alloc_space";
  const k = HEAP_SAMPLE_TYPES.indexOf(type);
  const root: TNode = { name: "", value: 0, kids: new Map() };
  for (const s of samples) {
    const v = s.values[k];
    if (v === 0) continue;
    root.value += v;
    let n = root;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const name = s.frames[i].func;
      if (name === "runtime.goexit") continue;
      let c = n.kids.get(name);
      if (c === undefined) {
        c = { name, value: 0, kids: new Map() };
        n.kids.set(name, c);
      }
      c.value += v;
      n = c;
    }
  }
  const total = root.value;
  const min = (opts.minShare ?? 0.01) * total;
  const maxDepth = opts.maxDepth ?? 12;
  const bytes = type.endsWith("space");
  const fmt = (v: number) => bytes ? fmtBytes(v) : String(v);
  const rows: { share: number; size: string; depth: number; name: string }[] =
    [];
  const walk = (n: TNode, depth: number) => {
    const kids = [...n.kids.values()].filter((c) => c.value >= min).sort((
      a,
      b,
    ) => b.value - a.value);
    for (const c of kids) {
      const share = total === 0 ? 0 : c.value / total;
      rows.push({ share, size: fmt(c.value), depth, name: printable(c.name) });
      if (depth + 1 < maxDepth) walk(c, depth + 1);
    }
  };
  walk(root, 0);
  // The size column right-aligned to its widest figure, so a name's
  // indentation is its depth alone (a wide parent figure cannot push it
  // past its child's).
  const w = Math.max(0, ...rows.map((r) => r.size.length));
  return rows.map((r) => {
    const text = `${(100 * r.share).toFixed(1).padStart(5)}%  ${
      r.size.padStart(w)
    }  ${"  ".repeat(r.depth)}${r.name}`;
    if (!opts.color) return text;
    const code = r.share >= 0.25 ? 31 : r.share >= 0.05 ? 33 : 2;
    return `\x1b[${code}m${text}\x1b[0m`;
  });
}
