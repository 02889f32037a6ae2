/**
 * A one-line progress display on stderr for long runs: only on a terminal,
 * never when piped, with --quiet, or when NO_COLOR / TERM=dumb ask for plain
 * output; redrawn at most every 200 ms.
 *
 * A command alone on its terminal redraws the line where the cursor is
 * (`\r`, erase, text). One whose terminal another program writes to as
 * well (`native`: the traced program's stdout and stderr are that
 * terminal) cannot: the program's output would run into the line, and the
 * next redraw would erase what it wrote. There the line is a status line
 * (as apt's progress): the terminal's last row is kept out of the
 * scrolling region (DECSTBM), the program's output scrolls above it, and
 * each draw saves the cursor, writes the last row and puts the cursor
 * back, in one write. At the end the row is cleared and the whole screen
 * is the scrolling region again. (heaptrack and memray draw nothing while
 * the program runs.)
 *
 * @module
 */

import { envVar } from "./_usage.ts";

/** Options of a {@link Progress}. */
export interface ProgressOptions {
  /**
   * Another program writes to the same terminal: draw on the last row,
   * out of the scrolling region (nothing when the terminal's size is not
   * known).
   */
  shared?: boolean;
}

/** The progress line of one run. */
export class Progress {
  readonly #on: boolean;
  readonly #shared: boolean;
  #last = 0;
  #shown = false;
  /** Shared: the rows of the terminal when the region was set (0: not set). */
  #rows = 0;
  readonly #start = performance.now();
  readonly #enc = new TextEncoder();

  /** Makes the display; `off` forces it off. */
  constructor(off: boolean, opts: ProgressOptions = {}) {
    let on = !off;
    // (No --allow-env for NO_COLOR/TERM: as if unset.)
    on &&= Deno.stderr.isTerminal() && envVar("NO_COLOR") === undefined &&
      envVar("TERM") !== "dumb";
    this.#on = on;
    this.#shared = opts.shared ?? false;
  }

  /** Redraws the line (built lazily) when enough time has passed. */
  update(text: () => string): void {
    if (!this.#on) return;
    const now = performance.now();
    if (now - this.#last < 200) return;
    this.#last = now;
    const secs = ((now - this.#start) / 1000).toFixed(1);
    const line = `[alloctrace] ${text()} (${secs} s)`;
    if (!this.#shared) {
      this.#write(`\r\x1b[K${line}`);
      this.#shown = true;
      return;
    }
    const size = _size();
    if (size === null) return;
    const { rows, columns } = size;
    let setup = "";
    if (rows !== this.#rows) {
      // First (or after a resize): one row of room below the cursor (IND
      // scrolls when it is on the last row; the column stays), then the
      // region above the last row (DECSTBM homes the cursor: saved around it).
      setup = (this.#rows === 0 ? "\x1bD\x1b[1A" : "") +
        `\x1b7\x1b[1;${rows - 1}r\x1b8`;
      this.#rows = rows;
    }
    this.#write(
      `${setup}\x1b7\x1b[${rows};1H\x1b[2K${line.slice(0, columns - 1)}\x1b8`,
    );
    this.#shown = true;
  }

  /** Clears the line (shared: and gives the whole screen back to scrolling). */
  done(): void {
    if (this.#shown && !this.#shared) this.#write("\r\x1b[K");
    if (this.#rows > 0) {
      this.#write(`\x1b7\x1b[${this.#rows};1H\x1b[2K\x1b[r\x1b8`);
    }
    this.#shown = false;
    this.#rows = 0;
  }

  #write(s: string): void {
    const b = this.#enc.encode(s);
    for (let off = 0; off < b.length;) {
      off += Deno.stderr.writeSync(b.subarray(off));
    }
  }
}

/** The terminal's size, when it is known and has room for a status line. */
function _size(): { rows: number; columns: number } | null {
  try {
    const s = Deno.consoleSize();
    return s.rows >= 3 && s.columns >= 20 ? s : null;
  } catch {
    return null;
  }
}
