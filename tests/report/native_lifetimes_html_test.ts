/**
 * `native --html` shows the same lifetimes as `native`'s text and JSON: the
 * bytes allocated between a block's allocation and its free as the native
 * sink counts them (the block's own bytes included), in its buckets (up to
 * `>64MB`), not the Go analysis' count (own bytes left out, up to `>1GB`).
 * A block of 4 kB freed at once is `≤16kB` in all three.
 */
import { assertEquals } from "../_assert.ts";
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
    // 4,096 bytes (its own) between its malloc and its free: ≤16kB.
    assertEquals(freed[0].lifetimeBytes[1], 3);
  },
});
