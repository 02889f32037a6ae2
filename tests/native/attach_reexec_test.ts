/**
 * `native -p` of a program that re-execs itself all the time. Two kernel
 * behaviours meet there: PTRACE_SEIZE of a thread an exec is tearing down
 * is refused with EPERM (it was reported as Yama forbidding ptrace), and a
 * seize blocks while an exec holds the process's cred_guard_mutex, while
 * that exec waits for every other thread to be gone: for the leader we had
 * seized, stopped at its PTRACE_EVENT_EXIT, and for the sub-threads we
 * traced, reaped (by another thread of ours: lib/native/_reap_worker.ts).
 * Each attach works, none hangs, and the program runs on.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  compile,
  nativeCommand,
  pidFrom,
  skip,
  tracerOf,
  within,
} from "./_support.ts";

// A thread re-execs the program after every 100,000 malloc/free pairs,
// while the main thread allocates too, and argv[2] more threads, started
// before it (seized before it, they are the threads its exec waits for us
// to reap), allocate in a loop with a pause (so that the detach meets
// threads inside the stubs too: it steps them out, attach.ts
// _stepOutOfStubs); writes its pid to argv[1] (the same pid after each
// exec).
const REEXEC = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
void *volatile sink;
static char **args;
static void *th(void *a) {
  for (int i = 0; i < 100000; i++) { void *p = malloc(40); sink = p; free(p); }
  execv(args[0], args);
  return a;
}
static void *busy(void *a) {
  for (;;) { void *p = malloc(56); sink = p; free(p); usleep(500); }
  return a;
}
int main(int argc, char **argv) {
  args = argv;
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  pthread_t t;
  for (int i = 0; i < atoi(argv[2]); i++) pthread_create(&t, 0, busy, 0);
  pthread_create(&t, 0, th, 0);
  for (;;) { void *q = malloc(24); sink = q; free(q); }
}
`;

for (const more of [0, 2]) {
  Deno.test({
    name: `native -p of a program exec'ing all the time (${
      2 + more
    } threads): each of 4 attaches works within a minute (no 'not permitted' blamed on Yama, no hang in the seize), and the program runs on`,
    ignore: skip !== "",
    async fn() {
      const bin = await compile(`reexec${more}`, REEXEC, ["-pthread"]);
      const pidFile = `${bin}.pid`;
      const prog = new Deno.Command(bin, {
        args: [pidFile, String(more)],
        stdout: "null",
        stderr: "null",
      }).spawn();
      let gone: Deno.CommandStatus | null = null;
      try {
        const pid = await pidFrom(pidFile, 200);
        assertTrue(pid > 0, "the program started");
        for (let i = 0; i < 4; i++) {
          const tracer = nativeCommand([
            "-p",
            String(pid),
            "--duration",
            "1",
            "-q",
          ]).spawn();
          const out = await within(tracer.output(), 60_000);
          if (out === null) {
            tracer.kill("SIGKILL");
            await tracer.status;
            throw new Error(`attach ${i + 1} hung`);
          }
          const err = new TextDecoder().decode(out.stderr);
          assertTrue(!/Yama/.test(err), `attach ${i + 1}: ${err}`);
          assertEquals(
            out.code,
            0,
            `attach ${i + 1}: ${out.signal ?? ""} ${err}`,
          );
          assertEquals(await tracerOf(pid), "0", "detached");
        }
      } finally {
        try {
          prog.kill("SIGKILL");
        } catch {
          gone = await prog.status; // it ended: of what?
        }
        await prog.status;
      }
      if (gone !== null) {
        throw new Error(`the program ended: ${JSON.stringify(gone)}`);
      }
    },
  });
}
