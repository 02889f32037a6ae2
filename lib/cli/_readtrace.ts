/**
 * Reading a whole trace from an input through the parser, with the
 * warnings a real log deserves (a cut record, a truncated gzip stream,
 * lines that belong to no record) and a progress line with MB/s.
 *
 * @module
 */

import { fmtBytes } from "../report/units.ts";
import { compressionOf } from "../profile/gzip.ts";
import { ByteTraceParser } from "../trace/byte_parser.ts";
import { MAX_LINE } from "../trace/parser.ts";
import {
  type EventSink,
  sinkOf,
  type StackTable,
  type TraceEvent,
} from "../trace/events.ts";
import {
  gzipCutAt,
  type Input,
  looksLikeLegacyHeap,
  looksLikePprof,
} from "./_input.ts";
import { Progress } from "./_progress.ts";
import { shellWord } from "./_usage.ts";
import { type LaterPart, startLaterPart } from "./_read_split.ts";

/**
 * Binary data read with no record yet, after which the input is not a
 * trace (as the parser's 64 MiB with a line past the cap).
 */
const BINARY_STOP = 64 << 20;

/** What reading a trace found besides the events. */
export interface ReadResult {
  /** The parser (stacks and statistics). */
  parser: ByteTraceParser;
  /** Warnings, one line each. */
  warnings: string[];
  /** Bytes of trace text read. */
  bytes: number;
  /** Seconds spent. */
  seconds: number;
  /** Whether a Worker read the later part of the file (see `_read_split.ts`). */
  split: boolean;
}

/**
 * Streams `input` through a parser, handing events to `onEvent`.
 *
 * @throws {Error} when the input holds no trace record at all.
 */
export async function readTrace(
  input: Input,
  onEvent: (e: TraceEvent) => void,
  opts: {
    quiet: boolean;
    stacks?: StackTable;
    /**
     * The share of a trace file this thread reads before a Worker's part
     * (0: none); by default a share when the file is large enough.
     */
    split?: number;
    /** Where most events go instead of `onEvent` (in order with the others), with no object each. */
    sink?: EventSink;
  },
): Promise<ReadResult> {
  const sink = opts.sink ?? sinkOf(onEvent);
  const parser = new ByteTraceParser(onEvent, opts.stacks, { sink });
  const progress = new Progress(opts.quiet);
  const warnings: string[] = [];
  const t0 = performance.now();
  let bytes = 0;
  // Where a gzip stream broke off, said once its last record is known.
  let gzipCut: string | null = null;
  let split = false;
  let head: Uint8Array | null = null; // the first bytes, for the error
  // Where the first NUL byte was, while no record has come: binary data
  // (/dev/urandom, an executable), which a text log never holds. Endless
  // binary data whose newlines keep every line short would be read for
  // ever: it stops as a line past the cap does (see binaryStop).
  // (Looked for only until a record comes: a real trace's read pays for
  // its first chunk's scan alone.)
  let nulAt = -1;
  const noRecord = () => {
    const st = parser.stats;
    return st.allocs + st.frees + st.gcs + st.rejected === 0;
  };
  const keepHead = (b: Uint8Array) => {
    head ??= b.slice(0, 64);
    if (nulAt < 0 && bytes < BINARY_STOP && noRecord()) {
      const i = b.indexOf(0);
      if (i >= 0) nulAt = bytes + i;
    }
  };
  // (Not only when the parser is idle: the line a read ends in is carried
  // to the next, so that waited for a read ending at a newline, 1 in 256 of
  // random data's reads; some /dev/urandom runs read gigabytes.)
  const binaryStop = () => nulAt >= 0 && bytes >= BINARY_STOP && noRecord();
  const report = () =>
    progress.update(() => {
      const s = (performance.now() - t0) / 1000;
      const of = input.size > 0 && !input.gzip
        ? ` of ${fmtBytes(input.size)}`
        : "";
      return `${input.name}: ${fmtBytes(bytes)}${of}, ${
        fmtBytes(Math.round(bytes / s))
      }/s, ${parser.stats.allocs.toLocaleString("en-US")} allocations`;
    });
  // A large file: a Worker parses its later part meanwhile (both cores).
  let later: LaterPart | null = input.readInto !== undefined &&
      input.path !== undefined
    ? await startLaterPart(
      input.path,
      input.size,
      opts.split,
      input.fileInfo,
    )
    : null;
  try {
    if (input.readInto !== undefined) {
      // An uncompressed file: read straight into the parser's buffer.
      for (;;) {
        const want = Math.min(4 << 20, (later?.start ?? Infinity) - bytes);
        if (later !== null && want === 0) {
          // Where the Worker started: when this part ended between records
          // (and had one), its part is read as this parser would read it.
          if (
            parser.idle && !noRecord() && await later.apply(parser, sink)
          ) {
            bytes += later.bytes;
            split = true;
            break;
          }
          later.stop();
          later = null;
          continue;
        }
        const buf = parser.reserve(want);
        const n = await input.readInto(buf);
        if (n === null) break;
        keepHead(buf.subarray(0, n));
        bytes += n;
        parser.commit(n);
        report();
        if (parser.notATrace || binaryStop()) break;
      }
    } else {
      const reader = input.stream.getReader();
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (e) {
          // The stream's own error (not one of the consumer's events).
          if (!input.gzip) throw e;
          gzipCut = gzipCutAt(bytes, e);
          break;
        }
        if (next.done) break;
        keepHead(next.value);
        bytes += next.value.length;
        parser.feed(next.value);
        report();
        // (/dev/zero, a binary file: stop, whatever its length.)
        if (parser.notATrace || binaryStop()) {
          reader.cancel().catch(() => {});
          break;
        }
      }
    }
  } finally {
    progress.done();
    later?.stop();
  }
  const stopped = parser.notATrace;
  const binary = !stopped && binaryStop();
  parser.end();
  const st = parser.stats;
  const lastCut = st.cut === null
    ? null
    : `last record (line ${st.cut.lineNo}: ${st.cut.header}) is cut off`;
  // A gzip stream cut inside a record is one damage: one line names both.
  if (gzipCut !== null) {
    warnings.push(
      `${input.name}: ${gzipCut}; ${
        lastCut === null
          ? "everything before the cut was analysed"
          : `its ${lastCut}; everything before it was analysed`
      }`,
    );
  }
  warnings.push(...(input.warnings ?? []));
  if (stopped) {
    throw new Error(
      `${input.name}: not an allocfreetrace log: no record in the first ${
        (bytes / (1 << 20)).toFixed(0)
      } MiB, and line ${
        st.longLines[0].toLocaleString("en-US")
      } is longer than ${MAX_LINE / (1 << 20)} MiB`,
    );
  }
  if (binary) {
    throw new Error(
      `${input.name}: not an allocfreetrace log: no record in the first ${
        (bytes / (1 << 20)).toFixed(0)
      } MiB, and byte ${nulAt.toLocaleString("en-US")} is a NUL (binary data)`,
    );
  }
  if (noRecord() && st.cut === null) {
    const packed = head === null ? null : compressionOf(head);
    if (packed !== null) {
      throw new Error(
        `${input.name}: not an allocfreetrace log: it is ${packed.name}-compressed${
          input.gzip ? " inside gzip" : ""
        } (decompress it first: ${packed.undo} ${shellWord(input.name)})`,
      );
    }
    if (head !== null && looksLikeLegacyHeap(head)) {
      throw new Error(
        `${input.name}: not an allocfreetrace log: it is a legacy text heap profile (debug=1): \`go tool pprof -proto ${
          shellWord(input.name)
        } > heap.pb.gz\` writes it as a pprof profile, which alloctrace diff compares`,
      );
    }
    if (head !== null && looksLikePprof(head)) {
      throw new Error(
        `${input.name}: not an allocfreetrace log: it looks like a pprof profile (alloctrace diff compares profiles; go tool pprof reads them)`,
      );
    }
    if (head !== null && _isElf(head)) {
      // `analyze ./prog`, as one runs heaptrack or valgrind on a program.
      // (Read from stdin or gunzipped, it is no program to run as named.)
      const run = input.path === undefined
        ? "PROGRAM"
        : input.name.includes("/")
        ? input.name
        : `./${input.name}`;
      throw new Error(
        `${input.name}: not an allocfreetrace log: it is an ELF binary (to trace a program's malloc and free: alloctrace native -- ${
          shellWord(run)
        })`,
      );
    }
    throw new Error(
      `${input.name}: not an allocfreetrace log: no tracealloc, tracefree, tracegc, MProf_Malloc or MProf_Free record in ${
        st.lines.toLocaleString("en-US")
      } line(s)`,
    );
  }
  if (lastCut !== null && gzipCut === null) {
    warnings.push(
      `${input.name}: the ${lastCut}; everything before it was analysed`,
    );
  }
  // A cut stream usually ends inside a line: that line is the cut, not
  // program output.
  const cutLine = gzipCut !== null && st.unparsed === 1 &&
    st.unparsedLines[0] === st.lines;
  // Each kind of damage the reader counted: how many, the first lines, what.
  const counted: [number, number[], string][] = [
    [
      cutLine ? 0 : st.unparsed,
      st.unparsedLines,
      "line(s) belong to no record (the program's own output?)",
    ],
    [
      st.foreign,
      st.foreignLines,
      "line(s) inside records are not part of them (the program's own output?); the frames after them were kept",
    ],
    [
      st.long,
      st.longLines,
      `line(s) longer than ${
        MAX_LINE / (1 << 20)
      } MiB were skipped (no trace line is that long)`,
    ],
    [
      st.unendedGc,
      st.unendedGcLines,
      "tracegc block(s) lack their `end tracegc` (a record header ended them)",
    ],
    [
      st.rejected,
      st.rejectedLines,
      "record(s) with a size or address past 2^53 were rejected (no heap is that large: a damaged trace?)",
    ],
  ];
  for (const [n, lines, what] of counted) {
    if (n === 0) continue;
    warnings.push(
      `${input.name}: ${n.toLocaleString("en-US")} ${what}, first at line(s) ${
        lines.join(", ")
      }`,
    );
  }
  return {
    parser,
    warnings,
    bytes,
    seconds: (performance.now() - t0) / 1000,
    split,
  };
}

/**
 * The warning for `n` allocations at an address that was still live (the
 * analyzer's and the replayer's count), or null when there were none. A
 * `seed`-format trace may be native's `--trace-out` of a program that
 * forks: the child's heap is a copy of its parent's, at the same addresses,
 * and the format has no field for a pid, so the processes cannot be told
 * apart and the warning says so.
 */
export function allocsAtLiveWarning(
  name: string,
  n: number,
  format: "go1.3+" | "seed" | null = null,
): string | null {
  return n === 0
    ? null
    : `${name}: ${
      n.toLocaleString("en-US")
    } allocation(s) at an address still live (a free not traced, or two traces concatenated?); the earlier object was counted as gone${
      format === "seed"
        ? "; a seed-format trace carries no process id: native --trace-out of a program that forks holds every process's records, at overlapping addresses"
        : ""
    }`;
}

/** Whether `head` starts with ELF's magic (an executable, a library). */
function _isElf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 &&
    head[2] === 0x4c && head[3] === 0x46;
}
