import { assertEquals, assertThrows, assertTrue } from "../_assert.ts";
import { OutOfMemoryError, Runtime, TypeRegistry } from "../../mod.ts";

Deno.test("bad sizes are RangeErrors that name the value", () => {
  const rt = new Runtime();
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 49]) {
    assertThrows(
      () => rt.mallocgc(bad, null),
      RangeError,
      new RegExp(`got ${bad}`),
    );
  }
  assertThrows(
    () => rt.makeslice(rt.types.get("int"), -3),
    RangeError,
    /len .* got -3/,
  );
  assertEquals(rt.readMemStats().Mallocs, 0);
});

Deno.test("unknown types and foreign descriptors are TypeErrors", () => {
  const rt = new Runtime();
  assertThrows(
    () => rt.types.get("main.Nope"),
    TypeError,
    /unknown type "main.Nope"/,
  );
  const other = new Runtime().types.define("main.X", { size: 8 });
  assertThrows(
    () => rt.newobject(other),
    TypeError,
    /main.X is not registered/,
  );
  // *T is made on demand for a known T.
  assertEquals(rt.types.get("*uint8").size, 8);
});

Deno.test("a type the fast path has cached for its own runtime is still foreign to another, whose type of the same id allocates on", () => {
  const a = new Runtime(), b = new Runtime();
  const ta = a.types.define("main.N", { size: 16, pointers: [0, 1] });
  const tb = b.types.define("main.N", { size: 16, pointers: [0, 1] });
  assertEquals(ta.id, tb.id);
  a.newobjectOff(ta);
  // Cached on ta for a's allocator: the fast path now takes it.
  assertTrue(a.newobjectFastOff(ta) >= 0);
  b.newobjectOff(tb);
  assertTrue(b.newobjectFastOff(tb) >= 0);
  for (const [rt, t] of [[b, ta], [a, tb]] as const) {
    assertEquals(rt.newobjectFastOff(t), -1);
    assertThrows(() => rt.newobject(t), TypeError, /main.N is not registered/);
  }
  // Each still allocates its own on the fast path.
  assertTrue(a.newobjectFastOff(ta) >= 0);
  assertTrue(b.newobjectFastOff(tb) >= 0);
  assertEquals(a.readMemStats().Mallocs, b.readMemStats().Mallocs);
});

Deno.test("bad type specs say what is allowed", () => {
  const types = new TypeRegistry(0x1000);
  assertThrows(
    () => types.define("main.A", { size: -8 }),
    RangeError,
    /non-negative integer, got -8/,
  );
  assertThrows(
    () => types.define("main.B", { size: 8, pointers: [1] }),
    RangeError,
    /pointer word 1 is outside its 8 bytes/,
  );
  types.define("main.C", { size: 8 });
  assertThrows(
    () => types.define("main.C", { size: 16 }),
    RangeError,
    /already defined/,
  );
});

Deno.test("bad preset names and GOMAXPROCS list what is allowed", () => {
  assertThrows(
    () => new Runtime({ preset: "go1.21" }),
    RangeError,
    /unknown preset "go1.21": use one of go1.19, go1.22, go1.2-seed/,
  );
  assertThrows(
    () => new Runtime({ gomaxprocs: 0 }),
    RangeError,
    /GOMAXPROCS .* got 0/,
  );
  assertThrows(
    () => new Runtime().mallocgc(8, null, true, 5),
    RangeError,
    /P 5 does not exist/,
  );
});

Deno.test("the hard heap limit fails clearly and leaves the heap consistent", () => {
  const rt = new Runtime({ heapLimit: 1 << 20 });
  const u8 = rt.types.get("uint8");
  const kept: number[] = [];
  let err: unknown;
  try {
    for (let i = 0; i < 1000; i++) kept.push(rt.makeslice(u8, 100_000));
  } catch (e) {
    err = e;
  }
  assertTrue(err instanceof OutOfMemoryError, `got ${err}`);
  assertTrue(err instanceof RangeError);
  const m = rt.readMemStats();
  assertTrue(/allocating 100000 bytes/.test(err.message), err.message);
  assertTrue(
    err.message.includes(`${m.HeapInuse} bytes are in use`),
    err.message,
  );
  assertEquals(err.heapInuse, m.HeapInuse);
  assertEquals(kept.length, Math.floor(128 / 13)); // 13-page objects under a 128-page limit
  assertEquals(m.HeapObjects, kept.length);
  assertEquals(m.HeapAlloc, kept.length * rt.sizeOf(kept[0]));
  // Still usable: free one and the next allocation fits.
  rt.free(kept.pop()!);
  kept.push(rt.makeslice(u8, 100_000));
  assertEquals(rt.readMemStats().HeapObjects, Math.floor(128 / 13));
});

Deno.test("freeing what is not a live object names the address and the object", () => {
  const rt = new Runtime();
  const t = rt.types.define("main.T", { size: 64, pointers: [0] });
  const a = rt.newobject(t);
  assertThrows(
    () => rt.free(a + 8),
    RangeError,
    /0xc000000008 is inside object 0xc000000000 \(size 0x40\)/,
  );
  assertThrows(
    () => rt.free(0x1234),
    RangeError,
    /0x1234 is not in a heap span/,
  );
  rt.free(a);
  assertThrows(() => rt.free(a), RangeError, /falls in free slot 0xc000000000/);
});

Deno.test("a bad pointer load or store says what is wrong with the word", () => {
  const rt = new Runtime({ gogc: "off" });
  const u = rt.types.define("main.U", { size: 48, pointers: [0] });
  const x = rt.newobject(u);
  const y = rt.newobject(u);
  const raw = rt.mallocgc(64, null);
  const obj = "object 0xc000000000 \\(size 0x30\\)"; // a RegExp
  const ops: [string, (a: number) => unknown][] = [
    ["load from", (a) => rt.loadAt(a)],
    ["store to", (a) => rt.storeAt(a, 0)],
  ];
  for (const [what, op] of ops) {
    const at = (a: number) => () => op(a);
    assertThrows(
      at(0x1000),
      RangeError,
      new RegExp(`^${what} 0x1000: not a heap object$`),
    );
    assertThrows(
      at(x + 8),
      RangeError,
      new RegExp(
        `^${what} 0xc000000008: word 1 of ${obj}, a main.U, is not a pointer word$`,
      ),
    );
    assertThrows(
      at(x + 4),
      RangeError,
      new RegExp(
        `^${what} 0xc000000004: not a pointer word of ${obj} \\(unaligned\\)$`,
      ),
    );
    assertThrows(
      at(raw + 8),
      RangeError,
      new RegExp(
        `^${what} 0xc000002008: not a pointer word of object 0xc000002000 \\(size 0x40\\), which holds no pointers$`,
      ),
    );
    // 170 objects of 48 bytes fill 8,160 bytes of the 8 KiB span.
    assertThrows(
      at(x + 170 * 48),
      RangeError,
      new RegExp(
        `^${what} 0xc000001fe0: past the last object of span 0xc000000000$`,
      ),
    );
  }
  rt.free(y);
  assertThrows(
    () => rt.load(y, 0),
    RangeError,
    /^load from 0xc000000030: object 0xc000000030 \(size 0x30\) is freed \(use after free\)$/,
  );
  // Objects nothing roots, in spans the last GC left unswept.
  const gc = new Runtime();
  const t = gc.types.define("main.T", { size: 32, pointers: [1] });
  const objs: number[] = [];
  while (gc.numGC === 0) objs.push(gc.newobject(t));
  assertThrows(
    () => gc.load(objs[0], 1),
    RangeError,
    /^load from 0xc000000008: object 0xc000000000 \(size 0x20\) was unreachable at the last GC and is being freed \(use after free: keep pointers in roots\)$/,
  );
});

Deno.test("the trusted mode stores and loads any word of a pointerful span", () => {
  const rt = new Runtime({ gogc: "off", checkPointers: false });
  const u = rt.types.define("main.U", { size: 48, pointers: [0] });
  const x = rt.newobject(u);
  const y = rt.newobject(u);
  // Unaligned: the word that holds the address.
  rt.storeAt(x + 4, y);
  assertEquals(rt.load(x, 0), y);
  assertEquals(rt.loadAt(x + 7), y);
  // A word the bitmap does not hold.
  rt.storeAt(x + 16, y);
  assertEquals(rt.loadAt(x + 16), y);
  assertEquals(rt.load(x, 0), y);
  const raw = rt.mallocgc(64, null);
  assertThrows(() => rt.loadAt(raw), RangeError, /which holds no pointers$/);
});

Deno.test("newobject with no type is a TypeError naming the argument, not a read of undefined's id", () => {
  const rt = new Runtime();
  for (const bad of [undefined, null]) {
    for (
      const [name, f] of [
        ["newobject", () => rt.newobject(bad as never)],
        ["newobjectOff", () => rt.newobjectOff(bad as never)],
        ["malloc.newobject", () => rt.malloc.newobject(bad as never)],
      ] as const
    ) {
      assertThrows(
        f,
        TypeError,
        new RegExp(
          `^${
            name.replace("malloc.", "")
          }: no type \\(typ is ${bad}\\): give one from rt\\.types\\.define or rt\\.types\\.get$`,
        ),
      );
    }
  }
  assertEquals(rt.readMemStats().Mallocs, 0);
});
