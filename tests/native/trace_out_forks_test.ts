/**
 * `native --trace-out` of a program that forks: the seed format carries no
 * process id, and a fork child's heap is a copy of its parent's (the same
 * addresses), so one file of every process's records read back as one heap
 * with allocations at live addresses. Each process gets its own file: the
 * parent's at the name given, each child's beside it as NAME.PID.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import { compile, dir, skip } from "./_support.ts";

// The parent keeps 10 blocks; each of two children (fork, no exec) frees
// the 10 it inherited, makes 20 of its own at the same addresses and frees
// 5 of them; the parent frees 3 of its own at the end.
const FORKS = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile keep[64];
int main(void) {
  for (int i = 0; i < 10; i++) keep[i] = malloc(100);
  for (int k = 0; k < 2; k++) {
    pid_t c = fork();
    if (c == 0) {
      for (int i = 0; i < 10; i++) free(keep[i]);
      for (int i = 0; i < 20; i++) keep[i] = malloc(100 + k);
      for (int i = 0; i < 5; i++) free(keep[i]);
      _exit(0);
    }
    waitpid(c, 0, 0);
  }
  for (int i = 0; i < 3; i++) free(keep[i]);
  return 0;
}
`;

interface Proc {
  pid: number;
  allocs: number;
  allocBytes: number;
  frees: number;
  liveBytes: number;
}

Deno.test({
  name:
    "native --trace-out of a forking program: one trace per process (the parent's at the name given, each child's at NAME.PID), each reading back with analyze as its row of the processes table, no allocation at a live address; stderr names the children's files",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("trace_forks", FORKS, ["-O0"]);
    const out = await Deno.makeTempDir({ dir, prefix: "forks-" });
    const r = await alloctrace(
      ["native", "--trace-out", `${out}/t.trace`, "--json", `${out}/t.json`]
        .concat(["--", bin]),
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const procs: Proc[] =
      JSON.parse(await Deno.readTextFile(`${out}/t.json`)).processes;
    assertEquals(procs.length, 3, JSON.stringify(procs));
    const [parent, ...children] = procs;
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assertEquals(
      names,
      ["t.json", "t.trace", ...children.map((c) => `t.trace.${c.pid}`)]
        .sort(),
    );
    assertTrue(
      r.stderr.includes(
        `alloctrace: --trace-out: the traces of 2 child processes are beside ${out}/t.trace: ${
          children.map((c) => `${out}/t.trace.${c.pid}`).join(", ")
        }`,
      ),
      r.stderr,
    );
    for (
      const [file, p] of [
        ["t.trace", parent],
        ...children.map((c) => [`t.trace.${c.pid}`, c] as const),
      ] as const
    ) {
      const a = await alloctrace(
        ["analyze", `${out}/${file}`, "--json"],
        ["-A"],
      );
      assertEquals(a.code, 0, a.stderr);
      assertEquals(a.stderr, "", `${file}: no warning`);
      const doc = JSON.parse(a.stdout);
      assertEquals(
        [
          doc.allocs,
          doc.allocBytes,
          doc.frees,
          doc.liveBytes,
          doc.allocsAtLive,
        ],
        [p.allocs, p.allocBytes, p.frees, p.liveBytes, 0],
        file,
      );
    }
    assertEquals([parent.allocs, parent.frees], [10, 3]);
    assertEquals(children.map((c) => [c.allocs, c.frees]), [[20, 5], [20, 5]]);
  },
});
