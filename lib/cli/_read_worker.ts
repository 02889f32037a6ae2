/**
 * The Worker that parses the later part of a trace file (from a record
 * boundary to the end) while the main thread parses the first part: its
 * events go back in batches ({@link EventPacker}), at most a few ahead of
 * what the main thread has applied, so memory stays bounded; its
 * statistics come last. Started by `_readtrace.ts`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { ByteTraceParser } from "../trace/byte_parser.ts";
import { type EventBatch, EventPacker } from "../trace/event_batch.ts";
import { StackTable } from "../trace/events.ts";
import { useScannerModule } from "../trace/block_scan.ts";

/** Which file an open file is, whatever its path names by now. */
export interface FileId {
  dev: number;
  ino: number | null;
}

/** What the main thread asks. */
export interface ReadPartRequest {
  /** The trace file. */
  path: string;
  /**
   * The device and inode of the file the main thread reads: the file
   * opened at `path` must be that one (else an error, before any batch).
   */
  file?: FileId;
  /** Where the part starts (a record header after a blank line). */
  start: number;
  /** [0]: batches the main thread has applied (it notifies on change). */
  consumed: Int32Array;
  /** Batches sent and not yet applied, at most. */
  ahead: number;
  /** The scanner's module, compiled by the main thread (compiled once). */
  scanner: WebAssembly.Module;
  /** The main thread's seed of the scanner's line hashes (`scannerSeed`). */
  seed: bigint;
}

/** What the Worker sends: batches, then the end (or an error). */
export type ReadPartMessage =
  | { type: "batch"; batch: EventBatch; bytes: number }
  | {
    type: "done";
    stats: ByteTraceParser["stats"];
    bytes: number;
  }
  | { type: "error"; message: string };

self.onmessage = (m: MessageEvent<ReadPartRequest>) => {
  const { path, file, start, consumed, ahead, scanner, seed } = m.data;
  useScannerModule(scanner, seed);
  try {
    const f = Deno.openSync(path);
    if (file !== undefined) {
      const { dev, ino } = f.statSync();
      if (dev !== file.dev || ino !== file.ino) {
        f.close();
        throw new Error(
          `${path} is not the file the main thread reads (replaced since it was opened)`,
        );
      }
    }
    f.seekSync(start, Deno.SeekMode.Start);
    let bytes = 0;
    let sent = 0;
    const stacks = new StackTable();
    const packer = new EventPacker(stacks, (batch) => {
      // Wait while the main thread is too far behind.
      for (;;) {
        const done = Atomics.load(consumed, 0);
        if (sent - done < ahead) break;
        Atomics.wait(consumed, 0, done, 1000);
      }
      sent++;
      const msg: ReadPartMessage = { type: "batch", batch, bytes };
      self.postMessage(msg, [batch.data.buffer as ArrayBuffer]);
    });
    const parser = new ByteTraceParser((e) => packer.add(e), stacks, {
      sink: packer,
    });
    for (;;) {
      const buf = parser.reserve(4 << 20);
      const n = f.readSync(buf);
      if (n === null) break;
      bytes += n;
      parser.commit(n);
    }
    f.close();
    parser.end();
    packer.flush();
    const msg: ReadPartMessage = { type: "done", stats: parser.stats, bytes };
    self.postMessage(msg);
  } catch (e) {
    const msg: ReadPartMessage = {
      type: "error",
      message: (e as Error).message,
    };
    self.postMessage(msg);
  }
};
