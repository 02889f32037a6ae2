/**
 * The binary-trees allocation pattern (the benchmarks-game program in
 * `tests/testdata/shared/go1.19/programs/binarytrees`): a stretch tree, one
 * long-lived tree held by a global, then many short-lived trees of growing
 * depth, all made of 16-byte pointerful `main.Node`s allocated by
 * `main.bottomUpTree`, linked through their pointer words and checked by
 * walking them. Short-lived trees die when nothing points to them; the
 * collector finds them. Ends with `runtime.GC()`, as the Go program does.
 * Frames carry the Go program's functions, file and lines.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import { goStartup } from "../runtime/startup.ts";
import { Printf } from "./_std.ts";

/** Parameters of {@link binarytrees}. */
export interface BinaryTreesOptions {
  /** Maximum depth (at least 6, as the Go program enforces; default 10). */
  depth?: number;
  /** Replay the real program's start-up first (`goStartup`; default true). */
  startup?: boolean;
  /**
   * No per-depth lines (the Go program's `-quiet`): no `fmt.Printf`, so
   * none of its allocations (default false).
   */
  quiet?: boolean;
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
const FILE = "acceptance/programs/binarytrees/main.go";

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
 * import { Runtime } from "../../mod.ts";
 * import { binarytrees } from "../../mod.ts";
 * const rt = new Runtime();
 * const r = binarytrees(rt, { depth: 6, startup: false }); // without the runtime's start-up
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
  if (opts.startup ?? true) goStartup(rt, "binarytrees");
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const g = rt.curg;
  const longLived = rt.global("main.longLived");
  const fMain = rt.func("main.main", FILE);
  const fRun = rt.func("main.run", FILE, "0x6, 0x0");
  const fTree = rt.func("main.bottomUpTree", FILE, "0xc000076f48?");
  const fCheck = rt.func("main.(*Node).itemCheck", FILE);

  // Trees cross the recursive calls as offsets from the arena start: small
  // integers, which V8 passes unboxed, where a 40-bit address would be a
  // heap number allocated at every call and return; the pointer words are
  // stored and loaded by offset too (checked all the same).
  const base = rt.heap.arenaStart;
  const heap = rt.heap;
  const words = rt.words;
  // The trusted mode (`checkPointers: false`) is for built-in workloads
  // like this one, whose stores and loads are right by construction: they
  // then read and write the heap's words with no check at all.
  const checked = words.checked;
  // The children are rooted (pushed) before the parent is allocated, which
  // may start a GC. Half the nodes are leaves: a node of depth 1 makes its
  // two through `leaf` (the same frame, line and allocation as
  // `bottomUpTree(0)`), which V8 inlines where it cannot inline the
  // recursive call: 5% of a depth-16 run's CPU. Its frame is entered only
  // for the full allocation path, the only one that sees frames (a sample,
  // a consumer, a GC's stack scan).
  const leaf = (): number => {
    const x = rt.newobjectFastOff(node);
    if (x >= 0) return x;
    g.enter(fTree, 37);
    const n = rt.newobjectOff(node);
    g.leave();
    return n;
  };
  const bottomUpTree = (depth: number): number => {
    g.enter(fTree, depth <= 0 ? 37 : 39);
    let left = 0;
    let right = 0;
    if (depth > 1) {
      left = bottomUpTree(depth - 1);
      g.push(base + left);
      right = bottomUpTree(depth - 1);
      g.push(base + right);
    } else if (depth === 1) {
      left = leaf();
      g.push(base + left);
      right = leaf();
      g.push(base + right);
    }
    const n = rt.newobjectOff(node);
    if (depth > 0) {
      if (checked) {
        // Both stores checked at once, as `words.storeOff` checks each
        // (the node's words and the children's first words: aligned
        // pointer words of live objects), else each by `storeOff` itself.
        const bits = heap.bits;
        const w = n >>> 3;
        const l = left >>> 3;
        const r = right >>> 3;
        if (
          w * 8 === n && l * 8 === left && r * 8 === right &&
          bits[w] === 1 && bits[w + 1] === 1 && bits[l] === 1 &&
          bits[r] === 1
        ) {
          const mem = heap.mem;
          mem[w] = base + left;
          mem[w + 1] = base + right;
        } else {
          words.storeOff(n, left);
          words.storeOff(n + 8, right);
        }
      } else {
        const mem = heap.mem;
        mem[n >>> 3] = base + left;
        mem[(n >>> 3) + 1] = base + right;
      }
    }
    g.leave();
    return n;
  };
  // The Go program's recursive itemCheck, walked with a stack of right
  // children instead: the same loads of the same words (each checked) and
  // the same count, in another order, without a JavaScript call per node
  // (the recursive walk was a sixth of a depth-16 run's CPU; this one is
  // 6% faster in all). At most one right child per level is pending.
  const pending = new Float64Array(maxDepth + 4);
  //
  // A node's two words are checked at once, as `words.loadOff` checks
  // each: aligned, and both pointer words of a live object in the heap
  // bitmap (`heap.bits`; nothing allocates during the walk, so the heap's
  // arrays stay put). Any other node takes `loadOff` itself, word by word,
  // which throws what it would have thrown.
  const itemCheck = (root: number): number => {
    const bits = heap.bits;
    const mem = heap.mem;
    let count = 0;
    let sp = 0;
    let off = root;
    for (;;) {
      count++;
      const w = off >>> 3;
      let left: number;
      if (w * 8 === off && bits[w] === 1 && bits[w + 1] === 1) {
        left = mem[w];
        if (left !== 0) pending[sp++] = mem[w + 1] - base;
      } else {
        left = words.loadOff(off);
        if (left !== 0) pending[sp++] = words.loadOff(off + 8) - base;
      }
      if (left !== 0) off = left - base;
      else if (sp === 0) return count;
      else off = pending[--sp];
    }
  };
  // The same walk in the trusted mode: plain reads of the heap's words
  // (nothing allocates during the walk, so the heap's arrays stay put).
  const itemCheckTrusted = (root: number): number => {
    const mem = heap.mem;
    let count = 0;
    let sp = 0;
    let w = root >>> 3;
    for (;;) {
      count++;
      const left = mem[w];
      if (left !== 0) {
        pending[sp++] = (mem[w + 1] - base) >>> 3;
        w = (left - base) >>> 3;
      } else if (sp === 0) return count;
      else w = pending[--sp];
    }
  };
  const check = (n: number): number => {
    g.enter(fCheck, 46);
    const c = checked ? itemCheck(n - base) : itemCheckTrusted(n - base);
    g.leave();
    return c;
  };

  // Its fmt.Printf lines (allocations of the runtime's own, as the start-up's).
  const fmt = opts.quiet ? null : new Printf(rt);
  const checks: number[] = [];
  let nodes = 0;
  g.enter(fMain, 99);
  g.enter(fRun, 57);
  const stretchDepth = maxDepth + 1;
  checks.push(check(base + bottomUpTree(stretchDepth)));
  nodes += treeNodes(stretchDepth);
  g.setLine(60);
  fmt?.printf("stretch tree of depth %d\t check: %d\n", [
    stretchDepth,
    checks[0],
  ]);
  g.setLine(62);
  rt.setGlobal(longLived, base + bottomUpTree(maxDepth));
  nodes += treeNodes(maxDepth);
  for (let d = MIN_DEPTH; d <= maxDepth; d += 2) {
    g.setLine(68);
    const iterations = 2 ** (maxDepth - d + MIN_DEPTH);
    let sum = 0;
    for (let i = 0; i < iterations; i++) {
      sum += check(base + bottomUpTree(d));
      rt.gosched();
    }
    nodes += iterations * treeNodes(d);
    checks.push(sum);
    g.setLine(72);
    fmt?.printf("%d\t trees of depth %d\t check: %d\n", [iterations, d, sum]);
  }
  g.setLine(76);
  checks.push(check(rt.getGlobal(longLived)));
  fmt?.printf("long lived tree of depth %d\t check: %d\n", [
    maxDepth,
    checks[checks.length - 1],
  ]);
  g.leave();
  g.setLine(103);
  rt.ReadMemStats(); // runtime.ReadMemStats(&after): flushes the mcaches
  g.setLine(126);
  rt.GC();
  g.leave();
  return { depth: maxDepth, nodes, live: treeNodes(maxDepth), checks };
}
