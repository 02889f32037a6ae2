/**
 * The injected hooks' stack cache: a stack the stub finds by its hash in the
 * program's table (copied without a system call when the thread's stack is
 * known) must be exactly the stack that unwinding that call's own copy
 * gives, for every call, in every thread.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, skip, trace } from "./_support.ts";
import type { NativeEvent } from "../../lib/native/tracer.ts";
import type { StackStats } from "../../lib/native/hook_ring.ts";

// Four threads (thread t allocates 16 (t + 1) or 16 (t + 1) + 1 bytes) call
// malloc through recursion of five depths and two paths, one with a local
// buffer, and through two functions alike but for their code; `junk` leaves code addresses in stack memory that later frames
// do not overwrite, so that some copies hash differently yet unwind alike.
const PROG = `#include <pthread.h>
#include <stdlib.h>
__attribute__((noinline)) void *leaf(size_t n) { return malloc(n); }
__attribute__((noinline)) void *viaA(size_t n) { return leaf(n); }
__attribute__((noinline)) void *viaB(size_t n) { volatile char pad[64]; pad[n % 64] = 1; return leaf(n + pad[0] * 0); }
__attribute__((noinline)) void *rec(int d, size_t n) { if (d == 0) return (n & 1) ? viaA(n) : viaB(n); void *p = rec(d - 1, n); __asm__ volatile("" ::: "memory"); return p; }
// f1 and f2 differ only in their code: a stack through one and one through
// the other differ only in return addresses.
__attribute__((noinline, noipa)) void *f1(size_t n) { void *p = leaf(n); __asm__ volatile("" ::: "memory"); return p; }
__attribute__((noinline, noipa)) void *f2(size_t n) { void *p = leaf(n); __asm__ volatile("" ::: "memory"); return p; }
__attribute__((noinline, noipa)) void *pick(int k, size_t n) { void *(*f)(size_t) = k ? f1 : f2; void *p = f(n); __asm__ volatile("" ::: "memory"); return p; }
__attribute__((noinline)) void junk(int k) { volatile void *a[32]; for (int i = 0; i < 32; i++) a[i] = (i + k) & 1 ? (void *)&leaf : (void *)&viaA; }
void *work(void *arg) {
  long t = (long)arg;
  for (int i = 0; i < 4000; i++) {
    if (i % 7 == 0) junk(i);
    size_t n = 16 * (t + 1) + (i & 1);
    void *p = i % 4 == 3 ? pick(i & 4, n) : rec(i % 5, n);
    free(p);
  }
  return 0;
}
int main(void) {
  pthread_t th[3];
  for (long t = 0; t < 3; t++) pthread_create(&th[t], 0, work, (void *)(t + 1));
  work(0);
  for (int t = 0; t < 3; t++) pthread_join(th[t], 0);
  return 0;
}
`;

/** Each thread's mallocs in its order: size and frames (file and address in it). */
function perThread(events: NativeEvent[]): string[][] {
  const out: string[][] = [[], [], [], []];
  for (const e of events) {
    if (e.kind !== "malloc" || e.size < 16 || e.size > 65) continue;
    out[(e.size >> 4) - 1].push(
      `${e.size} ${e.frames.map((f) => `${f.module}:${f.rel}`).join("<")}`,
    );
  }
  return out;
}

for (const opt of ["-O0", "-O2"]) {
  Deno.test({
    name:
      `native stack cache (${opt}): stacks found by hash are the stacks each call's own copy unwinds to, in every thread; most calls unwind nothing`,
    ignore: skip !== "",
    async fn() {
      const bin = await compile(
        `stack_cache${opt}`,
        PROG,
        [opt, "-fomit-frame-pointer", "-pthread"],
      );
      const cached: StackStats = { unwound: 0, reused: 0 };
      const plain: StackStats = { unwound: 0, reused: 0 };
      const a = trace([bin], { stats: cached });
      const b = trace([bin], { stats: plain, stackCache: false });
      assertEquals([a.code, b.code], [0, 0]);
      const ta = perThread(a.events);
      const tb = perThread(b.events);
      for (let t = 0; t < 4; t++) {
        assertEquals(ta[t].length, 4000, `thread ${t}`);
        assertTrue(ta[t][0].includes("<"), ta[t][0]);
        assertEquals(ta[t], tb[t], `thread ${t}`);
      }
      // Every recursion depth gives its own stack.
      assertTrue(new Set(ta[0]).size >= 10, [...new Set(ta[0])].join("\n"));
      assertEquals(plain.reused, 0);
      assertTrue(plain.unwound >= 16000, JSON.stringify(plain));
      assertTrue(cached.reused > 10 * cached.unwound, JSON.stringify(cached));
    },
  });
}

Deno.test({
  name:
    "native stack cache: a library loaded (and unloaded, and loaded again) while the program runs has its frames in the stacks, as without the cache",
  ignore: skip !== "",
  async fn() {
    const plug = await compile(
      "plug.so",
      `#include <stdlib.h>
void *plug_alloc(size_t n) { void *p = malloc(n); __asm__ volatile("" ::: "memory"); return p; }
`,
      ["-shared", "-fPIC"],
    );
    const bin = await compile(
      "dlopener",
      `#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  for (int round = 0; round < 2; round++) {
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
    void *(*f)(size_t) = (void *(*)(size_t))dlsym(h, "plug_alloc");
    for (int i = 0; i < 50; i++) free(f(1000 + i));
    dlclose(h);
  }
  return 0;
}
`,
      ["-ldl"],
    );
    const rows = (events: NativeEvent[]) =>
      events.filter((e) =>
        e.kind === "malloc" && e.size >= 1000 && e.size < 1050
      ).map((e) => `${e.size} ${e.frames.map((f) => f.name).join("<")}`);
    const a = trace([bin, plug]);
    const b = trace([bin, plug], { stackCache: false });
    assertEquals([a.code, b.code], [0, 0]);
    const ra = rows(a.events);
    assertEquals(ra.length, 100);
    for (const r of ra) assertTrue(r.includes("<plug_alloc<main"), r);
    assertEquals(ra, rows(b.events));
  },
});
