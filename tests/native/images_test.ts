/**
 * What `alloctrace native`'s report says of program images: when a run saw
 * no malloc, calloc, realloc or free call, the warning says what is known
 * (each image's linkage, read from its ELF: a dynamic one's libc calls
 * would have been seen, it made none; a static one's allocator is its own
 * copy, which cannot be hooked), never a guess; blocks an image left when
 * it exec'd are dropped with it, not leaks; a fork child's frees of its
 * parent's blocks are frees of inherited blocks.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import { compile, dir, skip } from "./_support.ts";
import { linkageOf } from "../../lib/native/elf_linkage.ts";
import { readElfSymbols } from "../../lib/native/elf_symbols.ts";

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
  console.log("images_test: static row skipped: no libc.a (libc6-dev)");
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

Deno.test("the ELF readers take only 64-bit little-endian files: a big-endian or 32-bit header is not ELF to either", () => {
  const bin = Deno.readFileSync("/bin/true");
  assertTrue(readElfSymbols("/bin/true") !== null);
  // e_ident[EI_CLASS] (4) and e_ident[EI_DATA] (5): 2 is ELFCLASS64,
  // 1 ELFDATA2LSB.
  const headers: [number, number, string][] = [
    [5, 2, "big-endian"],
    [4, 1, "32-bit"],
  ];
  for (const [at, v, what] of headers) {
    const path = `${dir}/${what}`;
    const b = bin.slice();
    b[at] = v;
    Deno.writeFileSync(path, b);
    assertEquals(readElfSymbols(path), null, what);
    assertEquals(linkageOf(path), "not ELF", what);
  }
});

const EXEC_AND_FORK = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile b[4];
int main(int argc, char **argv) {
  for (int i = 0; i < 4; i++) b[i] = malloc(3000 + argc);
  if (argc == 1) { execl(argv[0], argv[0], "again", (char *)0); return 9; }
  pid_t p = fork();
  if (p == 0) { free(b[0]); _exit(0); }
  int st; waitpid(p, &st, 0);
  return 0;
}
`;

Deno.test({
  name:
    "native's report: blocks left at an exec are dropped with their image (not leaks), a fork child's frees of its parent's blocks are inherited frees",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("exec_and_fork", EXEC_AND_FORK);
    const r = await alloctrace(["native", "--", bin], ["-A"]);
    assertEquals(r.code, 0, r.stderr);
    assertTrue(
      r.stderr.includes(
        "\n              1 free by a fork child of a block inherited from its parent\n",
      ),
      r.stderr,
    );
    assertTrue(
      r.stderr.includes(
        "\n              4 blocks (12,004 bytes) live at an exec, dropped with their image (not leaks)\n",
      ),
      r.stderr,
    );
    // The leaks are the second image's 4 blocks only (its fork child's
    // free took the child's copy, not the parent's).
    assertTrue(
      r.stderr.includes("live at exit  12,008 bytes in 4 blocks"),
      r.stderr,
    );
  },
});
