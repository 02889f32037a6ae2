/**
 * Sites a user can act on: the allocator's frames (Go's runtime, libc's
 * malloc family and C++'s operator new) are never the site, whatever the
 * producer; `analyze` of a `native --trace-out` trace names the same sites
 * as `native` itself, with file:line, and keeps two leaks of one function
 * at different lines apart. The native part skips (with the reason) when
 * there is no C compiler or ptrace is not permitted.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace, run } from "../_run.ts";
import { type Frame, StackTable } from "../../lib/trace/events.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { Runtime } from "../../lib/runtime/runtime.ts";
import { findWorkload } from "../../lib/workload/registry.ts";
import { attachEvents } from "../../lib/trace/sim_events.ts";
import { isAllocatorFrame, siteOf } from "../../lib/trace/sites.ts";

const fr = (func: string, file = "", line = 0): Frame => ({
  func,
  file,
  line,
  pc: 0,
  inlined: false,
});
const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";

Deno.test("the C library's and C++'s allocation functions are skipped like Go's runtime", () => {
  for (
    const f of [
      "malloc",
      "calloc",
      "realloc",
      "free",
      "__libc_malloc",
      "__libc_calloc",
      "__GI___libc_malloc",
      "_int_malloc",
      "_int_realloc",
      "tcache_init",
      "_Znwm",
      "_Znam",
      "_ZnwmRKSt9nothrow_t",
      "operator new(unsigned long)",
      "operator new[](unsigned long)",
      "operatornew(unsignedlong)",
      "runtime.mallocgc",
      "runtime.gopanic",
    ]
  ) assertTrue(isAllocatorFrame(fr(f, "main.c", 3)), f);
  assertTrue(isAllocatorFrame(fr("strdup", LIBC)), "a libc frame");
  assertTrue(isAllocatorFrame(fr("panic", "runtime/panic.go", 884)), "panic");
  for (
    const f of ["main", "dup_name", "main.newRecord", "newThing", "panic"]
  ) assertTrue(!isAllocatorFrame(fr(f, "x.c", 1)), f);
  // A C++ allocation through operator new and libstdc++ is named by its caller.
  const cxx = [
    fr("__libc_malloc", LIBC),
    fr("_Znwm", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"),
    fr("make_node", "/src/tree.cc", 12),
    fr("main", "/src/tree.cc", 30),
  ];
  assertEquals(siteOf(cxx).key, "make_node /src/tree.cc:12");
  // A Go panic's allocation is the panicking function's.
  const goPanic = [
    fr("runtime.mallocgc", "runtime/malloc.go", 1131),
    fr("runtime.newobject", "runtime/malloc.go", 1202),
    fr("runtime.gopanic", "runtime/panic.go", 884),
    fr("panic", "runtime/panic.go", 884),
    fr("main.check", "main.go", 9),
  ];
  assertEquals(siteOf(goPanic, "func").key, "main.check");
  // Runtime-only stacks: named by the first meaningful runtime function.
  const boot = [
    fr("runtime.systemstack_switch", "runtime/asm_amd64.s", 459),
    fr("runtime.newproc", "runtime/proc.go", 4097),
    fr("runtime.init.6", "runtime/proc.go", 290),
  ];
  assertEquals(siteOf(boot, "func").key, "runtime.newproc");
});

async function hasTool(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args,
      stdout: "null",
      stderr: "null",
    })
      .output()).success;
  } catch {
    return false;
  }
}

// Two leaks in one function at different lines, one through strdup.
const TWO_LEAKS = `#include <stdlib.h>
#include <string.h>
#include <stdio.h>
static char *keep[64];
int main(void) {
  for (int i = 0; i < 20; i++) {
    keep[i] = malloc(100);
    memset(keep[i], 1, 100);
  }
  for (int i = 0; i < 30; i++) {
    keep[20 + i] = calloc(1, 200);
  }
  char *t = malloc(50);
  free(t);
  printf("%p\\n", (void *)keep[3]);
  return 0;
}
`;

let skip = "";
if (!(await hasTool("cc", ["--version"]))) skip = "no C compiler (cc)";
if (skip) console.log(`sites_test: native part skipped: ${skip}`);

Deno.test({
  name:
    "native and analyze of its --trace-out: two leaks of one function apart, with file:line, the same sites",
  ignore: skip !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "alloctrace-sites-" });
    try {
      await Deno.writeTextFile(`${dir}/two.c`, TWO_LEAKS);
      const cc = await run("cc", [
        "-g",
        "-O0",
        "-fno-omit-frame-pointer",
        "-o",
        `${dir}/two`,
        `${dir}/two.c`,
      ]);
      assertEquals(cc.code, 0, cc.stderr);
      const n = await alloctrace([
        "native",
        "--trace-out",
        `${dir}/two.trace`,
        "--json",
        `${dir}/two.json`,
        "--",
        `${dir}/two`,
      ], ["-A"]);
      if (n.code !== 0 && /ptrace/i.test(n.stderr)) {
        console.log(`sites_test: skipped: ${n.stderr.trim()}`);
        return;
      }
      assertEquals(n.code, 0, n.stderr);
      const native = JSON.parse(await Deno.readTextFile(`${dir}/two.json`));
      const a = await alloctrace(
        ["analyze", `${dir}/two.trace`, "--json"],
        ["-A"],
      );
      assertEquals(a.code, 0, a.stderr);
      const analyzed = JSON.parse(a.stdout);
      type S = { site: string; allocs: number; live: number; line: number };
      const mains = (doc: { sites: S[] }) =>
        // (printf's stdout buffer at line 15 depends on where stdout goes.)
        doc.sites.filter((s) => s.site.startsWith("main ") && s.line !== 15)
          .map((s) => [s.site, s.allocs, s.live]).sort();
      const want = [
        [`main ${dir}/two.c:11`, 30, 30],
        [`main ${dir}/two.c:13`, 1, 0],
        [`main ${dir}/two.c:7`, 20, 20],
      ];
      assertEquals(mains(analyzed), want);
      assertEquals(mains(native), want);
      // No site is the allocator's.
      for (const s of analyzed.sites as S[]) {
        assertTrue(!/^(malloc|calloc|__libc|_int_)/.test(s.site), s.site);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a dense (paged) live map gives the analysis the hash table gives, on a simulated run", async () => {
  const rt = new Runtime({});
  const st = new StackTable();
  const hash = new TraceAnalyzer(st);
  const dense = new TraceAnalyzer(st, { dense: true });
  attachEvents(rt, st, (e) => {
    hash.add(e);
    dense.add(e);
  });
  await findWorkload("binarytrees")!.run(rt, { depth: 10 });
  const [h, d] = [hash.finish(), dense.finish()];
  assertEquals(d.sites, h.sites);
  assertEquals([d.liveBytes, d.liveObjects], [h.liveBytes, h.liveObjects]);
  assertEquals(d.liveObjects, rt.readMemStats().HeapObjects);
});
