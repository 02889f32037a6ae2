/**
 * Native tracing in a Worker (reference: the tracer owns a thread), with
 * Ctrl-C handled on the main thread: it kills the traced program, whose
 * exit then ends the trace; nothing is left stopped.
 *
 * @module
 */

import type { NativeEvent } from "./tracer.ts";
import type { TraceRequest, TraceSettings } from "./tracer_worker.ts";

/** What a traced run gave. */
export interface TraceResult {
  /** The program's exit code (128 + signal when a signal ended it; 130 after Ctrl-C). */
  code: number;
  /** Its events, in order. */
  events: NativeEvent[];
  /** Whether Ctrl-C (SIGINT) or SIGTERM stopped the run. */
  interrupted: boolean;
  /** Whether the program ran at all (false: the shell could not exec it). */
  started: boolean;
}

/**
 * Traces `argv` on a Worker's thread and resolves with its exit code and
 * events.
 *
 * @throws {Error} what {@link traceNative} throws (ptrace not permitted,
 *   libunwind missing, the program cannot start), with its name kept.
 */
export function traceInWorker(
  argv: string[],
  opts: TraceSettings,
): Promise<TraceResult> {
  const worker = new Worker(new URL("./tracer_worker.ts", import.meta.url), {
    type: "module",
  });
  const events: NativeEvent[] = [];
  let pid = 0;
  let interrupted = false;
  let started = false;
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => {
    interrupted = true;
    if (pid > 0) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const done = () => {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    worker.terminate();
  };
  return new Promise<TraceResult>((resolve, reject) => {
    worker.onmessage = (m) => {
      const d = m.data;
      if (d.exec !== undefined) {
        started = true;
        return;
      }
      if (d.pid !== undefined) {
        pid = d.pid;
        if (interrupted) onSignal();
        return;
      }
      for (const e of d.events) events.push(e);
      if (d.error !== undefined) {
        done();
        const err = new Error(d.error.message);
        err.name = d.error.name;
        reject(err);
      } else if (d.code !== undefined) {
        done();
        resolve({
          code: interrupted ? 130 : d.code,
          events,
          interrupted,
          started,
        });
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      done();
      reject(new Error(`native tracer: ${e.message}`));
    };
    // traceNative applies the defaults.
    const req: TraceRequest = { argv, settings: opts };
    worker.postMessage(req);
  });
}
