/**
 * Fields of `/proc/…/status`: the process a thread belongs to, and who
 * traces it. Read once per question, never on a hot path.
 *
 * @module
 */

/**
 * A number field of a `/proc/…/status` file: 0 when the file has no such
 * field, `gone` (0 unless given) when the file cannot be read.
 */
export function statusField(path: string, name: string, gone = 0): number {
  try {
    const st = Deno.readTextFileSync(path);
    return Number(new RegExp(`^${name}:\\s*(\\d+)`, "m").exec(st)?.[1] ?? 0);
  } catch {
    return gone;
  }
}

/** The process thread `tid` belongs to (itself when it is gone). */
export function tgidOf(tid: number): number {
  return statusField(`/proc/${tid}/status`, "Tgid") || tid;
}

/**
 * How a running process is named, as `native -- CMD ARGS…` names the one it
 * starts: its executable (`/proc/PID/exe`, a real path: the command line's
 * first word may be relative to a directory that is not ours), then its
 * arguments (`/proc/PID/cmdline`, the first word left out); null when
 * neither can be read (it is gone, or not ours to read).
 */
export function commandOf(pid: number): string[] | null {
  let exe: string | null = null;
  try {
    exe = Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch {
    // a kernel thread, gone, or not ours
  }
  let args: string[] = [];
  try {
    const line = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    args = line === "" ? [] : line.replace(/\0$/, "").split("\0");
  } catch {
    // gone, or not ours
  }
  if (exe === null) return args.length > 0 ? args : null;
  return [exe, ...args.slice(1)];
}
