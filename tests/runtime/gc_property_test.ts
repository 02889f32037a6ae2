/**
 * Property test of the collector: random object graphs built through roots
 * and pointer words; after runtime.GC() exactly the objects reachable from
 * the roots are live, and every free was reported once.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { AllocKind, PRESET_NAMES, Runtime, slotAddr } from "../../mod.ts";

type Op =
  | { op: "new"; type: number; into: number; word: number }
  | { op: "link"; from: number; word: number; to: number }
  | { op: "unroot"; slot: number }
  | { op: "gc" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("new" as const),
      type: fc.nat(3),
      into: fc.nat(),
      word: fc.nat(),
    }),
  },
  {
    weight: 3,
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
      slot: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("gc" as const) }) },
);

for (const preset of PRESET_NAMES) {
  Deno.test(`${preset}: after runtime.GC() exactly the reachable objects are live`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 300, size: "max" }),
        fc.integer({ min: 0, max: 300 }),
        (ops, gogc) => {
          const rt = new Runtime({ preset, gogc });
          const types = [
            rt.types.define("main.Node", { size: 16, pointers: [0, 1] }),
            rt.types.define("main.Big", {
              size: 4096,
              pointers: [0, 100, 511],
            }),
            rt.types.define("main.Huge", { size: 40960, pointers: [0, 5119] }),
            rt.types.get("uint8"),
          ];
          const g = rt.curg;
          for (let i = 0; i < 8; i++) g.push(0);
          // Heap objects allocated and not yet freed, per the events, by the
          // slot a free names (Go 1.22: 8 bytes before a header object).
          const live = new Map<number, number>();
          // The runtime's own objects (the mark workers' at the first GC),
          // live for good.
          const runtimeOwn = new Set<number>();
          rt.events.subscribe({
            alloc: (addr, size, _typ, kind) => {
              const slot = slotAddr(addr, size);
              if (kind === AllocKind.startup) {
                runtimeOwn.add(slot);
                return;
              }
              assertTrue(
                !live.has(slot),
                `0x${addr.toString(16)} allocated twice`,
              );
              live.set(slot, addr);
            },
            free: (addr) => {
              assertTrue(
                live.delete(addr),
                `0x${addr.toString(16)} freed but not live`,
              );
            },
          });
          const edges = new Map<number, Map<number, number>>(); // obj → word → target
          const objs: number[] = [];
          const reachable = (): Set<number> => {
            const seen = new Set<number>();
            const stack = Array.from({ length: g.sp }, (_, i) => g.get(i))
              .filter((v) => v !== 0);
            while (stack.length > 0) {
              const o = stack.pop()!;
              if (seen.has(o)) continue;
              seen.add(o);
              for (const t of edges.get(o)?.values() ?? []) {
                if (t !== 0) stack.push(t);
              }
            }
            return seen;
          };
          // After runtime.GC(): what is live is exactly what is reachable.
          const check = () => {
            const r = reachable();
            assertEquals([...live.values()].sort(), [...r].sort());
            assertEquals(
              rt.readMemStats().HeapObjects,
              r.size + runtimeOwn.size,
            );
          };
          for (const o of ops) {
            if (o.op === "new") {
              const t = types[o.type];
              const a = t.name === "uint8"
                ? rt.makeslice(t, 100)
                : rt.newobject(t);
              g.set(o.into % 8, a); // rooted before the next allocation
              if (!objs.includes(a)) objs.push(a); // an address may come back after a free
              edges.set(a, new Map());
            } else if (o.op === "link") {
              const r = reachable();
              const cands = objs.filter((x) => r.has(x));
              if (cands.length === 0) continue;
              const from = cands[o.from % cands.length];
              const t = rt.types
                .list[
                  rt.heap.spanOf(from)!.types
                    ?.[rt.heap.spanOf(from)!.objIndex(from)]! - 1
                ];
              if (t === undefined) continue; // noscan object: no pointer words
              const word = t.ptrWords[o.word % t.ptrWords.length];
              const to = cands[o.to % cands.length];
              rt.store(from, word, to);
              edges.get(from)!.set(word, to);
            } else if (o.op === "unroot") {
              g.set(o.slot % 8, 0);
            } else {
              rt.GC();
              check();
            }
          }
          rt.GC();
          check();
          const r = reachable();
          // Every reachable pointer word still reads back.
          for (const a of r) {
            for (const [w, t] of edges.get(a)!) assertEquals(rt.load(a, w), t);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
}
