/**
 * `native -p` detaching while a thread other than the main one execs: its
 * old id never stops again (the exec'd thread takes the process's pid), and
 * the new image holds none of the hooks: the detach must neither wait for
 * the old id for ever nor write the old image's bytes into the new one.
 *
 * The detach is made to meet the exec: the exec'ing thread makes a marker
 * call right before its execv, and the tracer detaches as soon as it reads
 * the marker, which it does at the exec's breakpoint (the ring is read at
 * every stop), with the exec on its way. The exec then waits in the kernel
 * for the process's other threads to end, each stopping at its exit for
 * the tracer (PTRACE_O_TRACEEXIT), that is, inside the detach.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT } from "../_run.ts";
import { pidFrom, readNumber, skip, startProgram, within } from "./_support.ts";

const MARK = 7777;
const SRC = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
void *volatile keep;
static char **args;
/* Each image: a thread that waits for the go file, takes it, makes the
   marker call and execs the program again (the next generation), while
   the main thread runs malloc. */
void *again(void *arg) {
  long gen = (long)arg;
  while (access(args[3], F_OK) != 0) {
    void *p = malloc(32); keep = p; free(p); usleep(100);
  }
  unlink(args[3]);
  char next[32]; snprintf(next, sizeof next, "%ld", gen + 1);
  char *argv[] = {args[0], args[1], args[2], args[3], args[4], next, 0};
  keep = malloc(${MARK});
  execv(args[0], argv);
  return 0;
}
int main(int argc, char **argv) {
  args = argv;
  long gen = argc > 5 ? atol(argv[5]) : 0;
  FILE *f = fopen(argv[2], "w"); fprintf(f, "%ld\\n", gen); fclose(f);
  if (gen == 0) { f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f); }
  pthread_t th; pthread_create(&th, 0, again, (void *)gen);
  for (;;) {
    void *p = malloc(48); keep = p; free(p); usleep(10);
    if (access(argv[4], F_OK) == 0) return 5;
  }
}
`;

Deno.test({
  name:
    "native -p PID detached while a non-main thread execs the program again (the detach begun at the exec's breakpoint): each detach ends (no wait for the exec'd thread's old id), and the program runs on and exits with its own code",
  ignore: skip !== "",
  async fn() {
    const { prog, paths: [pidFile, genFile, goFile, stopFile] } =
      await startProgram(
        "reexec",
        SRC,
        ["pid", "gen", "go", "stop"],
        ["-pthread"],
      );
    try {
      const pid = await pidFrom(pidFile, 200);
      assertTrue(pid > 0, "the program started");
      for (let i = 0; i < 5; i++) {
        const gen = await readNumber(genFile);
        const tracer = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "tests/native/_exec_detach.ts",
            String(pid),
            goFile,
            String(MARK),
          ],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // (A watchdog: a detach that hangs fails the test, not blocks it.)
        const out = await within(tracer.output(), 60_000);
        if (out === null) tracer.kill("SIGKILL");
        assertTrue(out !== null, `round ${i}: the detach hung`);
        const err = new TextDecoder().decode(out.stderr);
        assertEquals(out.code, 0, `round ${i}: ${err}`);
        assertEquals(
          JSON.parse(new TextDecoder().decode(out.stdout)),
          { code: 0, marker: true },
          `round ${i}`,
        );
        // It runs on: the next generation starts.
        let moved = false;
        for (let j = 0; j < 200 && !moved; j++) {
          await new Promise((r) => setTimeout(r, 50));
          moved = await readNumber(genFile) > gen;
        }
        assertTrue(moved, `round ${i}: it runs on (${err})`);
      }
      await Deno.writeTextFile(stopFile, "");
      const status = await within(prog.status, 60_000);
      assertEquals(status?.code, 5, "its own exit code, within 60 s");
    } finally {
      try {
        prog.kill("SIGKILL");
      } catch {
        // ended
      }
      await within(prog.status, 10_000);
    }
  },
});
