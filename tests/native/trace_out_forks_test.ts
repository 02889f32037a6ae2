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
import { EventObjects } from "../../lib/native/event.ts";
import { traceNative } from "../../lib/native/tracer.ts";

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

// The started process makes no call before it posix_spawns itself (a
// vfork, or a clone with CLONE_VFORK): the spawned child's 5 blocks of 200
// bytes come first, then the parent's 4 of 100.
const SPAWN_FIRST = `#include <stdlib.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>
extern char **environ;
void *volatile keep[64];
int main(int argc, char **argv) {
  if (argc > 1) {
    for (int i = 0; i < 5; i++) keep[i] = malloc(200);
    return 0;
  }
  pid_t p;
  char *a[] = {argv[0], "again", 0};
  posix_spawn(&p, "/proc/self/exe", 0, 0, a, environ);
  waitpid(p, 0, 0);
  for (int i = 0; i < 4; i++) keep[i] = malloc(100);
  return 0;
}
`;

Deno.test({
  name:
    "native --trace-out: FILE is the started process's even when a child it spawned calls first (review1 #1: the first process with calls took FILE), with and without --no-follow-forks",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("trace_spawn_first", SPAWN_FIRST, ["-O0"]);
    for (const follow of [[], ["--no-follow-forks"]]) {
      const out = await Deno.makeTempDir({ dir, prefix: "spawn-" });
      const r = await alloctrace(
        ["native", ...follow, "--trace-out", `${out}/t.trace`, "--json"]
          .concat([`${out}/t.json`, "--", bin]),
        ["-A"],
      );
      assertEquals(r.code, 0, r.stderr);
      const procs: Proc[] =
        JSON.parse(await Deno.readTextFile(`${out}/t.json`)).processes;
      const started = procs.find((p) => p.allocBytes === 400);
      const child = procs.find((p) => p.allocBytes === 1000);
      assertTrue(
        started !== undefined && child !== undefined,
        JSON.stringify(procs),
      );
      const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
      assertEquals(names, ["t.json", "t.trace", `t.trace.${child.pid}`]);
      assertTrue(
        r.stderr.includes(
          `the trace of 1 child process is beside ${out}/t.trace: ${out}/t.trace.${child.pid}`,
        ),
        r.stderr,
      );
      const sizes = (f: string) =>
        [...Deno.readTextFileSync(`${out}/${f}`).matchAll(/size=(0x\w+)/g)]
          .map((m) => m[1]);
      assertEquals(sizes("t.trace"), Array(4).fill("0x64"), "the started's");
      assertEquals(sizes(`t.trace.${child.pid}`), Array(5).fill("0xc8"));
    }
  },
});

/** Records the forks the tracer reports, and the pid of each event. */
class Forks extends EventObjects {
  forks: [number, number][] = [];
  forked(parent: number, child: number): void {
    this.forks.push([parent, child]);
  }
}

Deno.test({
  name:
    "native: a posix_spawn (vfork) child is reported as a fork child of its parent, as a fork child is (review1 #1: only EV_FORK was)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("trace_spawn_first", SPAWN_FIRST, ["-O0"]);
    const pids: number[] = [];
    const out = new Forks((e) => {
      if (!pids.includes(e.pid)) pids.push(e.pid);
    });
    let root = 0;
    const code = traceNative([bin], {
      out,
      stacks: false,
      onStart: (pid) => root = pid,
    });
    assertEquals(code, 0);
    assertEquals(pids.length, 2, JSON.stringify(pids));
    const child = pids.find((p) => p !== root)!;
    assertEquals(out.forks, [[root, child]]);
  },
});

// The child's only calls are frees of the 4 blocks it inherited.
const ONLY_FREES = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile keep[64];
int main(void) {
  for (int i = 0; i < 4; i++) keep[i] = malloc(100);
  pid_t c = fork();
  if (c == 0) { for (int i = 0; i < 4; i++) free(keep[i]); _exit(0); }
  waitpid(c, 0, 0);
  return 0;
}
`;

Deno.test({
  name:
    "native --trace-out: a child whose only calls are frees of inherited blocks (no record) gets no file, and stderr names none (review1 #6: an empty FILE.PID, which analyze rejects)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("trace_only_frees", ONLY_FREES, ["-O0"]);
    const out = await Deno.makeTempDir({ dir, prefix: "onlyfree-" });
    const r = await alloctrace(
      ["native", "--trace-out", `${out}/t.trace`, "--json", `${out}/t.json`]
        .concat(["--", bin]),
      ["-A"],
    );
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(await Deno.readTextFile(`${out}/t.json`));
    assertEquals(
      doc.processes.map((p: { inheritedFrees: number }) => p.inheritedFrees),
      [0, 4],
    );
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assertEquals(names, ["t.json", "t.trace"]);
    assertTrue(!r.stderr.includes("child process"), r.stderr);
  },
});
