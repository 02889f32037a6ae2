/**
 * Property tests of the simulated heap (GOGC=off, explicit frees): random
 * sequences of allocations and
 * frees across sizes, types and Ps, under both presets.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  type GoType,
  MAX_SMALL_SIZE,
  PRESET_NAMES,
  Runtime,
  slotAddr,
} from "../../mod.ts";

type Cmd =
  | { op: "alloc"; size: number; type: number; p: number }
  | { op: "free"; pick: number };

const PROCS = 3;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("alloc" as const),
      size: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 16 }) },
        { weight: 4, arbitrary: fc.integer({ min: 17, max: 2048 }) },
        {
          weight: 2,
          arbitrary: fc.integer({ min: 2049, max: MAX_SMALL_SIZE }),
        },
        {
          weight: 1,
          arbitrary: fc.integer({ min: MAX_SMALL_SIZE + 1, max: 200_000 }),
        },
      ),
      type: fc.integer({ min: 0, max: 4 }),
      p: fc.integer({ min: 0, max: PROCS - 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }),
  },
);

interface Obj {
  addr: number;
  len: number; // bytes the caller asked for
  block: number; // the heap slot (object) that holds it
  header: number; // Go 1.22's allocation header in front of it (0 or 8)
}

/** Runs the commands, keeping a model of what the caller holds. */
function play(rt: Runtime, cmds: Cmd[]) {
  const elems: (GoType | null)[] = [
    null,
    rt.types.get("uint8"),
    rt.types.get("int64"),
    rt.types.define("main.Node", { size: 16, pointers: [0, 1] }),
    rt.types.define("main.Rec", { size: 48, pointers: [0, 2] }),
  ];
  const slots = new Map<number, number>(); // slot address → rounded size
  rt.events.subscribe({
    alloc: (addr, size) => {
      // A free names the slot: 8 bytes before a Go 1.22 header object.
      const slot = slotAddr(addr, size);
      assertTrue(
        !slots.has(slot),
        `slot 0x${slot.toString(16)} handed out twice`,
      );
      slots.set(slot, size + addr - slot);
    },
    free: (addr) => slots.delete(addr),
  });
  const objs: Obj[] = [];
  for (const c of cmds) {
    if (c.op === "alloc") {
      const t = elems[c.type];
      let addr: number;
      let len: number;
      if (t === null) {
        addr = rt.mallocgc(c.size, null, true, c.p);
        len = c.size;
      } else {
        const n = Math.ceil(c.size / t.size);
        addr = rt.makeslice(t, n, c.p);
        len = n * t.size;
      }
      if (len === 0) {
        assertEquals(addr, rt.zerobase);
        continue;
      }
      const span = rt.heap.spanOf(addr)!;
      const block = span.startAddr + span.objIndex(addr) * span.elemsize;
      // Go 1.22 (malloc.go): pointerful, over 512 B, small: a header.
      const header = rt.preset.allocHeaders && t !== null && !t.noscan &&
          len > 512 && len <= MAX_SMALL_SIZE - 8
        ? 8
        : 0;
      objs.push({ addr, len, block, header });
    } else if (objs.length > 0) {
      // Free a whole heap object: for a tiny block, everything in it.
      const victim = objs[c.pick % objs.length];
      rt.free(victim.block);
      for (let i = objs.length - 1; i >= 0; i--) {
        if (objs[i].block === victim.block) objs.splice(i, 1);
      }
    }
  }
  return { objs, slots };
}

function checkInvariants(rt: Runtime, objs: Obj[], slots: Map<number, number>) {
  // No two live objects overlap.
  const sorted = [...objs].sort((a, b) => a.addr - b.addr);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    assertTrue(
      prev.addr + prev.len <= sorted[i].addr,
      `0x${prev.addr.toString(16)}+${prev.len} overlaps 0x${
        sorted[i].addr.toString(16)
      }`,
    );
  }
  // Every object lies inside an allocated slot of a span of its class.
  const sc = rt.sizeclasses;
  for (const o of objs) {
    const span = rt.heap.spanOf(o.addr);
    assertTrue(span !== undefined, `0x${o.addr.toString(16)} has no span`);
    const i = span.objIndex(o.addr);
    assertTrue(
      span.isAllocated(i),
      `0x${o.addr.toString(16)} is in a free slot`,
    );
    assertTrue(
      o.addr + o.len <= span.startAddr + (i + 1) * span.elemsize,
      "object spills out of its slot",
    );
    assertEquals(o.addr - o.block, o.header || o.addr - o.block);
    const maxSmall = MAX_SMALL_SIZE - (rt.preset.allocHeaders ? 8 : 0);
    const wantClass = o.len > maxSmall ? 0 : o.block !== o.addr - o.header ||
        rt.sizeOf(o.block) === 16 && span.noscan && o.len < 16
      ? 2
      : sc.sizeToClass(o.len + o.header);
    if (!(rt.preset.tinyAllocator && span.sizeclass === 2 && o.len < 16)) {
      assertEquals(
        span.sizeclass,
        wantClass,
        `class of a ${o.len}-byte object`,
      );
    }
    assertTrue(slots.has(o.block), "object's slot not reported live");
  }
  // Spans: allocCount equals the set alloc bits; live slots add up.
  let liveSlots = 0;
  let liveBytes = 0;
  let inusePages = 0;
  rt.heap.forEachSpan((s) => {
    assertEquals(
      s.allocCount,
      s.countAllocBits(),
      `span 0x${s.startAddr.toString(16)}`,
    );
    liveSlots += s.allocCount;
    liveBytes += s.allocCount * s.elemsize;
    inusePages += s.npages;
    for (let i = 0; i < s.nelems; i++) {
      if (s.isAllocated(i)) {
        assertTrue(
          slots.has(s.startAddr + i * s.elemsize),
          "allocated slot unknown",
        );
      }
    }
  });
  assertEquals(liveSlots, slots.size);
  const m = rt.readMemStats();
  assertEquals(m.HeapAlloc, liveBytes);
  assertEquals(m.HeapAlloc, [...slots.values()].reduce((a, b) => a + b, 0));
  assertEquals(m.Mallocs - m.Frees, liveSlots);
  assertEquals(m.HeapObjects, liveSlots);
  assertEquals(m.HeapInuse, inusePages * rt.preset.pageSize);
  assertEquals(m.HeapIdle + m.HeapInuse, m.HeapSys);
}

for (const preset of PRESET_NAMES) {
  Deno.test(`${preset}: random allocations and frees keep the heap consistent`, () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 400, size: "max" }), (cmds) => {
        const rt = new Runtime({ preset, gomaxprocs: PROCS, gogc: "off" });
        const { objs, slots } = play(rt, cmds);
        checkInvariants(rt, objs, slots);
      }),
      { numRuns: 150 },
    );
  });

  Deno.test(`${preset}: pages of freed spans are reused before the heap grows`, () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 300, size: "max" }), (cmds) => {
        const rt = new Runtime({ preset, gomaxprocs: PROCS, gogc: "off" });
        const { objs } = play(rt, cmds);
        for (const block of new Set(objs.map((o) => o.block))) rt.free(block);
        const before = rt.readMemStats();
        // Everything is free; only spans still cached by an mcache hold pages.
        let cachedPages = 0;
        for (const c of rt.mcaches) {
          for (const s of new Set(c.alloc)) cachedPages += s.npages;
        }
        assertEquals(before.HeapInuse, cachedPages * rt.preset.pageSize);
        assertEquals(before.HeapAlloc, 0);
        // The largest free run is handed out again, without growing the heap.
        const runs = rt.heap.freeRunList();
        if (runs.length === 0) return;
        const largest = runs.reduce((a, b) => (b.npages > a.npages ? b : a));
        const addr = rt.makeslice(
          rt.types.get("uint8"),
          largest.npages * rt.preset.pageSize,
        );
        assertEquals(rt.readMemStats().HeapSys, before.HeapSys);
        assertTrue(
          runs.some((r) => r.startAddr === addr),
          "not placed at a free run",
        );
      }),
      { numRuns: 100 },
    );
  });
}
