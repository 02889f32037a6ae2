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
import {
  endSymbolize,
  prepareSymbolize,
  symbolize,
} from "../../lib/native/symbolize.ts";
import { readElfSymbols, symbolName } from "../../lib/native/elf_symbols.ts";
import { traceInWorker } from "../../lib/native/in_worker.ts";
import { skip } from "./_support.ts";

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
  ["cc", "nm", "addr2line", "strip", "objcopy"].map((t) =>
    run("sh", ["-c", `command -v ${t}`]).then((r) => r.code !== 0, () => true)
  ),
)).some((m) => m);
if (missing) {
  console.log(
    "symbolize_test: skipped: needs cc, nm, addr2line, strip and objcopy",
  );
}

Deno.test({
  name:
    "symbolize: a frame in a static function named after the exported symbol before it gets its own name, or an honest module+address",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      const syms = await symbols(await build(dir));
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

/** This process's addr2line children: their arguments. */
function addr2lineChildren(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== Deno.pid || !stat.includes(" (addr2line) ")) continue;
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      out.push(argv.split("\0").slice(1).join(" ").trim());
    } catch {
      // gone
    }
  }
  return out;
}

/** This process's addr2line children once `n` of them run it (a fork execs a moment later). */
async function execed(n: number): Promise<string[]> {
  for (let i = 0; i < 1000 && addr2lineChildren().length < n; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return addr2lineChildren();
}

Deno.test({
  name:
    "symbolize: the program's addr2line started ahead (prepareSymbolize, its addresses then on stdin) is the one its first stack uses, with the same functions, files, lines and inlined frames as one started with the addresses",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      const syms = await symbols(await build(dir));
      const p = await Deno.realPath(`${dir}/p`);
      const frames = ["helper", "exported_after", "main"].map((name) => {
        const at = syms.get(name)! + 5;
        return { pc: at, name, off: 4, module: p, rel: at };
      });
      const started = await symbolize(frames);
      assertEquals(addr2lineChildren(), []);
      prepareSymbolize(`${dir}/p`);
      assertEquals(await execed(1), [`-a -f -i -C -e ${p}`]);
      const ahead = await symbolize(frames);
      assertEquals(addr2lineChildren(), []);
      assertEquals([...ahead], [...started]);
      assertEquals(started.get(`${p}@${frames[0].rel}`)?.file, `${dir}/p.c`);
      // One no stack used ends with the run.
      prepareSymbolize(`${dir}/p`);
      assertEquals((await execed(1)).length, 1);
      await endSymbolize();
      assertEquals(addr2lineChildren(), []);
    }, "alloctrace-symbolize-");
  },
});

/** Builds SRC into `dir/p` (symbol table and DWARF). */
async function build(dir: string): Promise<string> {
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
  return `${dir}/p`;
}

/** nm -S --defined-only's function symbols (both tables) as `name@addr+size` lines, sorted. */
async function nmFunctions(bin: string): Promise<string[]> {
  const out = new Set<string>();
  for (const dyn of [[], ["-D"]]) {
    const r = await run("nm", [...dyn, "-S", "--defined-only", bin]);
    for (const line of r.stdout.split("\n")) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) [TtWwi] (\S+)$/.exec(line);
      if (m === null) continue;
      out.add(
        `${m[3].replace(/@.*$/, "")}@${parseInt(m[1], 16)}+${
          parseInt(m[2], 16)
        }`,
      );
    }
  }
  return [...out].sort();
}

Deno.test({
  name:
    "elf symbols: the function symbols read from the ELF file are nm's (with a size, types T t W w i), for a program and for libc",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      const bins = [await build(dir), "/usr/lib/x86_64-linux-gnu/libc.so.6"];
      for (const bin of bins) {
        const s = readElfSymbols(bin);
        if (s === null) continue; // (libc elsewhere)
        const ours = new Set<string>();
        s.addr.forEach((a, i) =>
          ours.add(`${symbolName(s, i)}@${a}+${s.size[i]}`)
        );
        const want = await nmFunctions(bin);
        assertEquals([...ours].sort(), want, bin);
        assertEquals(want.length > 0, true);
      }
    }, "alloctrace-symbolize-");
  },
});

/** `bin`'s bytes with the size of its first section of `type` set to `size`. */
function withSectionSize(bin: Uint8Array, type: number, size: number) {
  const b = bin.slice();
  const dv = new DataView(b.buffer);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  for (let i = 0; i < dv.getUint16(0x3c, true); i++) {
    const o = shoff + i * shentsize;
    if (dv.getUint32(o + 4, true) !== type) continue;
    dv.setBigUint64(o + 32, BigInt(size), true);
    return b;
  }
  throw new Error(`no section of type ${type}`);
}

Deno.test({
  name:
    "elf symbols: a symbol table whose size runs past the file's end is left out, not read on into other sections as junk symbols",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      const bin = await build(dir);
      const names = (path: string) => {
        const s = readElfSymbols(path);
        return s === null
          ? null
          : new Set(Array.from(s.addr, (a, i) => `${symbolName(s, i)}@${a}`));
      };
      const good = names(bin)!;
      const bad = `${dir}/bad`;
      Deno.writeFileSync(
        bad,
        withSectionSize(Deno.readFileSync(bin), 2, /* SHT_SYMTAB */ 0x7ff00000),
      );
      const got = names(bad);
      const junk = got === null ? [] : [...got].filter((n) => !good.has(n));
      assertEquals(junk, []);
    }, "alloctrace-symbolize-");
  },
});

Deno.test({
  name:
    "symbolize: the innermost frame (the hooked function's entry, offset 0) is named after its own function, not the one that ends before it",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      const p = await build(dir);
      const after = (await symbols(p)).get("exported_after")!;
      const entry = {
        pc: after,
        name: "exported_after",
        off: 0,
        module: p,
        rel: after,
      };
      for (const names of [false, true]) {
        const r = await symbolize([entry], () => names);
        assertEquals(r.get(`${p}@${after}`)?.func, "exported_after");
      }
    }, "alloctrace-symbolize-");
  },
});

Deno.test({
  name:
    "symbolize: names only (the allocator's libraries): a static function's name from the symbol table, or from the separate debug file a stripped module links to; else module+address",
  ignore: missing,
  async fn() {
    await withTempDir(async (dir) => {
      const p = await build(dir);
      const syms = await symbols(p);
      const helper = syms.get("helper")!;
      const before = syms.get("exported_before")!;
      const frame = (module: string) => ({
        pc: helper + 5,
        name: "exported_before",
        off: helper + 4 - before,
        module,
        rel: helper + 5,
      });
      const only = () => true;
      const withTable = await symbolize([frame(p)], only);
      assertEquals(withTable.get(`${p}@${helper + 5}`)?.func, "helper");
      // Stripped, its debug file beside it (named by .gnu_debuglink).
      for (
        const args of [
          ["--only-keep-debug", p, `${dir}/s.debug`],
          ["--strip-all", `--add-gnu-debuglink=${dir}/s.debug`, p, `${dir}/s`],
        ]
      ) {
        const r = await run("objcopy", args);
        assertEquals(r.code, 0, r.stderr);
      }
      const linked = await symbolize([frame(`${dir}/s`)], only);
      assertEquals(linked.get(`${dir}/s@${helper + 5}`)?.func, "helper");
      // Without it: nothing to name the function by.
      await Deno.remove(`${dir}/s.debug`);
      await Deno.copyFile(`${dir}/s`, `${dir}/t`);
      const bare = await symbolize([frame(`${dir}/t`)], only);
      assertEquals(
        bare.get(`${dir}/t@${helper + 5}`)?.func,
        `t+0x${(helper + 5).toString(16)}`,
      );
    }, "alloctrace-symbolize-");
  },
});

Deno.test({
  name:
    "tracer: the tools run while a program is traced keep their exit status (the tracer waits for its own threads' children only, not with waitpid(-1) for all)",
  ignore: skip !== "" || missing,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/slow.c`,
        `#include <stdlib.h>
#include <time.h>
void *volatile sink;
int main(void) {
  struct timespec t = { 0, 3000000 };
  for (int i = 0; i < 60; i++) {
    for (int j = 0; j < 4096; j++) { sink = malloc(32); free(sink); }
    nanosleep(&t, 0);
  }
  return 0;
}
`,
      );
      const cc = await run("cc", ["-o", `${dir}/slow`, `${dir}/slow.c`]);
      assertEquals(cc.code, 0, cc.stderr);
      const failures: string[] = [];
      let runs = 0;
      const r = await traceInWorker(
        [`${dir}/slow`],
        { stacks: false },
        async () => {
          // (Batches come 8,192 events at a time: one or two per sleep.)
          for (let i = 0; i < 2; i++) {
            runs++;
            try {
              const out = await new Deno.Command("true").output();
              if (!out.success) failures.push(`exit ${out.code}`);
            } catch (e) {
              failures.push((e as Error).message);
            }
          }
        },
      );
      assertEquals(r.code, 0);
      assertEquals(runs > 0, true);
      assertEquals(failures, []);
    }, "alloctrace-symbolize-");
  },
});
