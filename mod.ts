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
 * The entry re-exports whole modules, one concept each (as denoland/std's
 * `mod.ts` files do), floor by floor. Internal helpers live in modules it
 * does not re-export (`lib/runtime/sys.ts`, `print.ts`,
 * `fastlog2table.ts`, `lib/profile/gzip.ts`, `_`-prefixed files). Seven
 * modules that also export helpers shared inside `lib/` are re-exported by
 * name. The native tracer (FFI) is `./native.ts`.
 *
 * @module
 */

// ---- stack: symbols, frames ----
export * from "./lib/stack/symtab.ts";
export * from "./lib/stack/allockind.ts";
export * from "./lib/stack/js_stack.ts";
export * from "./lib/stack/runtime_frames.ts";
export * from "./lib/stack/frames_go119.ts";
export * from "./lib/stack/frames_go12.ts";
export * from "./lib/stack/frames_go122.ts";

// ---- runtime: the simulated Go runtime ----
export * from "./lib/runtime/runtime.ts";
export * from "./lib/runtime/runtime_parts.ts";
export * from "./lib/runtime/presets.ts";
export * from "./lib/runtime/sizeclasses.ts";
export * from "./lib/runtime/types.ts";
export * from "./lib/runtime/mheap.ts";
export * from "./lib/runtime/mspan.ts";
export * from "./lib/runtime/mcentral.ts";
export * from "./lib/runtime/mcache.ts";
export * from "./lib/runtime/malloc.ts";
export * from "./lib/runtime/slice.ts";
export * from "./lib/runtime/chan.ts";
export * from "./lib/runtime/map.ts";
export * from "./lib/runtime/string.ts";
export {
  findObject,
  heapBitsSetType,
  MIN_SIZE_FOR_MALLOC_HEADER,
  PointerWords,
} from "./lib/runtime/mbitmap.ts";
export * from "./lib/runtime/globals.ts";
export * from "./lib/runtime/mfinal.ts";
export * from "./lib/runtime/proc.ts";
export * from "./lib/runtime/goroutine.ts";
export * from "./lib/runtime/gc.ts";
export * from "./lib/runtime/pacer.ts";
export * from "./lib/runtime/markrunon.ts";
export * from "./lib/runtime/stackscan.ts";
export * from "./lib/runtime/sweep.ts";
export * from "./lib/runtime/events.ts";
export * from "./lib/runtime/mprof.ts";
export * from "./lib/runtime/sampling.ts";
export * from "./lib/runtime/traceback.ts";
export * from "./lib/runtime/mstats.ts";
export * from "./lib/runtime/clock.ts";
export * from "./lib/runtime/gctrace.ts";
export * from "./lib/runtime/godebug.ts";
export * from "./lib/runtime/startup.ts";
export * from "./lib/runtime/startup_data.ts";
// Two modules name a GC event and an allocation-header size: the runtime's
// are the runtime's; the trace's GC record is TraceGCEvent.
export type { GCEvent } from "./lib/runtime/events.ts";
export { MALLOC_HEADER_SIZE } from "./lib/runtime/mbitmap.ts";

// ---- profile and workload ----
export * from "./lib/profile/proto.ts";
export * from "./lib/profile/folded.ts";
export * from "./lib/profile/heap.ts";
export * from "./lib/profile/text.ts";
export * from "./lib/workload/registry.ts";
export * from "./lib/workload/loader.ts";
export * from "./lib/workload/binarytrees.ts";
export * from "./lib/workload/leak.ts";
export * from "./lib/workload/temporaries.ts";
export * from "./lib/workload/multigo.ts";
export * from "./lib/workload/cache.ts";
export * from "./lib/workload/heapprofile.ts";

// ---- trace: the shared event model, readers, printers, analysis ----
export * from "./lib/trace/events.ts";
export type { GCEvent as TraceGCEvent } from "./lib/trace/events.ts";
export * from "./lib/trace/goversion.ts";
export * from "./lib/trace/byte_parser.ts";
export * from "./lib/trace/analyze.ts";
export * from "./lib/trace/replay.ts";
export * from "./lib/trace/sim_events.ts";
export * from "./lib/trace/seed_printer.ts";
export * from "./lib/trace/tracealloc_printer.ts";
// By name: these modules also export helpers the other readers and
// printers share (record fields, hex writing, site labelling).
export { TraceParser } from "./lib/trace/parser.ts";
export type { GoroutineInfo, ParseStats } from "./lib/trace/parse_stats.ts";
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
export {
  type PrinterOptions,
  type StackSource,
  TracePrinter,
} from "./lib/trace/printer.ts";
export { ByteWriter } from "./lib/trace/byte_writer.ts";

// ---- report ----
export * from "./lib/report/html.ts";
export * from "./lib/report/tree.ts";
export { analysisText, type TextOptions } from "./lib/report/text.ts";
