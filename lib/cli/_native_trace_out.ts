/**
 * `native --trace-out FILE`'s files: one trace per process. The seed
 * format carries no process id, and a fork child's heap is a copy of its
 * parent's, at the same addresses: one file of both read back as one heap,
 * with allocations at live addresses (analyze warned, and its figures were
 * of no process). The process started (or attached to) is written at
 * FILE, even when a child calls first, each child with records beside it
 * at FILE.PID (strace -ff's naming), a name taken before or during the run
 * never replaced (the child's trace then goes to FILE.PID.1 …).
 *
 * @module
 */

import type { NewOutputStream, OutputStream } from "./_output.ts";
import { checkBeside, openNewOutput } from "./_output.ts";
import type { TraceOutput, TraceOutputs } from "./_native_sink.ts";
import { shown } from "./_usage.ts";

/**
 * Where the children's records go: `files` (FILE.PID), `main` (FILE: the
 * run has one process, `--pid`), `none` (FILE is a device or FIFO, not a
 * file that a name beside can go with: /dev/null.PID is no place).
 */
export type ChildTraces = "files" | "main" | "none";

/** A child's trace file. */
interface ChildFile {
  pid: number;
  out: NewOutputStream;
}

/**
 * Children's files with a descriptor open at once: a forking server's
 * thousands fit under the usual limit of 1,024 (the least recently
 * written one is closed, and opened again at its next write).
 */
const OPEN_CHILD_FILES = 32;

/** The trace outputs of a native run. */
export class NativeTraceOut implements TraceOutputs {
  readonly #path: string;
  readonly #main: OutputStream;
  readonly #children: ChildTraces;
  readonly #files: ChildFile[] = [];
  /** The children's files with a descriptor open, least recently written first. */
  readonly #open = new Set<ChildFile>();
  #root = -1;
  /** Pids of the children whose records were not written (`none`). */
  readonly dropped: number[] = [];

  /**
   * The outputs of `--trace-out path`, the started process's at `main`;
   * `one`: the run traces one process (`--pid`), written at `path`.
   */
  constructor(path: string, main: OutputStream, one: boolean) {
    this.#path = path;
    this.#main = main;
    this.#children = one ? "main" : regularOrNew(path) ? "files" : "none";
  }

  /**
   * The process started (or attached to), whose records go to FILE: set
   * before its first event. A child may call first (a posix_spawn before
   * the parent's first malloc: review1 #1).
   */
  set root(pid: number) {
    this.#root = pid;
  }

  /**
   * The output of process `pid`'s records (`child`: it began as a fork
   * child). With no {@link root} set (a caller of the sink's own), FILE is
   * the first process's that is not a child.
   */
  of(pid: number, child: boolean): TraceOutput {
    if (
      this.#children === "main" || pid === this.#root ||
      (!child && this.#root < 0)
    ) {
      if (this.#root < 0) this.#root = pid;
      return this.#main;
    }
    if (this.#children === "none") {
      this.dropped.push(pid);
      return { write() {} };
    }
    const f = { pid, out: openNewOutput(`${this.#path}.${pid}`) };
    this.#files.push(f);
    return {
      write: (b) => {
        this.#opened(f);
        f.out.write(b);
      },
    };
  }

  // Child file `f` is written now: the least recently written one past
  // OPEN_CHILD_FILES closes its descriptor until its next write (review1
  // #3: one per child for the whole run; at the limit, EMFILE failed it).
  #opened(f: ChildFile): void {
    if (this.#open.delete(f)) {
      this.#open.add(f);
      return;
    }
    this.#open.add(f);
    if (this.#open.size > OPEN_CHILD_FILES) {
      const [old] = this.#open;
      this.#open.delete(old);
      old.out.suspend();
    }
  }

  /**
   * Puts every file in place; returns the children's (those with records),
   * in the order their processes began. When it throws (FILE made a
   * directory during the run, say: review1 #4), the caller calls
   * {@link abort}, which drops every temporary not yet in place.
   */
  commit(): string[] {
    this.#main.commit();
    for (const f of this.#files) f.out.commit();
    // (A child with no record, only frees of inherited blocks, has none.)
    return this.#files.flatMap((f) => f.out.placed ?? []);
  }

  /** Drops what was written (the temporaries). */
  abort(): void {
    this.#main.abort();
    for (const f of this.#files) f.out.abort();
  }

  /**
   * The line that says where the children's traces went (or that they were
   * not written), or null when the run had no child with calls.
   */
  note(placed: readonly string[]): string | null {
    const n = placed.length + this.dropped.length;
    if (n === 0) return null;
    const what = n === 1
      ? "the trace of 1 child process"
      : `the traces of ${n.toLocaleString("en-US")} child processes`;
    if (this.dropped.length > 0) {
      return `alloctrace: warning: --trace-out ${
        shown(this.#path)
      } is not a regular file: ${what} (${list(this.dropped.map(String))}) ${
        n === 1 ? "was" : "were"
      } not written (a regular file takes each beside it, FILE.PID)`;
    }
    return `alloctrace: --trace-out: ${what} ${n === 1 ? "is" : "are"} beside ${
      shown(this.#path)
    }: ${list(placed.map(shown))}`;
  }
}

/**
 * Checks before the run that the children's files can be made beside
 * `path`, the name as given (a symbolic link's directory, not its
 * target's): where FILE is checked, so is FILE.PID (review1 #7: the run
 * failed at the first child, with its trace and report lost). Nothing
 * to check where FILE is a device or FIFO (no child file is made).
 *
 * @throws {UsageError} saying what is wrong.
 */
export function checkChildFiles(path: string): void {
  if (regularOrNew(path)) {
    checkBeside(
      path,
      "--trace-out",
      "each child's trace goes beside the name given, FILE.PID",
    );
  }
}

/** Whether `path` is a regular file (through links) or no file yet. */
function regularOrNew(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

/** Up to five items, otherwise the first three, "…" and the last. */
function list(items: readonly string[]): string {
  return items.length <= 5
    ? items.join(", ")
    : `${items.slice(0, 3).join(", ")} … ${items.at(-1)}`;
}
