/**
 * `native -p PID` that fails: the program attached to is never killed by
 * the tracer (only a program it started is). Whether the attach itself is
 * refused (a static program) or an output fails mid-trace, alloctrace says
 * so in one line, exits non-zero, and the program runs on, untraced, with
 * its own bytes back (review1, finding 4).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  advances,
  dir,
  mallocBytes,
  nativeCommand,
  pidFrom,
  skip,
  startProgram,
  tracerOf,
} from "./_support.ts";

// Writes its pid to argv[1], then a counter to argv[2] every ~5 ms, with a
// malloc/free each time; ends with 5 once argv[3] exists.
const TICKER = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  for (long i = 1;; i++) {
    void *volatile p = malloc(4000); free(p);
    f = fopen(argv[2], "w"); fprintf(f, "%ld\\n", i); fclose(f);
    if (access(argv[3], F_OK) == 0) return 5;
    usleep(5000);
  }
}
`;

/**
 * Runs the ticker (`extra`: cc flags), attaches with `args`, and checks
 * alloctrace's exit code and single line, and that the program runs on
 * unharmed and ends with its own code when asked.
 */
async function attachFails(
  name: string,
  extra: string[],
  args: string[],
  code: number,
  line: RegExp,
): Promise<number> {
  const { prog, paths: [pidFile, tickFile, stopFile] } = await startProgram(
    name,
    TICKER,
    ["pid", "tick", "stop"],
    extra,
  );
  try {
    const pid = await pidFrom(pidFile, 200);
    assertTrue(pid > 0, "the program started");
    const out = await nativeCommand(["-p", String(pid), ...args]).output();
    const err = new TextDecoder().decode(out.stderr);
    if (/not permitted/.test(err)) {
      console.log(`attach_errors_test: skipped: ${err.trim()}`);
      return pid;
    }
    assertEquals(out.code, code, err);
    assertEquals(err.split("\n").length, 2, `one line on stderr: ${err}`);
    assertTrue(line.test(err), err);
    assertEquals(await tracerOf(pid), "0", "detached");
    if (!extra.includes("-static")) {
      const [theirs, ours] = await mallocBytes(pid);
      assertEquals(theirs, ours, "malloc's entry is as libc has it");
    }
    assertTrue(await advances(tickFile), "it runs on after the failure");
    await Deno.writeTextFile(stopFile, "");
    const end = await prog.status;
    assertEquals(end.code, 5, "it ended on its own, unharmed");
    return pid;
  } finally {
    try {
      prog.kill("SIGKILL");
    } catch { /* ended */ }
  }
}

Deno.test({
  name:
    "native -p of a static program: one line, exit 1, and the program is not killed (it runs on)",
  ignore: skip !== "",
  async fn() {
    const probe = await new Deno.Command("cc", {
      args: ["-static", "-x", "c", "-", "-o", `${dir}/static-probe`],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const w = probe.stdin.getWriter();
    await w.write(new TextEncoder().encode("int main(){return 0;}\n"));
    await w.close();
    if (!(await probe.status).success) {
      console.log("attach_errors_test: skipped: no static libc (cc -static)");
      return;
    }
    await attachFails(
      "ticker-static",
      ["-static"],
      ["--duration", "1"],
      1,
      /^alloctrace: cannot attach to \d+: it does not use glibc's malloc/,
    );
  },
});

Deno.test({
  name:
    "native -p whose --trace-out fails mid-trace (/dev/full): one line, exit 1, the program is detached, not killed, malloc's bytes back",
  ignore: skip !== "",
  async fn() {
    const pid = await attachFails(
      "ticker-full",
      [],
      ["--trace-out", "/dev/full", "--duration", "30"],
      1,
      /^alloctrace: .*(No space left|ENOSPC|full)/i,
    );
    assertTrue(pid > 0);
  },
});
