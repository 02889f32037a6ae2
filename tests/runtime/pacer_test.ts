/**
 * The pacer's inputs as Go computes them (mgcpacer.go, malloc.go).
 *
 * @module
 */

import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { leak, Runtime, TracePrinter } from "../../mod.ts";

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

// The first cycle's heap scan work (gcpacertrace's "H+S+G B work", H) is
// what the mark scans of leak's live records plus the runtime's start-up
// objects, up to each one's last pointer: runtime.p's 8,848 bytes, m's 680,
// g's 376… With a pointer in their first word only, the model scanned
// 181,920 B where real Go scans 211,520–213,056 B.
Deno.test("go1.19: leak's first cycle scans as much heap as real Go's gcpacertrace shows", async () => {
  const text = await Deno.readTextFile(
    new URL("../testdata/fidelity/leak-20000-pacertrace.txt", import.meta.url),
  );
  const real = text.split("# run ").slice(1).map((run) =>
    +/for (\d+)\+\d+\+\d+ B work/.exec(run)![1]
  );
  assertEquals(real.length, 6);
  for (const godebug of ["gctrace=1", "allocfreetrace=1,gctrace=1"]) {
    const rt = new Runtime({ preset: "go1.19", godebug });
    if (godebug.startsWith("alloc")) new TracePrinter(rt, () => {}).attach();
    let heapScan = -1;
    rt.events.subscribe({
      gc: (ev) => {
        if (ev.kind === "end" && heapScan < 0) heapScan = rt.pacer.lastHeapScan;
      },
    });
    leak(rt, { n: 5000 });
    const [lo, hi] = [Math.min(...real), Math.max(...real)];
    assertTrue(
      heapScan >= lo * 0.97 && heapScan <= hi * 1.03,
      `${godebug}: first cycle scanned ${heapScan} B of heap, real ${lo}–${hi}`,
    );
  }
});
