/**
 * `native --html` shows the same lifetimes as `native`'s text and JSON: the
 * bytes allocated between a block's allocation and its free, in the native
 * sink's buckets (up to `>64MB`, the analysis' go to `>1GB`). One rule for
 * every producer: the other blocks' bytes, not the block's own (heaptrack's
 * temporary allocation: nothing allocated between its malloc and its free),
 * so `analyze` of native's trace counts what native counted. A block of 4 kB
 * freed at once is `≤1kB` (nothing between) in all of them.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import { compile, dir, skip } from "../native/_support.ts";

const FREE_AT_ONCE = `#include <stdlib.h>
#include <string.h>
int main(void) {
  for (int i = 0; i < 3; i++) {
    char *volatile s = malloc(4096);
    memset(s, 1, 4096);
    free(s);
  }
  return 0;
}
`;

Deno.test({
  name:
    "native --html's lifetimes in bytes equal --json's (the sink's buckets and counts)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("free_at_once_html", FREE_AT_ONCE);
    const r = await alloctrace(
      [
        "native",
        "-q",
        "--json",
        `${dir}/l.json`,
        "--html",
        `${dir}/l.html`,
        "--",
        bin,
      ],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const j = JSON.parse(await Deno.readTextFile(`${dir}/l.json`));
    const html = await Deno.readTextFile(`${dir}/l.html`);
    const d = JSON.parse(
      /<script type="application\/json" id="data">(.*?)<\/script>/s.exec(
        html,
      )![1],
    );
    const fromJson = new Map<string, number[]>(
      (j.lifetimes.sites as { site: string; between: number[] }[])
        .map((s) => [s.site, s.between]),
    );
    const buckets = j.lifetimes.bytesBetweenBuckets as number[];
    assertEquals(d.bytesBuckets.length, buckets.length + 1);
    const freed = (d.sites as {
      site: string;
      frees: number;
      lifetimeBytes: number[];
    }[]).filter((s) => s.frees > 0);
    assertEquals(freed.length, 1, JSON.stringify(freed));
    assertEquals(freed[0].lifetimeBytes, fromJson.get(freed[0].site));
    // Nothing allocated between its malloc and its free: ≤1kB.
    assertEquals(freed[0].lifetimeBytes, [3, 0, 0, 0, 0, 0]);
  },
});

/**
 * `big`'s block outlives twenty of `small`'s (2,000 bytes between: ≤16kB by
 * either rule); `once`'s three blocks of 4 kB are freed at once (nothing
 * between: ≤1kB; the block's own 4 kB would make them ≤16kB).
 */
const LIVES = `#include <stdlib.h>
#include <string.h>
static void *volatile keep[20];
__attribute__((noinline)) static char *big(void) {
  char *p = malloc(4096); memset(p, 1, 4096); return p;
}
__attribute__((noinline)) static void *small(void) {
  void *p = malloc(100); memset(p, 1, 100); return p;
}
__attribute__((noinline)) static void once(void) {
  char *volatile s = malloc(4096); memset(s, 1, 4096); free(s);
}
int main(void) {
  char *volatile a = big();
  for (int i = 0; i < 20; i++) keep[i] = small();
  free(a);
  for (int i = 0; i < 3; i++) once();
  for (int i = 0; i < 20; i++) free(keep[i]);
  return 0;
}
`;

Deno.test({
  name:
    "bytes allocated between, one rule: native's lifetimes equal analyze's of the trace native wrote (a block's own bytes never count)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("lives_between", LIVES);
    const r = await alloctrace(
      [
        "native",
        "-q",
        "--json",
        `${dir}/lb.json`,
        "--trace-out",
        `${dir}/lb.trace`,
        "--",
        bin,
      ],
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const n = JSON.parse(await Deno.readTextFile(`${dir}/lb.json`));
    const a = await alloctrace(
      ["analyze", `${dir}/lb.trace`, "--json", "-q"],
      ["-A"],
    );
    assertEquals(a.code, 0, a.stderr);
    const g = JSON.parse(a.stdout);
    const bounds = n.lifetimes.bytesBetweenBuckets as number[];
    // The analysis' buckets start with the sink's.
    const shared = bounds.length;
    const native = new Map<string, number[]>(
      (n.lifetimes.sites as { site: string; between: number[] }[])
        .map((s) => [s.site, s.between]),
    );
    let compared = 0;
    for (
      const s of g.sites as {
        site: string;
        frees: number;
        lifetimeBytes: number[];
      }[]
    ) {
      if (s.frees === 0 || !native.has(s.site)) continue;
      const ours = native.get(s.site)!;
      // Equal in the shared buckets; the analysis' last ones add up to the
      // sink's open one.
      assertEquals(
        s.lifetimeBytes.slice(0, shared),
        ours.slice(0, shared),
        s.site,
      );
      assertEquals(
        s.lifetimeBytes.slice(shared).reduce((x, y) => x + y, 0),
        ours[shared],
        s.site,
      );
      compared++;
    }
    assertTrue(
      compared >= 2,
      JSON.stringify(g.sites.map((s: { site: string }) => s.site)),
    );
    const by = (f: string) =>
      [...native].find(([site]) => site.startsWith(`${f} `))?.[1];
    assertEquals(by("big"), [0, 1, 0, 0, 0, 0]);
    assertEquals(by("once"), [3, 0, 0, 0, 0, 0]);
  },
});
