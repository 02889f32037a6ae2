/**
 * Which file a command runs, or why it cannot run, found as the start-up
 * shell will find it (`sh -c 'exec "$0" "$@"'`): a name with a slash as it
 * is, else each directory of PATH in turn. Asked before the program is started, so that a
 * command that cannot run gets one line of ours, not the shell's as well.
 *
 * @module
 */

import { cstr, errno, loadLibc } from "./ffi.ts";

/** Why a command cannot run, with the exit code a shell gives it. */
export interface NotRunnable {
  /** 127: not found; 126: found, but not runnable. */
  code: 126 | 127;
  /** What is wrong, after the command's name. */
  reason: string;
}

const X_OK = 1;
const EACCES = 13;

/**
 * What execve of `path` would fail with, as far as stat and access(X_OK)
 * can tell ("" when it would start; the kernel's own check, so root's rule
 * of one execute bit, ACLs and noexec mounts count).
 */
function _execError(
  path: string,
): "ENOENT" | "ENOTDIR" | "EISDIR" | "EACCES" | "" {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOTDIR") return "ENOTDIR";
    if (code === "EACCES") return "EACCES";
    // ENOENT, a symlink loop, a name too long: nothing to run there.
    return "ENOENT";
  }
  if (st.isDirectory) return "EISDIR";
  if (!st.isFile) return "EACCES"; // execve refuses a FIFO or a device
  return loadLibc().access(cstr(path), X_OK) === 0 || errno() !== EACCES
    ? ""
    : "EACCES";
}

/**
 * The file `cmd` runs, found as the shell finds it, or why it cannot run;
 * null when only the shell can tell (a bare name with PATH unset). A name
 * with a slash is that file; a bare name is looked for in every directory
 * of `path` (an empty entry is the working directory), and the first one
 * that runs is the one the shell runs.
 *
 * @example
 * ```ts
 * import { findCommand } from "./runnable.ts";
 * const found = findCommand("sh", "/usr/bin:/bin");
 * console.log(found !== null && "file" in found ? found.file : found);
 * ```
 */
export function findCommand(
  cmd: string,
  path: string | undefined,
): { file: string } | NotRunnable | null {
  if (cmd.includes("/")) {
    switch (_execError(cmd)) {
      case "":
        return { file: cmd };
      case "ENOENT":
        return { code: 127, reason: "no such file" };
      case "ENOTDIR":
        return { code: 127, reason: "a directory of its path is a file" };
      case "EISDIR":
        return { code: 126, reason: "it is a directory" };
      case "EACCES":
        return { code: 126, reason: "permission denied (not executable here)" };
    }
  }
  if (path === undefined) return null; // the shell's own default PATH
  // As the shell does: the first file that runs wins; one that is there
  // but cannot run makes it 126, not 127, if no other runs.
  let denied = false;
  for (const dir of path.split(":")) {
    const file = `${dir === "" ? "." : dir}/${cmd}`;
    const e = _execError(file);
    if (e === "") return { file };
    if (e === "EACCES" || e === "EISDIR") denied = true;
  }
  return denied
    ? {
      code: 126,
      reason:
        "permission denied (found in PATH, but not an executable file there)",
    }
    : { code: 127, reason: "not found in any directory of PATH" };
}
