/**
 * Reading a whole trace from an input through the parser, with the
 * warnings a real log deserves (a cut record, a truncated gzip stream,
 * lines that belong to no record) and a progress line with MB/s.
 *
 * @module
 */

import { ByteTraceParser } from "../trace/byte_parser.ts";
import type { StackTable, TraceEvent } from "../trace/events.ts";
import type { Input } from "./_input.ts";
import { Progress } from "./_progress.ts";

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
}

/**
 * Streams `input` through a parser, handing events to `onEvent`.
 *
 * @throws {Error} when the input holds no trace record at all.
 */
export async function readTrace(
  input: Input,
  onEvent: (e: TraceEvent) => void,
  opts: { quiet: boolean; stacks?: StackTable },
): Promise<ReadResult> {
  const parser = new ByteTraceParser(onEvent, opts.stacks);
  const progress = new Progress(opts.quiet);
  const warnings: string[] = [];
  const t0 = performance.now();
  let bytes = 0;
  let cut = false;
  const report = () =>
    progress.update(() => {
      const s = (performance.now() - t0) / 1000;
      const mb = bytes / 1e6;
      const of = input.size > 0 && !input.gzip
        ? ` of ${(input.size / 1e6).toFixed(0)} MB`
        : "";
      return `${input.name}: ${mb.toFixed(0)} MB${of}, ${
        (mb / s).toFixed(0)
      } MB/s, ${parser.stats.allocs.toLocaleString("en-US")} allocations`;
    });
  try {
    if (input.readInto !== undefined) {
      // An uncompressed file: read straight into the parser's buffer.
      for (;;) {
        const n = await input.readInto(parser.reserve(4 << 20));
        if (n === null) break;
        bytes += n;
        parser.commit(n);
        report();
      }
    } else {
      for await (const chunk of input.stream) {
        bytes += chunk.length;
        parser.feed(chunk);
        report();
      }
    }
  } catch (e) {
    if (!input.gzip) throw e;
    cut = true;
    warnings.push(
      `${input.name}: the gzip stream is cut or corrupt after ${
        bytes.toLocaleString("en-US")
      } bytes of trace (${
        (e as Error).message.split("\n")[0]
      }); everything before the cut was analysed`,
    );
  } finally {
    progress.done();
  }
  parser.end();
  warnings.push(...(input.warnings ?? []));
  const st = parser.stats;
  if (st.allocs + st.frees + st.gcs === 0 && st.cut === null) {
    throw new Error(
      `${input.name}: not an allocfreetrace log: no tracealloc, tracefree, tracegc, MProf_Malloc or MProf_Free record in ${
        st.lines.toLocaleString("en-US")
      } line(s)`,
    );
  }
  if (st.cut !== null) {
    warnings.push(
      `${input.name}: the last record (line ${st.cut.lineNo}: ${st.cut.header}) is cut off; everything before it was analysed`,
    );
  }
  // A cut stream usually ends inside a line: that line is the cut, not
  // program output.
  const cutLine = cut && st.unparsed === 1 && st.unparsedLines[0] === st.lines;
  if (st.unparsed > 0 && !cutLine) {
    warnings.push(
      `${input.name}: ${
        st.unparsed.toLocaleString("en-US")
      } line(s) belong to no record (the program's own output?), first at line(s) ${
        st.unparsedLines.join(", ")
      }`,
    );
  }
  return { parser, warnings, bytes, seconds: (performance.now() - t0) / 1000 };
}
