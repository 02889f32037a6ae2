/**
 * `deno bench`: the cost of heap profiling at the default rate against
 * MemProfileRate=0, side by side (target: at most 3 % of simulated
 * allocation throughput), on binary-trees (a whole workload: allocation,
 * pointer stores and loads, GC) and on a bare allocate-and-free loop (the
 * worst case: nothing but the allocator).
 */
import { Runtime } from "../lib/runtime/runtime.ts";
import { binarytrees } from "../lib/workload/binarytrees.ts";

Deno.bench("binarytrees depth 12, MemProfileRate=0", {
  group: "binarytrees",
  baseline: true,
}, () => {
  binarytrees(new Runtime({ memProfileRate: 0 }), { depth: 12 });
});
Deno.bench("binarytrees depth 12, MemProfileRate=524288", {
  group: "binarytrees",
}, () => {
  binarytrees(new Runtime({ memProfileRate: 524288 }), { depth: 12 });
});

const N = 1 << 16;
function loop(rate: number) {
  const rt = new Runtime({ memProfileRate: rate, gogc: "off" });
  const t = rt.types.define("main.T", { size: 64 });
  const addrs = new Float64Array(N);
  rt.enter(rt.func("main.f", "main.go"), 3);
  return () => {
    for (let i = 0; i < N; i++) addrs[i] = rt.newobject(t);
    for (let i = 0; i < N; i++) rt.free(addrs[i]);
  };
}
const off = loop(0);
const on = loop(524288);
// Both variants share the allocator's JIT-compiled code; whichever runs
// second used to look 7–20 % slower from the type feedback the first left.
// Warming them up interleaved gives both the same code.
for (let i = 0; i < 20; i++) {
  off();
  on();
  binarytrees(new Runtime({ memProfileRate: 0 }), { depth: 10 });
  binarytrees(new Runtime({ memProfileRate: 524288 }), { depth: 10 });
}
Deno.bench("64-byte allocate+free loop, MemProfileRate=0", {
  group: "bare loop",
  baseline: true,
}, off);
Deno.bench("64-byte allocate+free loop, MemProfileRate=524288", {
  group: "bare loop",
}, on);
