/**
 * Go 1.19's runtime frames: files, lines and PC offsets are the ones the
 * real traces in tests/testdata/shared print, frame sizes (fp − sp) as
 * Go 1.19 prints them. Allocation paths, `runtime.main`/`goexit`, the
 * sweepers' stacks on frees, and the parked runtime goroutines (forcegc,
 * bgsweep, bgscavenge, finalizer, mark workers) of a `tracegc` listing.
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
import {
  fixedArgsFrame,
  GCENABLE_FUNC1,
  GO119_SWEEPERS,
} from "./frames_go119_sweep.ts";

// The allocation paths. mallocgc's arguments are the allocation's (see the
// printer); the others print what Go 1.19's traceback prints for them, from
// their signatures (`%t` stands for the type's address, `?` marks a word
// the traceback may print stale), as in real traces of the shared programs.
const mallocgc = frame(
  "runtime.mallocgc",
  "runtime/malloc.go",
  1131,
  0x7b1,
  0x78,
);
const newobject = frame(
  "runtime.newobject",
  "runtime/malloc.go",
  1202,
  0x27,
  0x28,
  "%t?",
);
const newobjectInl = inlinedFrame(
  "runtime.newobject",
  "runtime/malloc.go",
  1202,
);
const makeslice = frame(
  "runtime.makeslice",
  "runtime/slice.go",
  103,
  0x52,
  0x28,
  "%t?, 0x0?, 0x0?",
);
const growsliceNoscan = frame(
  "runtime.growslice",
  "runtime/slice.go",
  284,
  0x4ac,
  0x78,
  "%t, {0x0?, 0x0?, 0x0?}, 0x0?",
);
const growslice = frame(
  "runtime.growslice",
  "runtime/slice.go",
  290,
  0x4ea,
  0x78,
  "%t, {0x0?, 0x0?, 0x0?}, 0x0?",
);
const makechanOne = frame(
  "runtime.makechan",
  "runtime/chan.go",
  102,
  0x93,
  0x40,
  "%t?, 0x8",
);
const makechanEmpty = frame(
  "runtime.makechan",
  "runtime/chan.go",
  96,
  0x126,
  0x40,
  "%t?, 0x8",
);
const makechanHchan = frame(
  "runtime.makechan",
  "runtime/chan.go",
  106,
  0xca,
  0x40,
  "%t?, 0x8",
);
const makechanBuf = frame(
  "runtime.makechan",
  "runtime/chan.go",
  107,
  0xe5,
  0x40,
  "%t?, 0x8",
);
const rawstring = frame(
  "runtime.rawstring",
  "runtime/string.go",
  273,
  0x37,
  0x38,
  "0x28",
);
const rawstringtmp = frame(
  "runtime.rawstringtmp",
  "runtime/string.go",
  135,
  0x3c,
  0x30,
  "0x0?, 0x28?",
);
const concatstrings = frame(
  "runtime.concatstrings",
  "runtime/string.go",
  51,
  0xc5,
  0xa8,
  "0x0?, {0xc0000a3150, 0x2, 0x2?}",
);
const concatstring2 = frame(
  "runtime.concatstring2",
  "runtime/string.go",
  60,
  0x50,
  0x28,
  "0x0?, {0xc00009c000?, 0x14?}, {0xc00009c018?, 0x14?}",
);
const makemapSmall = frame(
  "runtime.makemap_small",
  "runtime/map.go",
  294,
  0x25,
  0x20,
  "",
);
const mapassign = frame(
  "runtime.mapassign_faststr",
  "runtime/map_faststr.go",
  221,
  0xa8,
  0x68,
  "%t, 0xc00009c000, {0x4d9c28, 0x14}",
);

const main = fixedArgsFrame(
  "runtime.main",
  "runtime/proc.go",
  250,
  0x212,
  0x60,
  "",
);
const goexit = fixedArgsFrame(
  "runtime.goexit",
  "runtime/asm_amd64.s",
  1594,
  0x1,
  0x8,
  "",
);

const alloc = allocPaths({
  mallocgc,
  newobject,
  makemapNewobject: newobjectInl,
  mapassignNewobject: newobjectInl,
  makeslice,
  growslice,
  growsliceNoscan,
  makechanEmpty,
  makechanOne,
  makechanHchan,
  makechanBuf,
  rawstring: rawstring,
  rawstringtmp,
  concatstrings,
  concatstring2,
  makemapSmall,
  mapassign,
});

// Parked runtime goroutines.
const GOPARK = fixedArgsFrame(
  "runtime.gopark",
  "runtime/proc.go",
  363,
  0xd6,
  0x20,
  "0x0?, 0x0?, 0x0?, 0x0?, 0x0?",
);
const GOPARKUNLOCK: RuntimeFrame = {
  ...fixedArgsFrame("runtime.goparkunlock", "runtime/proc.go", 369, 0, 0),
  inlined: true,
};
/**
 * `semacquire1` on `work.markDoneSema` in `gcMarkDone`, at `line` and
 * `off` of sema.go, down to the worker's function (without `goexit`).
 */
const MARK_DONE_SEMA = (line: number, off: number): RuntimeFrame[] => [
  fixedArgsFrame(
    "runtime.semacquire1",
    "runtime/sema.go",
    line,
    off,
    0x68,
    "0x543cfc, 0x0?, 0x0, 0x0",
  ),
  {
    ...fixedArgsFrame("runtime.semacquire", "runtime/sema.go", 101, 0, 0),
    inlined: true,
  },
  fixedArgsFrame("runtime.gcMarkDone", "runtime/mgc.go", 787, 0x2a, 0x60, ""),
  fixedArgsFrame(
    "runtime.gcBgMarkWorker",
    "runtime/mgc.go",
    1367,
    0x345,
    0x90,
    "",
  ),
];
const MARK_WORKERS: SystemGoroutineFrames["createdBy"] = [
  "runtime.gcBgMarkStartWorkers",
  "runtime/mgc.go",
  1159,
  0x25,
];
const system: Record<string, SystemGoroutineFrames> = {
  forcegc: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      fixedArgsFrame(
        "runtime.forcegchelper",
        "runtime/proc.go",
        302,
        0xad,
        0x30,
        "",
      ),
    ],
    createdBy: ["runtime.init.6", "runtime/proc.go", 290, 0x25],
  },
  bgsweep: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      fixedArgsFrame("runtime.bgsweep", "runtime/mgcsweep.go", 278, 0x8e, 0x38),
      GCENABLE_FUNC1,
    ],
    createdBy: ["runtime.gcenable", "runtime/mgc.go", 178, 0x6b],
  },
  bgscavenge: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      fixedArgsFrame(
        "runtime.(*scavengerState).park",
        "runtime/mgcscavenge.go",
        389,
        0x53,
        0x30,
        "0x542960",
      ),
      fixedArgsFrame(
        "runtime.bgscavenge",
        "runtime/mgcscavenge.go",
        622,
        0x65,
        0x28,
      ),
      fixedArgsFrame(
        "runtime.gcenable.func2",
        "runtime/mgc.go",
        179,
        0x26,
        0x18,
        "",
      ),
    ],
    createdBy: ["runtime.gcenable", "runtime/mgc.go", 179, 0xaa],
  },
  finalizer: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      fixedArgsFrame(
        "runtime.runfinq",
        "runtime/mfinal.go",
        180,
        0x10f,
        0x1b8,
        "",
      ),
    ],
    createdBy: ["runtime.createfing", "runtime/mfinal.go", 157, 0x45],
  },
  markworker: {
    frames: [
      GOPARK,
      fixedArgsFrame(
        "runtime.gcBgMarkWorker",
        "runtime/mgc.go",
        1208,
        0x72,
        0x90,
        "",
      ),
    ],
    createdBy: MARK_WORKERS,
  },
  // A worker blocked on work.markDoneSema while another ends the mark.
  markdone: {
    frames: [
      fixedArgsFrame(
        "runtime.gopark",
        "runtime/proc.go",
        363,
        0xd6,
        0x20,
        "0xc0000376a0?, 0x417406?, 0x60?, 0x0?, 0xc000037718?",
      ),
      GOPARKUNLOCK,
      ...MARK_DONE_SEMA(150, 0x1fe),
    ],
    createdBy: MARK_WORKERS,
  },
  marking: {
    frames: [
      fixedArgsFrame(
        "runtime.systemstack_switch",
        "runtime/asm_amd64.s",
        459,
        0,
        0x8,
        "",
      ),
      fixedArgsFrame(
        "runtime.gcMarkTermination",
        "runtime/mgc.go",
        943,
        0x173,
        0x1b8,
        "",
      ),
      fixedArgsFrame(
        "runtime.gcMarkDone",
        "runtime/mgc.go",
        918,
        0x2ac,
        0x60,
        "",
      ),
      fixedArgsFrame(
        "runtime.gcBgMarkWorker",
        "runtime/mgc.go",
        1367,
        0x345,
        0x90,
        "",
      ),
    ],
    createdBy: MARK_WORKERS,
  },
};

// gcBgMarkStartWorkers' allocations, as real go1.19.8 traces print them.
const bgMarkStart: BgMarkStartFrames = {
  newproc: [
    fixedArgsFrame(
      "runtime.systemstack_switch",
      "runtime/asm_amd64.s",
      459,
      0,
      0x8,
      "",
    ),
    fixedArgsFrame("runtime.newproc", "runtime/proc.go", 4097, 0x51, 0x38),
    fixedArgsFrame(
      "runtime.gcBgMarkStartWorkers",
      "runtime/mgc.go",
      1159,
      0x25,
      0x20,
      "",
    ),
    fixedArgsFrame(
      "runtime.gcStart",
      "runtime/mgc.go",
      645,
      0x20a,
      0x88,
      "{0xc000000000?, 0x48d928?, 0x48d865?}",
    ),
  ],
  forced: fixedArgsFrame("runtime.GC", "runtime/mgc.go", 445, 0x45, 0x38, ""),
  triggered: frame("runtime.mallocgc", "runtime/malloc.go", 1148, 0x817, 0x78),
  node: [
    mallocgc,
    fixedArgsFrame("runtime.newobject", "runtime/malloc.go", 1202, 0x27, 0x28),
    fixedArgsFrame(
      "runtime.gcBgMarkWorker",
      "runtime/mgc.go",
      1208,
      0x72,
      0x90,
      "",
    ),
    goexit,
  ],
  // go1.19.8's temporaries -n 300 and leak -n 20000 traces.
  markDoneSudog: [
    mallocgc,
    fixedArgsFrame(
      "runtime.newobject",
      "runtime/malloc.go",
      1202,
      0x27,
      0x28,
      "0xc00003e400?",
    ),
    fixedArgsFrame(
      "runtime.acquireSudog",
      "runtime/proc.go",
      402,
      0x257,
      0x70,
      "",
    ),
    ...MARK_DONE_SEMA(121, 0x72),
    goexit,
  ],
};

/**
 * Go 1.19's runtime frames.
 *
 * @example
 * ```ts
 * import { AllocKind, GO119_FRAMES } from "../../mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(
 *   GO119_FRAMES.alloc(AllocKind.newobject, false, false).map((f) => f.func),
 *   ["runtime.mallocgc", "runtime.newobject"],
 * );
 * ```
 */
export const GO119_FRAMES: PresetFrames = {
  bgMarkStart,
  alloc,
  mainBottom: [main, goexit],
  goexit,
  profileSkip: 2,
  mallocgcLarge: frame(
    "runtime.mallocgc",
    "runtime/malloc.go",
    1029,
    0x57e,
    0x78,
  ),
  mallocgcRefill: frame(
    "runtime.mallocgc",
    "runtime/malloc.go",
    1018,
    0x4c8,
    0x78,
  ),
  sweepers: GO119_SWEEPERS,
  system,
  waitGC: [
    GOPARK,
    GOPARKUNLOCK,
    fixedArgsFrame(
      "runtime.gcWaitOnMark",
      "runtime/mgc.go",
      505,
      0x5b,
      0x30,
      "0x1",
    ),
    fixedArgsFrame("runtime.GC", "runtime/mgc.go", 448, 0x4e, 0x38, ""),
  ],
};
