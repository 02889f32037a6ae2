/**
 * Runtime presets: what differs between the Go versions the workbench
 * models, as data for the one allocator (DESIGN.md, "Runtime presets").
 *
 * @module
 */

import { type SizeClassParams, SizeClassTable } from "./sizeclasses.ts";
import type { PresetFrames } from "../stack/runtime_frames.ts";
import { GO119_FRAMES } from "../stack/frames_go119.ts";
import { GO119_STACKS, type StackScanModel } from "./stackscan.ts";
import { GO12_FRAMES } from "../stack/frames_go12.ts";
import { GO122_FRAMES } from "../stack/frames_go122.ts";
import { GO119_STD, GO122_STD } from "../stack/frames_std.ts";
import type { StartupData } from "./startup_data.ts";
import type { TypeSpec } from "./types.ts";
import { STARTUP as GO119_STARTUP } from "./startup_go119.ts";
import { STARTUP as GO122_STARTUP } from "./startup_go122.ts";

/** The names of the presets. */
export type PresetName = "go1.19" | "go1.22" | "go1.2-seed";

/** How the page heap picks a free run of pages. */
export type PagePolicy = "first-fit" | "best-fit";

/** A parked runtime goroutine every program of a version starts with. */
export interface SystemGoroutine {
  /** Its kind (the frames a `tracegc` shows for it are the preset's). */
  readonly kind: "forcegc" | "bgsweep" | "bgscavenge";
  /** Why it waits, as a traceback header says. */
  readonly waitReason: string;
}

/** Everything the allocator needs to know about one Go version. */
export interface Preset {
  /** Preset name, as given on the command line. */
  readonly name: PresetName;
  /** The Go version the preset models, as `runtime.Version()` prints it. */
  readonly goVersion: string;
  /** Runtime page size in bytes. */
  readonly pageSize: number;
  /** Parameters of the size-class algorithm. */
  readonly sizeClassParams: SizeClassParams;
  /** First heap address (`arena_start` in Go 1.2, the first arena hint in Go 1.19). */
  readonly arenaStart: number;
  /** Bytes of address space the heap may grow to (Go 1.2: 128 GiB `MaxMem`). */
  readonly arenaMaxBytes: number;
  /** Granularity in which the page heap grows (Go 1.19: 4 MiB chunks; Go 1.2: 1 MiB). */
  readonly heapGrowBytes: number;
  /** Address-ordered first fit (Go 1.19's page allocator) or best fit (Go 1.2's free lists). */
  readonly pagePolicy: PagePolicy;
  /** Whether noscan allocations under 16 bytes share 16-byte blocks (Go 1.3+). */
  readonly tinyAllocator: boolean;
  /**
   * makechan types its one block by the channel type (`| TypeInfo_Chan`),
   * so the seed's profile prints `<channel of chan int>` (the Dec 2013
   * runtime); later versions allocate it untyped.
   */
  readonly makechanChanType: boolean;
  /** Heap goal before the first GC, `heapMinimum` (Go 1.19: 4 MiB; Go 1.2: 0). */
  readonly heapMinimum: number;
  /**
   * Scannable globals (data and bss with pointers) of the runtime and the
   * standard library that every program has, bytes: Go 1.19's pacer adds
   * them to the heap goal and the runway (`globalsScan`; gcpacertrace shows
   * 223,600–224,208 B for the shared programs built with go1.19.8).
   */
  readonly runtimeGlobalsScan: number;
  /**
   * Goroutine stacks as the GC scans them (stackscan.ts); null: not
   * measured for this version, 8 B per root slot.
   */
  readonly stackScan: StackScanModel | null;
  /**
   * The pacer's cons/mark estimate: Go 1.19's PI controller over the
   * measurements, or Go 1.21+'s largest of the last four.
   */
  readonly consMarkEstimate: "pi-controller" | "max-of-last-4";
  /**
   * Calibration, not Go code: how far past the point its work is done an
   * untraced concurrent mark runs on, as 20 quantiles (the 2.5th, 7.5th …
   * 97.5th percentiles) of the KiB the mutator allocated meanwhile; null:
   * the mark ends where its work is done. When a background worker does a
   * mark's last work (not the mutator's own assist), it flushes that work as
   * credit that the mutator takes at `revise`'s ratio of the moment, heap
   * left over scan work left (at least 1000 B: mgcpacer.go 618–657), which
   * near the end is hundreds of bytes of allocation per byte scanned
   * (gcFlushBgCredit and gcAssistAlloc's steal, mgcmark.go 436–462 and
   * 665–714). The mutator allocates on that credit, black, until the worker
   * has stopped the world (gcMarkDone's forEachP and stopTheWorldWithSema,
   * mgc.go 784–855), so how far it gets is the OS's scheduling of
   * the worker's thread. A statistical stand-in, not that mechanism: the
   * model's marks at these sizes all end by assists (none by a background
   * worker, which would hand out the credit), so the draw stands in for the
   * distribution of real run-ons over the cycles, not for which marks run
   * on, and it is drawn only with more than one P (with one, the worker
   * holds the only P until the world stops: real GOMAXPROCS=1 runs never
   * run on). Measured: gcpacertrace's ∆goal (heapLive at
   * endCycle past the goal; 0 when below) of every cycle after the second
   * but the forced ones of 48 untraced go1.19.8 runs of binarytrees
   * -depth 14/15/16 (1,674 cycles, 2 Ps, load 7–16;
   * tests/testdata/fidelity/binarytrees-1{4,5,6}-pacertrace.txt.gz, which
   * presets_test derives these from). The first two are left out: the
   * model's pacer already ends them where Go's does (the first, with no
   * cons/mark yet, runs ~1 MB past a 4 MB goal; after a 4 MB stretch
   * tree, the second ends short of a 14 MB one).
   */
  readonly markEndLateKB: readonly number[] | null;
  /**
   * Calibration of the scheduler, not Go code: whether a traced goroutine
   * that sysmon preempts between two records (every 10 ms of printing)
   * resumes on another P. Go 1.22 (true): the mutator's allocations of a
   * cycle fill both Ps' mcaches, both flush hundreds of frees at the cycle's
   * end (go1.22.12 temporaries -n 40: 222 and 216 frees, where go1.19.8
   * flushes 395 and 5), its M changes every 82 allocations (median, 26
   * segments of a temporaries -n 300 run), and a mark worker gets a P at
   * the next preemption. Go 1.19 (false): the mutator keeps its P, and the
   * workers wait 10 ms from the mark's start.
   */
  readonly tracedPreemptMigrates: boolean;
  /** Default GOMAXPROCS (Go 1.2 defaulted to 1; Go 1.19 to the CPU count, 2 here). */
  readonly defaultGomaxprocs: number;
  /** Synthetic address of `runtime.zerobase`, returned for zero-size allocations. */
  readonly zerobase: number;
  /** Start of the synthetic read-only segment where type descriptors live. */
  readonly typeSegmentStart: number;
  /** Start of the synthetic text segment where function PCs live. */
  readonly textStart: number;
  /**
   * The `GODEBUG=allocfreetrace=1` format: the seed's `MProf_*` records
   * (every allocation forced into the profile) or Go 1.3+'s `tracealloc`.
   */
  readonly traceFormat: "seed" | "tracealloc";
  /** The runtime's own frames: allocation paths, sweepers, system goroutines. */
  readonly frames: PresetFrames;
  /**
   * The start-up of real programs of this version (records before main's
   * own allocations, from real traces; `goStartup` replays it), or null.
   */
  readonly startup: StartupData | null;
  /**
   * Layouts of the start-up records' pointerful types where the default
   * (a pointer in the first word) is wrong, by type name.
   */
  readonly startupLayouts: Readonly<Record<string, TypeSpec>>;
  /**
   * Heap-profile sampling: Go 1.2's uniform `fastrand1() % (2*rate)` (objects
   * of at least `rate` bytes always sampled), or Go 1.3+'s exponential
   * countdown with mean `rate`.
   */
  readonly sampling: "uniform" | "exponential";
  /**
   * Heap-profile cycles: Go 1.2's recent → settled at each GC (`MProf_GC`),
   * or Go 1.3+'s three-slot future ring published "as of the last GC".
   */
  readonly profileCycles: "recent-settled" | "future-ring";
  /** Whether a profile bucket's key includes the object size (Go 1.3+). */
  readonly bucketBySize: boolean;
  /**
   * Sweeping: Go 1.2 stops the world and sweeps everything at mark
   * termination; Go 1.3+ sweeps lazily, proportionally, in the background and
   * through the reclaimer, concurrently with the mutator.
   */
  readonly stopTheWorldSweep: boolean;
  /** Whether every allocation checks the GC trigger (Go 1.2), not only those that refill or allocate large. */
  readonly gcCheckEveryMalloc: boolean;
  /** The pacer: Go 1.2's `next_gc` (live × (1 + GOGC/100), no minimum) or Go 1.19's goal and trigger bounds. */
  readonly pacer: "next_gc" | "go1.19";
  /** Whether the collector starts a background mark worker per P at its first cycle. */
  readonly bgMarkWorkers: boolean;
  /** The runtime's own goroutines, parked, after main. */
  readonly systemGoroutines: readonly SystemGoroutine[];
  /**
   * The `GODEBUG=gctrace=1` line: Go 1.2's stop-the-world `gcN(P): …`, or
   * the concurrent collector's `gc N @…s …%: …` (Go 1.5+).
   */
  readonly gctraceFormat: "stw" | "concurrent";
  /**
   * GODEBUG parsing: the seed-era C parser (a field matches a name when it
   * starts with `name=`, the value is the run of leading digits) or Go
   * 1.19's (exact keys, `memprofilerate`, bad values leave the default).
   */
  readonly godebugParser: "c-prefix" | "exact";
  /** The GODEBUG variables the runtime knows, in its table's order. */
  readonly godebugVars: readonly string[];
  /** GODEBUG variables whose default is not 0. */
  readonly godebugDefaults: Readonly<Record<string, number>>;
  /** The legacy text heap profile (`debug=1`) as the version writes it. */
  readonly textProfile: {
    /** MemStats read before the records (Go 1.19), else after them (Go 1.2). */
    readonly memStatsFirst: boolean;
    /** Frame PCs printed as return address − 1 (Go 1.3+), else as recorded. */
    readonly pcMinusOne: boolean;
    /** The `# runtime.MemStats` trailer: Go 1.2's short field list or Go 1.19's full one. */
    readonly trailer: "short" | "full";
  };
  /**
   * Go 1.22's allocation headers (runtime/mbitmap_allocheaders.go): a
   * small object with pointers over 512 B gets 8 bytes in front, its class
   * is chosen for size + 8 and its address is 8 bytes into the slot.
   */
  readonly allocHeaders: boolean;
  /**
   * Traceback shapes: Go 1.19's `goroutine N [status]:` and `created by F`,
   * or Go 1.21+'s `goroutine N gp=0x… m=M mp=0x… [status]:` and
   * `created by F in goroutine N` (runtime/traceback.go).
   */
  readonly traceback: {
    /** The header names the g and the M it runs on. */
    readonly gpHeader: boolean;
    /** `created by` names the creating goroutine. */
    readonly createdByGoroutine: boolean;
    /** Addresses of g0 and m0 (static in the binary) as the header prints them. */
    readonly g0: number;
    /** m0's address. */
    readonly m0: number;
  };
}

const MiB = 1 << 20;

/**
 * Go 1.19's start-up records' pointerful types (other versions' sizes
 * differ). Their words stay zero here, so only the last pointer word
 * matters (the first is kept where it is): the mark's scan work runs up to
 * it (Go's `ptrdata`, each printed by a Go 1.19 runtime built with `go
 * build -overlay` to print it). With a pointer in the first word only,
 * leak's first GC scanned ~29 KB less heap than real Go's gcpacertrace
 * shows (181,920 against 210,592 B).
 */
const GO119_STARTUP_LAYOUTS: Readonly<Record<string, TypeSpec>> = {
  "runtime.p": { size: 8912, pointers: [0, 8848 / 8 - 1] },
  "runtime.m": { size: 1008, pointers: [0, 680 / 8 - 1] },
  "runtime.g": { size: 392, pointers: [0, 376 / 8 - 1] },
  "runtime.sudog": { size: 88, pointers: [0, 88 / 8 - 1] },
  "runtime.timer": { size: 72, pointers: [0, 48 / 8 - 1] },
  "runtime.mapextra": { size: 24, pointers: [0, 2] },
  "os.file": { size: 88, pointers: [0, 80 / 8 - 1] },
  "flag.Flag": { size: 64, pointers: [0, 56 / 8 - 1] },
  "flag.FlagSet": { size: 96, pointers: [0, 96 / 8 - 1] },
  "struct { F uintptr; R *flag.FlagSet }": { size: 16, pointers: [1] },
  "struct { F uintptr; .autotmp_1 chan int }": { size: 16, pointers: [1] },
  "struct { F uintptr; .autotmp_2 chan int }": { size: 16, pointers: [1] },
  // A bucket of string keys: tophash, 8 keys, 8 values, the overflow last.
  "map.bucket[string]*flag.Flag": { size: 208, pointers: [1, 25] },
  "map.bucket[string]*unicode.RangeTable": { size: 208, pointers: [1, 25] },
  "map.bucket[string]uint64": { size: 208, pointers: [1, 25] },
};

// Go 1.19.8: the reference preset; Go 1.22 is this with its differences.
const GO119: Preset = {
  name: "go1.19",
  goVersion: "go1.19.8",
  pageSize: 8192,
  sizeClassParams: {
    pageSize: 8192,
    align16From: 32,
    enlarge: true,
    class8Zero: 0,
  },
  arenaStart: 0xc000000000,
  arenaMaxBytes: 256 * 1024 * 1024 * 1024,
  heapGrowBytes: 4 * MiB,
  pagePolicy: "first-fit",
  tinyAllocator: true,
  makechanChanType: false,
  heapMinimum: 4 * MiB,
  runtimeGlobalsScan: 223_600,
  stackScan: GO119_STACKS,
  consMarkEstimate: "pi-controller",
  // deno-fmt-ignore
  markEndLateKB: [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 15, 35, 69, 113, 162, 231, 363, 601, 1125, 1788,
  ],
  tracedPreemptMigrates: false,
  defaultGomaxprocs: 2,
  zerobase: 0x54f400,
  typeSegmentStart: 0x464000,
  textStart: 0x401000,
  traceFormat: "tracealloc",
  frames: { ...GO119_FRAMES, std: GO119_STD },
  startup: GO119_STARTUP,
  startupLayouts: GO119_STARTUP_LAYOUTS,
  sampling: "exponential",
  profileCycles: "future-ring",
  bucketBySize: true,
  stopTheWorldSweep: false,
  gcCheckEveryMalloc: false,
  pacer: "go1.19",
  bgMarkWorkers: true,
  systemGoroutines: [
    { kind: "forcegc", waitReason: "force gc (idle)" },
    { kind: "bgsweep", waitReason: "GC sweep wait" },
    { kind: "bgscavenge", waitReason: "GC scavenge wait" },
  ],
  gctraceFormat: "concurrent",
  godebugParser: "exact",
  godebugVars: [
    "allocfreetrace",
    "clobberfree",
    "cgocheck",
    "efence",
    "gccheckmark",
    "gcpacertrace",
    "gcshrinkstackoff",
    "gcstoptheworld",
    "gctrace",
    "invalidptr",
    "madvdontneed",
    "sbrk",
    "scavtrace",
    "scheddetail",
    "schedtrace",
    "tracebackancestors",
    "asyncpreemptoff",
    "inittrace",
    "harddecommit",
    "adaptivestackstart",
  ],
  godebugDefaults: {
    cgocheck: 1,
    invalidptr: 1,
    adaptivestackstart: 1,
    madvdontneed: 1,
  },
  textProfile: { memStatsFirst: true, pcMinusOne: true, trailer: "full" },
  allocHeaders: false,
  traceback: { gpHeader: false, createdByGoroutine: false, g0: 0, m0: 0 },
};

const PRESETS: Readonly<Record<PresetName, Preset>> = {
  "go1.19": GO119,
  // Go 1.22.12: Go 1.19's size classes, pages, arena and pacer (the
  // sources' sizeclasses.go are identical and mgcpacer.go's goal and
  // trigger bounds unchanged); allocation headers on by default; 1.21+
  // tracebacks. Addresses from a Go 1.22.12 build of the shared programs.
  "go1.22": {
    ...GO119,
    name: "go1.22",
    goVersion: "go1.22.12",
    // gcpacertrace of the shared leak built with Go 1.22.
    runtimeGlobalsScan: 409_472,
    // Not measured for Go 1.22 (its frames and park points differ).
    stackScan: null,
    // mgcpacer.go of Go 1.22.12: endCycle keeps lastConsMark[4].
    consMarkEstimate: "max-of-last-4",
    // The same measurement of 16 untraced go1.22.12 runs of binarytrees
    // -depth 15 and 16 (696 cycles, 2 Ps, load 14–26;
    // tests/testdata/fidelity/go1.22/binarytrees-1{5,6}-pacertrace.txt.gz).
    // deno-fmt-ignore
    markEndLateKB: [
      0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 53, 83, 141, 196, 237, 316, 478, 719, 1114, 2268,
    ],
    // fid16's go1.22.12 traced runs (tracedPreemptMigrates' doc).
    tracedPreemptMigrates: true,
    zerobase: 0x5a85e0,
    typeSegmentStart: 0x48f000,
    frames: { ...GO122_FRAMES, std: GO122_STD },
    startup: GO122_STARTUP,
    startupLayouts: {},
    godebugVars: [
      "allocfreetrace",
      "clobberfree",
      "cgocheck",
      "disablethp",
      "dontfreezetheworld",
      "efence",
      "gccheckmark",
      "gcpacertrace",
      "gcshrinkstackoff",
      "gcstoptheworld",
      "gctrace",
      "invalidptr",
      "madvdontneed",
      "runtimecontentionstacks",
      "sbrk",
      "scavtrace",
      "scheddetail",
      "schedtrace",
      "tracebackancestors",
      "asyncpreemptoff",
      "inittrace",
      "harddecommit",
      "adaptivestackstart",
      "tracefpunwindoff",
      "panicnil",
      "traceadvanceperiod",
    ],
    // Go 1.22 also defaults traceadvanceperiod to 1e9 (the model has no
    // execution tracer, so it stays 0).
    allocHeaders: true,
    traceback: {
      gpHeader: true,
      createdByGoroutine: true,
      g0: 0x549180,
      m0: 0x549740,
    },
  },
  "go1.2-seed": {
    name: "go1.2-seed",
    goVersion: "go1.2",
    pageSize: 4096,
    sizeClassParams: {
      pageSize: 4096,
      align16From: 16,
      enlarge: false,
      class8Zero: 1,
    },
    arenaStart: 0xc210000000,
    arenaMaxBytes: 128 * 1024 * 1024 * 1024,
    heapGrowBytes: 1 * MiB,
    pagePolicy: "best-fit",
    tinyAllocator: false,
    makechanChanType: true,
    heapMinimum: 0,
    runtimeGlobalsScan: 0,
    stackScan: null,
    consMarkEstimate: "pi-controller",
    // Go 1.2 stops the world for the whole collection.
    markEndLateKB: null,
    tracedPreemptMigrates: false,
    defaultGomaxprocs: 1,
    zerobase: 0x5c4ae8,
    typeSegmentStart: 0x4d2000,
    textStart: 0x400c00,
    traceFormat: "seed",
    frames: GO12_FRAMES,
    startup: null,
    startupLayouts: {},
    sampling: "uniform",
    profileCycles: "recent-settled",
    bucketBySize: false,
    stopTheWorldSweep: true,
    gcCheckEveryMalloc: true,
    pacer: "next_gc",
    bgMarkWorkers: false,
    systemGoroutines: [],
    gctraceFormat: "stw",
    godebugParser: "c-prefix",
    godebugVars: ["allocfreetrace", "gctrace", "scheddetail", "schedtrace"],
    godebugDefaults: {},
    textProfile: { memStatsFirst: false, pcMinusOne: false, trailer: "short" },
    allocHeaders: false,
    traceback: { gpHeader: false, createdByGoroutine: false, g0: 0, m0: 0 },
  },
};

/** The preset names, in a stable order. */
export const PRESET_NAMES: readonly PresetName[] = Object.keys(
  PRESETS,
) as PresetName[];

/**
 * Looks a preset up by name.
 *
 * @throws {RangeError} for an unknown name, listing the known ones.
 * @example
 * ```ts
 * import { getPreset } from "../../mod.ts";
 * if (getPreset("go1.19").pageSize !== 8192) throw new Error("page size");
 * ```
 */
export function getPreset(name: string): Preset {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new RangeError(
      `unknown preset ${JSON.stringify(name)}: use one of ${
        PRESET_NAMES.join(", ")
      }`,
    );
  }
  return PRESETS[name as PresetName];
}

const tables = new Map<PresetName, SizeClassTable>();

/**
 * The size-class table of a preset, computed once and shared.
 *
 * @example
 * ```ts
 * import { getPreset, sizeClassesOf } from "../../mod.ts";
 * if (sizeClassesOf(getPreset("go1.2-seed")).numClasses !== 61) throw new Error("classes");
 * ```
 */
export function sizeClassesOf(preset: Preset): SizeClassTable {
  let t = tables.get(preset.name);
  if (t === undefined) {
    t = new SizeClassTable(preset.sizeClassParams);
    tables.set(preset.name, t);
  }
  return t;
}
