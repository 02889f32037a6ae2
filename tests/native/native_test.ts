/**
 * Native tracing of C and C++ test programs compiled here with cc/c++:
 * per-site counts equal what the programs did, stacks hold the expected
 * functions in order, exit codes propagate. Skipped, with the reason, when
 * there is no compiler, no libunwind, or ptrace is not permitted.
 */
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import type { NativeEvent } from "../../lib/native/tracer.ts";
import {
  checkPairs,
  compile,
  dir,
  nativeCommand,
  pidFrom,
  skip,
  skipBreakpoints,
  tool,
  trace,
} from "./_support.ts";

const NESTED = `#include <stdlib.h>
#include <stdio.h>
__attribute__((noinline)) void *leaf_alloc(size_t n) { return malloc(n); }
__attribute__((noinline)) void *middle(size_t n) { return leaf_alloc(n); }
__attribute__((noinline)) void *outer(size_t n) { return middle(n); }
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  for (int i = 0; i < n; i++) { void *p = outer(100 + i); if (i % 3 == 0) free(p); }
  int *c = calloc(10, 32);
  c[argc] = n;
  fprintf(stderr, "%d\\n", c[1] + c[2]);
  void *volatile none = 0;
  void *r = realloc(none, 64);      /* an allocation */
  r = realloc(r, 1 << 16);          /* moves: frees the old block */
  realloc(r, 0);                    /* frees */
  free(c);
  return 7;
}
`;

Deno.test({
  name:
    "native: nested calls, calloc and realloc edge cases; stacks in order; the exit code",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("nested", NESTED);
    const { code, events } = trace([bin, "30"]);
    assertEquals(code, 7);
    const fromOuter = events.filter((e) =>
      e.kind === "malloc" && e.frames.some((f) => f.name === "outer")
    );
    assertEquals(fromOuter.length, 30);
    const names = fromOuter[0].frames.map((f) => f.name);
    const i = names.indexOf("leaf_alloc");
    assertTrue(i >= 0, names.join(" < "));
    assertEquals(names.slice(i, i + 4), [
      "leaf_alloc",
      "middle",
      "outer",
      "main",
    ]);
    assertEquals(
      fromOuter.map((e) => e.size),
      Array.from({ length: 30 }, (_, k) => 100 + k),
    );
    const outerAddrs = new Set(fromOuter.map((e) => e.addr));
    const freedOuter = events.filter((e) =>
      e.kind === "free" && outerAddrs.has(e.addr)
    );
    assertEquals(freedOuter.length, 10);
    assertEquals(events.filter((e) => e.kind === "calloc").map((e) => e.size), [
      320,
    ]);
    const reallocs = events.filter((e) => e.kind === "realloc");
    assertEquals(reallocs.map((e) => e.size), [64, 65536]);
    // realloc(r, 0) and the move both free: every realloc'd block is freed.
    const frees = new Set(
      events.filter((e) => e.kind === "free").map((e) => e.addr),
    );
    for (const r of reallocs) {
      assertTrue(
        frees.has(r.addr),
        `realloc block 0x${r.addr.toString(16)} not freed`,
      );
    }
  },
});

Deno.test({
  name:
    "native: threads (one after another), fork + exec, and a signal's exit code",
  ignore: skip !== "",
  async fn() {
    const bin = await compile(
      "threads",
      `#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>
void *volatile sink;
__attribute__((noinline)) void *in_thread(void *arg) { for (int i = 0; i < 100; i++) { sink = malloc(24); free(sink); } return 0; }
int main(int argc, char **argv) {
  for (int t = 0; t < 4; t++) { pthread_t th; pthread_create(&th, 0, in_thread, 0); pthread_join(th, 0); }
  pid_t pid = fork();
  if (pid == 0) { sink = malloc(10); execl("/bin/true", "true", (char *)0); _exit(9); }
  int st; waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 5;
  for (int i = 0; i < 10; i++) sink = malloc(8);
  if (argc > 1) raise(SIGTERM);
  return 0;
}
`,
      ["-pthread"],
    );
    const { code, events } = trace([bin]);
    assertEquals(code, 0, "the fork child exited 0 and the parent went on");
    const inThreads = events.filter((e) =>
      e.kind === "malloc" && e.frames.some((f) => f.name === "in_thread")
    );
    assertEquals(inThreads.length, 400);
    assertEquals(new Set(inThreads.map((e) => e.tid)).size, 4);
    assertEquals(
      events.filter((e) => e.kind === "malloc" && e.size === 8).length,
      10,
    );
    const killed = trace([bin, "die"]);
    assertEquals(killed.code, 128 + 15);
  },
});

Deno.test({
  name:
    "native: a C++ program's frames are demangled; a stripped build shows module+offset",
  ignore: skip !== "" || !(await tool("c++")),
  async fn() {
    const cpp = await compile(
      "cpp",
      `#include <vector>
namespace shop { struct Cart { std::vector<int> items; __attribute__((noinline)) void add(int n) { for (int i = 0; i < n; i++) items.push_back(i); } }; }
int main() { shop::Cart *c = new shop::Cart(); c->add(100); delete c; return 0; }
`,
      [],
      true,
    );
    const r = await alloctrace([
      "native",
      "--trace-out",
      `${dir}/cpp.trace`,
      "--",
      cpp,
    ], ["-A"]);
    assertEquals(r.code, 0, r.stderr);
    const t = await Deno.readTextFile(`${dir}/cpp.trace`);
    assertIncludes(t, "shop::Cart::add(int)");
    assertTrue(/operator ?new/.test(t), t.slice(0, 2000));
    const stripped = await compile("stripped", NESTED, ["-s"]);
    const s = trace([stripped, "3"]);
    assertEquals(s.code, 7);
    const m = s.events.find((e) => e.kind === "malloc" && e.size === 100)!;
    assertTrue(m.frames.length >= 3, "a stripped binary still unwinds");
  },
});

Deno.test({
  name:
    "native CLI: the trace reads back with analyze; the summary names the leaking site",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("nested2", NESTED);
    const r = await alloctrace([
      "native",
      "--trace-out",
      `${dir}/n.trace`,
      "--json",
      `${dir}/n.json`,
      "--",
      bin,
      "30",
    ], ["-A"]);
    assertEquals(r.code, 7, r.stderr);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/n.json`));
    const leak = doc.sites.find((s: { func: string }) =>
      s.func === "leaf_alloc"
    );
    assertEquals([leak.allocs, leak.live], [30, 20]);
    const a = await alloctrace([
      "analyze",
      `${dir}/n.trace`,
      "--json",
    ], ["-A"]);
    assertEquals(a.code, 0, a.stderr);
    assertEquals(JSON.parse(a.stdout).allocs, doc.allocs);
  },
});

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* gone */ }
});

Deno.test({
  name:
    "native: posix_memalign, aligned_alloc, memalign, valloc and reallocarray are traced too",
  ignore: skip !== "",
  async fn() {
    const bin = await compile(
      "aligned",
      `#define _GNU_SOURCE
#include <stdlib.h>
#include <malloc.h>
void *volatile sink;
int main() {
  void *p = 0;
  if (posix_memalign(&p, 64, 1000) != 0) return 1;
  sink = aligned_alloc(128, 2048);
  sink = memalign(256, 3000);
  sink = valloc(5000);
  void *r = reallocarray(0, 10, 600);
  r = reallocarray(r, 20, 600);
  free(r);
  free(p);
  return 0;
}
`,
    );
    const { code, events } = trace([bin]);
    assertEquals(code, 0);
    const got = events.filter((e) =>
      e.kind !== "free" && e.frames.some((f) => f.name === "main")
    ).map((e) => [e.kind, e.size]);
    assertEquals(got, [
      ["posix_memalign", 1000],
      ["aligned_alloc", 2048],
      ["aligned_alloc", 3000],
      ["valloc", 5000],
      ["reallocarray", 6000],
      ["reallocarray", 12000],
    ]);
    const pm = events.find((e) => e.kind === "posix_memalign")!;
    assertEquals(pm.addr % 64, 0);
    assertTrue(
      events.some((e) => e.kind === "free" && e.addr === pm.addr),
      "posix_memalign's block is freed",
    );
  },
});

Deno.test({
  name:
    "native: --memprofilerate unwinds only sampled allocations, counts stay exact, the scaled estimate is close",
  ignore: skip !== "",
  async fn() {
    const { scaleHeapSample } = await import("../../lib/profile/proto.ts");
    const bin = await compile("nested_sampled", NESTED);
    const n = 2000;
    const rate = 8192;
    const run1 = (seed: number) => {
      const { events } = trace([bin, String(n)], {
        memProfileRate: rate,
        seed,
      });
      return events.filter((e) => e.kind === "malloc" && e.size >= 100);
    };
    const mallocs = run1(3);
    assertEquals(mallocs.length, n, "every call is still reported");
    const sampled = mallocs.filter((e) => e.sampled);
    for (const e of mallocs) {
      assertEquals(e.frames.length > 0, e.sampled, "stacks only when sampled");
    }
    const bytes = mallocs.reduce((a, e) => a + e.size, 0);
    const expected = bytes / rate; // ≈ 268
    assertTrue(
      Math.abs(sampled.length - expected) < 5 * Math.sqrt(expected),
      `${sampled.length} samples, expected about ${expected.toFixed(0)}`,
    );
    const estimate = sampled.reduce(
      (a, e) => a + scaleHeapSample(1, e.size, rate)[1],
      0,
    );
    assertTrue(
      Math.abs(estimate / bytes - 1) < 0.3,
      `estimate ${estimate} vs ${bytes} bytes`,
    );
    assertEquals(
      run1(3).map((e) => e.sampled),
      mallocs.map((e) => e.sampled),
      "the same seed samples the same allocations",
    );
  },
});

Deno.test({
  name:
    "native CLI: a sampled profile has the same stacks as the exact one (libc frames dropped), scaled near the truth",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("nested3", NESTED);
    const foldedOf = async (extra: string[], out: string) => {
      const r = await alloctrace([
        "native",
        ...extra,
        "--folded",
        out,
        "-q",
        "--",
        bin,
        "2000",
      ], ["-A"]);
      assertEquals(r.code, 7, r.stderr);
      return new Map(
        (await Deno.readTextFile(out)).trim().split("\n").map((l) => {
          const i = l.lastIndexOf(" ");
          return [l.slice(0, i), Number(l.slice(i + 1))] as const;
        }),
      );
    };
    const exact = await foldedOf([], `${dir}/exact.folded`);
    const sampled = await foldedOf(
      ["--memprofilerate", "8192"],
      `${dir}/sampled.folded`,
    );
    for (const stack of sampled.keys()) {
      assertTrue(
        exact.has(stack),
        `sampled stack ${stack} not in the exact profile`,
      );
    }
    const site = [...exact.keys()].find((k) =>
      k.endsWith(";outer;middle;leaf_alloc")
    );
    assertTrue(site !== undefined, [...exact.keys()].join("\n"));
    const ratio = sampled.get(site!)! / exact.get(site!)!;
    assertTrue(Math.abs(ratio - 1) < 0.3, `scaled/exact = ${ratio}`);
  },
});

Deno.test({
  name:
    "native CLI: the tracer runs in a Worker; Ctrl-C kills the program, reports what it did, exits 130 and leaves no process behind",
  ignore: skip !== "",
  async fn() {
    const bin = await compile(
      "sleeper",
      `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  void *volatile p = malloc(100);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  sleep(60);
  free(p);
  return 0;
}
`,
    );
    const pidFile = `${dir}/sleeper.pid`;
    const child = nativeCommand([
      "--json",
      `${dir}/sleeper.json`,
      "--",
      bin,
      pidFile,
    ]).spawn();
    const pid = await pidFrom(pidFile, 200, 50);
    assertTrue(pid > 0, "the program started");
    const t0 = performance.now();
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 130, stderr);
    assertTrue(
      performance.now() - t0 < 10_000,
      "it did not wait for sleep(60)",
    );
    assertIncludes(stderr, "interrupted");
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/sleeper.json`));
    assertTrue(
      doc.sites.some((s: { func: string; allocBytes: number }) =>
        s.func === "main" && s.allocBytes >= 100
      ),
      "the malloc(100) before Ctrl-C is reported",
    );
    let gone = false;
    try {
      await Deno.stat(`/proc/${pid}`);
    } catch {
      gone = true;
    }
    assertTrue(gone, `process ${pid} still exists`);
  },
});

Deno.test({
  name:
    "native: the in-process hooks (stacks copied, unwound with .eh_frame) and plain breakpoints (libunwind) report the same calls, sizes, order and stacks",
  ignore: skipBreakpoints !== "",
  async fn() {
    const shape = (r: { code: number; events: NativeEvent[] }) => ({
      code: r.code,
      events: r.events.map((e) =>
        `${e.kind} ${e.size} ${e.frames.map((f) => f.name).join("<")}`
      ),
    });
    const both = (argv: string[]) => [
      shape(trace(argv, { mode: "inject" })),
      shape(trace(argv, { mode: "breakpoints" })),
    ];
    const bin = await compile("nested_modes", NESTED);
    const [injected, breakpoints] = both([bin, "40"]);
    assertEquals(injected.code, 7);
    assertTrue(injected.events.length > 50, injected.events.join("\n"));
    assertEquals(injected, breakpoints);
    // C++ at -O2 without frame pointers: CFI only, libstdc++ frames.
    if (await tool("c++")) {
      const cpp = await compile(
        "cpp_modes",
        `#include <map>
#include <string>
#include <vector>
__attribute__((noinline)) void fill(std::map<std::string, std::vector<int>> &m, int n) {
  for (int i = 0; i < n; i++) m[std::to_string(i)].push_back(i);
}
int main() { std::map<std::string, std::vector<int>> m; fill(m, 200); return 0; }
`,
        ["-O2", "-fomit-frame-pointer"],
        true,
      );
      const [a, b] = both([cpp]);
      assertTrue(a.events.some((e) => e.includes("fill")), a.events[0]);
      assertEquals(a, b);
    }
    // Deeper than the copied stack: the innermost frames still agree.
    const deep = await compile(
      "deep",
      `#include <stdlib.h>
void *volatile sink;
__attribute__((noinline)) int down(int n) { char pad[100]; pad[n % 100] = n; if (n == 0) { sink = malloc(8); return pad[0]; } return down(n - 1) + pad[n % 100]; }
int main() { return down(200) & 0; }
`,
    );
    const [d1, d2] = both([deep]);
    const row = (events: string[]) =>
      events.find((e) => e.startsWith("malloc 8 "))!.split(" ")[2].split("<");
    const copied = row(d1.events);
    const full = row(d2.events);
    assertTrue(copied.length >= 8, copied.join("<"));
    assertTrue(full.length > copied.length, "the copy ends before main");
    assertEquals(copied, full.slice(0, copied.length));
  },
});

Deno.test({
  name:
    "native: concurrent threads without stacks: every call counted once, per thread, through many ring wrap-arounds",
  ignore: skip !== "",
  async fn() {
    const bin = await compile(
      "hammer",
      `#include <pthread.h>
#include <stdlib.h>
void *volatile sink[4];
void *work(void *arg) {
  long t = (long)arg;
  for (int i = 0; i < 25000; i++) { sink[t] = malloc(16 + t); free(sink[t]); }
  return 0;
}
int main() {
  pthread_t th[4];
  for (long t = 0; t < 4; t++) pthread_create(&th[t], 0, work, (void *)t);
  for (int t = 0; t < 4; t++) pthread_join(th[t], 0);
  return 0;
}
`,
      ["-pthread"],
    );
    const { code, events } = trace([bin], { stacks: false });
    assertEquals(code, 0);
    checkPairs(events, 4, 25000, "4 threads");
    const tids = new Set(
      events.filter((e) => e.kind === "malloc" && e.size >= 16 && e.size < 20)
        .map((e) => e.tid),
    );
    assertEquals(tids.size, 4);
  },
});

Deno.test({
  name:
    "native CLI: a program that cannot be started gets one line, ours (not the shell's too), and the shell's exit code",
  ignore: skip !== "",
  async fn() {
    const r = await alloctrace(["native", "--", `${dir}/no-such-program`], [
      "-A",
    ]);
    assertEquals(r.code, 127);
    assertEquals(
      r.stderr,
      `alloctrace: cannot run ${dir}/no-such-program: no such file (exit code 127)\n`,
    );
    assertEquals(r.stdout, "");
    assertTrue(!r.stderr.includes("top sites"), "no empty report");
  },
});
