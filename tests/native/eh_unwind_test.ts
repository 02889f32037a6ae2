/**
 * The unwinder's own reading of an ELF file (eh_unwind.ts): its names are
 * libunwind's (the nearest function symbol at or before an address, of
 * aliases the first in the table, from `.symtab` else `.dynsym`), checked
 * against `readelf`'s listing of the same table, for the C library (no
 * `.symtab`) and a program built with `-g` (one). It reads only the
 * sections it uses: the CFI rows at the C library's function entries must
 * be found, and say what every entry's row says (CFA = rsp + 8).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { run } from "../_run.ts";
import { ElfUnwindInfo } from "../../lib/native/eh_unwind.ts";
import { compile, skip, tool } from "./_support.ts";

const LIBC = /\s(\/\S*\/libc\.so\.6)$/m.exec(
  Deno.readTextFileSync("/proc/self/maps"),
)?.[1];
const why = skip !== ""
  ? skip
  : !(await tool("readelf"))
  ? "no readelf"
  : LIBC === undefined
  ? "no libc.so.6 mapped"
  : "";
if (why !== "") console.log(`eh_unwind_test: skipped: ${why}`);

/** The function symbols of the table the unwinder names from, in table order. */
async function funcSymbols(path: string): Promise<[number, string][]> {
  const out = (await run("readelf", ["-W", "-s", path])).stdout;
  // One table's listing per "Symbol table '…'" header; .symtab when there is one.
  const tables = out.split(/^Symbol table '/m).slice(1);
  const table = tables.find((t) => t.startsWith(".symtab'")) ??
    tables.find((t) => t.startsWith(".dynsym'"))!;
  const syms: [number, string][] = [];
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[3] !== "FUNC") continue;
    const value = parseInt(f[1], 16);
    if (value !== 0) syms.push([value, f[7].replace(/@.*/, "")]);
  }
  return syms;
}

async function checkNames(path: string) {
  const syms = await funcSymbols(path);
  assertTrue(syms.length > 5, `${path}: ${syms.length} function symbols`);
  // By address, of one address the first in the table.
  const sorted = syms.map(([v, n], i) => [v, i, n] as const).sort((a, b) =>
    a[0] - b[0] || a[1] - b[1]
  );
  const expect = (addr: number) => {
    let best = -1;
    for (let i = 0; i < sorted.length && sorted[i][0] <= addr; i++) {
      if (best < 0 || sorted[i][0] !== sorted[best][0]) best = i;
    }
    return best < 0
      ? null
      : { name: sorted[best][2], off: addr - sorted[best][0] };
  };
  const u = ElfUnwindInfo.load(path)!;
  assertTrue(u !== null, path);
  let checked = 0;
  for (const [v] of syms) {
    for (const addr of [v - 1, v, v + 5]) {
      assertEquals(
        u.symbol(addr),
        expect(addr),
        `${path} at 0x${addr.toString(16)}`,
      );
      checked++;
    }
  }
  return { u, checked };
}

Deno.test({
  name:
    "the unwinder names as libunwind does, from the C library's .dynsym and a -g program's .symtab (readelf's listing)",
  ignore: why !== "",
  async fn() {
    const { u } = await checkNames(LIBC!);
    // At a function's first byte the CFA is rsp + 8 (the return address).
    let rows = 0;
    const entries = await funcSymbols(LIBC!);
    for (const [v, name] of entries) {
      const row = u.row(v);
      if (row === null) continue;
      rows++;
      assertEquals([row.cfaReg, row.cfaOff], [7, 8], name);
    }
    assertTrue(rows > 0.9 * entries.length, `${rows} of ${entries.length}`);
    const bin = await compile(
      "eh_unwind_prog",
      "#include <stdlib.h>\nint main(void) { free(malloc(8)); return 0; }\n",
      ["-O0", "-g"],
    );
    const { checked } = await checkNames(bin);
    assertTrue(checked > 10);
  },
});
