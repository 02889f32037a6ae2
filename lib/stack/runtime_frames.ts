/**
 * The runtime's own frames around an allocation, per preset and allocation
 * kind: what Go shows above the user's frames (`runtime.mallocgc`, then
 * `runtime.newobject`, `runtime.makeslice` …) and below them
 * (`runtime.main`, `runtime.goexit`). Go 1.19's files, lines and PC offsets
 * are the ones the real traces in shared/testdata print; the Go 1.2 ones
 * follow that release's file layout (`malloc.goc`, `slice.c` …) and are
 * synthetic where the reference has no observed value.
 *
 * @module
 */

import { AllocKind } from "../runtime/allockind.ts";
import type { PresetName } from "../runtime/presets.ts";

/** One runtime frame: function, file, line, and the PC offset from the function's entry. */
export interface RuntimeFrame {
  /** Function name. */
  readonly func: string;
  /** File as the binary records it. */
  readonly file: string;
  /** Line. */
  readonly line: number;
  /** PC − entry of the call (as `+0x…` shows it); 0 for an inlined frame. */
  readonly off: number;
  /** Inlined into the frame below (printed as `func(...)`, no offset). */
  readonly inlined?: boolean;
}

const F = (
  func: string,
  file: string,
  line: number,
  off: number,
  inlined = false,
): RuntimeFrame => ({ func, file, line, off, inlined });

const G119 = {
  mallocgc: F("runtime.mallocgc", "runtime/malloc.go", 1131, 0x7b1),
  newobject: F("runtime.newobject", "runtime/malloc.go", 1202, 0x27),
  newobjectInl: F("runtime.newobject", "runtime/malloc.go", 1202, 0, true),
  makeslice: F("runtime.makeslice", "runtime/slice.go", 103, 0x52),
  growsliceNoscan: F("runtime.growslice", "runtime/slice.go", 284, 0x4ac),
  growslice: F("runtime.growslice", "runtime/slice.go", 290, 0x4ea),
  makechanOne: F("runtime.makechan", "runtime/chan.go", 102, 0x93),
  makechanEmpty: F("runtime.makechan", "runtime/chan.go", 96, 0x126),
  makechanHchan: F("runtime.makechan", "runtime/chan.go", 106, 0xca),
  makechanBuf: F("runtime.makechan", "runtime/chan.go", 107, 0xe5),
  rawstring: F("runtime.rawstring", "runtime/string.go", 273, 0x37),
  rawstringtmp: F("runtime.rawstringtmp", "runtime/string.go", 135, 0x3c),
  concatstrings: F("runtime.concatstrings", "runtime/string.go", 51, 0xc5),
  concatstring2: F("runtime.concatstring2", "runtime/string.go", 60, 0x50),
  makemapSmall: F("runtime.makemap_small", "runtime/map.go", 294, 0x25),
  mapassign: F(
    "runtime.mapassign_faststr",
    "runtime/map_faststr.go",
    221,
    0xa8,
  ),
  main: F("runtime.main", "runtime/proc.go", 250, 0x212),
  goexit: F("runtime.goexit", "runtime/asm_amd64.s", 1594, 0x1),
};

const GOROOT12 = "/usr/local/go/src/pkg/runtime/";
const G12 = {
  mallocgc: F("runtime.mallocgc", GOROOT12 + "malloc.goc", 141, 0xe5),
  new: F("runtime.new", GOROOT12 + "malloc.goc", 728, 0x3b),
  cnewarray: F("runtime.cnewarray", GOROOT12 + "malloc.goc", 767, 0x8b),
  makeslice: F("runtime.makeslice", GOROOT12 + "slice.c", 57, 0x4b),
  growslice: F("runtime.growslice", GOROOT12 + "slice.c", 112, 0x98),
  makechan: F("runtime.makechan", GOROOT12 + "chan.c", 140, 0x1a7),
  concatstring: F("runtime.concatstring", GOROOT12 + "string.goc", 153, 0x62),
  makemap: F("runtime.makemap", GOROOT12 + "hashmap.c", 1089, 0x84),
  mapassign: F("runtime.mapassign1", GOROOT12 + "hashmap.c", 1205, 0x63),
  main: F("runtime.main", GOROOT12 + "proc.c", 220, 0x11f),
  goexit: F("runtime.goexit", GOROOT12 + "proc.c", 1394, 0x0),
};

/**
 * The runtime frames above the caller of an allocation of `kind`,
 * innermost first, starting with `runtime.mallocgc`. `noscan` selects
 * growslice's untyped path.
 *
 * @example
 * ```ts
 * import { allocFrames } from "./runtime_frames.ts";
 * import { AllocKind } from "../runtime/allockind.ts";
 * const f = allocFrames("go1.19", AllocKind.newobject, false);
 * if (f.map((x) => x.func).join() !== "runtime.mallocgc,runtime.newobject") throw new Error();
 * ```
 */
export function allocFrames(
  preset: PresetName,
  kind: AllocKind,
  noscan: boolean,
  chanNoBuf = false,
): readonly RuntimeFrame[] {
  if (preset === "go1.2-seed") {
    switch (kind) {
      case AllocKind.newobject:
      case AllocKind.makechanHchan:
        return [G12.mallocgc, G12.new];
      case AllocKind.makeslice:
        return [G12.mallocgc, G12.cnewarray, G12.makeslice];
      case AllocKind.growslice:
        return [G12.mallocgc, G12.cnewarray, G12.growslice];
      case AllocKind.makechan:
        return [G12.mallocgc, G12.makechan];
      case AllocKind.concatstring:
        return [G12.mallocgc, G12.concatstring];
      case AllocKind.makemapSmall:
        return [G12.mallocgc, G12.new, G12.makemap];
      case AllocKind.mapassign:
        return [G12.mallocgc, G12.cnewarray, G12.mapassign];
      default:
        return [G12.mallocgc];
    }
  }
  switch (kind) {
    case AllocKind.newobject:
      return [G119.mallocgc, G119.newobject];
    case AllocKind.makeslice:
      return [G119.mallocgc, G119.makeslice];
    case AllocKind.growslice:
      return [G119.mallocgc, noscan ? G119.growsliceNoscan : G119.growslice];
    case AllocKind.makechan:
      return [
        G119.mallocgc,
        chanNoBuf
          ? G119.makechanEmpty
          : noscan
          ? G119.makechanOne
          : G119.makechanBuf,
      ];
    case AllocKind.makechanHchan:
      return [G119.mallocgc, G119.newobject, G119.makechanHchan];
    case AllocKind.concatstring:
      return [
        G119.mallocgc,
        G119.rawstring,
        G119.rawstringtmp,
        G119.concatstrings,
        G119.concatstring2,
      ];
    case AllocKind.makemapSmall:
      return [G119.mallocgc, G119.newobjectInl, G119.makemapSmall];
    case AllocKind.mapassign:
      return [G119.mallocgc, G119.newobjectInl, G119.mapassign];
    default:
      return [G119.mallocgc];
  }
}

/** The runtime frames below the main goroutine's user frames, innermost first. */
export function mainBottomFrames(preset: PresetName): readonly RuntimeFrame[] {
  return preset === "go1.2-seed"
    ? [G12.main, G12.goexit]
    : [G119.main, G119.goexit];
}

/** The frame every goroutine ends with (`runtime.goexit`). */
export function goexitFrame(preset: PresetName): RuntimeFrame {
  return preset === "go1.2-seed" ? G12.goexit : G119.goexit;
}
