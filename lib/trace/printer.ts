/**
 * The `GODEBUG=allocfreetrace=1` printer of a simulated runtime, in its
 * preset's format (reference section 2): the seed's `MProf_*` records
 * ({@link SeedPrinter}) or Go 1.3–1.22's `tracealloc`/`tracefree`/`tracegc`
 * ({@link TraceallocPrinter}). Both consume the runtime's events and write
 * through one {@link ByteWriter}: output is built in large chunks and handed
 * to a sink; records are never split across chunks.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import { ByteWriter } from "./byte_writer.ts";
import { SeedPrinter } from "./seed_printer.ts";
import { type StackSource, TraceallocPrinter } from "./tracealloc_printer.ts";

export { writeHex } from "./byte_writer.ts";
export type { StackSource } from "./tracealloc_printer.ts";

/** Options of the printer. */
export interface PrinterOptions {
  /** User frames: the simulated Go frames (default) or the caller's JS stack (Go 1.3+ format). */
  stacks?: StackSource;
  /** Bytes buffered before the sink is called (default 1 MiB). */
  chunkBytes?: number;
}

/**
 * The allocfreetrace printer of one runtime, in the format its preset says.
 *
 * @example
 * ```ts
 * import { Runtime, TracePrinter } from "../../mod.ts";
 * import { ok } from "node:assert/strict";
 * const rt = new Runtime({ preset: "go1.2-seed" });
 * let out = "";
 * const p = new TracePrinter(rt, (b) => (out += new TextDecoder().decode(b)));
 * p.attach();
 * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
 * rt.call("main.main", "main.go", 19, () => rt.newobject(t));
 * p.flush();
 * ok(out.startsWith("MProf_Malloc(p=0xc210000000, size=0x40, type="), out);
 * ```
 */
export class TracePrinter {
  readonly #rt: Runtime;
  readonly #out: ByteWriter;
  readonly #printer: SeedPrinter | TraceallocPrinter;

  /** Makes a printer that writes to `sink` in chunks. */
  constructor(
    rt: Runtime,
    sink: (chunk: Uint8Array) => void,
    opts: PrinterOptions = {},
  ) {
    this.#rt = rt;
    this.#out = new ByteWriter(sink, opts.chunkBytes);
    this.#printer = rt.preset.traceFormat === "seed"
      ? new SeedPrinter(this.#out)
      : new TraceallocPrinter(rt, this.#out, opts.stacks);
  }

  /** Records printed, by kind. */
  get counts(): { allocs: number; frees: number; gcs: number } {
    return this.#printer.counts;
  }

  /**
   * Subscribes to the runtime's events (after the consumers already
   * subscribed); returns the function that unsubscribes. The seed's format
   * turns on its forced profiling.
   */
  attach(): () => void {
    const p = this.#printer;
    return p instanceof SeedPrinter ? p.attach(this.#rt) : p.attach();
  }

  /**
   * Hands everything buffered to the sink (whole records only). The chunk
   * is a view of the printer's buffer, valid until the sink returns: copy
   * it to keep it.
   */
  flush(): void {
    this.#out.flush();
  }
}
