/**
 * The stub hashes a stack copy only up to a limit (the deepest unwinding
 * seen so far), not its whole ~2 KB: two stacks alike over that limit and
 * different below it must still get their own stacks, for every call.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, skip, trace } from "./_support.ts";
import type { NativeEvent } from "../../lib/native/tracer.ts";
import type { StackStats } from "../../lib/native/hook_ring.ts";

// First shallow stacks (the limit comes down to their depth), then deep
// ones: leaf's caller `wide` keeps 1,200 zeroed bytes on the stack, so
// that the stacks through viaA and viaB are alike for their first ~1.2 KB
// (far past the limit then) and differ only in the return address below.
const PROG = `#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) void *leaf(size_t n) { return malloc(n); }
__attribute__((noinline)) void *wide(size_t n) { volatile char buf[1200]; memset((char *)buf, 0, sizeof buf); void *p = leaf(n + buf[n % 1200]); __asm__ volatile("" ::: "memory"); return p; }
__attribute__((noinline, noipa)) void *viaA(size_t n) { void *p = wide(n); __asm__ volatile("" ::: "memory"); return p; }
__attribute__((noinline, noipa)) void *viaB(size_t n) { void *p = wide(n); __asm__ volatile("" ::: "memory"); return p; }
int main(void) {
  for (int i = 0; i < 3000; i++) free(leaf(24));
  for (int i = 0; i < 3000; i++) free(i % 3 ? viaA(40) : viaB(40));
  return 0;
}
`;

/** The 40-byte mallocs' stacks, in order. */
const stacks = (events: NativeEvent[]) =>
  events.filter((e) => e.kind === "malloc" && (e.size === 40 || e.size === 24))
    .map((e) => e.frames.map((f) => f.name).join("<"));

for (const opt of ["-O0", "-O2"]) {
  Deno.test({
    name:
      `native stack hash limit (${opt}): after shallow stacks, deep ones alike past the limit and different below it each get their own stack, call by call`,
    ignore: skip !== "",
    async fn() {
      const bin = await compile(`hash_limit${opt}`, PROG, [opt]);
      const cached: StackStats = { unwound: 0, reused: 0 };
      const a = trace([bin], { stats: cached });
      const b = trace([bin], { stackCache: false });
      assertEquals([a.code, b.code], [0, 0]);
      const sa = stacks(a.events);
      assertEquals(sa.length, 6000);
      assertEquals(sa, stacks(b.events));
      assertTrue(sa[0].includes("<main"), sa[0]);
      assertTrue(sa[3001].includes("<wide<viaA<main"), sa[3001]);
      assertTrue(sa[3000].includes("<wide<viaB<main"), sa[3000]);
      // The shallow stacks are known by their hash once the limit came down
      // (how many deep calls were made before the limit went up again
      // depends on how far the tracer lags: not counted).
      assertTrue(cached.reused >= 2990, JSON.stringify(cached));
    },
  });
}
