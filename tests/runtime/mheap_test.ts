import { assertEquals, assertThrows, assertTrue } from "../_assert.ts";
import { MHeap, MSpan, OutOfMemoryError, Runtime } from "../../mod.ts";

function heap(policy: "first-fit" | "best-fit", limit = 0): MHeap {
  return new MHeap({
    pageSize: 8192,
    arenaStart: 0xc000000000,
    arenaMaxBytes: 64 << 20,
    growBytes: 4 << 20,
    policy,
    hardLimit: limit,
  });
}

Deno.test("mheap grows in 4 MiB chunks from the arena start and coalesces freed runs", () => {
  const h = heap("first-fit");
  const a = h.allocSpan(1, 1);
  const b = h.allocSpan(3, 1);
  const c = h.allocSpan(2, 1);
  assertEquals([a.startAddr, b.startAddr, c.startAddr], [
    0xc000000000,
    0xc000002000,
    0xc000008000,
  ]);
  assertEquals(h.heapSys, 4 << 20);
  assertEquals(h.pagesInUse, 6);
  h.freeSpan(a);
  h.freeSpan(c); // joins the free tail
  assertEquals(h.freeRuns, 2);
  h.freeSpan(b); // joins both neighbours: one run again
  assertEquals(h.freeRuns, 1);
  assertEquals(h.pagesInUse, 0);
  assertEquals(h.allocSpan(6, 1).startAddr, 0xc000000000);
});

Deno.test("first fit takes the lowest run, best fit the smallest that fits", () => {
  for (const [policy, want] of [["first-fit", 0], ["best-fit", 2]] as const) {
    const h = heap(policy);
    const spans = [4, 1, 2, 1, 1].map((n) => h.allocSpan(n, 1));
    h.freeSpan(spans[0]); // 4 free pages at page 0
    h.freeSpan(spans[2]); // 2 free pages at page 5
    const s = h.allocSpan(2, 1);
    const runStarts = [spans[0].startAddr, 0, spans[2].startAddr];
    assertEquals(s.startAddr, runStarts[want], policy);
  }
});

Deno.test("spanOf maps every byte of a span back to it, and nothing outside", () => {
  const h = heap("first-fit");
  const s = h.allocSpan(3, 1);
  assertTrue(h.spanOf(s.startAddr) === s);
  assertTrue(h.spanOf(s.startAddr + 3 * 8192 - 1) === s);
  assertEquals(h.spanOf(s.startAddr + 3 * 8192), undefined);
  assertEquals(h.spanOf(0xc000000000 - 1), undefined);
  h.freeSpan(s);
  assertEquals(h.spanOf(s.startAddr), undefined);
});

Deno.test("the address space is finite: a request past it is an OutOfMemoryError", () => {
  const h = heap("first-fit");
  assertThrows(
    () => h.allocSpan(64 * 128 + 1, 12345),
    OutOfMemoryError,
    /12345 bytes/,
  );
  assertEquals(h.heapSys, 0);
});

Deno.test("large objects get whole pages and give them back when freed", () => {
  for (const preset of ["go1.19", "go1.2-seed"]) {
    const rt = new Runtime({ preset });
    const page = rt.preset.pageSize;
    const u8 = rt.types.get("uint8");
    const a = rt.makeslice(u8, 40000);
    assertEquals(rt.sizeOf(a), Math.ceil(40000 / page) * page);
    const inuse = rt.readMemStats().HeapInuse;
    rt.free(a);
    assertEquals(rt.readMemStats().HeapInuse, inuse - rt.roundupsize(40000));
    assertEquals(
      rt.makeslice(u8, 33000),
      a,
      `${preset}: freed pages are reused`,
    );
  }
});

Deno.test("a freed small span's bitmaps go to the next span of its class, zeroed; its memory stays the heap's and is cleared object by object; a large span's bitmaps are not kept", () => {
  const rt = new Runtime({ gogc: "off" });
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const keep = rt.global("main.keep");
  const nodes: number[] = [];
  for (let i = 0; i < 512; i++) nodes.push(rt.newobject(node)); // one whole span
  for (let i = 1; i < 512; i++) rt.store(nodes[i], 0, nodes[i - 1]);
  rt.setGlobal(keep, nodes[511]);
  const old = rt.heap.spanOf(nodes[0])!;
  const types = old.types;
  rt.setGlobal(keep, 0);
  rt.GC(); // every node is garbage: the span goes back to the heap
  assertEquals(old.state, 0);
  // Freed objects leave the heap bitmap: no pointer word of the span is left.
  const w0 = old.base / 8;
  assertEquals(
    rt.heap.bits.subarray(w0, w0 + 1024).some((b) => b !== 0),
    false,
  );
  const fresh = rt.newobject(node);
  const span = rt.heap.spanOf(fresh)!;
  assertTrue(span !== old && span.types === types);
  assertEquals([rt.load(fresh, 0), rt.load(fresh, 1)], [0, 0]);
  assertEquals(span.allocCount, 1);
  assertEquals(span.allocBits.reduce((n, w) => n + (w !== 0 ? 1 : 0), 0), 1);
  assertEquals(span.gcmarkBits.some((w) => w !== 0), false);
  // The span's pages were used before: their memory comes as the old span
  // left it (no work per object at init); needzero has each allocation
  // clear its own words and set its heap bits.
  assertEquals(span.base, old.base);
  assertEquals(span.needzero, true);
  assertTrue(rt.heap.mem.subarray(w0, w0 + 1024).some((w) => w !== 0));
  const i = span.slotOf(fresh - span.startAddr);
  assertEquals(span.types![i], node.id + 1);
  assertEquals([...rt.heap.bits.subarray(w0 + 2 * i, w0 + 2 * i + 4)], [
    1,
    1,
    0,
    0,
  ]);
  const big = rt.makeslice(node, 4096);
  const bigSpan = rt.heap.spanOf(big)!;
  const bigTypes = bigSpan.types;
  rt.free(big);
  const big2 = rt.makeslice(node, 4096);
  assertTrue(rt.heap.spanOf(big2)!.types !== bigTypes);
});

Deno.test("slotOf (Go's divMul) gives the slot of every byte of every size class's span, and nelems or more in its tail", () => {
  for (const preset of ["go1.19", "go1.2-seed", "go1.22"]) {
    const rt = new Runtime({ preset });
    const sc = rt.sizeclasses;
    const page = rt.preset.pageSize;
    for (let c = 1; c < sc.numClasses; c++) {
      const s = new MSpan(0xc000000000, sc.classToAllocNPages[c], page);
      s.init(c << 1, sc.classToSize[c], sc.classToNElems[c]);
      for (let off = 0; off < s.npages * page; off++) {
        const want = Math.floor(off / s.elemsize);
        const got = s.slotOf(off);
        if (want < s.nelems ? got !== want : got < s.nelems) {
          throw new Error(
            `${preset} class ${c} (size ${s.elemsize}): byte ${off} gives slot ${got}, want ${want}`,
          );
        }
      }
    }
  }
  const large = new MSpan(0xc000000000, 5, 8192);
  large.init(0, 5 * 8192, 1);
  assertEquals([large.slotOf(0), large.slotOf(5 * 8192 - 1)], [0, 0]);
});

Deno.test("the arena stops at 4 GiB, where heap word indices (offset >>> 3) would wrap: one out-of-memory error past it, Go's 256 GiB arena notwithstanding", () => {
  const h = new MHeap({
    pageSize: 8192,
    arenaStart: 0xc000000000,
    arenaMaxBytes: 256 * 2 ** 30,
    growBytes: 4 << 20,
    policy: "first-fit",
  });
  // Not scanned: mem and bits stay unallocated, so this takes no 4 GiB.
  const all = h.allocSpan(2 ** 32 / 8192, 2 ** 32);
  assertEquals(all.startAddr, 0xc000000000);
  assertEquals(h.heapSys, 2 ** 32);
  assertThrows(
    () => h.allocSpan(1, 8192),
    OutOfMemoryError,
    /^out of memory: allocating 8192 bytes needs 512 more page\(s\), past the 4294967296-byte address space of the heap \(the simulator holds at most 4 GiB\); 4294967296 bytes are in use$/,
  );
  assertEquals(h.heapSys, 2 ** 32);
});
