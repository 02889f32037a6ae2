/**
 * Native tracing in a Worker (reference: the tracer owns a thread), with
 * Ctrl-C handled on the main thread: it kills the traced program, whose
 * exit then ends the trace (attached: it asks the worker to detach); nothing
 * is left stopped. Events reach the
 * caller batch by batch while the program runs; none are kept here.
 *
 * @module
 */

import { batchOver, type EventBatch } from "./event.ts";
import type {
  TraceRequest,
  TraceSettings,
  WireBatch,
} from "./tracer_worker.ts";

/** What a traced run gave. */
export interface TraceResult {
  /**
   * The program's exit code (128 + signal when a signal ended it); after
   * SIGINT, SIGTERM or SIGHUP stopped the run, 128 + that signal.
   */
  code: number;
  /**
   * The signal that killed the program (0: it exited; attached, it runs
   * on; or Ctrl-C, SIGTERM or SIGHUP stopped the run).
   */
  signal: number;
  /** Whether Ctrl-C (SIGINT), SIGTERM or SIGHUP stopped the run. */
  interrupted: boolean;
  /** Whether the program ran at all (false: the shell could not exec it). */
  started: boolean;
}

/**
 * Traces `argv` on a Worker's thread; `consume` gets each batch of events
 * in order (the next one waits for its promise), and the promise resolves
 * with the exit code once the last batch is consumed. A batch's arrays are
 * shared with the worker, which writes them again after `consume`'s
 * promise resolved: copy what is kept beyond it. SIGINT, SIGTERM and SIGHUP kill
 * the program (attached: detach), except those named in `ignored` (the
 * caller started with them ignored: they stay without effect). `onStart`
 * gets the pid of the process started (or attached to) before any batch.
 *
 * @throws {Error} what {@link traceNative} throws (ptrace not permitted,
 *   libunwind missing, the program cannot start), with its name kept, or
 *   what `consume` throws (a program started is killed then; one attached
 *   to is detached first, and runs on). A program attached to is never
 *   killed.
 */
export function traceInWorker(
  argv: string[],
  opts: TraceSettings,
  consume: (b: EventBatch) => Promise<void> | void,
  durationMs = 0,
  ignored: readonly string[] = [],
  onStart?: (pid: number) => void,
): Promise<TraceResult> {
  const worker = new Worker(new URL("./tracer_worker.ts", import.meta.url), {
    type: "module",
  });
  const consumedBuf = new SharedArrayBuffer(8);
  const consumed = new Int32Array(consumedBuf);
  let pid = 0;
  let interrupted = false;
  // The signal that stopped the run: its number makes the exit code.
  let stoppedBy = 0;
  let started = false;
  const kill = () => {
    if (pid > 0) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  // SIGHUP too (a closed terminal, an ssh session gone): without a listener
  // it killed us outright and left --trace-out's temporary behind. A signal
  // the caller started with ignored stays without effect.
  const signals = ([["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]] as const)
    .filter(([name]) => !ignored.includes(name));
  const listeners = signals.map(([name, n]) =>
    [name, () => {
      stoppedBy ||= n;
      onSignal();
    }] as const
  );
  const onSignal = () => {
    interrupted = true;
    // Attached: detach (the process runs on); started by us: kill it, and
    // the tracer kills the processes it made (traced, they would run on
    // and the trace with them).
    Atomics.store(consumed, 1, opts.attach !== undefined ? 1 : 2);
    Atomics.notify(consumed, 0);
    if (opts.attach === undefined) kill();
  };
  for (const [s, f] of listeners) Deno.addSignalListener(s, f);
  const done = () => {
    for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
    worker.terminate();
  };
  return new Promise<TraceResult>((resolve, reject) => {
    // Batches are consumed one after another, in order.
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      // A program attached to is the user's: whatever failed, it is never
      // killed (review1: a static program, or a full disk mid-trace, killed
      // it). Only one we started goes with us.
      if (opts.attach === undefined) kill();
      done();
      reject(e);
    };
    // Attached, what `consume` threw: the worker is asked to detach (hooks
    // out, every thread let go), the batches it sends meanwhile are let
    // through unread, and this is what the run fails with once it has.
    let consumeError: { e: unknown } | undefined;
    // The columns of each of the worker's shared buffers, made once.
    let views: EventBatch[] = [];
    worker.onmessage = (m) => {
      const d = m.data;
      if (d.slots !== undefined) {
        views = (d.slots as SharedArrayBuffer[]).map(batchOver);
        return;
      }
      if (d.exec !== undefined) {
        started = true;
        return;
      }
      if (d.pid !== undefined) {
        pid = d.pid;
        onStart?.(pid);
        if (interrupted) onSignal();
        return;
      }
      const w: WireBatch = d.batch;
      chain = chain.then(async () => {
        if (failed) return;
        if (
          consumeError === undefined &&
          (w.n > 0 || w.stacks.length > 0 || w.images.length > 0 ||
            w.forks.length > 0 || w.execs.length > 0)
        ) {
          try {
            await consume({
              ...views[w.slot],
              n: w.n,
              stacks: w.stacks,
              images: w.images,
              forks: w.forks,
              execs: w.execs,
            });
          } catch (e) {
            if (opts.attach === undefined) throw e;
            consumeError = { e };
            Atomics.store(consumed, 1, 1);
            Atomics.notify(consumed, 0);
          }
        }
        Atomics.add(consumed, 0, 1);
        Atomics.notify(consumed, 0);
        if (
          consumeError !== undefined &&
          (d.error !== undefined || d.code !== undefined)
        ) {
          fail(consumeError.e);
        } else if (d.error !== undefined) {
          const err = new Error(d.error.message);
          err.name = d.error.name;
          fail(err);
        } else if (d.code !== undefined) {
          done();
          resolve({
            code: interrupted && opts.attach === undefined
              ? 128 + stoppedBy
              : d.code,
            signal: interrupted ? 0 : d.signal ?? 0,
            interrupted,
            started: started || opts.attach !== undefined,
          });
        }
      }).catch(fail);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      fail(new Error(`native tracer: ${e.message}`));
    };
    // traceNative applies the defaults.
    const req: TraceRequest = {
      argv,
      settings: opts,
      consumed: consumedBuf,
      durationMs,
    };
    worker.postMessage(req);
  });
}
