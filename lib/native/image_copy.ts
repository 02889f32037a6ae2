/**
 * Readable copies of the images a process runs from memory or from a
 * deleted file: a program started by `fexecve` of a memfd maps
 * `/memfd:img (deleted)`, a path nobody can open, so its frames had neither
 * unwind tables nor names (`memfd:img (deleted)+0x11c8`). While the process
 * lives, the image is still reachable through `/proc/PID/map_files/` (with
 * CAP_SYS_ADMIN) or, for the program itself, `/proc/PID/exe`; a copy in a
 * private temporary directory then stands in for the path, for the
 * unwinder (in the tracer's worker) and for `addr2line` after the run. The
 * copies go with {@link removeImageCopies} (the worker has no exit event:
 * the main thread removes every directory this process made).
 *
 * @module
 */

/** Whether a mapping's path names no file that can be opened. */
export function isUnreadableImage(path: string): boolean {
  return path.startsWith("/memfd:") || path.endsWith(" (deleted)");
}

/**
 * Copies by the image's identity (`dev:ino:size:mtime`): one per image, not
 * per process; the size and time keep a reused inode from hitting an older
 * image's copy.
 */
const _copies = new Map<string, string | null>();
let _dir: string | null = null;

const _prefix = () => `alloctrace-images-${Deno.pid}-`;

/**
 * The directory the copies' directories are made in, and scanned for
 * removal: chosen here for both, so they agree (`makeTempDirSync` alone
 * follows TMPDIR even without env permission, where the scan could not).
 */
function _tmpRoot(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return "/tmp";
  }
}

/**
 * The path of a readable copy of the image `path` mapped at [start, end)
 * in process `pid`, or null when it cannot be read.
 *
 * @example
 * ```ts
 * import { imageCopy } from "./image_copy.ts";
 * // No process 0: nothing to copy.
 * if (imageCopy(0, 0x1000, 0x2000, "/memfd:x (deleted)") !== null) throw new Error();
 * ```
 */
export function imageCopy(
  pid: number,
  start: number,
  end: number,
  path: string,
): string | null {
  const sources = [
    `/proc/${pid}/map_files/${start.toString(16)}-${end.toString(16)}`,
  ];
  try {
    if (Deno.readLinkSync(`/proc/${pid}/exe`) === path) {
      sources.push(`/proc/${pid}/exe`);
    }
  } catch {
    // gone, or not ours to read
  }
  for (const src of sources) {
    let key: string;
    let bytes: Uint8Array;
    try {
      const st = Deno.statSync(src);
      key = `${st.dev}:${st.ino}:${st.size}:${st.mtime?.getTime()}`;
      if (_copies.has(key)) return _copies.get(key)!;
      bytes = Deno.readFileSync(src);
    } catch {
      continue; // no CAP_SYS_ADMIN for map_files, or the process is gone
    }
    let copy: string | null = null;
    try {
      _dir ??= Deno.makeTempDirSync({ dir: _tmpRoot(), prefix: _prefix() });
      // (The name as the map shows it, less " (deleted)" and the slash.)
      copy = `${_dir}/${_copies.size}-${
        path.replace(/ \(deleted\)$/, "").split("/").pop()
      }`;
      Deno.writeFileSync(copy, bytes, { createNew: true, mode: 0o600 });
    } catch {
      copy = null;
    }
    _copies.set(key, copy);
    return copy;
  }
  return null;
}

/**
 * Removes the copies this process made (every thread's: they share the
 * process id the directories are named after).
 */
export function removeImageCopies(): void {
  _copies.clear();
  // This thread's own directory by its path (whatever the scan below sees).
  if (_dir !== null) {
    try {
      Deno.removeSync(_dir, { recursive: true });
    } catch {
      // gone
    }
    _dir = null;
  }
  // Other threads' (the tracer's worker), in the same root.
  const tmp = _tmpRoot();
  try {
    for (const e of Deno.readDirSync(tmp)) {
      if (!e.isDirectory || !e.name.startsWith(_prefix())) continue;
      try {
        Deno.removeSync(`${tmp}/${e.name}`, { recursive: true });
      } catch {
        // another's, or gone
      }
    }
  } catch {
    // no temporary directory to read
  }
}

// A trace run in this thread (the tests, the library) leaves none either.
globalThis.addEventListener("unload", removeImageCopies);
