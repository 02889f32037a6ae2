/**
 * Signals during a synchronous run. A workload runs to its end without
 * returning to the event loop, so a signal listener on the main thread
 * would only run afterwards, and without one SIGINT or SIGTERM kills the
 * process where it stands, leaving `run --trace-out`'s temporary file
 * behind. So while such a file is open, a Worker (its own thread and
 * event loop) listens for SIGINT, SIGTERM and SIGHUP and raises a flag in
 * shared memory; the run looks at the flag between trace chunks and at
 * each GC, and stops with a {@link SignalExit}: the temporary is removed,
 * the old file stays, and the exit code is 128 + the signal's number, as
 * if the signal had killed the process. Once the worker is stopped the
 * signals' default action is back, except for one the process started with
 * ignored, which {@link keepIgnoredSignals} keeps without effect.
 *
 * @module
 */

/** A signal ended the command: exit quietly with {@link SignalExit.code}. */
export class SignalExit extends Error {
  /** The signal's number (2 for SIGINT, 15 for SIGTERM, 1 for SIGHUP). */
  readonly signal: number;
  /** The exit code a shell shows for a process killed by it: 128 + signal. */
  readonly code: number;

  /** An exit for signal number `signal`. */
  constructor(signal: number) {
    super(`stopped by signal ${signal}`);
    this.name = "SignalExit";
    this.signal = signal;
    this.code = 128 + signal;
  }
}

// The worker: plain JavaScript in a data: URL (no file to ship or to
// include in `deno compile`, no read permission needed).
const _WORKER = `
self.onmessage = (e) => {
  const flag = new Int32Array(e.data.flag);
  for (const [name, n, ignored] of e.data.signals) {
    try {
      Deno.addSignalListener(name, ignored ? () => {} : () => Atomics.store(flag, 0, n));
    } catch { /* not on this platform */ }
  }
  self.postMessage("ready");
};`;

/** The signals watched, by name and number. */
const _WATCHED: [string, number][] = [["SIGINT", 2], ["SIGTERM", 15], [
  "SIGHUP",
  1,
]];

/**
 * The signals this process started with ignored (Linux's
 * /proc/self/status `SigIgn` mask: a script's background job ignores
 * SIGINT, `nohup` SIGHUP), which the watch then swallows. (Deno cannot
 * leave one ignored: it catches SIGHUP, SIGINT and SIGTERM alike about
 * half a second into a run, or at its first listener for any signal, and
 * one it catches without a listener ends the process.) Empty where the
 * mask cannot be read.
 */
function _ignoredAtStart(): Set<number> {
  const out = new Set<number>();
  try {
    // Never a permission prompt for it: without read access, watch them all.
    const read = Deno.permissions.querySync({
      name: "read",
      path: "/proc/self/status",
    });
    if (read.state !== "granted") return out;
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(
      Deno.readTextFileSync("/proc/self/status"),
    );
    if (m !== null) {
      const mask = BigInt("0x" + m[1]);
      for (const [, n] of _WATCHED) {
        if ((mask >> BigInt(n - 1)) & 1n) out.add(n);
      }
    }
  } catch {
    // Not Linux, or no read permission: watch them all.
  }
  return out;
}

/** The signals the process started with ignored, read once. */
let _atStart: Set<number> | null = null;

/** {@link _ignoredAtStart}, read at the first call. */
function _ignored(): Set<number> {
  return _atStart ??= _ignoredAtStart();
}

/**
 * Keeps the signals this process started with ignored (SIGINT in a
 * script's background job or after `trap '' INT`, SIGHUP under `nohup`)
 * without effect for the rest of its life. Deno, whatever the signal's
 * start, catches SIGHUP, SIGINT and SIGTERM about half a second into a run
 * and then ends the process with 128 + signal (exit 130 after an ignored
 * SIGINT, once `analyze -` had read its stdin): a listener that does nothing
 * stops that. Call it first thing: once Deno catches them, the start's
 * mask is gone.
 */
export function keepIgnoredSignals(): void {
  for (const name of ignoredAtStart()) {
    try {
      Deno.addSignalListener(name as Deno.Signal, () => {});
    } catch {
      // not on this platform
    }
  }
}

/** The names of the watched signals this process started with ignored. */
export function ignoredAtStart(): string[] {
  const ignored = _ignored();
  return _WATCHED.filter(([, n]) => ignored.has(n)).map(([name]) => name);
}

/** The signals noticed while a {@link watchSignals} watch is on. */
export interface SignalWatch {
  /** The signal that arrived (its number), or 0. */
  pending(): number;
  /** Throws a {@link SignalExit} if a signal arrived. */
  check(): void;
  /** Stops listening: the signals' default action is back. */
  stop(): void;
}

/**
 * Starts listening for SIGINT, SIGTERM and SIGHUP on a worker thread; one
 * the process started with ignored stays without effect. Where no worker
 * can be made, the watch sees nothing and the signals keep their default
 * action.
 */
export async function watchSignals(): Promise<SignalWatch> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const ignored = _ignored();
  let worker: Worker | null = null;
  try {
    worker = new Worker(
      `data:application/javascript,${encodeURIComponent(_WORKER)}`,
      { type: "module" },
    );
    const w = worker;
    await new Promise<void>((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      w.postMessage({
        flag: flag.buffer,
        signals: _WATCHED.map(([name, n]) => [name, n, ignored.has(n)]),
      });
    });
  } catch {
    worker?.terminate();
    worker = null;
  }
  return {
    pending: () => Atomics.load(flag, 0),
    check() {
      const s = Atomics.load(flag, 0);
      if (s !== 0) throw new SignalExit(s);
    },
    stop() {
      worker?.terminate();
      worker = null;
    },
  };
}
