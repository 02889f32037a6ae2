/**
 * The Worker that runs {@link traceNative}: every ptrace, waitpid and
 * libunwind call happens synchronously on this worker's own OS thread
 * (ptrace requests must come from the thread that seized the tracee), so
 * the main thread stays free for signals. Events go to the main thread in
 * batches.
 *
 * Messages in: one {@link TraceRequest}. Messages out: `{ pid }` once the
 * start-up shell runs, `{ exec }` once it runs the program, `{ events }`
 * batches, then `{ code }` or `{ error }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { type NativeEvent, type NativeOptions, traceNative } from "./tracer.ts";

/** The options of a trace that can cross to a worker (no callbacks). */
export type TraceSettings = Omit<
  NativeOptions,
  "onEvent" | "onStart" | "onExec"
>;

/** What the main thread asks the worker to trace. */
export interface TraceRequest {
  argv: string[];
  settings: TraceSettings;
}

self.onmessage = (m: MessageEvent<TraceRequest>) => {
  const { argv, settings } = m.data;
  let batch: NativeEvent[] = [];
  try {
    const code = traceNative(argv, {
      ...settings,
      onStart: (pid) => self.postMessage({ pid }),
      onExec: () => self.postMessage({ exec: true }),
      onEvent: (e) => {
        batch.push(e);
        if (batch.length >= 8192) {
          self.postMessage({ events: batch });
          batch = [];
        }
      },
    });
    self.postMessage({ events: batch, code });
  } catch (e) {
    const err = e as Error;
    self.postMessage({
      events: batch,
      error: { name: err.name, message: err.message },
    });
  }
  self.close();
};
