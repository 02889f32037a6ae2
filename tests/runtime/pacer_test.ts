/**
 * The pacer's inputs as Go computes them (mgcpacer.go, malloc.go).
 *
 * @module
 */

import fc from "npm:fast-check@4.11.0";
import { assertEquals } from "../_assert.ts";
import { Runtime } from "../../mod.ts";

/** A type of `words` words with pointers in words 0 and `last`. */
function define(rt: Runtime, words: number, last: number) {
  return rt.types.define("main.T", {
    size: words * 8,
    pointers: last === 0 ? [0] : [0, last],
  });
}

const SHAPE = [
  fc.integer({ min: 1, max: 40 }), // words in the type
  fc.nat(), // its last pointer word (mod words)
  fc.integer({ min: 2, max: 20 }), // elements of a make([]T, n)
] as const;

// scanAlloc (Go 1.19 malloc.go:1048–1061): a new object adds the bytes up
// to its last pointer to heapScan, an array its elements but the last whole
// plus the last one's pointer bytes — not the size-class slot.
Deno.test("go1.19: heapScan grows by the bytes up to the last pointer, not by the slot", () => {
  fc.assert(
    fc.property(...SHAPE, (words, last, n) => {
      last %= words;
      const rt = new Runtime({ preset: "go1.19" });
      const t = define(rt, words, last);
      let before = rt.pacer.heapScan;
      rt.newobject(t); // the fast path
      assertEquals(rt.pacer.heapScan - before, (last + 1) * 8);
      before = rt.pacer.heapScan;
      rt.mallocgc(t.size, t); // the full path
      assertEquals(rt.pacer.heapScan - before, (last + 1) * 8);
      before = rt.pacer.heapScan;
      rt.makeslice(t, n);
      assertEquals(
        rt.pacer.heapScan - before,
        ((n - 1) * words + last + 1) * 8,
      );
    }),
    { numRuns: 300 },
  );
});

// Go 1.22 (heapSetType, writeHeapBitsSmall): an object with an allocation
// header or a large one counts its whole slot; a small array of one-word
// pointers counts only the first word.
Deno.test("go1.22: heapScan counts the slot of a header object and one word of a small pointer array", () => {
  fc.assert(
    fc.property(...SHAPE, (words, last, n) => {
      last %= words;
      const rt = new Runtime({ preset: "go1.22" });
      const t = define(rt, words, last);
      let before = rt.pacer.heapScan;
      rt.newobject(t);
      const slot = (rt.pacer.heapScan - before) !== (last + 1) * 8;
      assertEquals(slot, words * 8 > 512);
      before = rt.pacer.heapScan;
      const x = rt.makeslice(t, n);
      const size = n * words * 8;
      // A small object with a header starts 8 bytes into its slot.
      const want = size > 512
        ? rt.objectSpan(size <= 32768 - 8 ? x - 8 : x).elemsize
        : words === 1
        ? 8
        : ((n - 1) * words + last + 1) * 8;
      assertEquals(rt.pacer.heapScan - before, want);
    }),
    { numRuns: 300 },
  );
});
