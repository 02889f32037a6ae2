/**
 * A vfork child runs on its parent's memory, and the tracer charges it to
 * its parent's process until it execs. When the parent dies first and the
 * child then execs, the parent's hooks had no thread left but were never
 * closed: the tracer's 8.6 MB view of the parent's ring stayed mapped
 * until the trace ended.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, skip } from "./_support.ts";
import { type NativeEvent, traceNative } from "../../lib/native/tracer.ts";

const ORPHAN = `#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1) { void *volatile p = malloc(777); free(p); return 0; }
  void *volatile q = malloc(100); free(q);
  pid_t parent = getpid();
  if (vfork() == 0) {
    kill(parent, SIGKILL);
    while (getppid() == parent) usleep(1000); /* until it is gone */
    execl(argv[0], argv[0], "exec'd", (char *)0);
    _exit(1);
  }
  return 0;
}
`;

/** The tracer's views of rings (ring_map.ts's memfd) mapped in this process. */
const ringViews = () =>
  Deno.readTextFileSync("/proc/self/maps").split("\n")
    .filter((l) => l.includes("/memfd:alloctrace-ring")).length;

Deno.test({
  name:
    "native: a vfork child whose parent dies before it execs: the parent's ring view is unmapped once no thread of it is left (it stayed mapped until the trace ended)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("vfork_orphan", ORPHAN);
    const before = ringViews();
    let seen = -1;
    const events: NativeEvent[] = [];
    const code = traceNative([bin], {
      stacks: false,
      onEvent: (e) => {
        events.push(e);
        if (e.kind === "malloc" && e.size === 777) seen = ringViews();
      },
    });
    assertEquals(code, 128 + 9, "the parent was killed");
    assertTrue(events.some((e) => e.size === 100), "the parent was traced");
    assertTrue(seen >= 0, "the exec'd child's malloc was traced");
    assertEquals(seen, before, "no ring view left of the dead parent");
  },
});
