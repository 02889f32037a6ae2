/**
 * `deno bench` for the allocation fast path: small pointerful, small
 * noscan, tiny and large allocations, each batch followed by frees so the
 * heap stays small. GC is off: the batches are unreachable, and a cycle in
 * the middle of one would sweep objects the batch then frees itself.
 */
import { Runtime } from "../lib/runtime/runtime.ts";

const BATCH = 4096;

function setup(preset = "go1.19") {
  const rt = new Runtime({ preset, gogc: "off" });
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const u8 = rt.types.get("uint8");
  return { rt, node, u8, addrs: new Float64Array(BATCH) };
}

const a = setup();
Deno.bench("newobject main.Node (16 B, pointers) ×4096 + free", {
  group: "fast path",
  baseline: true,
}, () => {
  for (let i = 0; i < BATCH; i++) a.addrs[i] = a.rt.newobject(a.node);
  for (let i = 0; i < BATCH; i++) a.rt.free(a.addrs[i]);
});

const b = setup();
Deno.bench("newobject only, no free (4096 per iteration)", {
  group: "fast path",
}, () => {
  for (let i = 0; i < BATCH; i++) b.rt.newobject(b.node);
});

const c = setup();
Deno.bench("makeslice []byte 100 (class 112, noscan) ×4096 + free", {
  group: "fast path",
}, () => {
  for (let i = 0; i < BATCH; i++) c.addrs[i] = c.rt.makeslice(c.u8, 100);
  for (let i = 0; i < BATCH; i++) c.rt.free(c.addrs[i]);
});

const d = setup();
Deno.bench("tiny 4-byte noscan ×4096", { group: "fast path" }, () => {
  for (let i = 0; i < BATCH; i++) d.rt.mallocgc(4, null);
});

const e = setup("go1.2-seed");
Deno.bench("go1.2-seed newobject main.Node ×4096 + free", {
  group: "fast path",
}, () => {
  for (let i = 0; i < BATCH; i++) e.addrs[i] = e.rt.newobject(e.node);
  for (let i = 0; i < BATCH; i++) e.rt.free(e.addrs[i]);
});

const f = setup();
Deno.bench("large 40000-byte slice ×64 + free", { group: "large" }, () => {
  for (let i = 0; i < 64; i++) f.addrs[i] = f.rt.makeslice(f.u8, 40000);
  for (let i = 0; i < 64; i++) f.rt.free(f.addrs[i]);
});
