/**
 * When a traced run saw no malloc, calloc, realloc or free call, the
 * warning says what is known: each program image's linkage, read from its
 * ELF (a dynamic one's libc calls would have been seen: it made none; a
 * static one's allocator is its own copy, which cannot be hooked), never a
 * guess about why.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import { compile, skip } from "./_support.ts";
import { linkageOf } from "../../lib/native/elf_linkage.ts";

const STATIC = `#include <stdio.h>
#include <stdlib.h>
int main(void) {
  void *volatile p = malloc(100);
  free(p);
  puts("static");
  return 0;
}
`;

const hasStaticLibc = (() => {
  try {
    Deno.statSync("/usr/lib/x86_64-linux-gnu/libc.a");
    return true;
  } catch {
    return false;
  }
})();
if (skip === "" && !hasStaticLibc) {
  console.log("nothing_seen_test: static row skipped: no libc.a (libc6-dev)");
}

interface Row {
  name: string;
  /** The command traced (made by `prog`). */
  prog: () => Promise<string[]>;
  /** The one warning line on stderr (the report is on stderr too). */
  warning: RegExp;
  ignore?: boolean;
}

const ROWS: Row[] = [
  {
    name: "a dynamic program that never allocates (/bin/true)",
    prog: () => Promise.resolve(["/bin/true"]),
    warning:
      /^alloctrace: warning: no malloc, calloc, realloc or free call was seen: \/usr\/bin\/true is dynamically linked \(libc's allocator hooked\) and made none$/,
  },
  {
    name: "a static program whose malloc is its own copy",
    prog: async () => [await compile("static_malloc", STATIC, ["-static"])],
    warning:
      /^alloctrace: warning: no malloc, calloc, realloc or free call was seen: \S+\/static_malloc is statically linked: its allocator, if any, is its own copy \(as a pure Go binary's is\), not libc's, and cannot be hooked$/,
    ignore: !hasStaticLibc,
  },
];

for (const row of ROWS) {
  Deno.test({
    name:
      `native with no call seen: ${row.name}: the warning says what is known`,
    ignore: skip !== "" || row.ignore === true,
    async fn() {
      const argv = await row.prog();
      const r = await alloctrace(["native", "--", ...argv], ["-A"]);
      assertEquals(r.code, 0, r.stderr);
      const warnings = r.stderr.split("\n").filter((l) =>
        l.startsWith("alloctrace: warning")
      );
      assertEquals(warnings.length, 1, r.stderr);
      assertTrue(row.warning.test(warnings[0]), warnings[0]);
      // -q: no warning at all.
      const q = await alloctrace(["native", "-q", "--", ...argv], ["-A"]);
      assertEquals(q.code, 0, q.stderr);
      assertEquals(q.stderr, "");
    },
  });
}

Deno.test({
  name: "linkageOf tells dynamic, static and non-ELF files apart",
  ignore: skip !== "" || !hasStaticLibc,
  async fn() {
    assertEquals(linkageOf("/bin/true"), "dynamic");
    assertEquals(
      linkageOf(await compile("static_l", STATIC, ["-static"])),
      "static",
    );
    assertEquals(linkageOf("/etc/passwd"), "not ELF");
    assertEquals(linkageOf("/nonexistent/x"), "unreadable");
  },
});
