/**
 * The binary-trees allocation pattern (the benchmarks-game program in
 * `shared/testdata/go1.19/programs/binarytrees`): a stretch tree, one
 * long-lived tree, then many short-lived trees of growing depth, all made
 * of 16-byte pointerful `main.Node`s allocated by `main.bottomUpTree`.
 *
 * Until the simulated heap collects garbage, a short-lived tree is freed
 * explicitly right after it has been checked.
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
  /** Nodes still live at the end (the long-lived tree). */
  live: number;
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
 * if (rt.readMemStats().HeapObjects !== r.live) throw new Error("live");
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
  // Addresses of the tree being built, in allocation order (post-order).
  let buf = new Float64Array(treeNodes(maxDepth + 1));
  let n = 0;
  const bottomUpTree = (depth: number): number => {
    if (depth > 0) {
      bottomUpTree(depth - 1);
      bottomUpTree(depth - 1);
    }
    const addr = rt.newobject(node);
    buf[n++] = addr;
    return addr;
  };
  const freeTree = () => {
    for (let i = 0; i < n; i++) rt.free(buf[i]);
    n = 0;
  };
  let nodes = 0;
  bottomUpTree(maxDepth + 1);
  nodes += n;
  freeTree();
  bottomUpTree(maxDepth);
  const live = n;
  nodes += n;
  const longLived = buf;
  buf = new Float64Array(treeNodes(maxDepth));
  n = 0;
  for (let d = MIN_DEPTH; d <= maxDepth; d += 2) {
    const iterations = 2 ** (maxDepth - d + MIN_DEPTH);
    for (let i = 0; i < iterations; i++) {
      bottomUpTree(d);
      nodes += n;
      freeTree();
    }
  }
  void longLived;
  return { depth: maxDepth, nodes, live };
}
