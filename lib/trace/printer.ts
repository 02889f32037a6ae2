/**
 * The `GODEBUG=allocfreetrace=1` printers (reference section 2):
 *
 * - the Dec 2013 seed's (go1.2-seed): every allocation is forced into the
 *   heap profile and printed as `MProf_Malloc(p=…, size=…, type=… <…>)`
 *   with `\t#N pc func file:line` frames; a profiled object's free prints
 *   `MProf_Free(p=…, size=…)` with its allocation stack;
 * - Go 1.3–1.22's (go1.19): `tracealloc(p, size[, type])`,
 *   `tracefree(p, size)` and `tracegc()` … `end tracegc`, each with goroutine
 *   headers and tracebacks as Go 1.19 prints them (frames with
 *   `+0xoff fp= sp= pc=`, inlined frames, `created by`), a blank line after
 *   each record.
 *
 * Output is built in large chunks and handed to a sink; records are never
 * split across chunks.
 *
 * @module
 */

import type { GoType } from "../runtime/types.ts";
import type { FrameSnapshot, Goroutine } from "../runtime/goroutine.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { AllocKind } from "../runtime/allockind.ts";
import type { FreeWho, GCEvent } from "../runtime/events.ts";
import { allocFrames, type RuntimeFrame } from "../stack/runtime_frames.ts";
import { captureJsFrames } from "../stack/js_stack.ts";

/** Where the user frames of a record come from. */
export type StackSource = "go" | "js";

/** Options of the printer. */
export interface PrinterOptions {
  /** User frames: the simulated Go frames (default) or the caller's JS stack. */
  stacks?: StackSource;
  /** Bytes buffered before the sink is called (default 1 MiB). */
  chunkBytes?: number;
}

const hex = (n: number) => "0x" + n.toString(16);

const ascii = (t: string) => new TextEncoder().encode(t);
const HEX_DIGITS = ascii("0123456789abcdef");
const TRACEALLOC = ascii("tracealloc(");
const TRACEFREE = ascii("tracefree(");
const MPROF_MALLOC = ascii("MProf_Malloc(p=");
const MPROF_FREE = ascii("MProf_Free(p=");
const SIZE_EQ = ascii(", size=");
const COMMA = ascii(", ");
const CLOSE = ascii(")\n");
const EMPTY = new Uint8Array(0);

/**
 * Writes `0x` and the integer `n` (0 ≤ n < 2^53) in lower-case hex into
 * `buf` at `pos` and returns the position after it: what
 * `"0x" + n.toString(16)` gives, without the string (V8's `toString(16)` is
 * slow for numbers above 2^31, and every address is one).
 */
export function writeHex(buf: Uint8Array, pos: number, n: number): number {
  const p = pos + 2;
  buf[pos] = 0x30;
  buf[pos + 1] = 0x78;
  let lo = n >>> 0;
  let hi = n > 0xffffffff ? Math.floor(n / 0x100000000) : 0;
  let digits = 1;
  if (hi !== 0) {
    for (let x = hi; x !== 0; x >>>= 4) digits++;
    digits += 7;
  } else {
    for (let x = lo >>> 4; x !== 0; x >>>= 4) digits++;
  }
  let q = p + digits;
  for (let i = 0; i < 8 && q > p; i++) {
    buf[--q] = HEX_DIGITS[lo & 15];
    lo >>>= 4;
  }
  while (q > p) {
    buf[--q] = HEX_DIGITS[hi & 15];
    hi >>>= 4;
  }
  return p + digits;
}

/** The value of `key` in `map`, made by `make` and kept the first time. */
function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** A frame as printed: function, file, line, PC offset, frame size, args. */
interface PFrame {
  func: string;
  file: string;
  line: number;
  off: number;
  inlined: boolean;
  size: number;
  args: string;
}

const RT = (
  func: string,
  file: string,
  line: number,
  off: number,
  size: number,
  args = "0x0?",
): PFrame => ({ func, file, line, off, inlined: false, size, args });

/** Runtime frames of the sweepers, innermost first, after `(*sweepLocked).sweep`. */
const SWEEP = RT(
  "runtime.(*sweepLocked).sweep",
  "runtime/mgcsweep.go",
  577,
  0x97e,
  0xd8,
  "0x0?, 0x0",
);
const SWEEPONE = RT(
  "runtime.sweepone",
  "runtime/mgcsweep.go",
  369,
  0xf4,
  0x50,
  "",
);
const REFILL = RT(
  "runtime.(*mcache).refill",
  "runtime/mcache.go",
  181,
  0x170,
  0x48,
  "0x0?, 0x0?",
);
const NEXTFREE = RT(
  "runtime.(*mcache).nextFree",
  "runtime/malloc.go",
  819,
  0x85,
  0x48,
  "0x0?, 0x0?",
);
const SWEEPERS: Record<string, PFrame[]> = {
  uncacheSpan: [
    SWEEP,
    RT(
      "runtime.(*mcentral).uncacheSpan",
      "runtime/mcentral.go",
      226,
      0xa5,
      0x28,
      "0x0?, 0x8?",
    ),
    RT("runtime.(*mcache).releaseAll", "runtime/mcache.go", 290, 0x145, 0x68),
    RT(
      "runtime.(*mcache).prepareForSweep",
      "runtime/mcache.go",
      326,
      0x39,
      0x28,
    ),
    RT("runtime.procresize", "runtime/proc.go", 4867, 0x47d, 0xb8, "0x2"),
    RT(
      "runtime.startTheWorldWithSema",
      "runtime/proc.go",
      1273,
      0x8b,
      0x60,
      "0x1",
    ),
    RT(
      "runtime.gcMarkTermination.func3",
      "runtime/mgc.go",
      1059,
      0x1e,
      0x18,
      "",
    ),
    RT("runtime.systemstack", "runtime/asm_amd64.s", 492, 0x49, 0x8, ""),
  ],
  bgsweep: [
    SWEEP,
    SWEEPONE,
    RT("runtime.bgsweep", "runtime/mgcsweep.go", 281, 0x105, 0x38),
    RT("runtime.gcenable.func1", "runtime/mgc.go", 178, 0x26, 0x18, ""),
  ],
  GC: [
    SWEEP,
    SWEEPONE,
    RT("runtime.GC", "runtime/mgc.go", 454, 0x7e, 0x38, ""),
  ],
  gcStart: [
    SWEEP,
    SWEEPONE,
    RT(
      "runtime.gcStart",
      "runtime/mgc.go",
      602,
      0x9e,
      0x98,
      "{0x0?, 0x0?, 0x0?}",
    ),
  ],
  cacheSpan: [
    RT(
      "runtime.(*sweepLocked).sweep",
      "runtime/mgcsweep.go",
      577,
      0x97e,
      0xd8,
      "0x0?, 0x1",
    ),
    RT(
      "runtime.(*mcentral).cacheSpan",
      "runtime/mcentral.go",
      123,
      0x1d5,
      0x58,
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
      844,
      0x18d,
      0x40,
      "0x0?, 0x0",
    ),
    RT("runtime.(*mcentral).cacheSpan", "runtime/mcentral.go", 82, 0x3d, 0x58),
    REFILL,
    NEXTFREE,
  ],
  reclaim: [
    RT(
      "runtime.(*sweepLocked).sweep",
      "runtime/mgcsweep.go",
      577,
      0x97e,
      0xd8,
      "0x0?, 0x0",
    ),
    RT("runtime.(*mheap).reclaimChunk", "runtime/mheap.go", 858, 0x1f3, 0x90),
    RT("runtime.(*mheap).reclaim", "runtime/mheap.go", 789, 0x20b, 0x70),
    RT("runtime.(*mheap).alloc.func1", "runtime/mheap.go", 916, 0x45, 0x48, ""),
  ],
};

/** Frames of the parked runtime goroutines in a tracegc listing. */
const GOPARK = RT(
  "runtime.gopark",
  "runtime/proc.go",
  363,
  0xd6,
  0x20,
  "0x0?, 0x0?, 0x0?, 0x0?, 0x0?",
);
const GOPARKUNLOCK: PFrame = {
  ...RT("runtime.goparkunlock", "runtime/proc.go", 369, 0, 0),
  inlined: true,
};
const SYSTEM: Record<
  string,
  { frames: PFrame[]; createdBy: [string, string, number, number] }
> = {
  forcegc: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT("runtime.forcegchelper", "runtime/proc.go", 302, 0xad, 0x30, ""),
    ],
    createdBy: ["runtime.init.6", "runtime/proc.go", 290, 0x25],
  },
  bgsweep: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT("runtime.bgsweep", "runtime/mgcsweep.go", 278, 0x8e, 0x38),
      RT("runtime.gcenable.func1", "runtime/mgc.go", 178, 0x26, 0x18, ""),
    ],
    createdBy: ["runtime.gcenable", "runtime/mgc.go", 178, 0x6b],
  },
  bgscavenge: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT(
        "runtime.(*scavengerState).park",
        "runtime/mgcscavenge.go",
        389,
        0x53,
        0x30,
      ),
      RT("runtime.bgscavenge", "runtime/mgcscavenge.go", 622, 0x65, 0x28),
      RT("runtime.gcenable.func2", "runtime/mgc.go", 179, 0x26, 0x18, ""),
    ],
    createdBy: ["runtime.gcenable", "runtime/mgc.go", 179, 0xaa],
  },
  finalizer: {
    frames: [
      GOPARK,
      GOPARKUNLOCK,
      RT("runtime.runfinq", "runtime/mfinal.go", 180, 0x10f, 0x1b8, ""),
    ],
    createdBy: ["runtime.createfing", "runtime/mfinal.go", 157, 0x45],
  },
  markworker: {
    frames: [
      GOPARK,
      RT("runtime.gcBgMarkWorker", "runtime/mgc.go", 1208, 0x72, 0x90, ""),
    ],
    createdBy: ["runtime.gcBgMarkStartWorkers", "runtime/mgc.go", 1159, 0x25],
  },
  marking: {
    frames: [
      RT("runtime.systemstack_switch", "runtime/asm_amd64.s", 459, 0, 0x8, ""),
      RT("runtime.gcMarkTermination", "runtime/mgc.go", 943, 0x173, 0x1b8, ""),
      RT("runtime.gcMarkDone", "runtime/mgc.go", 918, 0x2ac, 0x60, ""),
      RT("runtime.gcBgMarkWorker", "runtime/mgc.go", 1367, 0x345, 0x90, ""),
    ],
    createdBy: ["runtime.gcBgMarkStartWorkers", "runtime/mgc.go", 1159, 0x25],
  },
};
const WAIT_GC: PFrame[] = [
  RT(
    "runtime.gopark",
    "runtime/proc.go",
    363,
    0xd6,
    0x20,
    "0x0?, 0x0?, 0x0?, 0x0?, 0x0?",
  ),
  GOPARKUNLOCK,
  RT("runtime.gcWaitOnMark", "runtime/mgc.go", 505, 0x5b, 0x30, "0x1"),
  RT("runtime.GC", "runtime/mgc.go", 448, 0x4e, 0x38, ""),
];
const RUNTIME_MAIN = RT(
  "runtime.main",
  "runtime/proc.go",
  250,
  0x212,
  0x60,
  "",
);
const GOEXIT = RT("runtime.goexit", "runtime/asm_amd64.s", 1594, 0x1, 0x8, "");

/** Frame sizes of the allocation path's runtime frames (fp − sp, as Go 1.19 prints them). */
const FRAME_SIZE: Record<string, number> = {
  "runtime.mallocgc": 0x78,
  "runtime.newobject": 0x28,
  "runtime.makeslice": 0x28,
  "runtime.growslice": 0x78,
  "runtime.makechan": 0x40,
  "runtime.rawstring": 0x38,
  "runtime.rawstringtmp": 0x30,
  "runtime.concatstrings": 0xa8,
  "runtime.concatstring2": 0x28,
  "runtime.makemap_small": 0x20,
  "runtime.mapassign_faststr": 0x68,
};

/**
 * The allocfreetrace printer of one runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "../runtime/runtime.ts";
 * import { TracePrinter } from "./printer.ts";
 * const rt = new Runtime();
 * let out = "";
 * const p = new TracePrinter(rt, (b) => (out += new TextDecoder().decode(b)));
 * p.attach();
 * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
 * rt.call("main.main", "main.go", 19, () => rt.newobject(t));
 * p.flush();
 * if (!out.startsWith("tracealloc(0xc000000000, 0x40, main.T)\ngoroutine 1 [running]:\nruntime.mallocgc(0x38, ")) throw new Error(out);
 * ```
 */
export class TracePrinter {
  readonly #rt: Runtime;
  readonly #sink: (chunk: Uint8Array) => void;
  readonly #chunk: number;
  readonly #stacks: StackSource;
  readonly #seed: boolean;
  #buf: Uint8Array;
  #pos = 0;
  readonly #enc = new TextEncoder();
  readonly #topCache = new Map<string, Uint8Array>();
  /** Records printed, by kind. */
  readonly counts: { allocs: number; frees: number; gcs: number } = {
    allocs: 0,
    frees: 0,
    gcs: 0,
  };

  /** Makes a printer that writes to `sink` in chunks. */
  constructor(
    rt: Runtime,
    sink: (chunk: Uint8Array) => void,
    opts: PrinterOptions = {},
  ) {
    this.#rt = rt;
    this.#sink = sink;
    this.#chunk = opts.chunkBytes ?? 1 << 20;
    this.#buf = new Uint8Array(this.#chunk + 65536);
    this.#stacks = opts.stacks ?? "go";
    this.#seed = rt.preset.name === "go1.2-seed";
  }

  /**
   * Subscribes to the runtime's events (after the consumers already
   * subscribed); returns the function that unsubscribes. For go1.2-seed
   * this turns on the seed's forced profiling.
   */
  attach(): () => void {
    const rt = this.#rt;
    if (this.#seed) {
      rt.forceProfile = true;
      return rt.events.subscribe({
        profileAlloc: (addr, size, typ, kind, stk) =>
          this.#mprofMalloc(addr, size, typ, kind, stk),
        profileFree: (addr, size, stk) => this.#mprofFree(addr, size, stk),
      });
    }
    return rt.events.subscribe({
      alloc: (addr, size, typ, kind, requested, g) =>
        this.#tracealloc(addr, size, typ, kind, requested, g),
      free: (addr, size, who, g, kind) =>
        this.#tracefree(addr, size, who, g, kind),
      gc: (ev) => {
        if (ev.kind === "marktermination") this.#tracegc(ev);
      },
    });
  }

  /**
   * Hands everything buffered to the sink (whole records only). The chunk
   * is a view of the printer's buffer, valid until the sink returns: copy
   * it to keep it.
   */
  flush(): void {
    if (this.#pos === 0) return;
    const out = this.#buf.subarray(0, this.#pos);
    this.#pos = 0;
    this.#sink(out);
  }

  /** Appends one record made of `parts`; a record is never split across chunks. */
  #emit(...parts: (string | Uint8Array)[]): void {
    let need = 0;
    for (const p of parts) {
      need += typeof p === "string" ? p.length * 3 : p.length;
    }
    if (this.#pos + need > this.#buf.length) {
      this.flush();
      if (need > this.#buf.length) this.#buf = new Uint8Array(need * 2);
    }
    for (const p of parts) {
      if (typeof p === "string") {
        this.#pos +=
          this.#enc.encodeInto(p, this.#buf.subarray(this.#pos)).written;
      } else {
        this.#buf.set(p, this.#pos);
        this.#pos += p.length;
      }
    }
    if (this.#pos >= this.#chunk) this.flush();
  }

  #cacheTop(key: string, make: () => string): Uint8Array {
    let b = this.#topCache.get(key);
    if (b === undefined) {
      b = this.#enc.encode(make());
      if (this.#topCache.size > 10_000) this.#topCache.clear();
      this.#topCache.set(key, b);
    }
    return b;
  }

  /** Makes room for a record of up to `need` bytes (records never span chunks). */
  #reserve(need: number): void {
    if (this.#pos + need > this.#buf.length) {
      this.flush();
      if (need > this.#buf.length) this.#buf = new Uint8Array(need * 2);
    }
  }

  #putBytes(b: Uint8Array): void {
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  #putHex(n: number): void {
    this.#pos = writeHex(this.#buf, this.#pos, n);
  }

  readonly #typeTails = new Map<GoType | null, Uint8Array>();

  /** `, type)\n` (or `)\n` without a type), encoded once per type. */
  #typeTail(typ: GoType | null): Uint8Array {
    return cached(
      this.#typeTails,
      typ,
      () => this.#enc.encode(typ ? `, ${typ.name})\n` : ")\n"),
    );
  }

  readonly #goHeaders = new Map<number, Uint8Array>();

  /** `goroutine N [running]:\n`, encoded once per goroutine id. */
  #goroutineHeader(id: number): Uint8Array {
    return cached(
      this.#goHeaders,
      id,
      () => this.#enc.encode(`goroutine ${id} [running]:\n`),
    );
  }

  // ---- the seed's format ----

  #mprofMalloc(
    addr: number,
    size: number,
    typ: GoType | null,
    kind: AllocKind,
    stk: readonly number[],
  ): void {
    const info = kind === AllocKind.makechan || kind === AllocKind.makechanHchan
      ? "channel"
      : kind === AllocKind.makeslice || kind === AllocKind.growslice ||
          kind === AllocKind.mapassign
      ? "array"
      : "single object";
    const tail = cached(
      cached(this.#seedTails, typ, () => new Map()),
      info,
      () =>
        this.#enc.encode(
          `, type=${hex(typ?.addr ?? 0)} <${info}${
            typ ? ` of ${typ.name}` : ""
          }>)\n`,
        ),
    );
    this.counts.allocs++;
    this.#record(
      MPROF_MALLOC,
      addr,
      size,
      tail,
      this.#seedFrames(stk),
      EMPTY,
      EMPTY,
      false,
    );
  }

  #mprofFree(addr: number, size: number, stk: readonly number[]): void {
    this.counts.frees++;
    this.#record(
      MPROF_FREE,
      addr,
      size,
      CLOSE,
      this.#seedFrames(stk),
      EMPTY,
      EMPTY,
      false,
    );
  }

  readonly #seedTails = new Map<GoType | null, Map<string, Uint8Array>>();
  readonly #seedFrameCache = new WeakMap<readonly number[], Uint8Array>();

  /** A stack's `\t#N pc func file:line` lines, rendered once per bucket stack. */
  #seedFrames(stk: readonly number[]): Uint8Array {
    let b = this.#seedFrameCache.get(stk);
    if (b !== undefined) return b;
    let s = "";
    const rt = this.#rt;
    stk.forEach((pc, i) => {
      const hit = rt.symtab.lookup(pc);
      s += hit === undefined
        ? `\t#${i} ${hex(pc)}\n`
        : `\t#${i} ${hex(pc)} ${hit.fn.name} ${hit.fn.file}:${hit.line}\n`;
    });
    b = this.#enc.encode(s);
    this.#seedFrameCache.set(stk, b);
    return b;
  }

  // ---- Go 1.3–1.22's format ----

  #tracealloc(
    addr: number,
    size: number,
    typ: GoType | null,
    kind: AllocKind,
    requested: number,
    g: Goroutine,
  ): void {
    const rt = this.#rt;
    const noscan = typ === null || typ.noscan;
    const chanNoBuf = kind === AllocKind.makechan && requested === 96;
    const typAddr = typ?.addr ?? 0;
    const makeTop = () =>
      allocFrames(rt.preset.name, kind, noscan, chanNoBuf).map((f, i) =>
        this.#rtFrame(
          f,
          i === 0
            ? `${hex(requested)}, ${hex(typAddr)}, ${
              kind === AllocKind.concatstring ? "0x0" : "0x1"
            }`
            : `${hex(typAddr)}?`,
        )
      );
    this.counts.allocs++;
    if (this.#stacks === "js") {
      const header = `tracealloc(${hex(addr)}, ${hex(size)}${
        typ ? `, ${typ.name}` : ""
      })\ngoroutine ${g.id} [running]:\n`;
      this.#emit(header, this.#traceback(g, makeTop()), "\n");
      return;
    }
    const base = this.#userPart(g);
    // kind < 64, two flags: requested × 256 stays an exact double.
    const key = requested * 256 + kind * 4 + (chanNoBuf ? 2 : 0) +
      (noscan ? 1 : 0);
    const top = cached(
      cached(base.allocTops, typ, () => new Map()),
      key,
      () => this.#enc.encode(this.#framesFrom(makeTop(), base.innerSp)),
    );
    this.#record(
      TRACEALLOC,
      addr,
      size,
      this.#typeTail(typ),
      this.#goroutineHeader(g.id),
      top,
      base.bytes,
    );
  }

  #tracefree(
    addr: number,
    size: number,
    who: FreeWho,
    g: Goroutine,
    kind: AllocKind,
  ): void {
    const rt = this.#rt;
    this.counts.frees++;
    if (who === "uncacheSpan") {
      this.#freeRecord(
        addr,
        size,
        this.#cacheTop("uncacheSpan", () =>
          "goroutine 0 [idle]:\n" +
          this.#frames(SWEEPERS.uncacheSpan, 0x7fffcbd6b000)),
        EMPTY,
      );
      return;
    }
    if (who === "bgsweep") {
      const id = g.kind === "bgsweep" ? g.id : 3;
      this.#freeRecord(
        addr,
        size,
        this.#cacheTop(`bgsweep${id}`, () =>
          `goroutine ${id} [running]:\n` +
          this.#frames([...SWEEPERS.bgsweep, GOEXIT], this.#stackTop(id)) +
          "created by runtime.gcenable\n\truntime/mgc.go:178 +0x6b\n"),
        EMPTY,
      );
      return;
    }
    const makeTop = (): PFrame[] => {
      if (who === "GC") return SWEEPERS.GC;
      if (who === "free") return [];
      const alloc = allocFrames(rt.preset.name, kind, false).map((
        f,
        i,
      ) => this.#rtFrame(f, i === 0 ? "0x0?, 0x0?, 0x0?" : "0x0?"));
      return [...(SWEEPERS[who] ?? SWEEPERS.gcStart), ...alloc];
    };
    if (this.#stacks === "js") {
      const gh = `goroutine ${g.id} [running]:\n`;
      this.#emit(
        `tracefree(${hex(addr)}, ${hex(size)})\n`,
        gh,
        this.#traceback(g, makeTop()),
        "\n",
      );
      return;
    }
    const base = this.#userPart(g);
    const top = cached(
      cached(base.freeTops, who, () => new Map()),
      who === "GC" || who === "free" ? -1 : kind,
      () => this.#enc.encode(this.#framesFrom(makeTop(), base.innerSp)),
    );
    this.#freeRecord(addr, size, this.#goroutineHeader(g.id), top, base.bytes);
  }

  /** `tracefree(addr, size)`, then `a`, `b`, `c` and the blank line. */
  #freeRecord(
    addr: number,
    size: number,
    a: Uint8Array,
    b: Uint8Array,
    c: Uint8Array = EMPTY,
  ): void {
    this.#record(TRACEFREE, addr, size, CLOSE, a, b, c);
  }

  /**
   * One record: `head` `0xaddr`, `, 0xsize` (the seed's `, size=0xsize`),
   * then `p1`…`p4` and, in the Go 1.3+ format, the blank line.
   */
  #record(
    head: Uint8Array,
    addr: number,
    size: number,
    p1: Uint8Array,
    p2: Uint8Array,
    p3: Uint8Array,
    p4: Uint8Array,
    blankLine = true,
  ): void {
    this.#reserve(
      head.length + 48 + p1.length + p2.length + p3.length + p4.length,
    );
    this.#putBytes(head);
    this.#putHex(addr);
    this.#putBytes(blankLine ? COMMA : SIZE_EQ);
    this.#putHex(size);
    this.#putBytes(p1);
    this.#putBytes(p2);
    this.#putBytes(p3);
    this.#putBytes(p4);
    if (blankLine) this.#buf[this.#pos++] = 0x0a;
    if (this.#pos >= this.#chunk) this.flush();
  }

  #tracegc(ev: GCEvent): void {
    let s = "tracegc()\n";
    const workers = ev.goroutines.filter((g) => g.kind === "markworker");
    const marking = workers[0];
    if (marking !== undefined) {
      s += `\ngoroutine ${marking.id} [garbage collection]:\n`;
      s += this.#system(marking, SYSTEM.marking);
    }
    for (const g of ev.goroutines) {
      if (g === marking || g.status === "dead") continue;
      if (g.kind === "user") {
        const waiting = ev.forced && g === ev.curg;
        s += `\ngoroutine ${g.id} [${
          waiting ? "wait for GC cycle" : "runnable"
        }]:\n`;
        s += this.#traceback(g, waiting ? WAIT_GC : []);
      } else {
        s += `\ngoroutine ${g.id} [${g.waitReason || g.status}]:\n`;
        s += this.#system(g, SYSTEM[g.kind]);
      }
    }
    this.counts.gcs++;
    this.#emit(s + "end tracegc\n\n");
  }

  #system(
    g: Goroutine,
    spec: { frames: PFrame[]; createdBy: [string, string, number, number] },
  ): string {
    const [fn, file, line, off] = spec.createdBy;
    return this.#frames([...spec.frames, GOEXIT], this.#stackTop(g.id)) +
      `created by ${fn}\n\t${file}:${line} +${hex(off)}\n`;
  }

  #rtFrame(f: RuntimeFrame, args: string): PFrame {
    return {
      func: f.func,
      file: f.file,
      line: f.line,
      off: f.off,
      inlined: f.inlined ?? false,
      size: FRAME_SIZE[f.func] ?? 0x30,
      args: f.inlined ? "..." : args,
    };
  }

  /** The goroutine's own frames, innermost first: simulated Go frames or the JS stack. */
  #userFrames(g: Goroutine): PFrame[] {
    const rt = this.#rt;
    if (this.#stacks === "js") {
      return captureJsFrames().map((f) => ({
        func: f.func,
        file: f.file,
        line: f.line,
        off: 0x20,
        inlined: false,
        size: 0x38,
        args: "",
      }));
    }
    const out: PFrame[] = [];
    for (let d = g.depth - 1; d >= 0; d--) {
      const fn = rt.symtab.info(g.frameFunc[d]);
      const pc = rt.symtab.pc(g.frameFunc[d], g.frameLine[d]);
      out.push({
        func: fn.name,
        file: fn.file,
        line: g.frameLine[d],
        off: pc - fn.entry,
        inlined: false,
        size: fn.name === "main.main" ? 0x558 : 0x38,
        args: "",
      });
    }
    return out;
  }

  /**
   * A user goroutine's traceback: `top` (runtime frames, innermost first),
   * then the goroutine's own frames, then runtime.main/goexit or goexit and
   * `created by`. The part below `top` depends only on the goroutine's
   * frames, so it is rendered once per distinct stack and reused.
   */
  #traceback(g: Goroutine, top: PFrame[]): string {
    if (this.#stacks === "js") {
      const bottom = g.id === 1 ? [RUNTIME_MAIN, GOEXIT] : [GOEXIT];
      return this.#frames(
        [...top, ...this.#userFrames(g), ...bottom],
        this.#stackTop(g.id),
      ) +
        this.#createdBy(g);
    }
    const base = this.#userPart(g);
    return this.#framesFrom(top, base.innerSp) + base.text;
  }

  #createdBy(g: Goroutine): string {
    if (g.id === 1 || g.createdByFunc < 0) return "";
    const rt = this.#rt;
    const fn = rt.symtab.info(g.createdByFunc);
    const pc = rt.symtab.pc(g.createdByFunc, g.createdByLine);
    return `created by ${fn.name}\n\t${fn.file}:${g.createdByLine} +${
      hex(pc - fn.entry)
    }\n`;
  }

  #userCache = new Map<
    number,
    {
      g: Goroutine;
      frames: FrameSnapshot;
      text: string;
      bytes: Uint8Array;
      innerSp: number;
      allocTops: Map<GoType | null, Map<number, Uint8Array>>;
      freeTops: Map<string, Map<number, Uint8Array>>;
    }
  >();

  /**
   * The rendered frames below the runtime part for `g`'s current stack, with
   * the runtime parts above them rendered so far (they depend on this
   * stack's depth through fp/sp), by type and by sweeper.
   */
  #userPart(g: Goroutine): {
    text: string;
    bytes: Uint8Array;
    innerSp: number;
    allocTops: Map<GoType | null, Map<number, Uint8Array>>;
    freeTops: Map<string, Map<number, Uint8Array>>;
  } {
    const h = g.frameHash() ^ Math.imul(g.id, 0x27d4eb2f);
    const hit = this.#userCache.get(h);
    if (hit !== undefined && hit.g === g && g.sameFrames(hit.frames)) {
      return hit;
    }
    const bottom = g.id === 1 ? [RUNTIME_MAIN, GOEXIT] : [GOEXIT];
    const frames = [...this.#userFrames(g), ...bottom];
    const stackTop = this.#stackTop(g.id);
    let fp = stackTop - 0x18;
    for (let i = frames.length - 1; i >= 0; i--) {
      if (!frames[i].inlined) fp -= frames[i].size;
    }
    const text = this.#frames(frames, stackTop) + this.#createdBy(g);
    const entry = {
      g,
      frames: g.snapshotFrames(),
      text,
      bytes: this.#enc.encode(text),
      innerSp: fp,
      allocTops: new Map(),
      freeTops: new Map(),
    };
    if (this.#userCache.size > 100_000) this.#userCache.clear();
    this.#userCache.set(h, entry);
    return entry;
  }

  /** Renders `frames` (innermost first) whose outermost frame's fp is `fp`. */
  #framesFrom(frames: PFrame[], fp: number): string {
    // #frames starts from a stack top 0x18 above the outermost fp.
    return this.#frames(frames, fp + 0x18);
  }

  /** Goroutine stacks: 2 KiB-aligned tops at Go-like addresses (main at 0xc000063000). */
  #stackTop(goid: number): number {
    return goid === 1 ? 0xc000063000 : 0xc000036800 + goid * 0x800;
  }

  /** Prints frames innermost first; fp/sp derived from the frame sizes, top of stack at `top`. */
  #frames(frames: PFrame[], top: number): string {
    const rt = this.#rt;
    // Walk from the outermost frame up to compute each frame's sp.
    const sps: number[] = new Array(frames.length);
    let fp = top - 0x18;
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      if (f.inlined) {
        sps[i] = -1;
        continue;
      }
      sps[i] = fp - f.size;
      fp = sps[i];
    }
    let s = "";
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      if (f.inlined) {
        s += `${f.func}(...)\n\t${f.file}:${f.line}\n`;
        continue;
      }
      const fid = rt.symtab.func(f.func, f.file);
      const pc = rt.symtab.pcAt(fid, f.off, f.line);
      const sp = sps[i];
      s += `${f.func}(${f.args})\n\t${f.file}:${f.line}${
        f.off > 0 ? ` +${hex(f.off)}` : ""
      } fp=${hex(sp + f.size)} sp=${hex(sp)} pc=${hex(pc)}\n`;
    }
    return s;
  }
}
