/**
 * A runtime's current heap profile in each output form.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import {
  encodeHeapProfile,
  type HeapSample,
  recordsToSamples,
} from "./proto.ts";
import { gzip } from "./gzip.ts";

/** The runtime's published heap profile as un-sampled samples (and their PCs). */
export function heapSamples(
  rt: Runtime,
): { samples: HeapSample[]; pcs: number[][] } {
  return recordsToSamples(rt.MemProfile(true), rt.symtab, rt.memProfileRate);
}

/**
 * The gzip-compressed profile.proto of the runtime's heap profile now, as
 * `pprof.WriteHeapProfile` writes it. `opts.samples` passes what
 * {@link heapSamples} already returned, so it is not computed twice.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { heapProfileProto } from "../../mod.ts";
 * import { readPprof } from "../../mod.ts";
 * const rt = new Runtime({ memProfileRate: 1 });
 * rt.call("main.f", "main.go", 3, () => rt.mallocgc(100, null));
 * rt.GC();
 * const p = await readPprof(await heapProfileProto(rt, { timeNanos: 0 }));
 * if (p.samples[0].values.join() !== "1,112,0,0" || p.samples[0].frames[0].func !== "main.f") throw new Error();
 * ```
 */
export async function heapProfileProto(
  rt: Runtime,
  opts: {
    timeNanos?: number;
    mappingFile?: string;
    samples?: { samples: HeapSample[]; pcs: number[][] };
  } = {},
): Promise<Uint8Array> {
  const { samples, pcs } = opts.samples ?? heapSamples(rt);
  const raw = encodeHeapProfile(samples, pcs, {
    rate: rt.memProfileRate,
    timeNanos: opts.timeNanos,
    mappingFile: opts.mappingFile,
    mappingStart: rt.preset.textStart,
    mappingLimit: rt.symtab.textEnd,
  });
  return await gzip(raw);
}
