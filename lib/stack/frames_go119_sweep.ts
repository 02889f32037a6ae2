/**
 * Go 1.19's sweepers' frames on a free (`frames_go119.ts`'s `sweepers`),
 * innermost first from `(*sweepLocked).sweep`, by who swept: g0 flushing an
 * mcache on the path its M took, the background sweeper, `runtime.GC`,
 * `gcStart`, lazy and proportional sweeping, the page reclaimer. Files,
 * lines, PC offsets and frame sizes as real go1.19.8 traces print them.
 *
 * @module
 */

import { frame, type RuntimeFrame } from "./runtime_frames.ts";

/** A frame whose traceback arguments are fixed (`0x0?` unless given). */
export const fixedArgsFrame = (
  func: string,
  file: string,
  line: number,
  off: number,
  size: number,
  args = "0x0?",
): RuntimeFrame => frame(func, file, line, off, size, args);

// The sweepers, innermost first, from `(*sweepLocked).sweep`.
const sweep = (args: string) =>
  fixedArgsFrame(
    "runtime.(*sweepLocked).sweep",
    "runtime/mgcsweep.go",
    577,
    0x97e,
    0xd8,
    args,
  );
const SWEEP = sweep("0x0?, 0x0");
const SWEEPONE = fixedArgsFrame(
  "runtime.sweepone",
  "runtime/mgcsweep.go",
  369,
  0xf4,
  0x50,
  "",
);
const REFILL = fixedArgsFrame(
  "runtime.(*mcache).refill",
  "runtime/mcache.go",
  181,
  0x152,
  0x40,
  "0x7f377405a5b8, 0x35?",
);
const NEXTFREE = fixedArgsFrame(
  "runtime.(*mcache).nextFree",
  "runtime/malloc.go",
  819,
  0x85,
  0x48,
  "0x7f377405a5b8, 0x35",
);
/** `runtime.gcenable.func1`, under the background sweeper (its free stacks and its parked listing). */
export const GCENABLE_FUNC1: RuntimeFrame = fixedArgsFrame(
  "runtime.gcenable.func1",
  "runtime/mgc.go",
  178,
  0x26,
  0x18,
  "",
);

const RELEASE_ALL = [
  fixedArgsFrame(
    "runtime.(*mcache).releaseAll",
    "runtime/mcache.go",
    290,
    0x145,
    0x68,
    "0x7f377405a5b8",
  ),
  fixedArgsFrame(
    "runtime.(*mcache).prepareForSweep",
    "runtime/mcache.go",
    326,
    0x39,
    0x28,
    "0x7f377405a5b8",
  ),
];

/** Go 1.19's sweepers' frames on a free, innermost first, by who swept (`SweepWho`). */
export const GO119_SWEEPERS: Readonly<Record<string, readonly RuntimeFrame[]>> =
  {
    // The mutator's P after a cycle another P's worker ended: its M, woken
    // from stopm with the P, flushes the stale mcache in acquirep
    // (go1.19.8's temporaries trace).
    acquirep: [
      SWEEP,
      fixedArgsFrame(
        "runtime.(*mcentral).uncacheSpan",
        "runtime/mcentral.go",
        226,
        0xa5,
        0x28,
        "0x0?, 0x0?",
      ),
      ...RELEASE_ALL,
      fixedArgsFrame(
        "runtime.acquirep",
        "runtime/proc.go",
        4952,
        0x2c,
        0x18,
        "0xc000028000",
      ),
      fixedArgsFrame("runtime.stopm", "runtime/proc.go", 2248, 0xb5, 0x30, ""),
      fixedArgsFrame(
        "runtime.findRunnable",
        "runtime/proc.go",
        2874,
        0x9e8,
        0xf0,
        "",
      ),
      fixedArgsFrame(
        "runtime.schedule",
        "runtime/proc.go",
        3214,
        0xbe,
        0x38,
        "",
      ),
      fixedArgsFrame(
        "runtime.park_m",
        "runtime/proc.go",
        3363,
        0x14d,
        0x30,
        "0xc000084340?",
      ),
      fixedArgsFrame(
        "runtime.mcall",
        "runtime/asm_amd64.s",
        448,
        0x43,
        0x10,
        "",
      ),
    ],
    // The mutator's M after a cycle a mark worker ended: the stop-the-world
    // preempted its goroutine at a stack check, its M stopped in gcstopm,
    // and it flushes the stale mcache when it takes its P back (go1.19.8's
    // temporaries -n 300, heap-triggered cycles).
    gcstopm: [
      SWEEP,
      fixedArgsFrame(
        "runtime.(*mcentral).uncacheSpan",
        "runtime/mcentral.go",
        226,
        0xa5,
        0x28,
        "0x0?, 0xc0000affe0?",
      ),
      ...RELEASE_ALL,
      fixedArgsFrame(
        "runtime.acquirep",
        "runtime/proc.go",
        4952,
        0x2c,
        0x18,
        "0xc000028000",
      ),
      fixedArgsFrame("runtime.stopm", "runtime/proc.go", 2248, 0xb5, 0x30, ""),
      fixedArgsFrame(
        "runtime.gcstopm",
        "runtime/proc.go",
        2505,
        0xaa,
        0x28,
        "",
      ),
      fixedArgsFrame(
        "runtime.findRunnable",
        "runtime/proc.go",
        2571,
        0x4f,
        0xf0,
        "",
      ),
      fixedArgsFrame(
        "runtime.schedule",
        "runtime/proc.go",
        3214,
        0xbe,
        0x38,
        "",
      ),
      fixedArgsFrame(
        "runtime.goschedImpl",
        "runtime/proc.go",
        3378,
        0xc5,
        0x38,
        "0xc0000081a0",
      ),
      fixedArgsFrame(
        "runtime.gopreempt_m",
        "runtime/proc.go",
        3406,
        0x55,
        0x40,
        "0xc0000081d8?",
      ),
      fixedArgsFrame(
        "runtime.newstack",
        "runtime/stack.go",
        1070,
        0x3da,
        0x1b8,
        "",
      ),
      fixedArgsFrame(
        "runtime.morestack",
        "runtime/asm_amd64.s",
        570,
        0x8b,
        0x8,
        "",
      ),
    ],
    uncacheSpan: [
      SWEEP,
      fixedArgsFrame(
        "runtime.(*mcentral).uncacheSpan",
        "runtime/mcentral.go",
        226,
        0xa5,
        0x28,
        "0x0?, 0x8?",
      ),
      ...RELEASE_ALL,
      fixedArgsFrame(
        "runtime.procresize",
        "runtime/proc.go",
        4867,
        0x47d,
        0xb8,
        "0x2",
      ),
      fixedArgsFrame(
        "runtime.startTheWorldWithSema",
        "runtime/proc.go",
        1273,
        0x8b,
        0x60,
        "0x1",
      ),
      fixedArgsFrame(
        "runtime.gcMarkTermination.func3",
        "runtime/mgc.go",
        1059,
        0x1e,
        0x18,
        "",
      ),
      fixedArgsFrame(
        "runtime.systemstack",
        "runtime/asm_amd64.s",
        492,
        0x49,
        0x8,
        "",
      ),
    ],
    bgsweep: [
      SWEEP,
      SWEEPONE,
      fixedArgsFrame(
        "runtime.bgsweep",
        "runtime/mgcsweep.go",
        281,
        0x105,
        0x38,
      ),
      GCENABLE_FUNC1,
    ],
    GC: [
      SWEEP,
      SWEEPONE,
      fixedArgsFrame("runtime.GC", "runtime/mgc.go", 454, 0x7e, 0x38, ""),
    ],
    gcStart: [
      SWEEP,
      SWEEPONE,
      fixedArgsFrame(
        "runtime.gcStart",
        "runtime/mgc.go",
        602,
        0x9e,
        0x98,
        "{0x0?, 0x0?, 0x0?}",
      ),
    ],
    cacheSpan: [
      sweep("0x0?, 0x1"),
      fixedArgsFrame(
        "runtime.(*mcentral).cacheSpan",
        "runtime/mcentral.go",
        143,
        0x27d,
        0x58,
        "0x56d260",
      ),
      REFILL,
      NEXTFREE,
    ],
    deductSweepCredit: [
      SWEEP,
      SWEEPONE,
      fixedArgsFrame(
        "runtime.deductSweepCredit",
        "runtime/mgcsweep.go",
        844,
        0x105,
        0x20,
        "0x2000, 0x0",
      ),
      fixedArgsFrame(
        "runtime.(*mcentral).cacheSpan",
        "runtime/mcentral.go",
        82,
        0x46,
        0x58,
        "0x56b220",
      ),
      REFILL,
      NEXTFREE,
    ],
    // The same before a large object's span, in mallocgc's allocLarge
    // (go1.19.8's temporaries -n 300: 4 of 5 real runs).
    allocLarge: [
      SWEEP,
      SWEEPONE,
      fixedArgsFrame(
        "runtime.deductSweepCredit",
        "runtime/mgcsweep.go",
        844,
        0x105,
        0x20,
        "0xa000, 0x5",
      ),
      fixedArgsFrame(
        "runtime.(*mcache).allocLarge",
        "runtime/mcache.go",
        230,
        0x65,
        0x50,
        "0x7fb12b77c108?, 0x9c40, 0x1",
      ),
    ],
    // mheap.alloc runs the reclaimer on the system stack: real traces show it
    // on g0 (`goroutine 0 [idle]`), ending at systemstack.
    reclaim: [
      SWEEP,
      fixedArgsFrame(
        "runtime.(*mheap).reclaimChunk",
        "runtime/mheap.go",
        855,
        0x2fa,
        0xa8,
        "0x0?, {0x0, 0x0, 0x0?}, 0x0?, 0x200",
      ),
      fixedArgsFrame(
        "runtime.(*mheap).reclaim",
        "runtime/mheap.go",
        789,
        0x15b,
        0x70,
        "0x0, 0x0?",
      ),
      fixedArgsFrame(
        "runtime.(*mheap).alloc.func1",
        "runtime/mheap.go",
        916,
        0x4c,
        0x48,
        "",
      ),
      fixedArgsFrame(
        "runtime.systemstack",
        "runtime/asm_amd64.s",
        492,
        0x49,
        0x8,
        "",
      ),
    ],
  };
