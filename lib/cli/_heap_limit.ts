/**
 * `run`'s default `--heap-limit`. The simulated heap is held in this
 * process's memory (its words and bitmap, about a byte per heap byte), so a
 * workload within the options' ranges (heapprofile --small 100000000
 * --large 10000000: ~45 GB live) used to grow until the machine killed it.
 * By default the heap may take half of the memory the process may use: the
 * machine's (/proc/meminfo's MemTotal) or its cgroup's limit, the lower;
 * past it the run stops with one line saying so.
 *
 * @module
 */

import { fmtBytes } from "../report/units.ts";

/** A heap limit `run` chose by itself, and why, for the error past it. */
export interface DefaultHeapLimit {
  /** The limit in bytes. */
  bytes: number;
  /** What the error line adds in parentheses. */
  why: string;
}

/** When the memory cannot be read (no --allow-read): a fixed limit. */
const _FALLBACK = 4 * 2 ** 30;

/**
 * Half of the memory this process may use, or 4 GiB when that cannot be
 * read without asking for a permission.
 */
export function defaultHeapLimit(): DefaultHeapLimit {
  const lives = "as the simulated heap lives in this process's memory";
  const how = "--heap-limit BYTES sets another, 0 none";
  const machine = _readable("/proc/meminfo") ? _memTotal() : null;
  if (machine === null) {
    return {
      bytes: _FALLBACK,
      why: `the default --heap-limit, ${
        fmtBytes(_FALLBACK)
      }, ${lives} (how much there is is unknown without --allow-read); ${how}`,
    };
  }
  const cg = _cgroupLimit();
  const [mem, whose] = cg !== null && cg < machine
    ? [cg, `the ${fmtBytes(cg)} this process may use (its cgroup's limit)`]
    : [machine, `this machine's ${fmtBytes(machine)}`];
  return {
    bytes: Math.floor(mem / 2),
    why: `the default --heap-limit: half of ${whose}, ${lives}; ${how}`,
  };
}

function _readable(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state ===
      "granted";
  } catch {
    return false;
  }
}

function _read(path: string): string | null {
  if (!_readable(path)) return null;
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** MemTotal of /proc/meminfo in bytes. */
function _memTotal(): number | null {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(_read("/proc/meminfo") ?? "");
  return m === null ? null : Number(m[1]) * 1024;
}

/**
 * The lowest memory limit of this process's cgroup and its ancestors (v1's
 * memory controller, or v2's), or null when there is none.
 */
function _cgroupLimit(): number | null {
  let low: number | null = null;
  for (const line of (_read("/proc/self/cgroup") ?? "").split("\n")) {
    const [, ctl, path] = line.split(":");
    if (path === undefined) continue;
    const [base, file] = ctl === "memory"
      ? ["/sys/fs/cgroup/memory", "memory.limit_in_bytes"]
      : ctl === ""
      ? ["/sys/fs/cgroup", "memory.max"]
      : [null, ""];
    if (base === null) continue;
    const parts = path.split("/").filter((p) => p !== "");
    for (let n = parts.length; n >= 0; n--) {
      const text = _read(`${base}/${parts.slice(0, n).join("/")}/${file}`);
      // ("max", or v1's "no limit" of nearly 2^63, are no limit.)
      const v = text === null ? NaN : Number(text.trim());
      if (Number.isSafeInteger(v) && v > 0 && (low === null || v < low)) {
        low = v;
      }
    }
  }
  return low;
}
