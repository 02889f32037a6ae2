/**
 * Writing output files so that a failure never leaves a half-written file
 * and a hostile directory cannot turn a write into the truncation of some
 * other file:
 *
 * - a regular file (or a missing path) is written to a temporary file made
 *   with `O_CREAT|O_EXCL` (so a planted symlink or file at its name makes
 *   the open fail instead of being followed) under an unpredictable name in
 *   the same directory, then renamed over the target;
 * - anything else (a device such as `/dev/null`, a FIFO, `-` or
 *   `/dev/stdout`) is written directly: a rename would replace the node;
 * - a symbolic link is followed to the file it names, which is replaced as
 *   above (the link stays); a link to nothing is refused.
 *
 * Checks made before any work: no empty path, the directory exists and
 * takes a new file, no output is an input, no two outputs are one file.
 *
 * @module
 */

import {
  envVar,
  notUtf8,
  osReason,
  shown,
  StdoutWriteError,
  UsageError,
} from "./_usage.ts";
// The writers load only when their output is asked for (below): together
// they took ~17 ms of every start, `analyze --json`'s included.
import type { HeapSample } from "../profile/proto.ts";
import type { HeapSampleType } from "../profile/sample_types.ts";
import type { ReportInput } from "../report/html.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { heapSamples } from "../profile/heap.ts";

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** Whether `path` names this process's stdout. */
function isStdout(path: string): boolean {
  return path === "-" || path === "/dev/stdout" || path === "/dev/fd/1" ||
    path === "/proc/self/fd/1";
}

/**
 * Whether writing `path` writes this process's stdout: `-`, its device
 * names, or the file (or pipe) stdout is, when it may be read. (A
 * character device is not counted by identity: /dev/null as an output
 * while stdout is /dev/null mixes nothing.)
 */
export function onStdout(path: string): boolean {
  if (isStdout(path)) return true;
  // (statOrNull asks for the permission first: on a terminal Deno would
  // prompt; not granted, it is null.)
  const out = statOrNull("/dev/stdout");
  if (out === null || out.isCharDevice || out.ino === null) return false;
  const info = statOrNull(path);
  return info !== null && info.dev === out.dev && info.ino === out.ino;
}

/**
 * Throws Deno's NotCapable when reading `path` is not granted: asked first,
 * since on a terminal Deno would prompt instead (checkOutputPath turns it
 * into one line).
 */
function _mayRead(path: string): void {
  if (!_readGranted(path)) {
    throw new Deno.errors.NotCapable(`read access to ${path} is not granted`);
  }
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  _mayRead(path);
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** A name no other process can guess, for the exclusive temporary file. */
function tempName(target: string): string {
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const base = target.slice(target.lastIndexOf("/") + 1);
  return `${dirOf(target)}/.${base}.${rand}.tmp`;
}

/**
 * Where the bytes for `path` go: `stdout`, `direct` (a device, FIFO or
 * socket, opened for writing as it is) or `replace` (a regular file or a
 * missing path, at `target` after following symbolic links).
 */
function resolveOutput(
  path: string,
): { how: "stdout" | "direct" | "replace"; target: string; mode?: number } {
  if (isStdout(path)) return { how: "stdout", target: path };
  let info = lstatOrNull(path);
  let target = path;
  if (info?.isSymlink) {
    try {
      target = Deno.realPathSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `${
            shown(path)
          } is a symbolic link to a missing file: refusing to follow it`,
        );
      }
      throw e;
    }
    _mayRead(target);
    info = Deno.statSync(target);
  }
  if (info?.isDirectory) throw new Error(`${shown(path)} is a directory`);
  if (info !== null && !info.isFile) return { how: "direct", target: path };
  return {
    how: "replace",
    target,
    mode: info?.mode == null ? undefined : info.mode & 0o7777,
  };
}

/**
 * Writes `text` and a newline to stdout, the bytes `console.log(text)`
 * writes, without console.log's path (for `analyze --json`'s summary of a
 * real trace, ~850 kB: ~2,700 page faults and ~6 ms of CPU through
 * console.log, ~800 and ~3 ms here). A closed pipe throws as console.log's
 * does; another failure throws a {@link StdoutWriteError}.
 */
export function printLine(text: string): void {
  try {
    writeAll(Deno.stdout, new TextEncoder().encode(`${text}\n`));
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) throw e;
    throw new StdoutWriteError(e);
  }
}

function writeAll(w: { writeSync(p: Uint8Array): number }, b: Uint8Array) {
  let bytes = b;
  while (bytes.length > 0) bytes = bytes.subarray(w.writeSync(bytes));
}

function writeError(path: string, e: unknown): Error {
  // A closed pipe is the reader's choice: main exits quietly on it.
  if (e instanceof Deno.errors.BrokenPipe) return e;
  if (e instanceof Deno.errors.NotCapable) {
    return new Error(
      `cannot write ${
        shown(path)
      }: permission missing (run with --allow-write=${shown(dirOf(path))})`,
    );
  }
  return new Error(`cannot write ${shown(path)}: ${osReason(e)}`);
}

/**
 * An output being written: bytes go out with `write`, `commit` puts the
 * file in place (renames the temporary), `abort` removes the temporary.
 */
export interface OutputStream {
  /** Writes all of `bytes`; throws an error that names the file. */
  write(bytes: Uint8Array): void;
  /** Finishes the file: the target now holds everything written. */
  commit(): void;
  /** Drops what was written to a temporary; a direct target keeps it. */
  abort(): void;
}

/**
 * Opens `path` for writing, safely (see the module notes): nothing at
 * `path` changes until `commit`.
 *
 * @throws {Error} naming `path` when it cannot be opened.
 */
export function openOutput(path: string): OutputStream {
  let r: ReturnType<typeof resolveOutput>;
  try {
    r = resolveOutput(path);
  } catch (e) {
    throw e instanceof Error && e.message.startsWith(shown(path))
      ? e
      : writeError(path, e);
  }
  if (r.how === "stdout") {
    return {
      write: (b) => {
        try {
          writeAll(Deno.stdout, b);
        } catch (e) {
          throw writeError(path, e);
        }
      },
      commit() {},
      abort() {},
    };
  }
  const tmp = r.how === "replace" ? tempName(r.target) : null;
  let file: Deno.FsFile;
  try {
    file = tmp === null
      ? Deno.openSync(r.target, { write: true })
      // createNew is O_CREAT|O_EXCL: a symlink or file planted at the name
      // makes this fail rather than being followed or truncated.
      : _createTemp(tmp, r.mode);
  } catch (e) {
    throw writeError(path, e);
  }
  // (Never opened again: it is written until the commit closes it.)
  const w = fileWriter(path, file, () => file);
  return {
    write: w.write,
    commit() {
      if (w.failed !== null) {
        this.abort();
        throw w.failed;
      }
      try {
        w.close();
        if (tmp !== null) Deno.renameSync(tmp, r.target);
      } catch (e) {
        this.abort();
        throw writeError(path, e);
      }
    },
    abort() {
      try {
        w.close();
      } catch { /* already failed */ }
      if (tmp !== null) {
        try {
          Deno.removeSync(tmp);
        } catch { /* gone already */ }
      }
    },
  };
}

/**
 * Writes to a file, `first` or, at the first write after none or a
 * suspend, the one `open` gives; `failed`: the first failed write's (or
 * suspend's) error, which every later write throws (the file is incomplete
 * then: it must not be committed). The writing half of both outputs.
 */
function fileWriter(
  path: string,
  first: Deno.FsFile | null,
  open: () => Deno.FsFile,
) {
  let file = first;
  let failed: Error | null = null;
  const close = () => {
    if (file !== null) {
      const f = file;
      file = null;
      f.close();
    }
  };
  return {
    get failed(): Error | null {
      return failed;
    },
    write(b: Uint8Array): void {
      if (failed !== null) throw failed;
      try {
        writeAll(file ??= open(), b);
      } catch (e) {
        throw failed = writeError(path, e);
      }
    },
    close,
    suspend(): void {
      if (failed !== null) return;
      try {
        close();
      } catch (e) {
        failed = writeError(path, e);
      }
    },
  };
}

/** An output at a name alloctrace chose (see {@link openNewOutput}). */
export interface NewOutputStream extends OutputStream {
  /**
   * Where `commit` put the file (null before, when it failed, or when
   * nothing was written: no file is made then).
   */
  readonly placed: string | null;
  /**
   * Closes the file's descriptor until the next write, which opens the
   * temporary again (for append, checked by device and inode to be the
   * file made): a forking server's children hold no descriptor each.
   */
  suspend(): void;
}

/**
 * Opens a new file at `path` that never replaces one: for a name alloctrace
 * chose, not one the user gave (native's trace of a fork child, NAME.PID).
 * Written to an exclusive temporary beside it; `commit` links that into
 * place, which, unlike a rename, fails where the name is taken (by a file
 * there before the run or made since): the file then goes to `path.1`,
 * `path.2` …, and `placed` says where it went. The temporary is made at
 * the first write (errors name `path` then); with nothing written, no file.
 */
export function openNewOutput(path: string): NewOutputStream {
  const tmp = tempName(path);
  // Made at the first write: a file with nothing in it is never made
  // (review1 #6: an empty FILE.PID, which analyze rejects).
  let made: Deno.FileInfo | null = null;
  let placed: string | null = null;
  // The temporary (made at the first write); after a suspend, opened
  // again: never a file put at its name.
  const w = fileWriter(path, null, (): Deno.FsFile => {
    if (made === null) {
      const f = _createTemp(tmp, undefined);
      made = f.statSync();
      return f;
    }
    const f = Deno.openSync(tmp, { append: true });
    const st = f.statSync();
    if (st.dev !== made.dev || st.ino !== made.ino) {
      f.close();
      throw new Error(
        `its temporary ${shown(tmp)} was replaced during the run`,
      );
    }
    return f;
  });
  const drop = () => {
    try {
      Deno.removeSync(tmp);
    } catch { /* gone already */ }
  };
  return {
    get placed() {
      return placed;
    },
    suspend: w.suspend,
    write: w.write,
    commit() {
      if (w.failed !== null) {
        this.abort();
        throw w.failed;
      }
      if (made === null) return; // nothing written: no file
      try {
        w.close();
        for (let n = 0; placed === null; n++) {
          const name = n === 0 ? path : `${path}.${n}`;
          try {
            Deno.linkSync(tmp, name);
            placed = name;
          } catch (e) {
            if (e instanceof Deno.errors.AlreadyExists) continue;
            // A file system without hard links: renamed where the name is
            // free (a file made between the look and the rename is lost).
            if (lstatOrNull(name) !== null) continue;
            Deno.renameSync(tmp, name);
            placed = name;
          }
        }
      } catch (e) {
        this.abort();
        throw writeError(placed ?? path, e);
      }
      drop();
    },
    abort() {
      try {
        w.close();
      } catch { /* already failed */ }
      drop();
    },
  };
}

/**
 * Creates the temporary `tmp` (O_CREAT|O_EXCL) with the replaced file's
 * `mode` whatever the umask: open() masks its mode with it (under umask 077
 * a 0664 file's replacement was 0600), so bits it took are put back.
 */
function _createTemp(tmp: string, mode: number | undefined): Deno.FsFile {
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode });
  try {
    const st = file.statSync();
    if (mode !== undefined && (st.mode! & 0o7777) !== mode) {
      // By name (Deno has no fchmod), once lstat shows the name is still the
      // file just made, not a link put in its place.
      const at = Deno.lstatSync(tmp);
      if (at.isFile && at.ino === st.ino && at.dev === st.dev) {
        Deno.chmodSync(tmp, mode);
      }
    }
  } catch (e) {
    file.close();
    try {
      Deno.removeSync(tmp);
    } catch { /* gone already */ }
    throw e;
  }
  return file;
}

/** Writes `data` to `path` whole, or not at all (see {@link openOutput}). */
export function writeOutput(
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const out = openOutput(path);
  try {
    out.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
    out.commit();
  } catch (e) {
    out.abort();
    return Promise.reject(e);
  }
  return Promise.resolve();
}

function statOrNull(path: string): Deno.FileInfo | null {
  // (Not granted: as if there were nothing to see, and no prompt.)
  if (!_readGranted(path)) return null;
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/**
 * Checks up front that `path` can be written, so a long run does not fail
 * at its end: not empty, not a directory, its directory exists and takes
 * a new file (tried with an exclusive temporary that is removed at once).
 *
 * @throws {UsageError} saying what is wrong.
 */
export function checkOutputPath(path: string, option: string): void {
  if (path === "") {
    throw new UsageError(`${option} needs a file name, got an empty one`);
  }
  if (isStdout(path)) return;
  // (One whose name holds U+FFFD itself is there: it is written.)
  if (notUtf8(path) && statOrNull(path) === null) {
    throw new UsageError(
      `${option} ${
        shown(path)
      }: the name holds U+FFFD, which a name that is not UTF-8 becomes on its way to Deno: another file would be written; give a UTF-8 name`,
    );
  }
  let r: ReturnType<typeof resolveOutput>;
  try {
    r = resolveOutput(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `${option} ${shown(path)}: permission to read ${
          shown(dirOf(path))
        } is missing (run with --allow-read=${shown(dirOf(path))})`,
      );
    }
    throw new UsageError(
      e instanceof Error && e.message.startsWith(shown(path))
        ? `${option} ${e.message}`
        : `${option} ${shown(path)}: ${osReason(e)}`,
    );
  }
  if (r.how !== "replace") return;
  // A file no one may write (chmod a-w) is one its owner means to keep:
  // renaming over it would bypass that, as the shell's `>` never does.
  const mode = statOrNull(r.target)?.mode ?? null;
  if (mode !== null && (mode & 0o222) === 0) {
    throw new UsageError(
      `${option} ${shown(path)} is read-only (mode 0${
        (mode & 0o777).toString(8).padStart(3, "0")
      }): make it writable or choose another file`,
    );
  }
  const dir = dirOf(r.target);
  let info: Deno.FileInfo;
  try {
    _mayRead(dir);
    info = Deno.statSync(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `${option} ${shown(path)}: directory ${shown(dir)} does not exist`,
      );
    }
    if (e instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `${option} ${shown(path)}: permission to read ${
          shown(dir)
        } is missing (run with --allow-read=${shown(dir)})`,
      );
    }
    throw new UsageError(`${option} ${shown(path)}: ${osReason(e)}`);
  }
  if (!info.isDirectory) {
    throw new UsageError(
      `${option} ${shown(path)}: ${shown(dir)} is not a directory`,
    );
  }
  probeDir(path, option, r.target, "");
}

/**
 * Checks up front that the directory of `path` as given (a symbolic
 * link's, not its target's) takes a new file: native puts each child's
 * trace there, beside FILE (FILE.PID).
 *
 * @throws {UsageError} saying what is wrong.
 */
export function checkBeside(path: string, option: string, what: string): void {
  probeDir(path, option, path, ` (${what})`);
}

// Whether the directory of `target` takes a new file (an exclusive
// temporary, removed at once); `why`: what goes there, for the message.
function probeDir(
  path: string,
  option: string,
  target: string,
  why: string,
): void {
  const dir = dirOf(target);
  const probe = tempName(target);
  try {
    Deno.openSync(probe, { write: true, createNew: true }).close();
    Deno.removeSync(probe);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `${option} ${shown(path)}: permission to write in ${
          shown(dir)
        } is missing (run with --allow-write=${shown(dir)})`,
      );
    }
    throw new UsageError(
      `${option} ${shown(path)}: cannot create a file in ${shown(dir)}${why}: ${
        osReason(e)
      }`,
    );
  }
}

/** The file `path` names, as `dev:ino`, or null when there is none to see. */
function fileId(path: string): string | null {
  const info = statOrNull(path === "-" ? "/dev/stdin" : path);
  return info === null || info.ino === null ? null : `${info.dev}:${info.ino}`;
}

/**
 * The outputs a command was asked for, checked before any input is read
 * (see {@link checkOutputPath}; besides, no output may be one of `inputs`
 * and no two outputs may be one file), then written one by one: a failed
 * write does not stop the others, and {@link Outputs.finish} reports the
 * failures in one line.
 *
 * @example
 * ```ts
 * import { Outputs } from "./_output.ts";
 * const outs = Outputs.check({ "--html": undefined }, []);
 * if (outs.has("--html")) throw new Error("not asked for");
 * outs.finish();
 * ```
 */
export class Outputs {
  /** Outputs written, `[option, path]`, in order. */
  readonly written: [string, string][] = [];
  /** One message per output that could not be written. */
  readonly failures: string[] = [];
  private constructor(private readonly paths: Map<string, string>) {}

  /**
   * Checks the requested outputs (`option → path`, undefined when not
   * asked for) against each other and the `inputs`; with `json`, the
   * command's `--json` goes to stdout, which no output may then take.
   *
   * @throws {UsageError} for the first problem found.
   */
  static check(
    requested: Record<string, string | undefined>,
    inputs: string[],
    json = false,
  ): Outputs {
    const paths = new Map<string, string>();
    const seen = new Map<string, string>();
    const inputIds = new Map<string, string>();
    for (const input of inputs) {
      const id = fileId(input);
      if (id !== null) inputIds.set(id, input);
    }
    for (const [option, path] of Object.entries(requested)) {
      if (path === undefined) continue;
      // The input first: a read-only input is still named as the input,
      // which says more than its mode does.
      const id = fileId(isStdout(path) ? "/dev/stdout" : path);
      if (id !== null && inputIds.has(id)) {
        throw new UsageError(
          `${option} ${shown(path)} is the input ${
            inputIds.get(id) === "-" ? "(stdin)" : shown(inputIds.get(id)!)
          }: writing it would destroy it; choose another file`,
        );
      }
      checkOutputPath(path, option);
      if (json && onStdout(path)) {
        throw new UsageError(
          `--json and ${option} ${
            shown(path)
          } both write stdout: give ${option} a file`,
        );
      }
      const info = isStdout(path)
        ? statOrNull("/dev/stdout")
        : statOrNull(path);
      // Two outputs into one terminal or /dev/null harm nothing.
      if (info?.isCharDevice !== true) {
        const key = id ?? realDir(path);
        const other = seen.get(key);
        if (other !== undefined) {
          throw new UsageError(
            `${other} and ${option} name one file (${
              shown(path)
            }): give each output its own`,
          );
        }
        seen.set(key, option);
      }
      paths.set(option, path);
    }
    return new Outputs(paths);
  }

  /** Whether `option` was asked for. */
  has(option: string): boolean {
    return this.paths.has(option);
  }

  /** The path of `option`, if asked for. */
  path(option: string): string | undefined {
    return this.paths.get(option);
  }

  /** Whether some output goes to stdout (then the summary should not). */
  get toStdout(): boolean {
    return [...this.paths.values()].some(isStdout);
  }

  /**
   * Writes `option`'s output if it was asked for; `make` builds the bytes.
   * A failure is recorded (a closed pipe is thrown: nothing more can go out).
   */
  async write(
    option: string,
    make: () => Uint8Array | string | Promise<Uint8Array | string>,
  ): Promise<void> {
    const path = this.paths.get(option);
    if (path === undefined) return;
    try {
      await writeOutput(path, await make());
      this.written.push([option, path]);
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) throw e;
      this.failures.push((e as Error).message.split("\n")[0]);
    }
  }

  /** Throws one error naming every output that failed, if any did. */
  finish(): void {
    if (this.failures.length > 0) throw new Error(this.failures.join("; "));
  }
}

/** `path` with its directory resolved, for telling two missing files apart. */
function realDir(path: string): string {
  const dir = dirOf(path);
  let real = dir;
  try {
    real = Deno.realPathSync(dir);
  } catch { /* checked already: keep the spelling */ }
  return `${real}/${path.slice(path.lastIndexOf("/") + 1)}`;
}

/** ANSI colours on stdout: only on a terminal, and not with NO_COLOR. */
export function stdoutColor(): boolean {
  // (No --allow-env for NO_COLOR: as if unset.)
  return Deno.stdout.isTerminal() && envVar("NO_COLOR") === undefined;
}

/**
 * Writes the outputs of a trace analysis that were asked for: `pprof`
 * (gzipped profile.proto of `samples` at MemProfileRate `rate`), `folded`
 * (stacks by `type`) and `html` (the report of `report()`). Every output is
 * tried; the failures are thrown together at the end.
 */
export async function writeAnalysisOutputs(
  paths: { pprof?: string; folded?: string; html?: string } | Outputs,
  samples: HeapSample[],
  opts: {
    rate: number;
    type: HeapSampleType;
    report: () => Omit<ReportInput, "samples">;
    /** Samples for `--folded` when they differ (frames labelled by site key); default `samples`. */
    folded?: HeapSample[];
    /**
     * What the profile was made from (the trace, the program), as its
     * mapping's file: `go tool pprof` shows it on its `File:` line.
     */
    mappingFile: string;
  },
): Promise<void> {
  const outs = paths instanceof Outputs ? paths : Outputs.check({
    "--html": paths.html,
    "--pprof": paths.pprof,
    "--folded": paths.folded,
  }, []);
  await outs.write("--html", async () => {
    const { renderReport } = await import("../report/html.ts");
    return renderReport({ ...opts.report(), samples });
  });
  await outs.write("--pprof", async () => {
    const [{ gzip }, { encodeHeapProfile }] = await Promise.all([
      import("../profile/gzip.ts"),
      import("../profile/proto.ts"),
    ]);
    return gzip(
      encodeHeapProfile(samples, null, {
        rate: opts.rate,
        mappingFile: opts.mappingFile,
      }),
    );
  });
  await outs.write("--folded", async () => {
    const { folded } = await import("../profile/folded.ts");
    return folded(opts.folded ?? samples, opts.type);
  });
  if (!(paths instanceof Outputs)) outs.finish();
}

/**
 * Writes the simulated runtime's heap profile outputs that were asked for
 * (`run`, `replay`): `--memprofile` (gzipped profile.proto, the mapping
 * named `mappingFile`), `--memprofile-text` (debug=1) and `--folded`
 * (stacks by `type`), from `profile`, the runtime's `heapSamples`.
 */
export async function writeProfileOutputs(
  outs: Outputs,
  rt: Runtime,
  profile: ReturnType<typeof heapSamples>,
  opts: { mappingFile: string; type: HeapSampleType },
): Promise<void> {
  await outs.write("--memprofile", async () => {
    const { heapProfileProto } = await import("../profile/heap.ts");
    return heapProfileProto(rt, {
      mappingFile: opts.mappingFile,
      samples: profile,
    });
  });
  await outs.write("--memprofile-text", async () => {
    const { writeHeapProfileText } = await import("../profile/text.ts");
    return writeHeapProfileText(rt);
  });
  await outs.write("--folded", async () => {
    const { folded } = await import("../profile/folded.ts");
    return folded(profile.samples, opts.type);
  });
}

// Whether reading `path` is granted, asked without a prompt.
function _readGranted(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state ===
    "granted";
}
