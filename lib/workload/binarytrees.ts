/**
 * The binary-trees allocation pattern (the benchmarks-game program in
 * `shared/testdata/go1.19/programs/binarytrees`): a stretch tree, one
 * long-lived tree held by a global, then many short-lived trees of growing
 * depth, all made of 16-byte pointerful `main.Node`s allocated by
 * `main.bottomUpTree`, linked through their pointer words and checked by
 * walking them. Short-lived trees die when nothing points to them; the
 * collector finds them. Ends with `runtime.GC()`, as the Go program does.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";

/** Parameters of {@link binarytrees}. */
export interface BinaryTreesOptions {
  /** Maximum depth (at least 6, as the Go program enforces; default 10). */
  depth?: number;
}

/** What a binary-trees run did. */
export interface BinaryTreesResult {
  /** Maximum depth used. */
  depth: number;
  /** Nodes allocated (the Go program's `allocated`). */
  nodes: number;
  /** Nodes still reachable at the end (the long-lived tree). */
  live: number;
  /** The check sums the Go program prints, in order. */
  checks: number[];
}

const MIN_DEPTH = 4;

/** Nodes in a complete tree of `depth` (`nodes(depth)` in the Go program). */
export function treeNodes(depth: number): number {
  return 2 ** (depth + 1) - 1;
}

/**
 * Runs binary-trees on `rt`.
 *
 * @throws {RangeError} for a depth that is not an integer from 0 to 30.
 * @example
 * ```ts
 * import { Runtime } from "../runtime/runtime.ts";
 * import { binarytrees } from "./binarytrees.ts";
 * const rt = new Runtime();
 * const r = binarytrees(rt, { depth: 6 });
 * if (rt.readMemStats().HeapObjects !== r.live || r.checks[0] !== 255) throw new Error("live");
 * ```
 */
export function binarytrees(
  rt: Runtime,
  opts: BinaryTreesOptions = {},
): BinaryTreesResult {
  const requested = opts.depth ?? 10;
  if (!Number.isInteger(requested) || requested < 0 || requested > 30) {
    throw new RangeError(
      `binarytrees: depth must be an integer from 0 to 30, got ${requested}`,
    );
  }
  const maxDepth = Math.max(requested, MIN_DEPTH + 2);
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const g = rt.curg;
  const longLived = rt.global("main.longLived");

  const bottomUpTree = (depth: number): number => {
    if (depth <= 0) return rt.newobject(node);
    const sp = g.sp;
    g.push(bottomUpTree(depth - 1));
    g.push(bottomUpTree(depth - 1));
    const n = rt.newobject(node);
    rt.store(n, 0, g.roots[sp]);
    rt.store(n, 1, g.roots[sp + 1]);
    g.sp = sp;
    return n;
  };
  const itemCheck = (n: number): number => {
    const left = rt.load(n, 0);
    if (left === 0) return 1;
    return 1 + itemCheck(left) + itemCheck(rt.load(n, 1));
  };

  const checks: number[] = [];
  let nodes = 0;
  const stretchDepth = maxDepth + 1;
  checks.push(itemCheck(bottomUpTree(stretchDepth)));
  nodes += treeNodes(stretchDepth);
  rt.setGlobal(longLived, bottomUpTree(maxDepth));
  nodes += treeNodes(maxDepth);
  for (let d = MIN_DEPTH; d <= maxDepth; d += 2) {
    const iterations = 2 ** (maxDepth - d + MIN_DEPTH);
    let check = 0;
    for (let i = 0; i < iterations; i++) {
      check += itemCheck(bottomUpTree(d));
      rt.gosched();
    }
    nodes += iterations * treeNodes(d);
    checks.push(check);
  }
  checks.push(itemCheck(rt.getGlobal(longLived)));
  rt.GC();
  return { depth: maxDepth, nodes, live: treeNodes(maxDepth), checks };
}
