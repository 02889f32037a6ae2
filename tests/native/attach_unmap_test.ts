/**
 * `native -p`'s detach frees the region the hooks were written into (the
 * stubs, the ring: 8.6 MB of the program's memory), when nothing can still
 * run there: every thread stopped and out of the stubs, and no call in
 * flight (a trampoline's address on a stack: the real malloc returns
 * through it). It stayed mapped: attached N times, the program kept N
 * regions.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  nativeCommand,
  pidFrom,
  skip,
  SLEEPER,
  startProgram,
} from "./_support.ts";

/**
 * The hooks' regions in `pid`'s maps: the ring's shared part (the memfd)
 * and the private rest, the only memory a C program has that is at once
 * writable and executable.
 */
const regions = (pid: number) =>
  Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n").filter((l) =>
    l.includes("/memfd:alloctrace-ring") || / rwxp 00000000 00:00 0 *$/.test(l)
  );

// Four threads that only allocate and free: at a detach, calls are in
// flight (a thread inside the real malloc returns through its trampoline).
const BUSY = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
void *volatile keep;
static char **args;
static void *work(void *a) {
  for (long i = 0;; i++) {
    void *p = malloc(64 + (i & 255)); keep = p; free(p);
    if ((i & 0xffff) == 0 && access(args[2], F_OK) == 0) exit(5);
  }
  return a;
}
int main(int argc, char **argv) {
  args = argv;
  pthread_t t;
  for (int i = 0; i < 3; i++) pthread_create(&t, 0, work, 0);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  work(0);
}
`;

for (
  const [name, src, what, strict] of [
    [
      "sleeper",
      SLEEPER,
      "mostly sleeping: each detach frees the hooks' region (3 attaches left 3 regions of 18 MB mapped)",
      true,
    ],
    [
      "busy4",
      BUSY,
      "with 4 threads only calling malloc and free: its detaches free the hooks' region (calls in flight at the detach return to their callers, not the trampoline), though one may keep it where it cannot prove it safe",
      false,
    ],
  ] as const
) {
  Deno.test({
    name: `native -p of a program ${what}, and the program runs on`,
    ignore: skip !== "",
    async fn() {
      const { prog, paths: [pidFile, stopFile] } = await startProgram(
        name,
        src,
        ["pid", "stop"],
        ["-pthread"],
      );
      try {
        const pid = await pidFrom(pidFile, 200);
        assertTrue(pid > 0, "the program started");
        assertEquals(regions(pid), [], "none before");
        let freed = 0;
        const attaches = 3;
        for (let i = 1; i <= attaches; i++) {
          const before = regions(pid).length;
          const r = await nativeCommand(["-p", String(pid), "--duration", "1"])
            .output();
          const err = new TextDecoder().decode(r.stderr);
          if (r.code !== 0 && /not permitted/.test(err)) {
            console.log(`attach_unmap_test: skipped: ${err.trim()}`);
            return;
          }
          assertEquals(r.code, 0, err);
          assertTrue(/\ncalls +[1-9]/.test(err), `attach ${i} traced: ${err}`);
          const after = regions(pid).length;
          // A region is two mappings (the memfd, the rwx rest): all of a
          // kept one stays, none of a freed one.
          assertTrue(
            after === before || after === before + 2,
            `after attach ${i}: ${regions(pid).join("\n")}`,
          );
          if (after === before) freed++;
          // Nothing in flight (a program that sleeps between its calls):
          // a kept region is a failure. Calls in flight: a deliberate keep
          // (a region address it cannot account for) is allowed, always
          // keeping it is not.
          if (strict) assertEquals(regions(pid), [], `after attach ${i}`);
        }
        assertTrue(freed > 0, `no detach of ${attaches} freed the region`);
        await Deno.writeTextFile(stopFile, "");
        assertEquals((await prog.status).code, 5, "it ended on its own");
      } finally {
        try {
          prog.kill("SIGKILL");
        } catch { /* ended */ }
      }
    },
  });
}
