/**
 * SIGTERM while the program forks: the tracer kills every process it
 * traces, including a fork child whose parent it killed before reading the
 * fork event (that child waited, stopped and traced, for ever, and the
 * trace with it: `native` never exited).
 */
import { fileURLToPath } from "node:url";
import { assertEquals } from "../_assert.ts";
import { compile, dir, skip, trace } from "./_support.ts";

const main = fileURLToPath(new URL("../../main.ts", import.meta.url));

// Eight shells forking /bin/true (bounded: a child left stopped resumes
// when its tracer dies, and ends).
const FORKS =
  "touch started; for s in 1 2 3 4 5 6 7 8; do (i=0; while [ $i -lt 4000 ]; do /bin/true; i=$((i+1)); done) & done; wait";

Deno.test({
  name:
    "native: SIGTERM while the program forks ends the trace (a fork child whose parent was killed before its fork event was read is killed too), exit 143, three times",
  ignore: skip !== "",
  async fn() {
    for (let round = 0; round < 3; round++) {
      await Deno.remove(`${dir}/started`).catch(() => {});
      const p = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          main,
          "native",
          "-q",
          "--no-stacks",
          "--",
          "sh",
          "-c",
          FORKS,
        ],
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).spawn();
      // Once the forks run (the first one made the file).
      for (let i = 0; i < 6000; i++) {
        if (await Deno.stat(`${dir}/started`).then(() => true, () => false)) {
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 500));
      p.kill("SIGTERM");
      // A hang is told by a bound far above the ~1 s an end takes: it fails
      // the test (the tracer killed) instead of hanging the suite.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise<"hung">((r) => {
        timer = setTimeout(() => r("hung"), 30_000);
      });
      const end = await Promise.race([p.status, hung]);
      clearTimeout(timer);
      if (end === "hung") {
        p.kill("SIGKILL");
        await p.status;
      }
      assertEquals(
        end === "hung" ? "hung" : end.code,
        143,
        `round ${round + 1}`,
      );
    }
  },
});

Deno.test({
  name:
    "native: a program killed on request (Ctrl-C) has its calls until then reported: its ring is read before the kill is let through (the malloc(100) before Ctrl-C was lost when the tracer had not read the ring since)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile(
      "killdrain",
      `#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  void *volatile p = malloc(100);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "x\\n"); fclose(f);
  for (;;) p = p;
}
`,
    );
    for (let round = 0; round < 5; round++) {
      const flag = `${dir}/killdrain.${round}`;
      const seen = (): boolean => {
        try {
          Deno.statSync(flag);
          return true;
        } catch {
          return false;
        }
      };
      // As when Ctrl-C comes: the main thread kills the program first, and
      // the tracer, busy or descheduled meanwhile, sees it killed at its
      // exit stop before it sees the request.
      let pid = 0;
      const { code, events } = trace([bin, flag], {
        stacks: false,
        onStart: (p) => pid = p,
        killWanted: () => {
          if (!seen()) return false;
          Deno.kill(pid, "SIGKILL");
          const until = performance.now() + 50;
          while (performance.now() < until) { /* the kill lands */ }
          return true;
        },
      });
      assertEquals(code, 137, "killed");
      assertEquals(
        events.filter((e) => e.kind === "malloc" && e.size === 100).length,
        1,
        `round ${round}: the malloc(100) made before the kill`,
      );
    }
  },
});
