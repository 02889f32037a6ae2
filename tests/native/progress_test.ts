/**
 * The progress line of `alloctrace native` on a terminal (events so far,
 * their rate, live bytes), and none with -q or when stderr is not one.
 * The terminal is a pty made by util-linux's `script`.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT, run } from "../_run.ts";
import { compile, skip, tool } from "./_support.ts";

const SLOW = `#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < 20000; j++) { void *volatile p = malloc(100 + (j & 1)); free(p); }
    void *volatile leak = malloc(1000);
    usleep(50000);
  }
  return 0;
}
`;

const hasScript = await tool("script");
// The line is drawn on the last row (24: see the stty below), cursor saved
// and restored around it (progress_screen_test checks it never mixes with
// the program's output).
const LINE = new RegExp(
  String
    .raw`\x1b7\x1b\[24;1H\x1b\[2K\[alloctrace\] [\d,]+ events, [\d,]+/s, [\d.]+[kMG]?B live \([\d.]+ s\)\x1b8`,
);

Deno.test({
  name:
    "native on a terminal shows a progress line (events so far, rate, live bytes) while it runs; -q, or stderr not a terminal, shows none",
  ignore: skip !== "" || !hasScript,
  async fn() {
    const bin = await compile("slow", SLOW);
    const traced = (flags: string[]) =>
      `stty rows 24 cols 120; "${Deno.execPath()}" run -A main.ts native ${
        flags.join(" ")
      } -- ${bin} 20`;
    const onTty = (flags: string[]) =>
      run("script", ["-qec", traced(flags), "/dev/null"], {
        env: { TERM: "xterm" },
      });
    const shown = await onTty(["--top", "1"]);
    assertEquals(shown.code, 0, shown.stdout);
    const lines = shown.stdout.split(LINE).length - 1;
    assertTrue(lines >= 2, `progress lines: ${lines}\n${shown.stdout}`);
    // Live bytes grow by the 1,000 B the program leaks each round.
    assertTrue(
      /events, [\d,]+\/s, [1-9][\d.]*kB live/.test(shown.stdout),
      shown.stdout,
    );
    // The row is cleared and the scrolling region reset before the report.
    assertTrue(
      shown.stdout.includes(
        `\x1b7\x1b[24;1H\x1b[2K\x1b[r\x1b8program       ${bin} 20: exit code 0`,
      ),
      shown.stdout,
    );
    assertTrue(/calls +400,020 allocations/.test(shown.stdout), shown.stdout);
    const quiet = await onTty(["-q"]);
    assertEquals(quiet.code, 0, quiet.stdout);
    assertEquals(LINE.test(quiet.stdout), false, quiet.stdout);
    assertEquals(quiet.stdout.includes("[alloctrace]"), false, quiet.stdout);
    const piped = await run(Deno.execPath(), [
      "run",
      "-A",
      "main.ts",
      "native",
      "--top",
      "1",
      "--",
      bin,
      "3",
    ], { cwd: ROOT });
    assertEquals(piped.code, 0, piped.stderr);
    assertEquals(piped.stderr.includes("[alloctrace]"), false, piped.stderr);
  },
});
