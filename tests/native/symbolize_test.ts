/**
 * Names of native frames in functions the dynamic symbol table does not
 * list: a static function is named by the nearest exported symbol before
 * it (as libunwind and our unwinder name frames, e.g. libc's static
 * `__libc_start_call_main` as `__libc_init_first`). symbolize gives the
 * function's own name where a symbol table or DWARF knows it, and
 * otherwise the module and address rather than the wrong name.
 */
import { assertEquals } from "../_assert.ts";
import { run, withTempDir } from "../_run.ts";
import { symbolize } from "../../lib/native/symbolize.ts";

const SRC = `#include <stdlib.h>
__attribute__((noinline)) void exported_before(void) { __asm__ volatile(""); }
__attribute__((noinline)) static void *helper(int n) {
  void *p = malloc(n);
  __asm__ volatile("" ::: "memory");
  return p;
}
__attribute__((noinline)) void *exported_after(int n) { return helper(n) ; }
int main(int argc, char **argv) { (void)argv; free(exported_after(argc)); return 0; }
`;

/** Address of each function symbol (nm). */
async function symbols(bin: string): Promise<Map<string, number>> {
  const r = await run("nm", [bin]);
  return new Map(
    r.stdout.split("\n").map((l) => l.split(" ")).filter((f) => f.length === 3)
      .map((f) => [f[2], parseInt(f[0], 16)]),
  );
}

const missing = (await Promise.all(
  ["cc", "nm", "addr2line", "strip"].map((t) =>
    run("sh", ["-c", `command -v ${t}`]).then((r) => r.code !== 0, () => true)
  ),
)).some((m) => m);
if (missing) {
  console.log("symbolize_test: skipped: needs cc, nm, addr2line and strip");
}

Deno.test({
  name:
    "symbolize: a frame in a static function named after the exported symbol before it gets its own name, or an honest module+address",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/p.c`, SRC);
      const cc = await run("cc", [
        "-g",
        "-O1",
        "-rdynamic",
        "-o",
        `${dir}/p`,
        `${dir}/p.c`,
      ]);
      assertEquals(cc.code, 0, cc.stderr);
      const syms = await symbols(`${dir}/p`);
      const helper = syms.get("helper")!;
      const before = syms.get("exported_before")!;
      const after = syms.get("exported_after")!;
      // A return address 4 bytes into helper, named as an unwinder with
      // only .dynsym names it: after exported_before, past its end.
      const frame = (
        module: string,
        name: string,
        start: number,
        at: number,
      ) => ({
        pc: at,
        name,
        off: at - 1 - start,
        module,
        rel: at,
      });
      const inHelper = (m: string) =>
        frame(m, "exported_before", before, helper + 5);
      const inAfter = (m: string) =>
        frame(m, "exported_after", after, after + 5);
      // With a symbol table and DWARF: the static function's own name; an
      // exported one keeps its name.
      const full = await symbolize([inHelper(`${dir}/p`), inAfter(`${dir}/p`)]);
      assertEquals(full.get(`${dir}/p@${helper + 5}`)?.func, "helper");
      assertEquals(full.get(`${dir}/p@${after + 5}`)?.func, "exported_after");
      // Stripped (only .dynsym): no name is known, so none is made up.
      const st = await run("strip", ["-o", `${dir}/s`, `${dir}/p`]);
      assertEquals(st.code, 0, st.stderr);
      const bare = await symbolize([inHelper(`${dir}/s`), inAfter(`${dir}/s`)]);
      assertEquals(
        bare.get(`${dir}/s@${helper + 5}`)?.func,
        `s+0x${(helper + 5).toString(16)}`,
      );
      assertEquals(bare.get(`${dir}/s@${after + 5}`)?.func, "exported_after");
    }, "alloctrace-symbolize-");
  },
});
