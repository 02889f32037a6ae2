/**
 * The detach of an attached trace (`native -p --duration`, Ctrl-C, or the
 * clean-up after a throw) while the program forks and spawns: a vfork
 * (posix_spawn) in the detach's window hung it for ever (the parent
 * cannot stop until its child runs, and the child's first stop was held),
 * and a fork child born in the window was let go with its parent's hooks
 * and died of SIGTRAP once its copy of the ring was full.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  pidFrom,
  runTracer,
  skip,
  startProgram,
  tracerOf,
  within,
} from "./_support.ts";

// Each round: 1,000 malloc/free pairs, then posix_spawn("/bin/true") and
// its wait. Ends with 0 once argv[2] exists, 7 when a spawn failed.
const SPAWNER = `#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
extern char **environ;
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  char *args[] = {"/bin/true", 0};
  for (;;) {
    for (int i = 0; i < 1000; i++) { void *volatile p = malloc(64); free(p); }
    pid_t c; int st;
    if (posix_spawn(&c, "/bin/true", 0, 0, args, environ) != 0) return 7;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 7;
    if (access(argv[2], F_OK) == 0) return 0;
  }
}
`;

// Forks a child every ~2 ms; each child sleeps 0.3 s, makes 200,000
// malloc/free pairs (more than a ring holds) and exits 0. Once argv[2]
// exists it reaps them all and ends with 0, or 7 when one did not exit 0
// (each written to argv[3]).
const FORKER = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
static long bad;
static void reap(const char *path, int flags) {
  int st; pid_t c;
  while ((c = waitpid(-1, &st, flags)) > 0) {
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
      bad++;
      FILE *f = fopen(path, "a");
      fprintf(f, "child %d ended %s %d\\n", c, WIFSIGNALED(st) ? "by signal" : "code", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
      fclose(f);
    }
  }
}
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  for (;;) {
    pid_t c = fork();
    if (c == 0) {
      usleep(300000);
      for (long i = 0; i < 200000; i++) { void *volatile p = malloc(32); free(p); }
      _exit(0);
    }
    reap(argv[3], WNOHANG);
    usleep(2000);
    if (access(argv[2], F_OK) == 0) { reap(argv[3], 0); return bad ? 7 : 0; }
  }
}
`;

for (
  const [name, source, nth] of [
    ["vfork", SPAWNER, 20_000],
    ["fork", FORKER, 30_000],
  ] as const
) {
  Deno.test({
    name:
      `native -p: a detach meeting a ${name} returns, and the program (its children too) runs on to its own end`,
    ignore: skip !== "",
    async fn() {
      const { prog, paths: [pidFile, stopFile, badFile] } = await startProgram(
        `detach_${name}`,
        source,
        ["pid", "stop", "bad"],
      );
      try {
        const pid = await pidFrom(pidFile, 200);
        assertTrue(pid > 0, "the program started");
        const { code, said, err } = await runTracer(
          "_attach_detach.ts",
          [String(pid), String(nth)],
          `the detach hung (a ${name} in its window)`,
        );
        if (/not permitted/.test(said + err)) {
          console.log(`attach_forks_test: skipped: ${(said + err).trim()}`);
          return;
        }
        assertEquals(code, 0, err);
        assertEquals(JSON.parse(said).code, 0, said);
        assertEquals(await tracerOf(pid), "0", "no tracer left");
        // The children forked in the window run their 200,000 calls.
        await new Promise((r) => setTimeout(r, 3000));
        await Deno.writeTextFile(stopFile, "");
        const end = await within(prog.status, 30_000);
        const bad = await Deno.readTextFile(badFile).catch(() => "");
        assertEquals(end?.code, 0, `it ended on its own: ${bad}`);
      } finally {
        try {
          prog.kill("SIGKILL");
        } catch { /* ended */ }
      }
    },
  });
}
