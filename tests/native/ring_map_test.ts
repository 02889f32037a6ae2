/**
 * The injected hooks' ring in shared memory (lib/native/ring_map.ts): the
 * program sees it as a `MAP_SHARED` memfd mapping and no fd of it; a fork
 * child gets a private ring of its own before it runs, and the image it
 * execs one read by system call (only the program's own process shares
 * its ring); and every call is counted, from threads, parent and child,
 * exactly as when the ring is read by system call (`sharedRing: false`, the
 * path every ring falls back to).
 */
import { assertEquals } from "../_assert.ts";
import { compile, dir, skip, trace } from "./_support.ts";

const THREADS = 3;
const N = 2000;

// Writes "shared memfds" of the parent, of the fork child, then of the
// image the child execs (this program again, with a fourth argument) to
// argv[2]; the parent's threads make N malloc(4242)/free pairs each, the
// exec'd child N malloc(4343)/free pairs.
const SRC = `#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int n;
void *volatile keep[${THREADS + 1}];
static int shared_ring(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char l[512];
  int k = 0;
  while (fgets(l, sizeof l, f))
    if (strstr(l, "/memfd:alloctrace-ring") && strstr(l, " rw-s ")) k++;
  fclose(f);
  return k;
}
static int memfds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  char p[300], t[300];
  int k = 0;
  while ((e = readdir(d)) != 0) {
    snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
    ssize_t m = readlink(p, t, sizeof t - 1);
    if (m > 0) { t[m] = 0; if (strstr(t, "memfd:")) k++; }
  }
  closedir(d);
  return k;
}
static void *work(void *a) {
  long t = (long)a;
  for (int i = 0; i < n; i++) { keep[t] = malloc(4242); free(keep[t]); }
  return a;
}
int main(int argc, char **argv) {
  n = atoi(argv[1]);
  if (argc > 3) {
    FILE *out = fopen(argv[2], "a");
    fprintf(out, "%d %d\\n", shared_ring(), memfds());
    fclose(out);
    for (int i = 0; i < n; i++) { keep[${THREADS}] = malloc(4343); free(keep[${THREADS}]); }
    return 0;
  }
  FILE *out = fopen(argv[2], "w");
  fprintf(out, "%d %d\\n", shared_ring(), memfds());
  fflush(out);
  pthread_t th[${THREADS}];
  for (int t = 0; t < ${THREADS}; t++) pthread_create(&th[t], 0, work, (void *)(long)t);
  pid_t c = fork();
  if (c == 0) {
    fprintf(out, "%d %d\\n", shared_ring(), memfds());
    fclose(out);
    execl(argv[0], argv[0], argv[1], argv[2], "exec", (char *)0);
    _exit(98);
  }
  int st;
  waitpid(c, &st, 0);
  for (int t = 0; t < ${THREADS}; t++) pthread_join(th[t], 0);
  fclose(out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}
`;

Deno.test({
  name:
    "native: the hooks' ring is a shared memfd mapping the program holds no fd of; a fork child's is its own; threads, parent and child are counted exactly, as when the ring is read by system call",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("ringmap", SRC, ["-pthread"]);
    for (const sharedRing of [true, false]) {
      const what = sharedRing ? "shared" : "by system call";
      const seen = `${dir}/ringmap-${sharedRing}.txt`;
      const { code, events } = trace([bin, String(N), seen], { sharedRing });
      assertEquals(code, 0, what);
      const [parent, child, execd] = (await Deno.readTextFile(seen)).trim()
        .split("\n");
      // One shared ring in the parent, none in the child (its own, private)
      // nor in the image it execs.
      assertEquals(parent, sharedRing ? "1 0" : "0 0", `${what}: the parent`);
      assertEquals(child, "0 0", `${what}: the fork child`);
      assertEquals(execd, "0 0", `${what}: the image the child execs`);
      const pids = new Set(events.map((e) => e.pid));
      assertEquals(pids.size, 2, `${what}: parent and child`);
      // Blocks freed, by the size they were allocated with (in each
      // process, in the order of the calls).
      const live = new Map<string, number>();
      const freed = new Map<number, number>();
      for (const e of events) {
        const k = `${e.pid} ${e.addr}`;
        if (e.kind !== "free") live.set(k, e.size);
        else if (live.has(k)) {
          const size = live.get(k)!;
          live.delete(k);
          freed.set(size, (freed.get(size) ?? 0) + 1);
        }
      }
      for (const [size, calls] of [[4242, THREADS * N], [4343, N]]) {
        const mine = events.filter((e) =>
          e.kind === "malloc" && e.size === size
        );
        assertEquals(mine.length, calls, `${what}: malloc(${size})`);
        assertEquals(
          new Set(mine.map((e) => e.pid)).size,
          1,
          `${what}: malloc(${size}) in one process`,
        );
        assertEquals(freed.get(size), calls, `${what}: frees of ${size}`);
      }
      const p4242 = events.find((e) => e.size === 4242)!.pid;
      const p4343 = events.find((e) => e.size === 4343)!.pid;
      assertEquals(p4242 !== p4343, true, `${what}: the child's own pid`);
    }
  },
});
