/**
 * Go 1.23+ execution traces taken with `GODEBUG=traceallocfree=1`: a
 * streaming reader of the binary format, the heap it describes (objects,
 * spans, goroutine stacks, types, goroutine creation sites) and an analysis
 * by type. The heap model's events extend the shared event model
 * (`../events.ts`), so every consumer of allocfreetrace events takes them.
 *
 * @example
 * ```ts
 * import { ExecAnalyzer, ExecHeap, ExecTraceReader, StackTable } from "./mod.ts";
 * const stacks = new StackTable();
 * let analyzer: ExecAnalyzer | undefined;
 * const heap = new ExecHeap(stacks, (e) => analyzer!.add(e));
 * const reader = new ExecTraceReader(heap);
 * heap.attach(reader);
 * analyzer = new ExecAnalyzer(reader.types);
 * reader.feed(new TextEncoder().encode("go 1.23 trace\0\0\0"));
 * reader.end();
 * if (analyzer.finish(heap, reader.stats.duration).allocs !== 0) throw new Error();
 * ```
 *
 * @module
 */

export { StackTable } from "../events.ts";
export {
  ARG_COUNTS,
  Ev,
  EV_NAMES,
  type HeaderInfo,
  readHeader,
  supportedVersion,
} from "./format.ts";
export {
  type AddressInfo,
  EventCursor,
  type ExecSink,
  ExecTraceReader,
  type GenerationContext,
  type ReaderStats,
  type TypeInfo,
} from "./reader.ts";
export { CLASS_TO_SIZE, ExecHeap } from "./heap.ts";
export type {
  ExecAllocEvent,
  ExecEvent,
  ExecFreeEvent,
  ExecGCEvent,
  ExecGCStartEvent,
  ExecStackEvent,
  GoroutineSite,
  HeapAnomalies,
} from "./heap_events.ts";
export {
  type ExecAnalysis,
  ExecAnalyzer,
  type SiteRow,
  TIME_BUCKETS,
  type TimePoint,
  type TypeStats,
} from "./analyze.ts";
