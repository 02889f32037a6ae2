/**
 * Property test of the heap-wide bitmap (`MHeap.bits`) that checked stores
 * and loads read alone: after every step of a random program (allocations
 * of typed objects, links, unrooting, explicit frees, finalizers, and
 * collections whose sweeps run lazily while the program allocates), a
 * word's byte is 1 exactly when the word is a pointer word of an allocated
 * object that the last mark has not condemned (unmarked in a span not
 * swept since) — what the span's bitmaps and slot types say.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertThrows } from "../_assert.ts";
import { type MSpan, PRESET_NAMES, Runtime } from "../../mod.ts";

type Op =
  | { op: "new"; type: number; into: number }
  | { op: "link"; from: number; word: number; to: number }
  | { op: "unroot"; slot: number }
  | { op: "free"; slot: number }
  | { op: "finalizer"; slot: number }
  | { op: "gc" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("new" as const),
      type: fc.nat(4),
      into: fc.nat(15),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("link" as const),
      from: fc.nat(15),
      word: fc.nat(),
      to: fc.nat(15),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("unroot" as const),
      slot: fc.nat(15),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("free" as const),
      slot: fc.nat(15),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("finalizer" as const),
      slot: fc.nat(15),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("gc" as const) }) },
);

/** What the span says of word `w` (index into the span's words). */
function expectedBit(rt: Runtime, s: MSpan, w: number): number {
  const i = s.slotOf(w * 8);
  if (i >= s.nelems) return 0;
  const bit = 1 << (i & 31);
  if ((s.allocBits[i >>> 5] & bit) === 0) return 0;
  if (
    s.sweepgen === rt.heap.sweepgen - 2 &&
    (s.gcmarkBits[i >>> 5] & bit) === 0
  ) return 0;
  const tid = s.types![i] - 1;
  if (tid < 0) return 0;
  const mask = rt.types.list[tid].ptrMask;
  const hw = rt.preset.allocHeaders && s.sizeclass !== 0 && s.elemsize > 512
    ? 1
    : 0;
  const n = s.elemsize / 8 - hw;
  const k = w - i * (s.elemsize / 8) - hw;
  if (k < 0 || k >= Math.floor(n / mask.length) * mask.length) return 0;
  return mask[k % mask.length];
}

function checkBits(rt: Runtime): void {
  const bits = rt.heap.bits;
  let scanWords = 0;
  rt.heap.forEachSpan((s) => {
    const w0 = s.base / 8;
    const nw = s.npages * s.pageSize / 8;
    for (let w = 0; w < nw; w++) {
      const want = s.types === null ? 0 : expectedBit(rt, s, w);
      const got = bits[w0 + w] ?? 0;
      if (got !== want) {
        assertEquals(
          got,
          want,
          `word ${w} of span 0x${
            s.startAddr.toString(16)
          } (class ${s.sizeclass}, sweepgen ${s.sweepgen} of ${rt.heap.sweepgen})`,
        );
      }
    }
    if (s.types !== null) scanWords += nw;
  });
  // Outside in-use spans nothing is a live pointer word.
  let set = 0;
  for (let w = 0; w < bits.length; w++) set += bits[w];
  let inSpans = 0;
  rt.heap.forEachSpan((s) => {
    if (s.types === null) return;
    const w0 = s.base / 8;
    for (let w = 0; w < s.npages * s.pageSize / 8; w++) inSpans += bits[w0 + w];
  });
  assertEquals(set, inSpans);
  void scanWords;
}

for (const preset of PRESET_NAMES) {
  Deno.test(`${preset}: the heap bitmap holds exactly the pointer words of live, uncondemned objects`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 250, size: "max" }),
        fc.integer({ min: 1, max: 50 }),
        (ops, gogc) => {
          const rt = new Runtime({ preset, gogc });
          const types = [
            rt.types.define("main.Node", { size: 16, pointers: [0, 1] }),
            rt.types.define("main.Mixed", { size: 24, pointers: [1] }),
            rt.types.define("main.Big", { size: 1024, pointers: [0, 100] }),
            rt.types.define("main.Huge", { size: 40960, pointers: [0, 5119] }),
            rt.types.define("main.Pair", { size: 16, pointers: [0] }),
          ];
          const g = rt.curg;
          for (let i = 0; i < 16; i++) g.push(0);
          const finalized = new Set<number>();
          // Go 1.22's objects behind an allocation header are not at their
          // slot's start: free and SetFinalizer take slot starts.
          const atSlotStart = (a: number) => {
            const s = rt.heap.spanOf(a)!;
            return s.startAddr + s.objIndex(a) * s.elemsize === a;
          };
          checkBits(rt);
          for (const o of ops) {
            if (o.op === "new") {
              const t = types[o.type];
              const a = o.type === 4
                ? rt.makeslice(t, 3) // a slice: the mask repeated
                : rt.newobject(t);
              g.set(o.into, a);
            } else if (o.op === "link") {
              const from = g.get(o.from);
              const to = g.get(o.to);
              if (from === 0) continue;
              const s = rt.heap.spanOf(from)!;
              const t = rt.types.list[s.types![s.objIndex(from)] - 1];
              const word = t.ptrWords[o.word % t.ptrWords.length];
              rt.store(from, word, to);
              if (rt.load(from, word) !== to) throw new Error("load");
            } else if (o.op === "unroot") {
              g.set(o.slot, 0);
            } else if (o.op === "free") {
              const a = g.get(o.slot);
              if (a === 0 || !atSlotStart(a)) continue;
              finalized.delete(a);
              // Frees it while other roots may still point at it: clear them.
              for (let i = 0; i < 16; i++) if (g.get(i) === a) g.set(i, 0);
              rt.free(a);
              assertThrows(
                () => rt.load(a, 0),
                RangeError,
                /use after free|not a heap object/,
              );
            } else if (o.op === "finalizer") {
              const a = g.get(o.slot);
              if (a === 0 || !atSlotStart(a) || finalized.has(a)) continue;
              finalized.add(a);
              rt.setFinalizer(a, (x) => finalized.delete(x));
            } else {
              rt.GC();
            }
            checkBits(rt);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
}
