/**
 * Opening a trace or profile given on the command line: a path or `-` for
 * stdin, gzip recognised by its magic bytes, with one clear error for a
 * missing file, a directory or an empty input.
 *
 * @module
 */

import { notUtf8, osReason, shown, UsageError } from "./_usage.ts";
import { isGzip } from "../profile/gzip.ts";

/** An opened input: a byte stream (already gunzipped) and what is known of it. */
export interface Input {
  /** Name for messages (quoted when it holds a control character). */
  name: string;
  /** The name as given (`stdin` for `-`), for JSON, which escapes it itself. */
  file: string;
  /** Decompressed bytes. */
  stream: ReadableStream<Uint8Array>;
  /** Whether it was gzip-compressed. */
  gzip: boolean;
  /**
   * Problems found while reading that lost nothing (bytes after the last
   * gzip member), one line each; filled as the stream is read.
   */
  warnings?: string[];
  /** File size on disk (0 for stdin). */
  size: number;
  /** The file's path, when it is a file read as it is (not stdin, not gzip). */
  path?: string;
  /** The first bytes (for sniffing the format). */
  head: Uint8Array;
  /**
   * For an uncompressed file: reads the next bytes (the head first) into
   * `buf` (at least 64 KiB), without the stream's copy; null at the end.
   * Use either this or `stream`.
   */
  readInto?: (buf: Uint8Array) => Promise<number | null>;
  /**
   * For an uncompressed file: the open file's own `stat` (its device and
   * inode say which file it is, whatever its path names by now). Asked
   * before it is read to its end.
   */
  fileInfo?: () => Promise<Deno.FileInfo>;
}

/** What "no such file" adds for such a name. */
const NOT_UTF8 =
  " (a name that is not UTF-8 reaches Deno with U+FFFD in place of its bytes: rename the file, or give it on stdin as -)";

/** Opens `path` (or stdin for `-`). */
export async function openInput(path: string): Promise<Input> {
  // The input as every message names it, and the line for an OS error.
  const name = path === "-" ? "stdin" : shown(path);
  const named = (e: unknown) => new Error(`${name}: ${osReason(e)}`);
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
        throw new Error(
          `${name}: no such file${notUtf8(path) ? NOT_UTF8 : ""}`,
        );
      }
      if (e instanceof Deno.errors.NotCapable) {
        throw new UsageError(
          `${name}: permission to read it is missing (run with --allow-read=${name})`,
        );
      }
      throw named(e);
    }
    if (info.isDirectory) {
      throw new Error(`${name} is a directory, not a trace file`);
    }
    size = info.size;
    // (A pipe or FIFO, e.g. <(zcat …), has no size, nor has a /proc file:
    // read it to know.)
    // Large reads: a trace is read at page-cache speed, not in 64 KiB steps.
    // (What stats may still not open, a socket, or not read, /proc/self/mem:
    // the line names it.)
    const f = await Deno.open(path).catch((e) => {
      throw named(e);
    });
    const first = new Uint8Array(1 << 20);
    const head = first.subarray(
      0,
      (await f.read(first).catch((e) => {
        f.close();
        throw named(e);
      })) ?? 0,
    );
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
        throw new Error(
          `${name}: read through both stream and readInto`,
        );
      }
      return Promise.resolve(readFile(buf));
    };
    const fileStream = () =>
      new ReadableStream<Uint8Array>({
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
    if (head.length === 0) throw new Error(`${name} is empty`);
    const gzip = isGzip(head);
    const warnings: string[] = [];
    // A plain file's stream is made when first asked for: the first
    // ReadableStream loads Deno's streams code (~5 ms of every run), which
    // a plain file read through readInto never needs.
    let stream: ReadableStream<Uint8Array> | null = gzip
      ? gunzip(fileStream(), name, warnings)
      : null;
    return {
      name,
      file: path,
      get stream() {
        return stream ??= fileStream();
      },
      set stream(s: ReadableStream<Uint8Array>) {
        stream = s;
      },
      gzip,
      warnings,
      size,
      path: gzip ? undefined : path,
      head,
      readInto: gzip ? undefined : readInto,
      fileInfo: gzip ? undefined : () => f.stat(),
    };
  }
  // Peek at the first chunk to sniff gzip. (Stdin may be a directory: the
  // line names it.)
  const { head, stream: rest } = await peekStream(file).catch((e) => {
    throw named(e);
  });
  if (head.length === 0) throw new Error(`${name} is empty`);
  const gzip = isGzip(head);
  const warnings: string[] = [];
  const stream = gzip ? gunzip(rest, name, warnings) : rest;
  return {
    name,
    file: path === "-" ? "stdin" : path,
    stream,
    gzip,
    warnings,
    size,
    head,
  };
}

/**
 * What a gzip stream's error `e` after `bytes` bytes of trace says (the
 * start of the warning: the readers add what was analysed).
 */
export function gzipCutAt(bytes: number, e: unknown): string {
  return `the gzip stream is cut or corrupt after ${
    bytes.toLocaleString("en-US")
  } bytes of trace (${(e as Error).message.split("\n")[0]})`;
}

/**
 * Gunzips every member of `src`, as zcat does: `cat a.gz b.gz` and bgzip's
 * blocks are one stream of members (DecompressionStream stops after the
 * first). Bytes after the last member that are not gzip data are reported
 * in `warnings`, not read as an error that loses the last chunk; zero
 * padding (tape blocks) is ignored, as by gzip.
 *
 * @throws {Error} from the stream when a member is cut or corrupt.
 */
function gunzip(
  src: ReadableStream<Uint8Array>,
  name: string,
  warnings: string[],
): ReadableStream<Uint8Array> {
  return ReadableStream.from(gunzipMembers(src, name, warnings));
}

/** Bytes fed to inflate per step, so its output per step stays small. */
const INFLATE_STEP = 256 << 10;

async function* gunzipMembers(
  src: ReadableStream<Uint8Array>,
  name: string,
  warnings: string[],
): AsyncGenerator<Uint8Array> {
  // Loaded here, for gzipped input only: node:zlib costs every other run
  // ~15 ms of start-up (a built-in module, so a dynamic import of it is
  // never stale in an installed copy).
  const { default: zlib } = await import("node:zlib");
  const reader = src.getReader();
  let pending = new Uint8Array(0);
  let eof = false;
  let offset = 0; // of pending[0] in the compressed input
  const more = async (): Promise<boolean> => {
    if (eof) return false;
    const r = await reader.read();
    if (r.done) {
      eof = true;
      return false;
    }
    const joined = new Uint8Array(pending.length + r.value.length);
    joined.set(pending);
    joined.set(r.value, pending.length);
    pending = joined;
    return true;
  };
  const need = async (n: number) => {
    while (pending.length < n && await more());
    return pending.length >= n;
  };
  const take = (n: number) => {
    pending = pending.subarray(n);
    offset += n;
  };
  const corrupt = (what: string) =>
    new Error(
      `${name}: gzip member ${member} ${what} (at byte ${
        offset.toLocaleString("en-US")
      })`,
    );
  let member = 0;
  try {
    for (;;) {
      if (!(await need(1))) return;
      if (!(await need(3)) || !isGzip(pending)) {
        let rest = pending.length;
        let zeros = pending.every((b) => b === 0);
        while (!eof) {
          const r = await reader.read();
          if (r.done) break;
          rest += r.value.length;
          zeros &&= r.value.every((b) => b === 0);
        }
        if (!zeros) {
          warnings.push(
            `${name}: ${
              rest.toLocaleString("en-US")
            } byte(s) after gzip member ${member} (at byte ${
              offset.toLocaleString("en-US")
            }) are not gzip data; ignored, as zcat does`,
          );
        }
        return;
      }
      member++;
      take(await headerLength(need, () => pending, corrupt));
      const out: Uint8Array[] = [];
      let ended = false;
      let error: Error | null = null;
      let size = 0;
      let crc = 0; // CRC-32 of the member's data, checked against its trailer
      const inflate = zlib.createInflateRaw();
      inflate.on("data", (d: Uint8Array) => {
        out.push(d);
        size += d.length;
        crc = zlib.crc32(d, crc);
      });
      inflate.on("end", () => ended = true);
      inflate.on("error", (e: Error) => error = e);
      // Feed the member until inflate stops taking bytes: that is its end.
      let total = 0; // bytes of this member's deflate data given to inflate
      for (;;) {
        let piece = new Uint8Array(0);
        if (pending.length === 0 && !(await more())) {
          await new Promise<void>((res) => inflate.end(res));
          if (!ended && error === null) throw corrupt("is cut off");
        } else {
          piece = pending.subarray(0, INFLATE_STEP);
          total += piece.length;
          await new Promise((res) => inflate.write(piece, res));
        }
        while (out.length > 0) yield out.shift()!;
        const err = error as Error | null;
        if (err !== null) {
          throw corrupt(
            /unexpected end/i.test(err.message)
              ? "is cut off"
              : `is corrupt: ${err.message}`,
          );
        }
        const used = inflate.bytesWritten;
        if (ended || used < total) {
          take(used - (total - piece.length)); // the rest is the trailer on
          break;
        }
        take(piece.length);
      }
      while (out.length > 0) yield out.shift()!;
      if (!(await need(8))) throw corrupt("is cut off in its trailer");
      const trailer = new DataView(pending.buffer, pending.byteOffset, 8);
      const isize = trailer.getUint32(4, true);
      const hex = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
      if (trailer.getUint32(0, true) !== crc >>> 0) {
        throw corrupt(
          `is corrupt: its trailer's CRC-32 is ${
            hex(trailer.getUint32(0, true))
          }, its data's ${hex(crc)}`,
        );
      }
      if (isize !== size % 2 ** 32) {
        throw corrupt(
          `is corrupt: its trailer says ${isize} bytes, it held ${size}`,
        );
      }
      take(8);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Length of the gzip member header at the start of `bytes()` (RFC 1952). */
async function headerLength(
  need: (n: number) => Promise<boolean>,
  bytes: () => Uint8Array,
  corrupt: (what: string) => Error,
): Promise<number> {
  if (!(await need(10))) throw corrupt("is cut off in its header");
  const b = bytes();
  if (b[2] !== 8) throw corrupt(`has unknown compression method ${b[2]}`);
  const flags = b[3];
  let n = 10;
  if (flags & 4) {
    if (!(await need(n + 2))) throw corrupt("is cut off in its header");
    const x = bytes();
    n += 2 + (x[n] | (x[n + 1] << 8));
  }
  for (const bit of [8, 16]) { // FNAME, FCOMMENT: zero-terminated
    if (flags & bit) {
      for (;;) {
        if (!(await need(n + 1))) throw corrupt("is cut off in its header");
        if (bytes()[n++] === 0) break;
      }
    }
  }
  if (flags & 2) n += 2;
  if (!(await need(n))) throw corrupt("is cut off in its header");
  return n;
}

/**
 * Whether `head` (the first decompressed bytes) begins as Go's legacy text
 * heap profile (`debug=1`): `heap profile: 1: 2 [3: 4] @ heap/RATE`.
 */
export function looksLikeLegacyHeap(head: Uint8Array): boolean {
  return /^heap profile: \d+: \d+ \[\d+: \d+\] @ heap/.test(
    new TextDecoder().decode(head.subarray(0, 100)),
  );
}

/**
 * Whether `head` (the first decompressed bytes) looks like a pprof
 * profile.proto: control bytes no text trace has, and fields of Profile
 * (numbers 1 to 14) with the wire type each has, as far as the head goes.
 */
export function looksLikePprof(head: Uint8Array): boolean {
  const h = head.subarray(0, 64);
  if (!h.some((c) => c < 0x09 || (c > 0x0d && c < 0x20))) return false;
  let pos = 0;
  const varint = (): number | null => {
    let v = 0;
    for (let shift = 0; pos < h.length && shift < 35; shift += 7) {
      const b = h[pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return null; // runs past the head (or too long)
  };
  let fields = 0;
  while (pos < h.length) {
    const tag = varint();
    if (tag === null) break;
    const field = tag >>> 3, wire = tag & 7;
    // Messages and strings are length-delimited (2); the rest varints (0);
    // comment (13) may be packed.
    const ok = [1, 2, 3, 4, 5, 6, 11].includes(field)
      ? wire === 2
      : [7, 8, 9, 10, 12, 14].includes(field)
      ? wire === 0
      : field === 13 && (wire === 0 || wire === 2);
    if (!ok) return false;
    const n = varint();
    if (n === null) break;
    if (wire === 2) pos += n;
    if (pos <= h.length) fields++; // whole within the head
  }
  // Go and alloctrace start with small fields (sample and period types).
  return fields >= 2;
}

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
