/**
 * Reading a Go execution trace (`go 1.23 trace` header) from an opened
 * input: recognising it (through gzip too), streaming it through the reader
 * and the heap model, and turning its problems into one clear error or a
 * warning with the complete part analysed.
 *
 * @module
 */

import { fmtBytes } from "../report/units.ts";
import { gzipCutAt, type Input } from "./_input.ts";
import { Progress } from "./_progress.ts";
import type { StackTable, TraceEvent } from "../trace/events.ts";
import {
  Ev,
  EV_NAMES,
  type ExecEvent,
  ExecHeap,
  ExecTraceReader,
  type TypeInfo,
} from "../trace/exectrace/mod.ts";

/** What reading an execution trace gave. */
export interface ExecRead {
  /** The reader (stats, type table). */
  reader: ExecTraceReader;
  /** The heap model (sites, anomalies, live objects). */
  heap: ExecHeap;
  /** Warnings, one line each. */
  warnings: string[];
  /** Seconds spent. */
  seconds: number;
}

/**
 * Streams an execution trace through the reader and heap model, handing
 * each {@link ExecEvent} to `onEvent`.
 *
 * @throws {Error} (one line) when nothing could be read: a refused version,
 * a corrupt start, a trace with no allocation events.
 */
export async function readExecTrace(
  input: Input,
  stacks: StackTable,
  onEvent: (e: ExecEvent) => void,
  opts: {
    quiet: boolean;
    /** Called with the reader before any event (its type table fills as it reads). */
    ready?: (reader: ExecTraceReader) => void;
  },
): Promise<ExecRead> {
  const heap = new ExecHeap(stacks, onEvent);
  const reader = new ExecTraceReader(heap);
  heap.attach(reader);
  opts.ready?.(reader);
  const progress = new Progress(opts.quiet);
  const warnings: string[] = [];
  const t0 = performance.now();
  const report = () =>
    progress.update(() => {
      const s = (performance.now() - t0) / 1000;
      const bytes = reader.stats.bytes;
      return `${input.name}: ${fmtBytes(bytes)}, ${
        fmtBytes(Math.round(bytes / s))
      }/s, ${reader.stats.generations} generations`;
    });
  const fail = (msg: string) => new Error(`${input.name}: ${msg}`);
  try {
    if (input.readInto !== undefined) {
      const buf = new Uint8Array(4 << 20);
      for (;;) {
        const n = await input.readInto(buf);
        if (n === null) break;
        reader.feed(buf.subarray(0, n));
        report();
      }
    } else {
      for await (const chunk of input.stream) {
        reader.feed(chunk);
        report();
      }
    }
  } catch (e) {
    // The reader throws only on a refused header; the rest is the gzip stream.
    if (!input.gzip || reader.stats.version === 0) {
      progress.done();
      throw fail((e as Error).message.split("\n")[0]);
    }
    warnings.push(
      `${
        gzipCutAt(reader.stats.bytes, e)
      }; everything before the cut was analysed`,
    );
  } finally {
    progress.done();
  }
  try {
    reader.end();
  } catch (e) {
    throw fail((e as Error).message);
  }
  const st = reader.stats;
  const c = st.counts;
  const objectEvents = c[Ev.HeapObjectAlloc] + c[Ev.HeapObject] +
    c[Ev.HeapObjectFree];
  if (st.problem !== null) {
    if (st.generations === 0 || objectEvents === 0) {
      throw fail(`${st.problem}; nothing complete to analyse`);
    }
    // A cut gzip stream cuts the trace too: its warning says it all.
    if (warnings.length === 0) {
      warnings.push(
        `${st.problem}; the ${st.generations} complete generation(s) before it were analysed`,
      );
    }
  }
  if (st.secondTraceAt !== null) {
    warnings.push(
      `a second execution trace begins at byte ${
        st.secondTraceAt.toLocaleString("en-US")
      } (traces concatenated?): only the first was analysed`,
    );
  }
  if (objectEvents === 0) {
    throw fail(
      `a go 1.${st.version} execution trace without allocation events: take it with GODEBUG=traceallocfree=1 (Go 1.23+)`,
    );
  }
  // (Unseen stack frees are the g0 stacks of exiting Ms: normal.)
  const { unmatchedStackFrees: _, ...a } = heap.anomalies;
  const odd = Object.entries(a).filter(([, v]) => v > 0);
  if (odd.length > 0) {
    warnings.push(
      `events the heap model could not place: ${
        odd.map(([k, v]) => `${k} ${v}`).join(", ")
      }`,
    );
  }
  return {
    reader,
    heap,
    warnings: warnings.map((w) => `${input.name}: ${w}`),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Event counts by name (only the kinds seen), as `go tool trace -d=2` counts them. */
export function eventCounts(reader: ExecTraceReader): Record<string, number> {
  const out: Record<string, number> = {};
  for (let t = 0; t < 256; t++) {
    if (reader.stats.counts[t] > 0) {
      out[EV_NAMES[t] || `Invalid(${t})`] = reader.stats.counts[t];
    }
  }
  return out;
}

/**
 * Streams an execution trace's allocations and frees (of objects allocated
 * while tracing) and its GC cycles to `add` as the shared event model.
 * With `asMalloc`, each allocation comes at the size mallocgc was asked for
 * as far as the trace tells, for a replay: an object with a malloc header
 * (pointers, a small size class over 512 B) as Go 1.22's tracealloc printed
 * it, 8 bytes into its slot and 8 bytes shorter, so the replay allocates it
 * at the same slot size with or without headers; and no GC events (the
 * replay runs its own).
 */
export async function streamExecAllocs(
  input: Input,
  stacks: StackTable,
  add: (e: TraceEvent) => void,
  opts: { quiet: boolean; asMalloc: boolean },
): Promise<ExecRead> {
  let types: readonly TypeInfo[] = [];
  return await readExecTrace(input, stacks, (e) => {
    if (e.kind === "free") {
      if (!e.existing) add(e);
    } else if (e.kind === "alloc") {
      if (e.existing) return;
      const header = opts.asMalloc &&
        (types[e.typeIndex]?.ptrBytes ?? 0) > 0 && e.size > 512 &&
        e.size <= 32768;
      add(header ? { ...e, addr: e.addr + 8, size: e.size - 8 } : e);
    } else if (e.kind === "gc" && !opts.asMalloc) add(e);
  }, { quiet: opts.quiet, ready: (r) => types = r.types });
}
