/**
 * Runtime presets: what differs between the Go versions the workbench
 * models, as data for the one allocator (DESIGN.md, "Runtime presets").
 *
 * @module
 */

import { type SizeClassParams, SizeClassTable } from "./sizeclasses.ts";
import type { PresetFrames } from "../stack/runtime_frames.ts";
import { GO119_FRAMES } from "../stack/frames_go119.ts";
import { GO12_FRAMES } from "../stack/frames_go12.ts";

/** The names of the presets. */
export type PresetName = "go1.19" | "go1.2-seed";

/** How the page heap picks a free run of pages. */
export type PagePolicy = "first-fit" | "best-fit";

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
  /** Heap goal before the first GC, `heapMinimum` (Go 1.19: 4 MiB; Go 1.2: 0). */
  readonly heapMinimum: number;
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
}

const MiB = 1 << 20;

const PRESETS: Readonly<Record<PresetName, Preset>> = {
  "go1.19": {
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
    heapMinimum: 4 * MiB,
    defaultGomaxprocs: 2,
    zerobase: 0x54f400,
    typeSegmentStart: 0x464000,
    textStart: 0x401000,
    traceFormat: "tracealloc",
    frames: GO119_FRAMES,
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
    heapMinimum: 0,
    defaultGomaxprocs: 1,
    zerobase: 0x5c4ae8,
    typeSegmentStart: 0x4d2000,
    textStart: 0x400c00,
    traceFormat: "seed",
    frames: GO12_FRAMES,
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
 * import { getPreset } from "./presets.ts";
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
 * import { getPreset, sizeClassesOf } from "./presets.ts";
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
