/**
 * The mark in WebAssembly (lib/runtime/mgcmark_wasm.ts) against the mark in
 * JavaScript (`linearMemory: false`), its reference: the same random object
 * graphs and workloads give the same marks, figures, frees and events.
 * Also: the module a run compiles is the one its assembler builds, and a
 * heap that grows over the mark's work space gives zeroed words.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { binarytrees, PRESET_NAMES, Runtime, temporaries } from "../../mod.ts";
import type { GCEvent } from "../../lib/runtime/events.ts";
import { MARK_WASM } from "../../lib/runtime/_mark_wasm.ts";
import { MARK_FILE } from "../../scripts/gen_mark_wasm.ts";
import { staleness } from "../../scripts/_wasm_module.ts";

Deno.test("mark wasm: the module a run compiles (_mark_wasm.ts) is the one its assembler builds", async () => {
  assertEquals(await staleness(MARK_FILE, MARK_WASM), null);
});

/** What one runtime did: its events and, after each GC, the mark's figures. */
function recorder(rt: Runtime): string[] {
  const log: string[] = [];
  rt.events.subscribe({
    alloc: (addr, size) => log.push(`a ${addr} ${size}`),
    free: (addr, size, who) => log.push(`f ${addr} ${size} ${who}`),
    gc: (ev: GCEvent) =>
      log.push(
        `gc ${ev.kind} ${ev.cycle} ${
          JSON.stringify(ev.stats)
        } ${rt.gc.markedObjects} ${rt.gc.scannedWords}`,
      ),
  });
  return log;
}

/**
 * Every drain of `rt` over a heap with its memory ran in WebAssembly
 * (`linearMemory`; a heap gets its memory with its first pointerful
 * object), or none did: a drain that falls back to JavaScript gives the
 * same results, so only the counts tell.
 */
function assertDrains(rt: Runtime, linearMemory: boolean): void {
  const { all, wasm, fellBack } = rt.gc.drains;
  assertTrue(all > 0, "no drain ran");
  assertEquals(fellBack, 0, "drains that fell back to JavaScript");
  if (!linearMemory) assertEquals(rt.heap.memory, null);
  if (rt.heap.memory === null) assertEquals(wasm, 0);
  else assertTrue(wasm > 0, "no drain ran in WebAssembly");
}

type Op =
  | { op: "new"; type: number; into: number }
  | { op: "link"; from: number; word: number; to: number }
  | { op: "unroot"; slot: number }
  | { op: "gc" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("new" as const),
      type: fc.nat(5),
      into: fc.nat(15),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("link" as const),
      from: fc.nat(),
      word: fc.nat(),
      to: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("unroot" as const),
      slot: fc.nat(15),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("gc" as const) }) },
);

/** Runs `ops` on a runtime of `preset`; returns its log and its objects' words. */
function play(
  preset: string,
  gogc: number,
  linearMemory: boolean,
  ops: Op[],
): string[] {
  const rt = new Runtime({ preset, gogc, linearMemory });
  const log = recorder(rt);
  const types = [
    rt.types.define("main.Node", { size: 16, pointers: [0, 1] }),
    rt.types.define("main.Mid", { size: 96, pointers: [0, 5, 11] }),
    // Over 16 words: scanned by type (in JavaScript, greying in WebAssembly).
    rt.types.define("main.Big", { size: 4096, pointers: [0, 100, 511] }),
    rt.types.define("main.Huge", { size: 40960, pointers: [0, 5119] }),
    rt.types.define("main.Pair", { size: 24, pointers: [2] }),
  ];
  const g = rt.curg;
  for (let i = 0; i < 16; i++) g.push(0);
  const objs: { addr: number; type: number }[] = [];
  for (const o of ops) {
    if (o.op === "new") {
      const a = o.type === 5
        ? rt.makeslice(rt.types.get("uint8"), 300)
        : rt.newobject(types[o.type]);
      g.set(o.into, a);
      // An address may come back after a sweep freed its object.
      const again = objs.findIndex((x) => x.addr === a);
      if (again >= 0) objs.splice(again, 1);
      objs.push({ addr: a, type: o.type });
    } else if (o.op === "link") {
      // Between objects still rooted (so both are live).
      const rooted = objs.filter((x) =>
        Array.from({ length: 16 }, (_, i) => g.get(i)).includes(x.addr)
      );
      const from = rooted.filter((x) => x.type !== 5);
      if (from.length === 0) continue;
      const f = from[o.from % from.length];
      const words = types[f.type].ptrWords;
      const t = rooted[o.to % rooted.length];
      rt.store(f.addr, words[o.word % words.length], t.addr);
    } else if (o.op === "unroot") {
      g.set(o.slot, 0);
    } else rt.GC();
  }
  rt.GC();
  assertDrains(rt, linearMemory);
  log.push(JSON.stringify(rt.readMemStats()));
  return log;
}

for (const preset of PRESET_NAMES) {
  Deno.test(`mark wasm, ${preset}: random object graphs mark, free and report as the JavaScript mark does`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 400, size: "max" }),
        fc.integer({ min: 1, max: 200 }),
        (ops, gogc) => {
          assertEquals(
            play(preset, gogc, true, ops),
            play(preset, gogc, false, ops),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
}

Deno.test("mark wasm: binary-trees and temporaries run as with the JavaScript mark", () => {
  for (const preset of ["go1.19", "go1.22"]) {
    const logs = [true, false].map((linearMemory) => {
      const rt = new Runtime({ preset, linearMemory });
      const log = recorder(rt);
      binarytrees(rt, { depth: 9 });
      temporaries(rt, { n: 40 });
      assertTrue(rt.heap.memory !== null || !linearMemory);
      assertDrains(rt, linearMemory);
      log.push(JSON.stringify(rt.readMemStats()));
      return log;
    });
    assertTrue(logs[0].some((l) => l.startsWith("gc ")), "no GC ran");
    assertEquals(logs[0], logs[1]);
  }
});

Deno.test("mark wasm: words of new objects are zero after the heap grows over the mark's work space", () => {
  const rt = new Runtime({ gogc: "off" });
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const keep = rt.global("main.keep");
  // A list whose every word is set, marked once (the work space follows
  // the heap bits in the memory), then a heap several times larger.
  let head = 0;
  for (let i = 0; i < 20000; i++) {
    const n = rt.newobject(node);
    rt.store(n, 0, head);
    rt.store(n, 1, head);
    head = n;
  }
  rt.setGlobal(keep, head);
  rt.GC();
  assertTrue(rt.heap.memory !== null);
  for (let i = 0; i < 400000; i++) {
    const n = rt.newobject(node);
    if (rt.load(n, 0) !== 0 || rt.load(n, 1) !== 0) {
      throw new Error(`object ${i} of the grown heap is not zeroed`);
    }
  }
});

Deno.test("mark wasm: a heap of 8-byte pointer objects (one-word slots) marks in WebAssembly", () => {
  // A million one-word slots, each pointerful, filling the heap's memory:
  // the work list may need 8 bytes per heap word. The work space once
  // assumed slots of two words or more, and every drain of such a heap
  // fell back to JavaScript (from 500,000 such objects on).
  for (const preset of ["go1.19", "go1.22"]) {
    const rt = new Runtime({ preset });
    const p8 = rt.types.define("main.P8", { size: 8, pointers: [0] });
    const keep = rt.global("main.keep");
    let head = 0;
    for (let i = 0; i < 1000000; i++) {
      const n = rt.newobject(p8);
      rt.store(n, 0, head);
      head = n;
      rt.setGlobal(keep, head);
    }
    rt.GC();
    assertEquals(rt.gc.markedObjects, 1000000);
    assertTrue(rt.heap.memory !== null);
    assertDrains(rt, true);
  }
});
