/**
 * Opening a trace or profile given on the command line: a path or `-` for
 * stdin, gzip recognised by its magic bytes, with one clear error for a
 * missing file, a directory or an empty input.
 *
 * @module
 */

import { UsageError } from "./_usage.ts";

/** An opened input: a byte stream (already gunzipped) and what is known of it. */
export interface Input {
  /** Name for messages. */
  name: string;
  /** Decompressed bytes. */
  stream: ReadableStream<Uint8Array>;
  /** Whether it was gzip-compressed. */
  gzip: boolean;
  /** File size on disk (0 for stdin). */
  size: number;
  /** The first bytes (for sniffing the format). */
  head: Uint8Array;
  /**
   * For an uncompressed file: reads the next bytes (the head first) into
   * `buf` (at least 64 KiB), without the stream's copy; null at the end.
   * Use either this or `stream`.
   */
  readInto?: (buf: Uint8Array) => Promise<number | null>;
}

/** Opens `path` (or stdin for `-`). */
export async function openInput(path: string): Promise<Input> {
  let file: ReadableStream<Uint8Array>;
  let size = 0;
  if (path === "-") {
    file = Deno.stdin.readable;
  } else {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(`${path}: no such file`);
      }
      if (e instanceof Deno.errors.NotCapable) {
        throw new UsageError(
          `${path}: permission to read it is missing (run with --allow-read=${path})`,
        );
      }
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    if (info.isDirectory) {
      throw new Error(`${path} is a directory, not a trace file`);
    }
    size = info.size;
    // (A pipe or FIFO, e.g. <(zcat …), has no size: read it to know.)
    if (info.isFile && size === 0) throw new Error(`${path} is empty`);
    // Large reads: a trace is read at page-cache speed, not in 64 KiB steps.
    const f = await Deno.open(path);
    const first = new Uint8Array(1 << 20);
    const head = first.subarray(0, (await f.read(first)) ?? 0);
    let headDone = head.length === 0;
    let closed = false;
    let streamed = false;
    const readFile = (buf: Uint8Array): number | null => {
      if (!headDone) {
        headDone = true;
        buf.set(head);
        return head.length;
      }
      // Synchronous: the async read waits on a worker thread for each chunk
      // (40 % of analyze was idle), and nothing else runs meanwhile.
      const n = closed ? null : f.readSync(buf);
      if (n === null && !closed) {
        closed = true;
        f.close();
      }
      return n;
    };
    // Both ways read the one file: using both would lose bytes.
    const readInto = (buf: Uint8Array): Promise<number | null> => {
      if (streamed) {
        throw new Error(`${path}: read through both stream and readInto`);
      }
      return Promise.resolve(readFile(buf));
    };
    file = new ReadableStream<Uint8Array>({
      pull(c) {
        streamed = true;
        const buf = new Uint8Array(headDone ? 4 << 20 : head.length);
        const n = readFile(buf);
        if (n === null) c.close();
        else c.enqueue(buf.subarray(0, n));
      },
      cancel() {
        if (!closed) f.close();
        closed = true;
      },
      // Pulled only when read: readInto may be the one used.
    }, { highWaterMark: 0 });
    if (head.length === 0) throw new Error(`${path} is empty`);
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    return {
      name: path,
      stream: gzip ? gunzip(file) : file,
      gzip,
      size,
      head,
      readInto: gzip ? undefined : readInto,
    };
  }
  // Peek at the first chunk to sniff gzip.
  const { head, stream: rest } = await peekStream(file);
  if (head.length === 0) {
    throw new Error(`${path === "-" ? "stdin" : path} is empty`);
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const stream = gzip ? gunzip(rest) : rest;
  return { name: path === "-" ? "stdin" : path, stream, gzip, size, head };
}

const gunzip = (s: ReadableStream<Uint8Array>) =>
  s.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >,
  );

/**
 * Reads the first chunk of `stream` (empty when there is none) and returns
 * it with a stream that still yields everything, that chunk first.
 */
export async function peekStream(
  stream: ReadableStream<Uint8Array>,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const first = await reader.read();
  const head = first.done ? new Uint8Array(0) : first.value;
  const rest = new ReadableStream<Uint8Array>({
    start(c) {
      if (head.length > 0) c.enqueue(head);
      if (first.done) c.close();
    },
    async pull(c) {
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { head, stream: rest };
}
