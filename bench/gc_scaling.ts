/**
 * Mark and sweep cost of the simulated collector at two heap sizes: the
 * real (wall) time of marking a live heap of N and 2N pointer words, and of
 * sweeping S and 2S spans of garbage. Linear cost shows as equal per-unit
 * figures (a ratio near 2 between the totals).
 *
 *   deno run -A bench/gc_scaling.ts [--nodes 500000]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../lib/runtime/runtime.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { nodes: { type: "string", default: "500000" } },
});
const N = Number(values.nodes);

/** Live heap: a chain of `n` 16-byte nodes (2 pointer words each) from a global. */
function markCost(n: number): { ms: number; words: number } {
  const rt = new Runtime({ gogc: "off" });
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const head = rt.global("main.head");
  let prev = rt.newobject(node);
  rt.setGlobal(head, prev);
  for (let i = 1; i < n; i++) {
    const x = rt.newobject(node);
    rt.store(prev, 0, x);
    prev = x;
  }
  rt.GC(); // settle: everything swept
  const t0 = performance.now();
  rt.GC();
  const ms = performance.now() - t0;
  return { ms, words: rt.gc.scannedWords };
}

/** Garbage in `spans` spans of 512 16-byte objects each, swept by runtime.GC(). */
function sweepCost(spans: number): { ms: number; spans: number } {
  const rt = new Runtime({ gogc: "off" });
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  for (let i = 0; i < spans * 512; i++) rt.newobject(node);
  const before = rt.sweeper.sweptBy.GC + rt.sweeper.sweptBy.uncacheSpan;
  const t0 = performance.now();
  rt.GC(); // marks nothing, then sweeps every span
  const ms = performance.now() - t0;
  return {
    ms,
    spans: rt.sweeper.sweptBy.GC + rt.sweeper.sweptBy.uncacheSpan - before,
  };
}

markCost(N / 4); // warm-up
sweepCost(Math.round(N / 512));
const m1 = markCost(N);
const m2 = markCost(2 * N);
console.log(
  `mark: ${m1.words.toLocaleString("en-US")} live words in ${
    m1.ms.toFixed(1)
  } ms = ${(m1.ms * 1e6 / m1.words).toFixed(1)} ns/word; ${
    m2.words.toLocaleString("en-US")
  } in ${m2.ms.toFixed(1)} ms = ${
    (m2.ms * 1e6 / m2.words).toFixed(1)
  } ns/word; total ratio ${(m2.ms / m1.ms).toFixed(2)} for ${
    (m2.words / m1.words).toFixed(2)
  }× the words`,
);
const S = Math.max(1, Math.round(N / 128));
const best = (f: () => { ms: number; spans: number }) =>
  [f(), f(), f()].reduce((a, b) => (b.ms < a.ms ? b : a));
sweepCost(S);
const s1 = best(() => sweepCost(S));
const s2 = best(() => sweepCost(2 * S));
console.log(
  `sweep: ${s1.spans} spans in ${s1.ms.toFixed(1)} ms = ${
    (s1.ms * 1e3 / s1.spans).toFixed(2)
  } µs/span; ${s2.spans} in ${s2.ms.toFixed(1)} ms = ${
    (s2.ms * 1e3 / s2.spans).toFixed(2)
  } µs/span; total ratio ${(s2.ms / s1.ms).toFixed(2)} for ${
    (s2.spans / s1.spans).toFixed(2)
  }× the spans`,
);
