/**
 * The Dec 2013 seed's allocfreetrace format (go1.2-seed): every allocation
 * is forced into the heap profile and printed as
 * `MProf_Malloc(p=…, size=…, type=… <…>)` with `\t#N pc func file:line`
 * frames; a profiled object's free prints `MProf_Free(p=…, size=…)` with its
 * allocation stack. The native tracer writes its traces in this format too,
 * through the same printer.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import type { GoType } from "../runtime/types.ts";
import { AllocKind } from "../stack/allockind.ts";
import { type ByteWriter, cached } from "./byte_writer.ts";

const ascii = (t: string) => new TextEncoder().encode(t);
const MPROF_MALLOC = ascii("MProf_Malloc(p=");
const MPROF_FREE = ascii("MProf_Free(p=");
const SIZE_EQ = ascii(", size=");
const CLOSE = ascii(")\n");

const hex = (n: number) => "0x" + n.toString(16);

/** What the seed prints in `type=0x… <…>`: how the object was made. */
export type SeedObjectInfo = "single object" | "array" | "channel";

/** The seed's object info for an allocation of `kind`. */
export function seedObjectInfo(kind: AllocKind): SeedObjectInfo {
  return kind === AllocKind.makechan || kind === AllocKind.makechanHchan
    ? "channel"
    : kind === AllocKind.makeslice || kind === AllocKind.growslice ||
        kind === AllocKind.mapassign
    ? "array"
    : "single object";
}

/** A frame of a seed record: a PC, and its function and place when known. */
export interface SeedFrame {
  /** Program counter. */
  readonly pc: number;
  /** Function name (without spaces); a frame without one prints its PC only. */
  readonly func?: string;
  /** File. */
  readonly file?: string;
  /** Line. */
  readonly line?: number;
}

/**
 * A stack's `\t#N pc func file:line` lines.
 *
 * @example
 * ```ts
 * import { seedFrameLines } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(
 *   seedFrameLines([{ pc: 0x401000, func: "main.f", file: "x.go", line: 3 }, { pc: 0x10 }]),
 *   "\t#0 0x401000 main.f x.go:3\n\t#1 0x10\n",
 * );
 * ```
 */
export function seedFrameLines(frames: readonly SeedFrame[]): string {
  let s = "";
  frames.forEach((f, i) => {
    s += f.func === undefined
      ? `\t#${i} ${hex(f.pc)}\n`
      : `\t#${i} ${hex(f.pc)} ${f.func} ${f.file}:${f.line}\n`;
  });
  return s;
}

/**
 * Writes seed records to a {@link ByteWriter}; {@link attach} makes it a
 * consumer of a simulated runtime's events.
 *
 * @example
 * ```ts
 * import { ByteWriter, SeedPrinter } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * let out = "";
 * const w = new ByteWriter((b) => (out += new TextDecoder().decode(b)));
 * const p = new SeedPrinter(w);
 * const frames = w.encode("\t#0 0x401000 main.f x.go:3\n");
 * p.malloc(0xc210000000, 16, 0, null, "single object", frames);
 * p.free(0xc210000000, 16, frames);
 * w.flush();
 * strictEqual(out, "MProf_Malloc(p=0xc210000000, size=0x10, type=0x0 <single object>)\n" +
 *   "\t#0 0x401000 main.f x.go:3\nMProf_Free(p=0xc210000000, size=0x10)\n\t#0 0x401000 main.f x.go:3\n");
 * ```
 */
export class SeedPrinter {
  readonly #out: ByteWriter;
  readonly #tails = new Map<number, Map<SeedObjectInfo, Uint8Array>>();
  /** Records printed, by kind. */
  readonly counts: { allocs: number; frees: number; gcs: number } = {
    allocs: 0,
    frees: 0,
    gcs: 0,
  };

  /** Makes a printer writing to `out`. */
  constructor(out: ByteWriter) {
    this.#out = out;
  }

  /** `MProf_Malloc(p=addr, size=size, type=typeAddr <info[ of typeName]>)` and the frames. */
  malloc(
    addr: number,
    size: number,
    typeAddr: number,
    typeName: string | null,
    info: SeedObjectInfo,
    frames: Uint8Array,
  ): void {
    const tail = cached(
      cached(this.#tails, typeAddr, () => new Map()),
      info,
      () =>
        this.#out.encode(
          `, type=${hex(typeAddr)} <${info}${
            typeName !== null ? ` of ${typeName}` : ""
          }>)\n`,
        ),
    );
    this.counts.allocs++;
    this.#record(MPROF_MALLOC, addr, size, tail, frames);
  }

  /** `MProf_Free(p=addr, size=size)` and the allocation's frames. */
  free(addr: number, size: number, frames: Uint8Array): void {
    this.counts.frees++;
    this.#record(MPROF_FREE, addr, size, CLOSE, frames);
  }

  #record(
    head: Uint8Array,
    addr: number,
    size: number,
    tail: Uint8Array,
    frames: Uint8Array,
  ): void {
    const out = this.#out;
    out.reserve(head.length + 48 + tail.length + frames.length);
    out.putBytes(head);
    out.putHex(addr);
    out.putBytes(SIZE_EQ);
    out.putHex(size);
    out.putBytes(tail);
    out.putBytes(frames);
    out.endRecord();
  }

  /**
   * Subscribes to `rt`'s heap-profile events and turns on the seed's forced
   * profiling (every allocation is profiled, as the seed's allocfreetrace
   * did); returns the function that unsubscribes.
   */
  attach(rt: Runtime): () => void {
    const frameCache = new WeakMap<readonly number[], Uint8Array>();
    const framesOf = (stk: readonly number[]): Uint8Array => {
      let b = frameCache.get(stk);
      if (b === undefined) {
        b = this.#out.encode(seedFrameLines(stk.map((pc) => {
          const hit = rt.symtab.lookup(pc);
          return hit === undefined
            ? { pc }
            : { pc, func: hit.fn.name, file: hit.fn.file, line: hit.line };
        })));
        frameCache.set(stk, b);
      }
      return b;
    };
    rt.forceProfile = true;
    return rt.events.subscribe({
      profileAlloc: (addr, size, typ: GoType | null, kind, stk) =>
        this.malloc(
          addr,
          size,
          typ?.addr ?? 0,
          typ?.name ?? null,
          seedObjectInfo(kind),
          framesOf(stk),
        ),
      profileFree: (addr, size, stk) => this.free(addr, size, framesOf(stk)),
    });
  }
}
