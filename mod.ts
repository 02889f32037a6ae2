/**
 * alloctrace: the Go runtime's memory allocator on a workbench.
 *
 * The library drives a simulated Go heap — size classes, spans, mcache /
 * mcentral / mheap, the tiny allocator — with the allocation path of Go's
 * `mallocgc`, in two presets (`go1.19` and the Dec 2013 `go1.2-seed`).
 * Nothing here touches `Deno.*`; it runs anywhere TypeScript runs.
 *
 * @example
 * ```ts
 * import { Runtime } from "./mod.ts";
 *
 * const rt = new Runtime({ preset: "go1.19", gomaxprocs: 2 });
 * const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
 * const a = rt.newobject(node);          // 0xc000000000
 * const buf = rt.makeslice(rt.types.get("uint8"), 40000); // a large object: 0xa000 bytes
 * rt.free(a);
 * const s = rt.readMemStats();
 * if (s.HeapObjects !== 1 || s.HeapAlloc !== 0xa000 || rt.sizeOf(buf) !== 40960) throw new Error();
 * ```
 *
 * @module
 */

export { type FuncInfo, SymbolTable } from "./lib/stack/symtab.ts";
export {
  type AllocEvent,
  type Frame,
  type FreeEvent,
  type GCEvent as TraceGCEvent,
  headerBytes,
  siteFrame,
  slotAddr,
  StackTable,
  type TraceEvent,
} from "./lib/trace/events.ts";
export {
  detectGoVersion,
  type GoVersionGuess,
  hasAllocHeaders,
  rulesWarning,
  type SizeRow,
  sizesUnderRules,
} from "./lib/trace/goversion.ts";
export {
  type GoroutineInfo,
  type ParseStats,
  TraceParser,
} from "./lib/trace/parser.ts";
export {
  type AnalysisResult,
  type AnalyzeOptions,
  BYTES_BUCKETS,
  CYCLE_BUCKETS,
  MAX_TIMELINE,
  siteName,
  type SiteStats,
  type Snapshot,
  TraceAnalyzer,
} from "./lib/trace/analyze.ts";
export {
  frameText,
  isAllocatorFrame,
  type Site,
  SITE_BY,
  type SiteBy,
  type SiteFrame,
  siteIndex,
  siteOf,
} from "./lib/trace/sites.ts";
export { analysisText, type TextOptions } from "./lib/report/text.ts";
export { Replayer } from "./lib/trace/replay.ts";
export { ByteTraceParser } from "./lib/trace/byte_parser.ts";
export {
  type DiffSite,
  renderReport,
  type ReportInput,
} from "./lib/report/html.ts";
export { callTree, type TreeOptions } from "./lib/report/tree.ts";
export { attachEvents } from "./lib/trace/sim_events.ts";
export {
  isScriptSpecifier,
  loadScriptWorkload,
  type ScriptWorkload,
} from "./lib/workload/loader.ts";
export {
  findWorkload,
  type Workload,
  type WorkloadParam,
  WORKLOADS,
} from "./lib/workload/registry.ts";
export {
  AllocKind,
  HCHAN_SIZE,
  MAX_ALLOC,
  Runtime,
  type RuntimeOptions,
  TINY_SIZE,
} from "./lib/runtime/runtime.ts";
export {
  getPreset,
  type PagePolicy,
  type Preset,
  PRESET_NAMES,
  type PresetName,
  sizeClassesOf,
  type SystemGoroutine,
} from "./lib/runtime/presets.ts";
export {
  MAX_SMALL_SIZE,
  type SizeClassParams,
  SizeClassTable,
} from "./lib/runtime/sizeclasses.ts";
export {
  GoType,
  PTR_SIZE,
  type TypeKind,
  TypeRegistry,
  type TypeSpec,
} from "./lib/runtime/types.ts";
export {
  MHeap,
  type MHeapOptions,
  OutOfMemoryError,
} from "./lib/runtime/mheap.ts";
export {
  ctz32,
  makeSpanClass,
  MSpan,
  numSpanClasses,
  popcount32,
  SpanArrayPool,
  type SpanSetRef,
  SpanState,
  type Special,
} from "./lib/runtime/mspan.ts";
export { MCentral, SpanSet, type SpanSweeper } from "./lib/runtime/mcentral.ts";
export { PointerWords } from "./lib/runtime/mbitmap.ts";
export { Globals } from "./lib/runtime/globals.ts";
export {
  Collector,
  type GCCycleStats,
  type GCEvent,
  type GCListener,
} from "./lib/runtime/gc.ts";
export {
  type CycleMeasure,
  GC_BACKGROUND_UTILIZATION,
  GCController,
  type PacerModel,
  parseGOGC,
} from "./lib/runtime/pacer.ts";
export { Sweeper } from "./lib/runtime/sweep.ts";
export { goStartup, startupPrograms } from "./lib/runtime/startup.ts";
export type {
  StartupData,
  StartupFrame,
  StartupProgram,
  StartupRecord,
} from "./lib/runtime/startup_data.ts";
export {
  type AllocFn,
  EventHub,
  type FreeFn,
  type FreeWho,
  type GCFn,
  type ProfileAllocFn,
  type ProfileFreeFn,
  type RuntimeConsumer,
  type SweepWho,
} from "./lib/runtime/events.ts";
export {
  type FrameSnapshot,
  type GKind,
  Goroutine,
  type GStatus,
} from "./lib/runtime/goroutine.ts";
export {
  type PrinterOptions,
  type StackSource,
  TracePrinter,
} from "./lib/trace/printer.ts";
export { ByteWriter, writeHex } from "./lib/trace/byte_writer.ts";
export {
  type SeedFrame,
  seedFrameLines,
  type SeedObjectInfo,
  seedObjectInfo,
  SeedPrinter,
} from "./lib/trace/seed_printer.ts";
export { TraceallocPrinter } from "./lib/trace/tracealloc_printer.ts";
export { captureJsFrames, type JsFrame } from "./lib/stack/js_stack.ts";
export {
  type ExplicitStack,
  frame,
  inlinedFrame,
  type PresetFrames,
  type RuntimeFrame,
  type SystemGoroutineFrames,
} from "./lib/stack/runtime_frames.ts";
export { GO119_FRAMES } from "./lib/stack/frames_go119.ts";
export { GO12_FRAMES } from "./lib/stack/frames_go12.ts";
export { COSTS, formatGCms } from "./lib/runtime/clock.ts";
export { formatGCTrace } from "./lib/runtime/gctrace.ts";
export { type GoDebug, parseGodebug } from "./lib/runtime/godebug.ts";
export { emptymspan, MCache } from "./lib/runtime/mcache.ts";
export { leak, type LeakResult } from "./lib/workload/leak.ts";
export { temporaries } from "./lib/workload/temporaries.ts";
export { multigo } from "./lib/workload/multigo.ts";
export { cache } from "./lib/workload/cache.ts";
export {
  heapprofile,
  type HeapProfileOptions,
} from "./lib/workload/heapprofile.ts";
export {
  BUCK_HASH_SIZE,
  Bucket,
  type CycleModel,
  HeapProfile,
  MAX_STACK,
  type MemProfileRecord,
  type MemRecordCycle,
  stackHash,
} from "./lib/runtime/mprof.ts";
export {
  fastexprand,
  fastlog2,
  FASTLOG2_TABLE,
  FastRand1,
  Sampler,
  type SamplingRule,
  WyRand,
} from "./lib/runtime/sampling.ts";
export {
  type FullMemStats,
  fullMemStats,
  type MemStats,
  readMemStats,
} from "./lib/runtime/mstats.ts";
export {
  goFloatV,
  sortByInuse,
  writeHeapProfileText,
} from "./lib/profile/text.ts";
export {
  encodeHeapProfile,
  type EncodeOptions,
  folded,
  gunzip,
  gzip,
  HEAP_SAMPLE_TYPES,
  type HeapSample,
  type HeapSampleType,
  type ProfileFrame,
  readPprof,
  type ReadProfile,
  recordsToSamples,
  scaleHeapSample,
} from "./lib/profile/proto.ts";
export { heapProfileProto, heapSamples } from "./lib/profile/heap.ts";
export {
  binarytrees,
  type BinaryTreesOptions,
  type BinaryTreesResult,
  treeNodes,
} from "./lib/workload/binarytrees.ts";
