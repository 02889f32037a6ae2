/**
 * A one-line progress display on stderr for long runs: only on a terminal,
 * never when piped, with --quiet, or when NO_COLOR / TERM=dumb ask for plain
 * output; redrawn at most every 200 ms.
 *
 * @module
 */

/** The progress line of one run. */
export class Progress {
  readonly #on: boolean;
  #last = 0;
  #shown = false;
  readonly #start = performance.now();
  readonly #enc = new TextEncoder();

  /** Makes the display; `off` forces it off. */
  constructor(off: boolean) {
    let on = !off;
    try {
      on &&= Deno.stderr.isTerminal();
      on &&= Deno.env.get("NO_COLOR") === undefined &&
        Deno.env.get("TERM") !== "dumb";
    } catch {
      // no --allow-env for NO_COLOR/TERM: stay plain only if not a terminal
    }
    this.#on = on;
  }

  /** Redraws the line (built lazily) when enough time has passed. */
  update(text: () => string): void {
    if (!this.#on) return;
    const now = performance.now();
    if (now - this.#last < 200) return;
    this.#last = now;
    const secs = ((now - this.#start) / 1000).toFixed(1);
    const line = `\r\x1b[K[alloctrace] ${text()} (${secs} s)`;
    Deno.stderr.writeSync(this.#enc.encode(line));
    this.#shown = true;
  }

  /** Clears the line. */
  done(): void {
    if (this.#shown) Deno.stderr.writeSync(this.#enc.encode("\r\x1b[K"));
    this.#shown = false;
  }
}
