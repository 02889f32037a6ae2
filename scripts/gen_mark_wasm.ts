/**
 * The mark's WebAssembly module (`lib/runtime/mgcmark_wasm.ts` runs it):
 * its assembler, and the script that writes it, in base64, to
 * `lib/runtime/_mark_wasm.ts`. A run compiles those bytes; the runtime
 * never assembles (it sits below lib/trace, whose little encoder
 * `_wasm.ts` this uses). `tests/runtime/mgcmark_wasm_test.ts` fails while
 * the file differs from what this assembles, so run this after a change:
 *
 *   deno run --allow-write=lib/runtime/_mark_wasm.ts scripts/gen_mark_wasm.ts
 *
 * The module imports the heap's memory (`m.memory`) and exports two
 * functions over one header (`h`, byte offsets below, filled by
 * mgcmark_wasm.ts):
 * - `drain(h, 0)`: Go's `gcDrain` for grey slots of up to 16 words, each
 *   scanned by its heap bits (mgcmark.ts's `drain`, step for step). It
 *   returns 0 when the work list is empty, 1 when its top is a larger slot
 *   (left there for the caller, which scans it by its type), 2 when the
 *   list may not have room for one more slot's pointers.
 * - `grey(h, off)`: `greyobject` of the pointer `off` bytes into the arena
 *   (for the caller's scan of a larger slot); 0.
 *
 * @module
 */

import {
  BLOCK,
  br,
  brIf,
  END,
  F64,
  f64c,
  get,
  I32,
  i32c,
  IF,
  load32,
  load8,
  loadF64,
  LOOP,
  MODULE_HEADER,
  name,
  op,
  section,
  set,
  store32,
  storeF64,
  uleb,
  vec,
} from "../lib/trace/_wasm.ts";
import {
  H,
  SMALL_WORDS,
  SPAN,
  SPAN_BYTES,
} from "../lib/runtime/_mark_layout.ts";
import { type ModuleFile, writeModule } from "./_wasm_module.ts";

const TEE = (i: number) => [0x22, ...uleb(i)];
const f = {
  add: 0xa0,
  sub: 0xa1,
  mul: 0xa2,
  eq: 0x61,
  lt: 0x63,
  ge: 0x66,
  fromU32: 0xb8,
  fromI32: 0xb7,
};
/** i32.trunc_sat_f64_s: no trap, and `| 0` for every value the mark makes. */
const TRUNC = [0xfc, 0x02];

// Locals (both functions): h, the pointer argument, then i32s and f64s.
const Hh = 0;
const ARG = 1;
const W0 = 2;
const EW = 3;
const K = 4;
const LAST = 5;
const NWORK = 6;
const CAP = 7;
const WORK = 8;
const PAGES = 9;
const SPANS = 10;
const BITS = 11;
const SCANNED = 12;
const MARKED = 13;
const S = 14;
const I = 15;
const WI = 16;
const BIT = 17;
const MK = 18;
const T = 19;
const SEW = 20;
const ST = 21;
const A = 22; // f64 from here
const MAPPED = 23;
const INV = 24;
const V = 25;
const OFF = 26;
const SCANWORK = 27;
const MARKEDBYTES = 28;
const NI32 = 20;
const NF64 = 7;

const fieldI32 = (local: number, off: number) => [
  ...get(local),
  ...load32(off),
];
const inc = (local: number) => [
  ...get(local),
  ...i32c(1),
  op.i32add,
  ...set(local),
];

/** Reads the header into the locals. */
const loadHeader = [
  ...get(Hh),
  ...loadF64(H.arenaStart),
  ...set(A),
  ...get(Hh),
  ...loadF64(H.mapped),
  ...set(MAPPED),
  ...get(Hh),
  ...loadF64(H.invPageSize),
  ...set(INV),
  ...fieldI32(Hh, H.pageTab),
  ...set(PAGES),
  ...fieldI32(Hh, H.spanTab),
  ...set(SPANS),
  ...fieldI32(Hh, H.work),
  ...set(WORK),
  ...fieldI32(Hh, H.nwork),
  ...set(NWORK),
  ...fieldI32(Hh, H.cap),
  ...set(CAP),
  ...fieldI32(Hh, H.scanned),
  ...set(SCANNED),
  ...fieldI32(Hh, H.marked),
  ...set(MARKED),
  ...fieldI32(Hh, H.bits),
  ...set(BITS),
  ...get(Hh),
  ...loadF64(H.scanWork),
  ...set(SCANWORK),
  ...get(Hh),
  ...loadF64(H.markedBytes),
  ...set(MARKEDBYTES),
];

/** Writes the locals that change back to the header. */
const storeHeader = [
  ...get(Hh),
  ...get(NWORK),
  ...store32(H.nwork),
  ...get(Hh),
  ...get(SCANNED),
  ...store32(H.scanned),
  ...get(Hh),
  ...get(MARKED),
  ...store32(H.marked),
  ...get(Hh),
  ...get(SCANWORK),
  ...storeF64(H.scanWork),
  ...get(Hh),
  ...get(MARKEDBYTES),
  ...storeF64(H.markedBytes),
];

/**
 * `greyobject` of the pointer `OFF` bytes into the arena, inside a block
 * that `br 0` leaves (the pointer needs nothing more): mgcmark.ts's
 * `#greyOff` and drain's inline copy of it, in the same arithmetic.
 */
const greyBody = [
  // !(off >= 0 && off < mapped): no heap.
  ...get(OFF),
  ...f64c(0),
  f.ge,
  op.i32eqz,
  ...brIf(0),
  ...get(OFF),
  ...get(MAPPED),
  f.lt,
  op.i32eqz,
  ...brIf(0),
  // The span: page table, then its record.
  ...get(PAGES),
  ...get(OFF),
  ...get(INV),
  f.mul,
  ...TRUNC,
  ...i32c(2),
  op.i32shl,
  op.i32add,
  ...load32(0),
  ...TEE(S),
  op.i32eqz,
  ...brIf(0),
  ...get(S),
  ...i32c(1),
  op.i32sub,
  ...i32c(Math.log2(SPAN_BYTES)),
  op.i32shl,
  ...get(SPANS),
  op.i32add,
  ...set(S),
  // The slot: (off - base) * divMul * 2^-32, truncated (span.slotOf).
  ...get(OFF),
  ...fieldI32(S, SPAN.base),
  f.fromU32,
  f.sub,
  ...fieldI32(S, SPAN.divMul),
  f.fromU32,
  f.mul,
  ...f64c(2.3283064365386963e-10),
  f.mul,
  ...TRUNC,
  ...TEE(I),
  ...fieldI32(S, SPAN.nelems),
  op.i32geS,
  ...brIf(0),
  ...get(I),
  ...i32c(5),
  op.i32shrU,
  ...i32c(2),
  op.i32shl,
  ...set(WI),
  ...i32c(1),
  ...get(I),
  op.i32shl,
  ...set(BIT),
  // Not allocated, or marked already: nothing to do.
  ...fieldI32(S, SPAN.allocBits),
  ...get(WI),
  op.i32add,
  ...load32(0),
  ...get(BIT),
  op.i32and,
  op.i32eqz,
  ...brIf(0),
  ...fieldI32(S, SPAN.markBits),
  ...get(WI),
  op.i32add,
  ...TEE(MK),
  ...load32(0),
  ...TEE(T),
  ...get(BIT),
  op.i32and,
  ...brIf(0),
  ...get(MK),
  ...get(T),
  ...get(BIT),
  op.i32or,
  ...store32(0),
  ...get(S),
  ...fieldI32(S, SPAN.nmarked),
  ...i32c(1),
  op.i32add,
  ...store32(SPAN.nmarked),
  ...inc(MARKED),
  ...get(MARKEDBYTES),
  ...fieldI32(S, SPAN.elemsize),
  f.fromU32,
  f.add,
  ...set(MARKEDBYTES),
  // A pointerful object goes on the work list.
  ...fieldI32(S, SPAN.scan),
  op.i32eqz,
  ...brIf(0),
  ...get(WORK),
  ...get(NWORK),
  ...i32c(3),
  op.i32shl,
  op.i32add,
  ...TEE(T),
  ...fieldI32(S, SPAN.base),
  ...i32c(3),
  op.i32shrU,
  ...get(I),
  ...fieldI32(S, SPAN.elemsize),
  ...i32c(3),
  op.i32shrU,
  ...TEE(SEW),
  op.i32mul,
  op.i32add,
  ...store32(0),
  ...get(T),
  ...get(SEW),
  ...store32(4),
  ...inc(NWORK),
];

/** `drain`'s body: returns its status (see the module doc). */
const drainBody = [
  ...loadHeader,
  ...BLOCK, // exit
  ...LOOP, // one slot
  // Empty: done (0).
  ...i32c(0),
  ...set(ST),
  ...get(NWORK),
  op.i32eqz,
  ...brIf(1),
  // No room for a slot's pointers: 2.
  ...i32c(2),
  ...set(ST),
  ...get(NWORK),
  ...i32c(SMALL_WORDS),
  op.i32add,
  ...get(CAP),
  op.i32gtS,
  ...brIf(1),
  // The top slot; a larger one is the caller's (1).
  ...get(WORK),
  ...get(NWORK),
  ...i32c(1),
  op.i32sub,
  ...i32c(3),
  op.i32shl,
  op.i32add,
  ...TEE(T),
  ...load32(0),
  ...set(W0),
  ...get(T),
  ...load32(4),
  ...set(EW),
  ...i32c(1),
  ...set(ST),
  ...get(EW),
  ...i32c(SMALL_WORDS),
  op.i32gtS,
  ...brIf(1),
  ...get(NWORK),
  ...i32c(1),
  op.i32sub,
  ...set(NWORK),
  ...i32c(-1),
  ...set(LAST),
  ...i32c(0),
  ...set(K),
  ...BLOCK, // words done
  ...LOOP,
  ...get(K),
  ...get(EW),
  op.i32geS,
  ...brIf(1),
  ...BLOCK, // next word
  // A word the heap bits hold no pointer in.
  ...get(BITS),
  ...get(W0),
  op.i32add,
  ...get(K),
  op.i32add,
  ...load8,
  op.i32eqz,
  ...brIf(0),
  ...inc(SCANNED),
  ...get(K),
  ...set(LAST),
  ...get(W0),
  ...get(K),
  op.i32add,
  ...i32c(3),
  op.i32shl,
  ...loadF64(0),
  ...TEE(V),
  ...f64c(0),
  f.eq,
  ...brIf(0),
  ...get(V),
  ...get(A),
  f.sub,
  ...set(OFF),
  ...greyBody,
  ...END, // next word
  ...inc(K),
  ...br(0),
  ...END, // loop
  ...END, // words done
  // Scan work ends at the slot's last pointer word.
  ...get(LAST),
  ...i32c(0),
  op.i32geS,
  ...IF,
  ...get(SCANWORK),
  ...get(LAST),
  ...i32c(1),
  op.i32add,
  ...i32c(3),
  op.i32shl,
  f.fromI32,
  f.add,
  ...set(SCANWORK),
  ...END,
  ...br(0),
  ...END, // loop
  ...END, // exit
  ...storeHeader,
  ...get(ST),
];

/** `grey`'s body. */
const greyFnBody = [
  ...loadHeader,
  ...get(ARG),
  ...set(OFF),
  ...BLOCK,
  ...greyBody,
  ...END,
  ...storeHeader,
  ...i32c(0),
];

const code = (body: number[]): number[] => {
  const fn = [
    ...vec([[...uleb(NI32), I32], [...uleb(NF64), F64]]),
    ...body,
    ...END,
  ];
  return [...uleb(fn.length), ...fn];
};

/** The mark's module, assembled. */
export function assembleMark(): Uint8Array<ArrayBuffer> {
  const bytes = [
    ...MODULE_HEADER,
    // One type: (i32, f64) -> i32.
    ...section(1, vec([[0x60, ...vec([[I32], [F64]]), ...vec([[I32]])]])),
    // The heap's memory.
    ...section(2, vec([[...name("m"), ...name("memory"), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0x00], [0x00]])),
    ...section(
      7,
      vec([[...name("drain"), 0x00, 0x00], [...name("grey"), 0x00, 0x01]]),
    ),
    ...section(10, vec([code(drainBody), code(greyFnBody)])),
  ];
  return new Uint8Array(bytes);
}

/** `lib/runtime/_mark_wasm.ts`. */
export const MARK_FILE: ModuleFile = {
  path: "lib/runtime/_mark_wasm.ts",
  assemble: assembleMark,
  origin: "scripts/gen_mark_wasm.ts from the mark's assembler",
  whose: "The mark's",
  constName: "MARK_WASM",
};

if (import.meta.main) await writeModule(MARK_FILE);
