/**
 * Reading a large trace file on both cores: a Worker (`_read_worker.ts`)
 * parses the file from a record boundary to its end while the main thread
 * parses up to that boundary; then the main thread applies the Worker's
 * events, in order, after its own (a free matches its allocation by
 * address, so the analysis sees one stream). The Worker's part counts only
 * when the main thread's parser is between records exactly there (see
 * `ByteTraceParser.idle`): then a fresh parser reads the rest as the one
 * parser would, so every event, stack id, line number and warning is the
 * same. Otherwise the Worker is stopped and the main thread reads on.
 *
 * @module
 */

import type { ByteTraceParser } from "../trace/byte_parser.ts";
import { scannerModule, scannerSeed } from "../trace/block_scan.ts";
import { EventUnpacker } from "../trace/event_batch.ts";
import type { EventSink } from "../trace/events.ts";
import type {
  FileId,
  ReadPartMessage,
  ReadPartRequest,
} from "./_read_worker.ts";

/** Files smaller than this are read by one thread (a Worker costs its start). */
const SPLIT_MIN = 64 << 20;

/**
 * The share of the file the main thread parses: it also starts the Worker
 * and analyses every event, so it takes the smaller part. Where the two
 * threads end together (the Worker's last batch arriving as the main
 * thread's part ends), measured on the real binary-trees traces (depth 10;
 * depth 11 at GOGC=10) and the repeated testdata: 0.45 since the main
 * thread learns new stacks faster (at 0.3 the Worker ended ~100-200 ms
 * after the main thread's part on each of them, the main thread idle
 * meanwhile but for applying its batches).
 */
const DEFAULT_SPLIT = 0.45;

/**
 * Batches the Worker may run ahead of the main thread (8192 events, 512 KiB
 * each): enough for it to read on while the main thread reads its part of a
 * trace of a few hundred MB; past that it waits (memory stays bounded), and
 * a trace of many GB is read mostly by one thread at a time.
 */
const AHEAD = 32;

/** Bytes searched for a record boundary from the split point. */
const WINDOW = 1 << 20;

const HEADERS = [
  new TextEncoder().encode("tracealloc("),
  new TextEncoder().encode("tracefree("),
];

/**
 * The offset in `buf` of the first record header that follows a blank
 * line (`\n\ntracealloc(` or `\n\ntracefree(`, the blank line a CR
 * too: `\r\n\r\ntracealloc(`), or -1. (Whether a record ends there is the
 * main thread's parser's to say: see `LaterPart.apply`'s caller.)
 */
export function recordBoundary(buf: Uint8Array): number {
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) {
    const h = buf[i + 1] === 10
      ? i + 2
      : buf[i + 1] === 13 && buf[i + 2] === 10
      ? i + 3
      : -1;
    if (h < 0) continue;
    for (const p of HEADERS) {
      let k = 0;
      while (k < p.length && buf[h + k] === p[k]) k++;
      if (k === p.length) return h;
    }
  }
  return -1;
}

/** The Worker reading the later part of a file. */
export interface LaterPart {
  /** Where its part starts. */
  readonly start: number;
  /** Bytes it read (once applied). */
  readonly bytes: number;
  /**
   * Hands its events to `sink` after `parser`'s, its stacks interned in
   * `parser`'s table, and its statistics to `parser` ({@link ByteTraceParser.absorb}).
   * False when the Worker failed before any event was applied (read on
   * instead).
   *
   * @throws {Error} when it failed after some were.
   */
  apply(parser: ByteTraceParser, sink: EventSink): Promise<boolean>;
  /** Stops the Worker (done or not). */
  stop(): void;
}

/**
 * Starts a Worker on the later part of the file at `path` (of `size`
 * bytes), from the first record boundary after `split` of it; null when
 * the file is too small, there is one core, or no boundary is near, or
 * the file cannot be opened again by its path (unlinked, renamed away).
 *
 * The Worker opens the file by its path too: when `opened` (the main
 * thread's open file's stat) is given, it reads only a file of the same
 * device and inode, and otherwise fails before any batch (the main thread
 * reads on): a path renamed over since (log rotation, a rerun writing
 * `t.trace.tmp` then renaming it) names another file, whose bytes from
 * this offset on are not this file's.
 */
export async function startLaterPart(
  path: string,
  size: number,
  split?: number,
  opened?: () => Promise<Deno.FileInfo>,
): Promise<LaterPart | null> {
  const share = split ?? (size >= SPLIT_MIN &&
      (navigator.hardwareConcurrency ?? 1) >= 2
    ? DEFAULT_SPLIT
    : 0);
  if (!(share > 0 && share < 1) || !_mayStartWorker()) return null;
  const from = Math.floor(size * share);
  const window = new Uint8Array(WINDOW);
  let got = 0;
  let file: FileId | undefined;
  try {
    if (opened !== undefined) {
      const { dev, ino } = await opened();
      file = { dev, ino };
    }
    const f = await Deno.open(path);
    try {
      await f.seek(from, Deno.SeekMode.Start);
      while (got < WINDOW) {
        const n = await f.read(window.subarray(got));
        if (n === null) break;
        got += n;
      }
    } finally {
      f.close();
    }
  } catch {
    // (The path is gone, or names what cannot be read: one thread reads.)
    return null;
  }
  const at = recordBoundary(window.subarray(0, got));
  // (The first read takes the file's first MiB whole.)
  if (at < 0 || from + at < 1 << 20) return null;
  return new _LaterPart(path, from + at, file);
}

const WORKER = new URL("./_read_worker.ts", import.meta.url);

/**
 * True when the Worker's modules may be loaded: a Worker reads its source
 * as a file, which `--allow-read=TRACE` alone does not allow (its failure
 * would be printed, not caught).
 */
function _mayStartWorker(): boolean {
  if (WORKER.protocol !== "file:") return false;
  const lib = new URL("../", WORKER);
  return Deno.permissions.querySync({ name: "read", path: lib }).state ===
    "granted";
}

class _LaterPart implements LaterPart {
  readonly start: number;
  bytes = 0;
  readonly #worker: Worker;
  readonly #consumed = new Int32Array(new SharedArrayBuffer(4));
  readonly #queue: ReadPartMessage[] = [];
  #wake: (() => void) | null = null;
  #stopped = false;

  constructor(path: string, start: number, file: FileId | undefined) {
    this.start = start;
    this.#worker = new Worker(WORKER, { type: "module" });
    this.#worker.onmessage = (m: MessageEvent<ReadPartMessage>) => {
      this.#queue.push(m.data);
      this.#wake?.();
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#queue.push({ type: "error", message: e.message });
      this.#wake?.();
    };
    const req: ReadPartRequest = {
      path,
      file,
      start,
      consumed: this.#consumed,
      ahead: AHEAD,
      scanner: scannerModule(),
      seed: scannerSeed(),
    };
    this.#worker.postMessage(req);
  }

  async #next(): Promise<ReadPartMessage> {
    while (this.#queue.length === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = null;
    }
    return this.#queue.shift()!;
  }

  async apply(parser: ByteTraceParser, sink: EventSink): Promise<boolean> {
    const unpacker = new EventUnpacker(parser.stacks);
    const base = parser.stats.lines;
    let applied = 0;
    for (;;) {
      const m = await this.#next();
      if (m.type === "batch") {
        unpacker.unpackTo(m.batch, base, sink);
        applied++;
        Atomics.store(this.#consumed, 0, applied);
        Atomics.notify(this.#consumed, 0);
      } else if (m.type === "done") {
        parser.absorb(m.stats);
        this.bytes = m.bytes;
        this.stop();
        return true;
      } else {
        this.stop();
        if (applied === 0) return false;
        throw new Error(`reading ${this.start} onward: ${m.message}`);
      }
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#worker.terminate();
  }
}
