/**
 * The allocation paths of the standard-library calls the shared programs
 * make, per Go version: `fmt.Printf` (its `sync.Pool` of printers and the
 * printer's buffer), the boxing of an integer argument (`convT64`) and a
 * three-string concatenation (`concatstring3`). Each is innermost first,
 * from `runtime.mallocgc` to the frame under the caller's, as real traces
 * print them: go1.19.8 and go1.22 runs of binarytrees (`-depth 6`, and
 * `GOGC=1 -depth 10`/`11` for a printer made again after two cycles) and
 * of leak `-n 300`. `runtime.mallocgc`'s arguments are the allocation's
 * (the caller fills them in); the others' are as one real run printed
 * them (hex values differ from run to run, their shape does not).
 *
 * @module
 */

import {
  frame,
  inlinedFrame,
  type RuntimeFrame,
  type StdFrames,
} from "./runtime_frames.ts";

const go119Mallocgc = frame(
  "runtime.mallocgc",
  "runtime/malloc.go",
  1131,
  0x7b1,
  0x78,
);
const go119Printf = inlinedFrame("fmt.Printf", "fmt/print.go", 213);
const go119Fprintf = (line: number, off: number) =>
  frame(
    "fmt.Fprintf",
    "fmt/print.go",
    line,
    off,
    0x60,
    "{0x4e5458, 0xc000014018}, {0x4c6c6d, 0x24}, {0xc00006b030, 0x2, 0x2}",
  );
// sync.(*Pool).Get under fmt.newPrinter under Fprintf: where pin() or New runs.
const go119Get = (line: number, off: number): RuntimeFrame[] => [
  frame("sync.(*Pool).Get", "sync/pool.go", line, off, 0x38, "0x565420"),
  frame("fmt.newPrinter", "fmt/print.go", 137, 0x25, 0x28, ""),
  go119Fprintf(203, 0x49),
  go119Printf,
];
const go119Pin = (line: number, off: number): RuntimeFrame[] => [
  frame("sync.(*Pool).pinSlow", "sync/pool.go", line, off, 0x98, "0x565420"),
  frame("sync.(*Pool).pin", "sync/pool.go", 209, 0x4e, 0x18, "0x565420"),
  ...go119Get(131, 0x25),
];
const go119DoPrintf = (line: number, off: number) =>
  frame(
    "fmt.(*pp).doPrintf",
    "fmt/print.go",
    line,
    off,
    0xf8,
    "0xc00005e4e0, {0x4c6c6d, 0x24}, {0xc00006b030?, 0x2, 0x2}",
  );
const go119GrowNoscan = (args: string) =>
  frame("runtime.growslice", "runtime/slice.go", 284, 0x4ac, 0x68, args);

/** Go 1.19's (go1.19.8). */
export const GO119_STD: StdFrames = {
  printfAllPools: [
    go119Mallocgc,
    frame(
      "runtime.growslice",
      "runtime/slice.go",
      290,
      0x4ea,
      0x68,
      "0x4b5a80, {0x0?, 0x42d04d?, 0xc00006ae90?}, 0x4a5b80?",
    ),
    ...go119Pin(226, 0x108),
  ],
  printfPoolLocal: [
    go119Mallocgc,
    frame(
      "runtime.makeslice",
      "runtime/slice.go",
      103,
      0x52,
      0x28,
      "0x0?, 0x0?, 0x42d04d?",
    ),
    ...go119Pin(230, 0x185),
  ],
  printfNew: [
    go119Mallocgc,
    frame("runtime.newobject", "runtime/malloc.go", 1202, 0x27, 0x28, "0x2?"),
    frame("fmt.glob..func1", "fmt/print.go", 132, 0x25, 0x20, ""),
    ...go119Get(151, 0xb2),
  ],
  printfWriteString: [
    go119Mallocgc,
    go119GrowNoscan(
      "0x7fa327824278?, {0x0?, 0x7fa327819108?, 0xd0?}, 0x56cea0?",
    ),
    inlinedFrame("fmt.(*buffer).writeString", "fmt/print.go", 82),
    go119DoPrintf(1018, 0x137),
    go119Fprintf(204, 0x75),
    go119Printf,
  ],
  printfWriteInteger: [
    go119Mallocgc,
    go119GrowNoscan("0x4c05af?, {0x0?, 0x43518e?, 0x451c5b?}, 0x2?"),
    inlinedFrame("fmt.(*buffer).write", "fmt/print.go", 78),
    frame(
      "fmt.(*fmt).pad",
      "fmt/format.go",
      92,
      0x21c,
      0x70,
      "0x0?, {0xc0000a2589, 0x3, 0x4e412f?}",
    ),
    frame(
      "fmt.(*fmt).fmtInteger",
      "fmt/format.go",
      319,
      0x37e,
      0x50,
      "0xc0000a2520, 0xc0000aad88?, 0xc0000aad88?, 0x7b?, 0x0?, {0x4c260c?, 0xc0000aae08?}",
    ),
    frame(
      "fmt.(*pp).fmtInteger",
      "fmt/print.go",
      410,
      0x133,
      0x40,
      "0x0?, 0x14be0?, 0xf0?, 0xc0?",
    ),
    frame(
      "fmt.(*pp).printArg",
      "fmt/print.go",
      703,
      0x55a,
      0xa0,
      "0xc0000a24e0, {0x4ac1a0?, 0xc00001a060}, 0x64",
    ),
    go119DoPrintf(1057, 0x288),
    go119Fprintf(204, 0x75),
    go119Printf,
  ],
  convT64: [
    go119Mallocgc,
    frame("runtime.convT64", "runtime/iface.go", 382, 0x45, 0x28, "%v"),
  ],
  concatstring3: [
    go119Mallocgc,
    frame("runtime.rawstring", "runtime/string.go", 273, 0x37, 0x50, "%v"),
    frame(
      "runtime.rawstringtmp",
      "runtime/string.go",
      135,
      0x3c,
      0x20,
      "0x200?, 0x25?",
    ),
    frame(
      "runtime.concatstrings",
      "runtime/string.go",
      51,
      0xc5,
      0x78,
      "0x0?, {0xc0000569e8, 0x3, 0xc000056a18?}",
    ),
    frame(
      "runtime.concatstring3",
      "runtime/string.go",
      64,
      0x68,
      0x60,
      "0xc000056ac8?, {0x4ab59c?, 0x5?}, {0xc000056ac8?, 0x4ad9cb?}, {0x4a7bcd?, 0x1c?}",
    ),
  ],
  pp: { size: 200, pointers: [0, 3, 4, 5, 6, 8, 23, 24] },
};

const go122Mallocgc = frame(
  "runtime.mallocgc",
  "runtime/malloc.go",
  1288,
  0x7a6,
  0x88,
);
const go122Printf = inlinedFrame("fmt.Printf", "fmt/print.go", 233);
const go122Fprintf = (line: number, off: number) =>
  frame(
    "fmt.Fprintf",
    "fmt/print.go",
    line,
    off,
    0x60,
    "{0x4f0198, 0xc000038010}, {0x4cef31, 0x24}, {0xc000069018, 0x2, 0x2}",
  );
const go122Get = (line: number, off: number): RuntimeFrame[] => [
  frame("sync.(*Pool).Get", "sync/pool.go", line, off, 0x38, "0x577580"),
  frame("fmt.newPrinter", "fmt/print.go", 152, 0x1a, 0x28, ""),
  go122Fprintf(223, 0x45),
  go122Printf,
];
const go122Pin = (line: number, off: number): RuntimeFrame[] => [
  frame("sync.(*Pool).pinSlow", "sync/pool.go", line, off, 0x98, "0x577580"),
  frame("sync.(*Pool).pin", "sync/pool.go", 217, 0x46, 0x20, "0x577580"),
  ...go122Get(132, 0x1c),
];
const go122DoPrintf = (line: number, off: number) =>
  frame(
    "fmt.(*pp).doPrintf",
    "fmt/print.go",
    line,
    off,
    0xe8,
    "0xc00005e340, {0x4cef31, 0x24}, {0xc000069018, 0x2, 0x2}",
  );
const go122GrowNoscan = (args: string) =>
  frame("runtime.growslice", "runtime/slice.go", 242, 0x55b, 0x70, args);

/** Go 1.22's (go1.22.12). */
export const GO122_STD: StdFrames = {
  printfAllPools: [
    go122Mallocgc,
    frame(
      "runtime.growslice",
      "runtime/slice.go",
      250,
      0x59c,
      0x70,
      "0x0, 0xc0000081c0?, 0xc000068e58?, 0x42ec2d?, 0x4bca60",
    ),
    ...go122Pin(234, 0xfd),
  ],
  printfPoolLocal: [
    go122Mallocgc,
    frame(
      "runtime.makeslice",
      "runtime/slice.go",
      107,
      0x49,
      0x28,
      "0x0?, 0xc0000081c0?, 0xc000068e58?",
    ),
    ...go122Pin(238, 0x17c),
  ],
  printfNew: [
    go122Mallocgc,
    frame("runtime.newobject", "runtime/malloc.go", 1390, 0x25, 0x28, "0x2?"),
    frame("fmt.init.func1", "fmt/print.go", 147, 0x1a, 0x20, ""),
    ...go122Get(152, 0xb1),
  ],
  printfWriteString: [
    go122Mallocgc,
    go122GrowNoscan("0x0, 0x57bfc0?, 0xc00005e340?, 0x0?, 0x0?"),
    inlinedFrame("fmt.(*buffer).writeString", "fmt/print.go", 108),
    go122DoPrintf(1032, 0x11b),
    go122Fprintf(224, 0x71),
    go122Printf,
  ],
  printfWriteInteger: [
    go122Mallocgc,
    go122GrowNoscan("0x0, 0x4eec40?, 0x1?, 0x1?, 0xc000070cd0?"),
    inlinedFrame("fmt.(*buffer).write", "fmt/print.go", 104),
    frame(
      "fmt.(*fmt).pad",
      "fmt/format.go",
      92,
      0x213,
      0x70,
      "0x1?, {0xc0000664b9, 0x3, 0xc000070d28?}",
    ),
    frame(
      "fmt.(*fmt).fmtInteger",
      "fmt/format.go",
      319,
      0x375,
      0x48,
      "0xc000066450, 0xc0000081c0?, 0x4202c5?, 0x2d?, 0x0?, {0x4caca4?, 0xc000070d98?}",
    ),
    frame(
      "fmt.(*pp).fmtInteger",
      "fmt/print.go",
      430,
      0x11d,
      0x40,
      "0xc000066410?, 0x6?, 0xc0?, 0xc0?",
    ),
    frame(
      "fmt.(*pp).printArg",
      "fmt/print.go",
      719,
      0x21b,
      0x98,
      "0xc000066410, {0x4b1ba0, 0xc000014070}, 0x64",
    ),
    go122DoPrintf(1075, 0x37e),
    go122Fprintf(224, 0x71),
    go122Printf,
  ],
  convT64: [
    go122Mallocgc,
    frame("runtime.convT64", "runtime/iface.go", 382, 0x3b, 0x28, "%v"),
  ],
  concatstring3: [
    go122Mallocgc,
    inlinedFrame("runtime.rawstring", "runtime/string.go", 267),
    frame(
      "runtime.rawstringtmp",
      "runtime/string.go",
      131,
      0x3e,
      0x28,
      "0x0?, %v",
    ),
    frame(
      "runtime.concatstrings",
      "runtime/string.go",
      51,
      0xe5,
      0x70,
      "0x0?, {0xc00008c9c0?, 0x3, 0xc00008c9f0?}",
    ),
    frame(
      "runtime.concatstring3",
      "runtime/string.go",
      64,
      0x65,
      0x60,
      "0xc00008ca78?, {0x4aebd5?, 0x5?}, {0xc00008ca78?, 0x4b102c?}, {0x4ab779?, 0x1c?}",
    ),
  ],
  pp: { size: 208, pointers: [0, 3, 4, 5, 6, 8, 23] },
};
