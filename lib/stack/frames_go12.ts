/**
 * Go 1.2's runtime frames (the Dec 2013 seed): that release's file layout
 * (`malloc.goc`, `slice.c` …) under `/usr/local/go/src/pkg/runtime/`, with
 * synthetic lines and offsets where the reference has no observed value. The
 * seed prints `MProf_*` records only, so it has no sweeper or tracegc frames.
 *
 * @module
 */

import { AllocKind } from "./allockind.ts";
import { frame, type PresetFrames } from "./runtime_frames.ts";

const GOROOT = "/usr/local/go/src/pkg/runtime/";
const F = (func: string, file: string, line: number, off: number) =>
  frame(func, GOROOT + file, line, off);

const mallocgc = F("runtime.mallocgc", "malloc.goc", 141, 0xe5);
const new_ = F("runtime.new", "malloc.goc", 728, 0x3b);
const cnewarray = F("runtime.cnewarray", "malloc.goc", 767, 0x8b);
const makeslice = F("runtime.makeslice", "slice.c", 57, 0x4b);
const growslice = F("runtime.growslice", "slice.c", 112, 0x98);
const makechan = F("runtime.makechan", "chan.c", 140, 0x1a7);
const concatstring = F("runtime.concatstring", "string.goc", 153, 0x62);
const makemap = F("runtime.makemap", "hashmap.c", 1089, 0x84);
const mapassign = F("runtime.mapassign1", "hashmap.c", 1205, 0x63);
const main = F("runtime.main", "proc.c", 220, 0x11f);
const goexit = F("runtime.goexit", "proc.c", 1394, 0x0);

const ALLOC: Readonly<Record<AllocKind, readonly ReturnType<typeof F>[]>> = {
  [AllocKind.mallocgc]: [mallocgc],
  [AllocKind.newobject]: [mallocgc, new_],
  [AllocKind.makechanHchan]: [mallocgc, new_],
  [AllocKind.makeslice]: [mallocgc, cnewarray, makeslice],
  [AllocKind.growslice]: [mallocgc, cnewarray, growslice],
  [AllocKind.makechan]: [mallocgc, makechan],
  [AllocKind.concatstring]: [mallocgc, concatstring],
  [AllocKind.makemapSmall]: [mallocgc, new_, makemap],
  [AllocKind.mapassign]: [mallocgc, cnewarray, mapassign],
  // The seed preset has no start-up data: only mallocgc, if ever asked.
  [AllocKind.startup]: [mallocgc],
};

/**
 * Go 1.2's runtime frames.
 *
 * @example
 * ```ts
 * import { AllocKind, GO12_FRAMES } from "../../mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(
 *   GO12_FRAMES.alloc(AllocKind.makeslice, true, false).map((f) => f.func),
 *   ["runtime.mallocgc", "runtime.cnewarray", "runtime.makeslice"],
 * );
 * ```
 */
export const GO12_FRAMES: PresetFrames = {
  alloc: (kind) => ALLOC[kind],
  mainBottom: [main, goexit],
  goexit,
  profileSkip: 0,
  sweepers: {},
  system: {},
  waitGC: [],
};
