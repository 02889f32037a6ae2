/**
 * A trace of a program we started that fails partway (here its consumer
 * throws) kills every process of the program, not only the threads the
 * tracer had counted alive: a fork child seen stopped but not yet counted
 * (its first stop waited for, or held until its parent's fork event, the
 * tracer's `earlyStops`) stayed in its ptrace stop until the tracer's
 * thread ended, which for a library caller is never.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, skip, sleep } from "./_support.ts";
import { EventObjects } from "../../lib/native/event.ts";
import { traceNative } from "../../lib/native/tracer.ts";

const FORKS = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
  void *volatile p = malloc(100); free(p);
  pid_t c = fork();
  if (c == 0) { for (;;) pause(); }
  waitpid(c, 0, 0);
  return 0;
}
`;

/** A consumer that fails at the first fork it is told of. */
class FailsAtFork extends EventObjects {
  child = 0;
  forked(_parent: number, child: number): void {
    this.child = child;
    throw new Error("the consumer failed at the fork");
  }
}

/** The state letter of `pid` ("" when it is gone). */
const stateOf = (pid: number): string => {
  try {
    const st = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return st.slice(st.lastIndexOf(")") + 2, st.lastIndexOf(")") + 3);
  } catch {
    return "";
  }
};

Deno.test({
  name:
    "native: a trace that fails right after a fork child is seen (its consumer throws) kills that child too, not only the threads counted alive: none is left in its ptrace stop",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("fail_at_fork", FORKS);
    const out = new FailsAtFork(() => {});
    let error = "";
    try {
      traceNative([bin], { out, stacks: false });
    } catch (e) {
      error = (e as Error).message;
    }
    try {
      assertEquals(error, "the consumer failed at the fork");
      assertTrue(out.child > 0, "the fork was seen");
      // Killed: a zombie or gone at once, or soon on a loaded machine; left
      // in its ptrace stop ("t"), it stays there for as long as we live.
      for (let i = 0; i < 100 && stateOf(out.child) === "t"; i++) {
        await sleep(50);
      }
      const state = stateOf(out.child);
      assertTrue(
        state === "" || state === "Z" || state === "X",
        `the fork child ${out.child} is in state ${state}`,
      );
    } finally {
      if (out.child > 0) {
        try {
          Deno.kill(out.child, "SIGKILL");
        } catch { /* gone */ }
      }
    }
  },
});
