/**
 * The progress line of `alloctrace native` never mixes with the traced
 * program's own output on the terminal they share: it is drawn on the
 * terminal's last row, kept out of the scrolling region, so the program's
 * lines scroll above it whole, and at the end the row is cleared and the
 * region given back. Checked on a pty (util-linux `script`) by replaying
 * what the terminal received through a small VT100 screen.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { childEnv, ROOT } from "../_run.ts";
import { compile, dir, skip, tool } from "./_support.ts";

/** A screen of `rows` × `cols` cells with the VT100 controls the tool and the tests use. */
class Screen {
  readonly lines: string[][] = [];
  /** Lines scrolled off the top. */
  readonly history: string[] = [];
  #r = 0;
  #c = 0;
  #top = 0;
  #bottom: number;
  #saved: [number, number] = [0, 0];
  /** Whether a scrolling region other than the whole screen is set. */
  get regionSet(): boolean {
    return this.#top !== 0 || this.#bottom !== this.rows - 1;
  }

  constructor(readonly rows: number, readonly cols: number) {
    for (let i = 0; i < rows; i++) this.lines.push([]);
    this.#bottom = rows - 1;
  }

  #lineFeed(): void {
    if (this.#r === this.#bottom) {
      const gone = this.lines.splice(this.#top, 1)[0];
      if (this.#top === 0) this.history.push(gone.join("").trimEnd());
      this.lines.splice(this.#bottom, 0, []);
    } else if (this.#r < this.rows - 1) this.#r++;
  }

  write(s: string): void {
    const cps = [...s];
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i];
      if (ch === "\r") this.#c = 0;
      else if (ch === "\n") this.#lineFeed();
      else if (ch === "\b") this.#c = Math.max(0, this.#c - 1);
      else if (ch === "\x1b") {
        const next = cps[++i];
        if (next === "7") this.#saved = [this.#r, this.#c];
        else if (next === "8") [this.#r, this.#c] = this.#saved;
        else if (next === "D") this.#lineFeed();
        else if (next === "[") {
          let params = "";
          while (/[0-9;?]/.test(cps[i + 1])) params += cps[++i];
          const cmd = cps[++i];
          const n = params.split(";").map((p) => p === "" ? NaN : Number(p));
          if (cmd === "A") this.#r = Math.max(0, this.#r - (n[0] || 1));
          else if (cmd === "H" || cmd === "f") {
            this.#r = Math.min(this.rows - 1, (n[0] || 1) - 1);
            this.#c = Math.min(this.cols - 1, (n[1] || 1) - 1);
          } else if (cmd === "K") {
            const line = this.lines[this.#r];
            if (n[0] === 2) line.length = 0;
            else line.length = Math.min(line.length, this.#c);
          } else if (cmd === "r") {
            this.#top = (n[0] || 1) - 1;
            this.#bottom = (n[1] || this.rows) - 1;
            [this.#r, this.#c] = [0, 0];
          }
        }
      } else if (ch >= " ") {
        if (this.#c >= this.cols) {
          this.#c = 0;
          this.#lineFeed();
        }
        const line = this.lines[this.#r];
        while (line.length < this.#c) line.push(" ");
        line[this.#c++] = ch;
      }
    }
  }

  /** Every line written, scrolled off or on the screen. */
  all(): string[] {
    return [...this.history, ...this.lines.map((l) => l.join("").trimEnd())];
  }
}

Deno.test("the test's screen scrolls, saves the cursor and keeps a region as a terminal does", () => {
  const s = new Screen(4, 20);
  // Room made below (IND, up one), the region set around the cursor.
  s.write("a\r\nb\r\nc\x1bD\x1b[1A\x1b7\x1b[1;3r\x1b8x");
  s.write("\x1b7\x1b[4;1H\x1b[2Kstatus\x1b8\r\nd\r\ne");
  assertEquals(s.all(), ["a", "b", "cx", "d", "e", "status"]);
  assertEquals(s.history, ["a", "b"]);
  assertTrue(s.regionSet);
  s.write("\x1b[r");
  assertEquals(s.regionSet, false);
});

// Prints a line (and every fourth time one on stderr) after 20,000 calls,
// every 40 ms, until argv[1] exists and it has printed 40 lines (more than
// the screen's rows: lines scroll), then writes how many to argv[2]. The
// test makes argv[1] once it has seen two progress draws: the run lasts as
// long as the draws take to come, however loaded the machine.
const CHATTY = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IOLBF, 0);
  int i = 0;
  for (; i < 40 || (access(argv[1], F_OK) != 0 && i < 400); i++) {
    for (int j = 0; j < 20000; j++) { void *volatile p = malloc(100 + (j & 1)); free(p); }
    printf("program line %d, all of it\\n", i);
    if (i % 4 == 0) fprintf(stderr, "program error line %d\\n", i);
    usleep(40000);
  }
  FILE *f = fopen(argv[2], "w"); fprintf(f, "%d\\n", i); fclose(f);
  return 0;
}
`;

const hasScript = await tool("script");

Deno.test({
  name:
    "native on a terminal: the progress line is drawn on the last row, outside the scrolling region, and never mixes with the program's output; at the end it is gone and the region reset",
  ignore: skip !== "" || !hasScript,
  async fn() {
    assertEquals(await compile("chatty", CHATTY), `${dir}/chatty`);
    const stop = `${dir}/chatty.stop`;
    const count = `${dir}/chatty.count`;
    const rows = 24;
    const cols = 200;
    // Run in `dir`, by relative names: the report's "program" line then
    // fits the 200 columns whatever the temporary directory's path (a
    // longer TMPDIR wrapped it, and the last check missed it).
    const cmd =
      `stty rows ${rows} cols ${cols}; "${Deno.execPath()}" run -A "${ROOT}main.ts" native --top 1 -- ./chatty chatty.stop chatty.count`;
    const child = new Deno.Command("script", {
      args: ["-qec", cmd, "/dev/null"],
      cwd: dir,
      clearEnv: true,
      env: childEnv({ TERM: "xterm" }),
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    // The terminal's bytes as they come: two draws seen, the program may end.
    const draw = `\x1b7\x1b[${rows};1H\x1b[2K[alloctrace] `;
    const dec = new TextDecoder();
    let stdout = "";
    let stopped = false;
    for await (const chunk of child.stdout) {
      stdout += dec.decode(chunk, { stream: true });
      if (!stopped && stdout.split(draw).length - 1 >= 2) {
        await Deno.writeTextFile(stop, "");
        stopped = true;
      }
    }
    stdout += dec.decode();
    assertEquals((await child.status).code, 0, stdout);
    // Progress was drawn, more than once, on the last row, while the
    // program printed (it printed until the second draw was seen).
    const draws = stdout.split(draw).length - 1;
    assertTrue(draws >= 2, `progress draws: ${draws}\n${stdout}`);
    const n = Number((await Deno.readTextFile(count)).trim());
    const screen = new Screen(rows, cols);
    screen.write(stdout);
    const lines = screen.all();
    // Every line of the program's, whole, on a line of its own, in order.
    const mine = lines.filter((l) => /program (error )?line/.test(l));
    const want: string[] = [];
    for (let i = 0; i < n; i++) {
      want.push(`program line ${i}, all of it`);
      if (i % 4 === 0) want.push(`program error line ${i}`);
    }
    assertTrue(n >= 40, `${n} lines`);
    assertEquals(mine, want);
    // No progress left anywhere, the region given back, the report there.
    assertEquals(lines.filter((l) => l.includes("[alloctrace]")), []);
    assertEquals(screen.regionSet, false);
    assertTrue(
      lines.some((l) =>
        l.startsWith(
          "program       ./chatty chatty.stop chatty.count: exit code 0",
        )
      ),
      lines.join("\n"),
    );
  },
});
