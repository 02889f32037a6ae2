/**
 * The detach of `native -p` (--duration, Ctrl-C) while every thread of the
 * program calls malloc and free: a thread the detach stopped inside an
 * injected stub, or at a stub's int3 (a full ring, a busy slot: its
 * SIGTRAP pending behind the detach's interrupt), ran on into that int3
 * with no tracer once let go, and the program died of SIGTRAP.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  pidFrom,
  runTracer,
  skip,
  sleep,
  startProgram,
  tracerOf,
} from "./_support.ts";

// Four threads make malloc/free pairs of varied sizes for ever; the main
// thread writes its pid to argv[1] and returns 7 once argv[2] exists.
const BUSY = `#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *volatile sink;
static void *loop(void *a) {
  for (unsigned i = 0;; i++) { void *p = malloc(16 + i % 200); sink = p; free(p); }
  return a;
}
int main(int argc, char **argv) {
  pthread_t t;
  for (int i = 0; i < 4; i++) pthread_create(&t, 0, loop, 0);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  while (access(argv[2], F_OK) != 0) usleep(2000);
  return 7;
}
`;

const ATTACHES = 30;

Deno.test({
  name:
    `native -p of a program whose 4 threads only malloc and free: none of ${ATTACHES} attach/detach rounds (300 ms each) kills it, and it ends with its own exit code`,
  ignore: skip !== "",
  async fn() {
    const deaths: string[] = [];
    let events = 0;
    let round = 0;
    let stopped = false;
    for (let life = 0; round < ATTACHES; life++) {
      const { prog, paths } = await startProgram(`busy4_${life}`, BUSY, [
        "pid",
        "stop",
      ]);
      let status: Deno.CommandStatus | null = null;
      prog.status.then((s) => status = s);
      try {
        const pid = await pidFrom(paths[0], 200);
        assertTrue(pid > 0, "the program started");
        while (round < ATTACHES && status === null) {
          round++;
          const out = await runTracer(
            "_attach_for.ts",
            [String(pid), "300"],
            `attach ${round} hung`,
          );
          assertEquals(out.code, 0, `attach ${round}: ${out.err}`);
          events += JSON.parse(out.said).events;
          // A SIGTRAP pending at the detach is taken at once: a moment.
          await sleep(100);
          if (status === null) assertEquals(await tracerOf(pid), "0");
        }
        if (status === null) {
          await Deno.writeTextFile(paths[1], "");
          stopped = true;
        }
        const s: Deno.CommandStatus = await prog.status;
        if (s.signal !== null || s.code !== 7 || !stopped) {
          deaths.push(`round ${round}: ${s.signal ?? `exit ${s.code}`}`);
        }
      } finally {
        if (status === null && !stopped) prog.kill("SIGKILL");
        await prog.status;
      }
    }
    assertTrue(events > 0, "calls were traced");
    assertEquals(
      deaths,
      [],
      `${deaths.length} of ${ATTACHES} detaches killed the program`,
    );
  },
});
