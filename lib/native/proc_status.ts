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
