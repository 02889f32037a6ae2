/**
 * `run`'s default `--heap-limit`. The simulated heap is held in this
 * process's memory, and costs it more than a byte a heap byte: its words
 * and bitmap, and the workload's own JS objects beside them (measured: peak
 * RSS 2.4x the peak heap for heapprofile, 5.3x for binarytrees). A workload
 * within the options' ranges (heapprofile --small 100000000 --large
 * 10000000: ~45 GB live) used to grow until the machine killed it. By
 * default two limits hold, against the memory the process may use (the
 * machine's, /proc/meminfo's MemTotal, or its cgroup's limit, the lower;
 * Deno 2.9 reads /proc and /sys only under --allow-all, so without it the
 * machine's from `Deno.systemMemoryInfo()` and no cgroup's):
 * the heap may take half of it, at most 4 GiB, the most the simulator
 * holds (a single huge allocation is refused at once), and {@link watchMemory} stops the run when the process's RSS
 * passes 80% of it, before the OS kills it. Past either the run stops with
 * one line saying so. An explicit `--heap-limit` replaces both.
 *
 * @module
 */

import { fmtBytes } from "../report/units.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { OutOfMemoryError, SIM_ARENA_MAX_BYTES } from "../runtime/mheap.ts";

/** A heap limit `run` chose by itself, and why, for the error past it. */
export interface DefaultHeapLimit {
  /** The limit in bytes. */
  bytes: number;
  /** What the error line adds in parentheses. */
  why: string;
  /**
   * The memory the process may use, and whose it is; null when it cannot
   * be read (Deno 2.9 reads /proc only under --allow-all; without it and
   * without --allow-sys=systemMemoryInfo).
   */
  memory: { bytes: number; whose: string } | null;
}

/** When the memory cannot be read (see {@link DefaultHeapLimit.memory}): a fixed limit. */
const _FALLBACK = 4 * 2 ** 30;

/**
 * Half of the memory this process may use, at most 4 GiB (the most the
 * simulator holds), or 4 GiB when that cannot be read without asking for a
 * permission.
 */
export function defaultHeapLimit(): DefaultHeapLimit {
  const lives = "as the simulated heap lives in this process's memory";
  const how = "--heap-limit BYTES sets another, 0 none";
  const machine = _memTotal();
  if (machine === null) {
    return {
      bytes: _FALLBACK,
      why: `the default --heap-limit, ${
        fmtBytes(_FALLBACK)
      }, ${lives} (how much there is is unknown without --allow-sys=systemMemoryInfo, or -A for a cgroup's limit); ${how}`,
      memory: null,
    };
  }
  const cg = _cgroupLimit();
  const [mem, whose] = cg !== null && cg < machine
    ? [cg, `the ${fmtBytes(cg)} this process may use (its cgroup's limit)`]
    : [machine, `this machine's ${fmtBytes(machine)}`];
  // The simulator holds at most 4 GiB of heap (SIM_ARENA_MAX_BYTES).
  if (mem / 2 > SIM_ARENA_MAX_BYTES) {
    return {
      bytes: SIM_ARENA_MAX_BYTES,
      why: `the default --heap-limit, ${
        fmtBytes(SIM_ARENA_MAX_BYTES)
      }, the most the simulator holds, as half of ${whose} is more; ${how}`,
      memory: { bytes: mem, whose },
    };
  }
  return {
    bytes: Math.floor(mem / 2),
    why: `the default --heap-limit: half of ${whose}, ${lives}; ${how}`,
    memory: { bytes: mem, whose },
  };
}

/** The share of the memory the process may use past which it stops. */
const _RSS_SHARE = 0.8;

/** About how many bytes are allocated between two looks at the RSS. */
const _LOOK_EVERY = 4 * 2 ** 20;

/**
 * Stops `rt`'s run when this process's RSS passes 80% of `limit.memory`:
 * the heap limit alone would let a heap growing under it take the process
 * past the memory it may use (the RSS is several bytes a heap byte). It
 * looks at each GC phase and, between cycles (`--gogc off` has none), at
 * the sampled allocations of the heap profile, every ~4 MB allocated (with
 * `--memprofilerate 0` and no GC it has nothing to look at). Past the
 * share it throws an {@link OutOfMemoryError}, whose message is one line.
 */
export function watchMemory(rt: Runtime, limit: DefaultHeapLimit): void {
  if (limit.memory === null) return;
  const { bytes: mem, whose } = limit.memory;
  const look = () => {
    const rss = Deno.memoryUsage().rss;
    if (rss <= mem * _RSS_SHARE) return;
    const heap = rt.heap.heapInuse;
    throw new OutOfMemoryError(
      `out of memory: this process holds ${fmtBytes(rss)} of memory, past ${
        _RSS_SHARE * 100
      }% of ${whose}, with a heap of ${
        fmtBytes(heap)
      }, as the simulated heap lives in this process's memory; --heap-limit BYTES sets a heap limit instead, 0 none`,
      0,
      heap,
    );
  };
  // (A sample stands for about memProfileRate bytes allocated.)
  let since = 0;
  rt.events.subscribe({
    gc: look,
    profileAlloc: (_addr, size) => {
      since += Math.max(size, rt.memProfileRate);
      if (since < _LOOK_EVERY) return;
      since = 0;
      look();
    },
  });
}

/**
 * The heap limit as `run --json` gives it: its bytes (0: none), whether run
 * chose it, the memory it was chosen from (null when unknown or given) and
 * the RSS past which the run stops (null when not watched).
 */
export function heapLimitJson(
  bytes: number,
  chosen: DefaultHeapLimit | null,
): {
  bytes: number;
  chosen: boolean;
  memory: number | null;
  rssStop: number | null;
} {
  const memory = chosen?.memory?.bytes ?? null;
  return {
    bytes,
    chosen: chosen !== null,
    memory,
    rssStop: memory === null ? null : Math.floor(memory * _RSS_SHARE),
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

/**
 * The machine's memory in bytes: /proc/meminfo's MemTotal, which Deno 2.9
 * reads only under --allow-all (--allow-read is not enough for /proc or
 * /sys), else `Deno.systemMemoryInfo()`'s total (the same figure), which
 * needs --allow-sys=systemMemoryInfo; null without either. Permissions are
 * queried first: on a terminal a read without them would prompt.
 */
function _memTotal(): number | null {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(_read("/proc/meminfo") ?? "");
  if (m !== null) return Number(m[1]) * 1024;
  try {
    const q = Deno.permissions.querySync({
      name: "sys",
      kind: "systemMemoryInfo",
    });
    return q.state === "granted" ? Deno.systemMemoryInfo().total : null;
  } catch {
    return null;
  }
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
