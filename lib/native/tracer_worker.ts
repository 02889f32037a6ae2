/**
 * The Worker that runs {@link traceNative}: every ptrace, waitpid and
 * libunwind call happens synchronously on this worker's own OS thread
 * (ptrace requests must come from the thread that seized the tracee), so
 * the main thread stays free for signals and for consuming events.
 *
 * Events go to the main thread in columnar batches (event.ts), written in
 * {@link MAX_AHEAD} + 1 shared buffers in turn. A shared counter of batches
 * consumed holds the worker back when the consumer is {@link MAX_AHEAD}
 * batches behind: the traced program then waits too (its ring fills up),
 * so memory stays bounded however many events there are, and a buffer is
 * written again only once its batch was consumed.
 *
 * Messages in: one {@link TraceRequest}. Messages out: `{ slots }` (the
 * shared buffers, once), `{ pid }` once the start-up shell runs, `{ exec }`
 * once it runs the program, `{ batch }` (a {@link WireBatch}), then
 * `{ batch, code, signal }` or `{ batch, error }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { type NativeOptions, traceNative } from "./tracer.ts";
import { BATCH_BYTES, BatchEncoder, type EventBatch } from "./event.ts";

/** The options of a trace that can cross to a worker (no callbacks). */
export type TraceSettings = Omit<
  NativeOptions,
  | "onEvent"
  | "out"
  | "onStart"
  | "onExec"
  | "detachWanted"
  | "killWanted"
  | "ended"
>;

/** What the main thread asks the worker to trace. */
export interface TraceRequest {
  argv: string[];
  settings: TraceSettings;
  /**
   * Int32Array over it: [0] batches consumed by the main thread, [1] set
   * to 1 to detach (attached), to 2 to kill every process traced.
   */
  consumed: SharedArrayBuffer;
  /** Attached: detach after this many milliseconds (0: only when asked). */
  durationMs: number;
}

/**
 * A batch as it crosses to the main thread: the index of the shared buffer
 * holding its columns (the main thread made its views of them once, at the
 * `{ slots }` message: ten typed arrays cloned per batch were ~5% of the
 * two threads' time) and the rest of it.
 */
export interface WireBatch
  extends Pick<EventBatch, "n" | "stacks" | "images" | "forks" | "execs"> {
  /** Index of the shared buffer holding its columns. */
  slot: number;
}

/** Batches the worker may be ahead of its consumer. */
export const MAX_AHEAD = 8;

self.onmessage = (m: MessageEvent<TraceRequest>) => {
  const { argv, settings } = m.data;
  const consumed = new Int32Array(m.data.consumed);
  // The duration counts from the tracer's first poll, made once the hooks
  // are in: seizing the process and writing the hooks can take longer than
  // a short duration on a loaded machine, which then traced nothing.
  let end = -1;
  let posted = 0;
  const post = () => {
    for (;;) {
      const done = Atomics.load(consumed, 0);
      if (posted - done < MAX_AHEAD) break;
      Atomics.wait(consumed, 0, done, 1000);
    }
    posted++;
    send({});
  };
  // Batches are written into shared buffers in turn (no new arrays, no
  // garbage per batch): one more than may be unconsumed, so the one being
  // filled is never one the main thread is reading.
  const slots = Array.from(
    { length: MAX_AHEAD + 1 },
    () => new SharedArrayBuffer(BATCH_BYTES),
  );
  self.postMessage({ slots });
  const enc = new BatchEncoder(() => post(), slots);
  const send = (extra: Record<string, unknown>) => {
    const b = enc.take();
    const batch: WireBatch = {
      slot: slots.indexOf(b.addr.buffer as SharedArrayBuffer),
      n: b.n,
      stacks: b.stacks,
      images: b.images,
      forks: b.forks,
      execs: b.execs,
    };
    self.postMessage({ batch, ...extra });
  };
  const ended = { signal: 0 };
  try {
    const code = traceNative(argv, {
      ...settings,
      onStart: (pid) => self.postMessage({ pid }),
      onExec: () => self.postMessage({ exec: true }),
      killWanted: () => Atomics.load(consumed, 1) === 2,
      detachWanted: () => {
        if (end < 0) {
          end = m.data.durationMs > 0
            ? performance.now() + m.data.durationMs
            : Infinity;
        }
        return Atomics.load(consumed, 1) === 1 || performance.now() > end;
      },
      out: enc,
      ended,
    });
    send({ code, signal: ended.signal });
  } catch (e) {
    const err = e as Error;
    send({ error: { name: err.name, message: err.message } });
  }
  self.close();
};
