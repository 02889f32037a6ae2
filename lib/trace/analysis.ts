/**
 * What an analysis of an allocation trace gives ({@link AnalysisResult}:
 * totals, sites, the timeline of the live heap, sizes), the bounds of its
 * lifetime histograms, and its options; `TraceAnalyzer` (analyze.ts) makes
 * it.
 *
 * @module
 */

import type { Frame } from "./events.ts";
import type { SiteBy, SiteFrame } from "./sites.ts";
import type { AllocSizeRow } from "./_size_stats.ts";

/** Upper bounds of the lifetime histogram buckets in GC cycles (the last is open). */
export const CYCLE_BUCKETS: readonly number[] = [0, 1, 2, 4, 8, 16, 64];
/** Upper bounds (bytes, powers of 4) of the bytes-allocated-between histogram (the last is open). */
export const BYTES_BUCKETS: readonly number[] = [
  1 << 10,
  1 << 14,
  1 << 18,
  1 << 22,
  1 << 26,
  1 << 30,
];

/**
 * Figures of one allocation site. A site is keyed by a list of frames
 * ({@link SiteStats.frames}: the site frame alone, or a whole stack with
 * `by: "stack"`); {@link SiteStats.site} is that key as text. Producers
 * other than allocfreetrace (execution traces, native tracing) feed the
 * same events and get the same sites.
 */
export interface SiteStats {
  /** Site name: `func file:line` (default), `func`, or the stack joined by ` ← `. */
  site: string;
  /** Function of the site frame. */
  func: string;
  /** File of the site frame ("" when unknown). */
  file: string;
  /** Line of the site frame (0 when unknown). */
  line: number;
  /** The frames of the key, innermost first. */
  frames: SiteFrame[];
  /** The allocation stack with the most bytes allocated at this site: the site frame and its callers. */
  stack: SiteFrame[];
  /** The allocation stack with the most bytes still live at the end (empty when none is live). */
  liveStack: SiteFrame[];
  /** Distinct allocation stacks through this site. */
  stacks: number;
  /** Allocations. */
  allocs: number;
  /** Bytes allocated (rounded sizes). */
  allocBytes: number;
  /** Bytes requested (mallocgc's first argument), when the trace shows it. */
  requestedBytes: number;
  /** Allocations whose requested size is known. */
  requestedKnown: number;
  /** Frees of this site's objects. */
  frees: number;
  /** Bytes freed. */
  freeBytes: number;
  /** Objects still live at the end. */
  live: number;
  /** Bytes still live at the end. */
  liveBytes: number;
  /** Of the live objects: GC cycles survived (min, max, sum for the mean). */
  liveCyclesMin: number;
  /** Most GC cycles survived by a live object. */
  liveCyclesMax: number;
  /** Sum of GC cycles survived by live objects. */
  liveCyclesSum: number;
  /** Freed objects by GC cycles between allocation and free ({@link CYCLE_BUCKETS}). */
  lifetimeCycles: number[];
  /** Freed objects by bytes allocated in between ({@link BYTES_BUCKETS}). */
  lifetimeBytes: number[];
}

/** The live heap at one moment, with the sites that held most of it. */
export interface Snapshot {
  /** Bytes allocated so far (the x axis "by allocated bytes"). */
  alloc: number;
  /** GC cycles so far. */
  cycle: number;
  /** Live bytes. */
  live: number;
  /** The producer's clock then, in seconds (simulated time for `run`, wall time for `native`), when it has one. */
  time?: number;
  /** Why it was taken: a GC cycle, a new peak, a step of allocated bytes, or the end. */
  at: "gc" | "peak" | "tick" | "end";
  /** The sites with the most live bytes then: [site, bytes]. */
  top: [string, number][];
}

/** The result of an analysis. */
export interface AnalysisResult {
  /** Allocation records. */
  allocs: number;
  /** Free records. */
  frees: number;
  /** Frees with no allocation before them (objects allocated before tracing). */
  unmatchedFrees: number;
  /** Allocations at an address still live (its free was not traced, or two traces were concatenated). */
  allocsAtLive: number;
  /** GC cycles. */
  gcs: number;
  /** Bytes allocated. */
  allocBytes: number;
  /** Peak live bytes (as the trace shows: allocations minus frees). */
  peakLiveBytes: number;
  /** When the peak happened: trace line (0 for simulated events), record index and GC cycle. */
  peakAt: { line: number; record: number; cycle: number };
  /** Live bytes and objects at the end. */
  liveBytes: number;
  /** Objects live at the end. */
  liveObjects: number;
  /** Per site. */
  sites: SiteStats[];
  /**
   * The live heap over time: at each GC cycle, at new peaks, every so many
   * bytes allocated (the step doubles to keep at most
   * {@link MAX_TIMELINE} points) and at the end.
   */
  timeline: Snapshot[];
  /** Where the GC cycles happened (bytes allocated, and time when known); thinned past {@link MAX_TIMELINE}. */
  gcMarks: { alloc: number; time?: number; cycle: number }[];
  /** Per rounded size: count, bytes, requested bytes where known, internal fragmentation. */
  sizes: AllocSizeRow[];
}

/** Options of an analysis. */
export interface AnalyzeOptions {
  /** What a site is (default `line`: the site frame's function and file:line). */
  by?: SiteBy;
  /** Same as `by: "stack"` (kept for older callers). */
  byStack?: boolean;
  /** Frames that are never the site (default {@link isAllocatorFrame}: Go's runtime, libc's malloc family, operator new). */
  skipFrame?: (f: Frame) => boolean;
  /** The producer's clock in seconds, read at each timeline point (`run`: simulated time; `native`: wall time). */
  now?: () => number;
  /**
   * Live objects are kept by page ({@link PagedAddrMap}, the default):
   * heaps are compact arenas (the simulated one, Go's, malloc's), where
   * that is several times faster than the hash table. `false`: in a hash
   * table ({@link AddrMap}), for addresses scattered far apart.
   */
  dense?: boolean;
  /**
   * Whether an allocation's address may be 8 bytes into its slot (Go
   * 1.22's allocation header, see {@link slotAddr}; default true). False
   * for native malloc, whose blocks are freed at the address they were
   * allocated at, whatever their size.
   */
  headers?: boolean;
  /**
   * Frees of objects never seen allocated: counted (`count`, the default:
   * {@link AnalysisResult.unmatchedFrees}) or left out as if they never
   * came (`skip`: native tracing, where libc frees blocks it made inside
   * itself, such as each thread's tcache, that no hook sees allocated).
   */
  unseenFrees?: "count" | "skip";
}

/** Most points of {@link AnalysisResult.timeline} (and of its GC marks). */
export const MAX_TIMELINE = 2000;
