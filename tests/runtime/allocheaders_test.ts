/**
 * Go 1.22's allocation headers in the go1.22 preset, against what real Go
 * 1.22.12 printed for tests/testdata/go1.22/programs/allocheaders (its
 * truth file and trace): a pointerful object over 512 B gets its class for
 * size + 8, lives 8 bytes into its slot, and is reported with the class
 * size − 8; its free is at the slot with the full class size.
 */
import { assertEquals } from "../_assert.ts";
import { GO122, parseShared } from "../_testdata.ts";
import { Runtime } from "../../mod.ts";

/** What the real trace printed per site: `size +offset-into-slot` (test of go122_test.ts). */
async function realShapes(): Promise<Map<string, string>> {
  const t = JSON.parse(
    await Deno.readTextFile(new URL("allocheaders.truth.json", GO122)),
  ) as { sites: { type_printed: string; addrs: string[] }[] };
  const { events } = await parseShared("allocheaders.trace", GO122);
  const out = new Map<string, string>();
  for (const s of t.sites) {
    const a = events.find((e) =>
      e.kind === "alloc" && e.addr === Number(s.addrs[0])
    )!;
    if (a.kind !== "alloc") throw new Error();
    out.set(s.type_printed, `${a.size} +${Number(s.addrs[0]) % 16}`);
  }
  return out;
}

Deno.test("go1.22 preset: objects around the 512-byte header threshold print the classes and offsets real Go 1.22 printed", async () => {
  const want = await realShapes();
  const rt = new Runtime({ preset: "go1.22" });
  const ptrStruct = (name: string, size: number) =>
    rt.types.define(name, { size, pointers: [0] });
  const types = [
    ptrStruct("main.P504", 504),
    ptrStruct("main.P512", 512),
    ptrStruct("main.P520", 520),
    ptrStruct("main.P576", 576),
    rt.types.define("[128]*int", {
      size: 1024,
      pointers: Array.from({ length: 128 }, (_, i) => i),
    }),
    rt.types.define("[520]uint8", { size: 520 }),
    ptrStruct("main.P32760", 32760),
    ptrStruct("main.P40000", 40000),
  ];
  const got = new Map<string, string>();
  const frees = new Map<number, number>();
  rt.events.subscribe({
    alloc: (addr, size, typ) => {
      if (typ !== null && !got.has(typ.name)) {
        // The slot starts at a multiple of 16 in these classes.
        got.set(typ.name, `${size} +${addr % 16}`);
      }
    },
    free: (addr, size) => frees.set(addr, size),
  });
  const addrs: number[] = [];
  rt.call("main.main", "main.go", 1, () => {
    for (const t of types) addrs.push(rt.newobject(t));
  });
  assertEquals(got, want);
  // Stores and loads reach the pointer word of an object behind its header.
  const p520 = addrs[2];
  rt.store(p520, 0, addrs[0]);
  assertEquals(rt.load(p520, 0), addrs[0]);
  // Freed: tracefree at the slot, with the class size.
  rt.GC();
  assertEquals(frees.get(p520 - 8), 576);
  assertEquals(frees.get(addrs[5]), 576);
});

Deno.test("go1.22 preset: growslice of pointers grows to the capacities real Go 1.22 chose (the header is in the class)", async () => {
  const t = JSON.parse(
    await Deno.readTextFile(new URL("leak-n300.truth.json", GO122)),
  ) as { sites: { site: string; requested_bytes_each?: number[] }[] };
  const want = t.sites.find((s) => s.site === "main.leakIt")!
    .requested_bytes_each!;
  const rt = new Runtime({ preset: "go1.22" });
  const ptr = rt.types.get("*uint8");
  let s = { addr: 0, cap: 0 };
  const bytes: number[] = [];
  for (let len = 0; len < 300; len++) {
    if (len === s.cap) {
      s = rt.growslice(ptr, s.addr, len, s.cap, len + 1);
      bytes.push(s.cap * 8);
    }
  }
  assertEquals(bytes, want);
  // Go 1.19 grows the same appends to powers of two.
  const old = new Runtime({ preset: "go1.19" });
  let o = { addr: 0, cap: 0 };
  const oldBytes: number[] = [];
  for (let len = 0; len < 300; len++) {
    if (len === o.cap) {
      o = old.growslice(old.types.get("*uint8"), o.addr, len, o.cap, len + 1);
      oldBytes.push(o.cap * 8);
    }
  }
  assertEquals(oldBytes, [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
});
