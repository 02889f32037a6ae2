/**
 * `native -p` on a program that turned `rdtsc` off for itself
 * (`prctl(PR_SET_TSC, PR_TSC_SIGSEGV)`): while attached, the tracer reads
 * the counter for each stub; the detach must leave no stub that still
 * reads it (a thread inside malloc at the detach returns through its
 * stub), nor let go a thread stopped at a stub's read with the SIGSEGV.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { pidFrom, skip, startProgram, within } from "./_support.ts";
import { traceNative } from "../../lib/native/tracer.ts";

const SRC = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
#include <malloc.h>
#include <sys/prctl.h>
void *volatile keep;
/* A thread stopped inside the real malloc (here often in its mmap) at the
   detach returns through its stub afterwards. */
void *worker(void *arg) {
  for (;;) {
    void *p = malloc(24); keep = p; free(p);
    p = malloc(1 << 20); keep = p; free(p);
  }
  return 0;
}
int main(int argc, char **argv) {
  mallopt(M_MMAP_THRESHOLD, 65536); /* every 1 MB block its own mmap */
  if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV) != 0) return 3;
  pthread_t th;
  for (int i = 0; i < 2; i++) pthread_create(&th, 0, worker, 0);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  for (;;) {
    void *volatile p = malloc(4000); free(p);
    if (access(argv[2], F_OK) == 0) return 5;
  }
}
`;

Deno.test({
  name:
    "native -p PID on a program with rdtsc turned off (PR_TSC_SIGSEGV), malloc in a loop: attached and detached again and again, it runs on and exits with its own code",
  ignore: skip !== "",
  async fn() {
    const { prog, paths: [pidFile, stopFile] } = await startProgram(
      "notsc",
      SRC,
      ["pid", "stop"],
      ["-pthread"],
    );
    try {
      const pid = await pidFrom(pidFile, 200);
      assertTrue(pid > 0, "the program started");
      for (let i = 0; i < 8; i++) {
        // Detached once the workers' calls are seen (the stubs running, the
        // counter read for them), or after 20 s (then it fails).
        let seen = false;
        const from = performance.now();
        const code = traceNative([], {
          attach: pid,
          stacks: false,
          onEvent: (e) => {
            if (e.kind === "malloc" && e.size === 24) seen = true;
          },
          detachWanted: () => seen || performance.now() - from > 20_000,
        });
        assertEquals(code, 0, `attach ${i}`);
        assertTrue(seen, `attach ${i}: the workers' calls traced`);
        // Killed, it is a zombie until waited for (or gone).
        await new Promise((r) => setTimeout(r, 50));
        const stat = await Deno.readTextFile(`/proc/${pid}/stat`)
          .catch(() => "");
        assertTrue(
          /^\d+ \(.*\) [^ZX]/.test(stat),
          `it runs on after detach ${i}: ${stat.slice(0, 40)}`,
        );
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
      // (Killed while this process still traced threads of it, at their
      // exit stops, it cannot be reaped until this process ends.)
      await within(prog.status, 10_000);
    }
  },
});
