/**
 * Go 1.22's runtime frames, as real Go 1.22.12 traces print them
 * (tests/testdata/go1.22; built with -trimpath): files, lines, PC offsets
 * and frame sizes (fp − sp). The paths the committed traces do not show
 * (the sweepers of `gcStart`, `deductSweepCredit` and the page reclaimer)
 * were read from `go tool objdump` of a Go 1.22.12 binary: the call's
 * line, its return address − the function's entry, and the frame size
 * (`SUBQ $n, SP` + 16). What changed from Go 1.19: every runtime line;
 * `runtime.rawstring` is inlined into `rawstringtmp`; `makemap_small` calls
 * `newobject` (no longer inlined); goroutines started by `go f()` in the
 * runtime run `gcenable.gowrap1`/`gowrap2` (1.19: `gcenable.func1`/`func2`);
 * `runtime.goexit({})` prints its argument block; the finalizer goroutine
 * parks in `gopark` directly; `systemstack_switch` has a PC offset.
 *
 * @module
 */

import {
  allocPaths,
  type BgMarkStartFrames,
  frame,
  inlinedFrame,
  type PresetFrames,
  type RuntimeFrame,
  type SystemGoroutineFrames,
} from "./runtime_frames.ts";

/** A frame whose traceback arguments are fixed (`0x0?` unless given). */
const RT = (
  func: string,
  file: string,
  line: number,
  off: number,
  size: number,
  args = "0x0?",
): RuntimeFrame => frame(func, file, line, off, size, args);

// The allocation paths (arguments are the allocation's: see the printer).
const mallocgc = frame(
  "runtime.mallocgc",
  "runtime/malloc.go",
  1288,
  0x7a6,
  0x88,
);
const newobject = frame(
  "runtime.newobject",
  "runtime/malloc.go",
  1390,
  0x25,
  0x28,
);
const newobjectInl = inlinedFrame(
  "runtime.newobject",
  "runtime/malloc.go",
  1390,
);
const makeslice = frame(
  "runtime.makeslice",
  "runtime/slice.go",
  107,
  0x49,
  0x28,
  "%t?, 0x0?, 0x0?",
);
const growsliceNoscan = frame(
  "runtime.growslice",
  "runtime/slice.go",
  242,
  0x55b,
  0x70,
  "0x0, 0x0?, 0x0?, 0x0?, %t?",
);
const growslice = frame(
  "runtime.growslice",
  "runtime/slice.go",
  250,
  0x59c,
  0x70,
  "0x0, 0x0?, 0x0?, 0x0?, %t",
);
const makechanOne = frame(
  "runtime.makechan",
  "runtime/chan.go",
  102,
  0x93,
  0x40,
  "%t?, 0x0",
);
const makechanEmpty = frame(
  "runtime.makechan",
  "runtime/chan.go",
  96,
  0x125,
  0x40,
  "%t?, 0x0",
);
const makechanHchan = frame(
  "runtime.makechan",
  "runtime/chan.go",
  106,
  0xcc,
  0x40,
  "%t?, 0x0",
);
const makechanBuf = frame(
  "runtime.makechan",
  "runtime/chan.go",
  107,
  0xe5,
  0x40,
  "%t?, 0x0",
);
const rawstringInl = inlinedFrame(
  "runtime.rawstring",
  "runtime/string.go",
  267,
);
const rawstringtmp = frame(
  "runtime.rawstringtmp",
  "runtime/string.go",
  131,
  0x3e,
  0x28,
  "0x0?, 0x28",
);
const concatstrings = frame(
  "runtime.concatstrings",
  "runtime/string.go",
  51,
  0xe5,
  0x70,
  "0x0?, {0xc0000990d0?, 0x2, 0xc000099108?}",
);
const concatstring2 = frame(
  "runtime.concatstring2",
  "runtime/string.go",
  60,
  0x4a,
  0x50,
  "0xc000060180?, {0xc000092000?, 0x48e5df?}, {0xc000092018?, 0x4?}",
);
const makemapSmall = frame(
  "runtime.makemap_small",
  "runtime/map.go",
  295,
  0x1a,
  0x28,
  "",
);
const mapassign = frame(
  "runtime.mapassign_faststr",
  "runtime/map_faststr.go",
  221,
  0xa5,
  0x70,
  "%t, 0xc000016090, {0x4ac8c9, 0x1}",
);

const main = RT("runtime.main", "runtime/proc.go", 271, 0x29d, 0x90, "");
const goexit = RT(
  "runtime.goexit",
  "runtime/asm_amd64.s",
  1695,
  0x1,
  0x8,
  "{}",
);

const alloc = allocPaths({
  mallocgc,
  newobject,
  makemapNewobject: newobject,
  mapassignNewobject: newobjectInl,
  makeslice,
  growslice,
  growsliceNoscan,
  makechanEmpty,
  makechanOne,
  makechanHchan,
  makechanBuf,
  rawstring: rawstringInl,
  rawstringtmp,
  concatstrings,
  concatstring2,
  makemapSmall,
  mapassign,
});

// The sweepers, innermost first, from `(*sweepLocked).sweep`.
const sweep = (args: string) =>
  RT(
    "runtime.(*sweepLocked).sweep",
    "runtime/mgcsweep.go",
    608,
    0xc25,
    0x118,
    args,
  );
const SWEEP = sweep("0x0?, 0x0");
const SWEEPONE = RT(
  "runtime.sweepone",
  "runtime/mgcsweep.go",
  390,
  0xdd,
  0x50,
  "",
);
const REFILL = RT(
  "runtime.(*mcache).refill",
  "runtime/mcache.go",
  182,
  0x153,
  0x40,
  "0x0, 0x0?",
);
const NEXTFREE = RT(
  "runtime.(*mcache).nextFree",
  "runtime/malloc.go",
  948,
  0x85,
  0x38,
  "0x0, 0x0",
);
const GCENABLE_GOWRAP1 = RT(
  "runtime.gcenable.gowrap1",
  "runtime/mgc.go",
  203,
  0x25,
  0x18,
  "",
);

// An M's flush of its stale mcache when it takes its P back after a cycle
// (go1.22.12's temporaries -n 300 and leak -n 20000, fid16's runs): from
// stopm, parked in findRunnable (runtime.GC's goroutine waits on the mark,
// park_m) or stopped for the stop-the-world at a stack check (gcstopm).
const UNCACHE = RT(
  "runtime.(*mcentral).uncacheSpan",
  "runtime/mcentral.go",
  236,
  0x98,
  0x28,
  "0x0?, 0x0?",
);
const RELEASE_ALL = [
  RT(
    "runtime.(*mcache).releaseAll",
    "runtime/mcache.go",
    291,
    0x13e,
    0x68,
    "0x0",
  ),
  RT(
    "runtime.(*mcache).prepareForSweep",
    "runtime/mcache.go",
    328,
    0x35,
    0x28,
    "0x0",
  ),
];
const ACQUIREP = [
  RT("runtime.acquirep", "runtime/proc.go", 5748, 0x2a, 0x28, "0xc000024508"),
  RT("runtime.stopm", "runtime/proc.go", 2783, 0xb5, 0x30, ""),
];
const SCHEDULE = RT(
  "runtime.schedule",
  "runtime/proc.go",
  3868,
  0xb1,
  0x38,
  "",
);

const sweepers: Record<string, readonly RuntimeFrame[]> = {
  acquirep: [
    SWEEP,
    UNCACHE,
    ...RELEASE_ALL,
    ...ACQUIREP,
    RT("runtime.findRunnable", "runtime/proc.go", 3512, 0xd5f, 0x178, ""),
    SCHEDULE,
    RT("runtime.park_m", "runtime/proc.go", 4036, 0x1ec, 0x58, "0xc000009180"),
    RT("runtime.mcall", "runtime/asm_amd64.s", 458, 0x4e, 0x18, ""),
  ],
  gcstopm: [
    SWEEP,
    UNCACHE,
    ...RELEASE_ALL,
    ...ACQUIREP,
    RT("runtime.gcstopm", "runtime/proc.go", 3081, 0xaa, 0x28, ""),
    RT("runtime.findRunnable", "runtime/proc.go", 3149, 0x28c, 0x178, ""),
    SCHEDULE,
    RT(
      "runtime.goschedImpl",
      "runtime/proc.go",
      4065,
      0x178,
      0x50,
      "0xc0000081c0, 0x1",
    ),
    inlinedFrame("runtime.gopreempt_m", "runtime/proc.go", 4082),
    RT("runtime.newstack", "runtime/stack.go", 1070, 0x3d1, 0x1b0, ""),
    RT("runtime.morestack", "runtime/asm_amd64.s", 616, 0x7a, 0x8, ""),
  ],
  uncacheSpan: [
    SWEEP,
    UNCACHE,
    ...RELEASE_ALL,
    RT("runtime.procresize", "runtime/proc.go", 5659, 0x537, 0xd0, "0x2"),
    RT(
      "runtime.startTheWorldWithSema",
      "runtime/proc.go",
      1570,
      0xa5,
      0x68,
      "0x0, {0x0?, 0x0?}",
    ),
    RT(
      "runtime.gcMarkTermination.func3",
      "runtime/mgc.go",
      1097,
      0x1f,
      0x28,
      "",
    ),
    RT("runtime.systemstack", "runtime/asm_amd64.s", 509, 0x4a, 0x10, "0x0"),
  ],
  bgsweep: [
    SWEEP,
    SWEEPONE,
    RT("runtime.bgsweep", "runtime/mgcsweep.go", 299, 0xff, 0x48, "0x0"),
    GCENABLE_GOWRAP1,
  ],
  GC: [
    SWEEP,
    SWEEPONE,
    RT("runtime.GC", "runtime/mgc.go", 475, 0x71, 0x38, ""),
  ],
  gcStart: [
    SWEEP,
    SWEEPONE,
    RT(
      "runtime.gcStart",
      "runtime/mgc.go",
      618,
      0xdf,
      0xc0,
      "{0x0?, 0x0?, 0x0?}",
    ),
  ],
  cacheSpan: [
    sweep("0x0?, 0x1"),
    RT(
      "runtime.(*mcentral).cacheSpan",
      "runtime/mcentral.go",
      147,
      0x33d,
      0x78,
      "0x0",
    ),
    REFILL,
    NEXTFREE,
  ],
  deductSweepCredit: [
    SWEEP,
    SWEEPONE,
    RT(
      "runtime.deductSweepCredit",
      "runtime/mgcsweep.go",
      933,
      0x170,
      0x40,
      "0x2000, 0x0",
    ),
    RT(
      "runtime.(*mcentral).cacheSpan",
      "runtime/mcentral.go",
      84,
      0x45,
      0x78,
      "0x0",
    ),
    REFILL,
    NEXTFREE,
  ],
  reclaim: [
    SWEEP,
    RT(
      "runtime.(*mheap).reclaimChunk",
      "runtime/mheap.go",
      899,
      0x37e,
      0xc8,
      "0x0?, {0x0, 0x1, 0x0?}, 0x0?, 0x200",
    ),
    RT(
      "runtime.(*mheap).reclaim",
      "runtime/mheap.go",
      831,
      0x1e5,
      0x80,
      "0x0, 0x5",
    ),
    RT("runtime.(*mheap).alloc.func1", "runtime/mheap.go", 962, 0x46, 0x48, ""),
  ],
};

// Parked runtime goroutines.
const GOPARK = RT(
  "runtime.gopark",
  "runtime/proc.go",
  402,
  0xce,
  0x20,
  "0x0?, 0x0?, 0x0?, 0x0?, 0x0?",
);
const GOPARKUNLOCK: RuntimeFrame = {
  ...RT("runtime.goparkunlock", "runtime/proc.go", 408, 0, 0),
  inlined: true,
};
const MARK_WORKERS: SystemGoroutineFrames["createdBy"] = [
  "runtime.gcBgMarkStartWorkers",
  "runtime/mgc.go",
  1234,
  0x1c,
];
const system: Record<string, SystemGoroutineFrames> = {
  forcegc: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT("runtime.forcegchelper", "runtime/proc.go", 326, 0xb3, 0x38, ""),
    ],
    createdBy: ["runtime.init.6", "runtime/proc.go", 314, 0x1a],
  },
  bgsweep: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT("runtime.bgsweep", "runtime/mgcsweep.go", 278, 0x94, 0x48, "0x0"),
      GCENABLE_GOWRAP1,
    ],
    createdBy: ["runtime.gcenable", "runtime/mgc.go", 203, 0x66],
  },
  bgscavenge: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT(
        "runtime.(*scavengerState).park",
        "runtime/mgcscavenge.go",
        425,
        0x49,
        0x30,
        "0x0",
      ),
      RT(
        "runtime.bgscavenge",
        "runtime/mgcscavenge.go",
        658,
        0x59,
        0x20,
        "0x0",
      ),
      RT("runtime.gcenable.gowrap2", "runtime/mgc.go", 204, 0x25, 0x18, ""),
    ],
    createdBy: ["runtime.gcenable", "runtime/mgc.go", 204, 0xa5],
  },
  finalizer: {
    frames: [
      GOPARK,
      RT("runtime.runfinq", "runtime/mfinal.go", 194, 0x107, 0x1c0, ""),
    ],
    createdBy: ["runtime.createfing", "runtime/mfinal.go", 164, 0x3d],
  },
  markworker: {
    frames: [
      GOPARK,
      RT("runtime.gcBgMarkWorker", "runtime/mgc.go", 1310, 0xe5, 0x90, ""),
    ],
    createdBy: MARK_WORKERS,
  },
  marking: {
    frames: [
      RT(
        "runtime.systemstack_switch",
        "runtime/asm_amd64.s",
        474,
        0x8,
        0x10,
        "",
      ),
      RT(
        "runtime.gcMarkTermination",
        "runtime/mgc.go",
        953,
        0x136,
        0x210,
        "{0x0?, 0x0?}",
      ),
      RT("runtime.gcMarkDone", "runtime/mgc.go", 927, 0x305, 0x90, ""),
      RT("runtime.gcBgMarkWorker", "runtime/mgc.go", 1446, 0x345, 0x90, ""),
    ],
    createdBy: MARK_WORKERS,
  },
};

// gcBgMarkStartWorkers' allocations, as real Go 1.22.12 traces print them.
const bgMarkStart: BgMarkStartFrames = {
  newproc: [
    RT("runtime.systemstack_switch", "runtime/asm_amd64.s", 474, 0x8, 0x10, ""),
    RT("runtime.newproc", "runtime/proc.go", 4877, 0x4b, 0x38),
    RT("runtime.gcBgMarkStartWorkers", "runtime/mgc.go", 1234, 0x1c, 0x20, ""),
    RT(
      "runtime.gcStart",
      "runtime/mgc.go",
      663,
      0x25d,
      0xc0,
      "{0xc000000000?, 0x48e365?, 0x48e2df?}",
    ),
  ],
  forced: RT("runtime.GC", "runtime/mgc.go", 466, 0x3e, 0x38, ""),
  triggered: frame("runtime.mallocgc", "runtime/malloc.go", 1308, 0x814, 0x88),
  node: [
    mallocgc,
    RT("runtime.newobject", "runtime/malloc.go", 1390, 0x25, 0x28),
    RT("runtime.gcBgMarkWorker", "runtime/mgc.go", 1283, 0x65, 0x90, ""),
    goexit,
  ],
};

/**
 * Go 1.22's runtime frames.
 *
 * @example
 * ```ts
 * import { AllocKind } from "../../mod.ts";
 * import { GO122_FRAMES } from "../../mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(
 *   GO122_FRAMES.alloc(AllocKind.makemapSmall, false, false).map((f) => f.func),
 *   ["runtime.mallocgc", "runtime.newobject", "runtime.makemap_small"],
 * );
 * ```
 */
export const GO122_FRAMES: PresetFrames = {
  bgMarkStart,
  alloc,
  mainBottom: [main, goexit],
  goexit,
  profileSkip: 1,
  // mallocgc where it calls nextFree (non-tiny small path), under a free
  // swept by the allocation's refill: as real Go 1.22.12 prints it.
  mallocgcRefill: frame(
    "runtime.mallocgc",
    "runtime/malloc.go",
    1149,
    0x4a5,
    0x88,
  ),
  sweepers,
  system,
  waitGC: [
    GOPARK,
    GOPARKUNLOCK,
    RT("runtime.gcWaitOnMark", "runtime/mgc.go", 525, 0x55, 0x30, "0x1"),
    RT("runtime.GC", "runtime/mgc.go", 469, 0x47, 0x38, ""),
  ],
};
