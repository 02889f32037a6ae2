/**
 * The protobuf heap profile (`pprof.WriteHeapProfile`, debug = 0) that
 * `go tool pprof` reads (reference section 7), built with `npm:pprof-format`:
 * the four sample types in Go's order, period type space/bytes, period =
 * MemProfileRate, values un-sampled by Go's `scaleHeapSample`, one location
 * per PC (leading runtime frames dropped), functions by name, one mapping
 * for the simulated text segment, a `bytes` label; gzip-compressed (gzip.ts).
 * Also the reader of such files (ours and real Go's); folded stacks are in
 * folded.ts.
 *
 * @module
 */

import {
  Function as PFunction,
  Line,
  Location,
  Mapping,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from "npm:pprof-format@2.3.2";
import type { MemProfileRecord } from "../runtime/mprof.ts";
import type { SymbolTable } from "../stack/symtab.ts";
import { gunzip, isGzip } from "./gzip.ts";
import { HEAP_SAMPLE_TYPES, type HeapSampleType } from "./sample_types.ts";

/**
 * Go's `scaleHeapSample`: the expected true (count, bytes) behind a sampled
 * (count, bytes) at `rate`.
 *
 * @example
 * ```ts
 * import { scaleHeapSample } from "../../mod.ts";
 * const [n, b] = scaleHeapSample(3, 336, 524288);
 * if (n !== 14044 || b !== 1573032) throw new Error(`${n} ${b}`);
 * ```
 */
export function scaleHeapSample(
  count: number,
  size: number,
  rate: number,
): [number, number] {
  if (count === 0 || size === 0) return [0, 0];
  if (rate <= 1) return [count, size];
  const avg = size / count;
  const scale = 1 / (1 - Math.exp(-avg / rate));
  return [Math.trunc(count * scale), Math.trunc(size * scale)];
}

/** One frame of a profile sample, leaf first. */
export interface ProfileFrame {
  /** Function name. */
  func: string;
  /** File. */
  file: string;
  /** Line. */
  line: number;
}

/** A heap-profile sample in a form independent of the file format. */
export interface HeapSample {
  /** alloc_objects, alloc_space, inuse_objects, inuse_space (un-sampled). */
  values: [number, number, number, number];
  /** Frames, leaf first. */
  frames: ProfileFrame[];
  /**
   * The `bytes` label: the block size of the record (allocated bytes over
   * allocated objects, before un-sampling, as Go's protomem.go writes it).
   * Default: alloc_space over alloc_objects.
   */
  blockSize?: number;
}

// (Their own module: the command line names them without loading the encoder.)
export { HEAP_SAMPLE_TYPES, type HeapSampleType };

/**
 * Turns MemProfile records into samples: leading runtime frames dropped
 * (the whole stack kept when nothing else is left), `runtime.goexit`
 * dropped, values un-sampled at `rate`.
 */
export function recordsToSamples(
  records: readonly MemProfileRecord[],
  symtab: SymbolTable,
  rate: number,
): { samples: HeapSample[]; pcs: number[][] } {
  const samples: HeapSample[] = [];
  const pcs: number[][] = [];
  const isRuntime = (pc: number) =>
    symtab.lookup(pc)?.fn.name.startsWith("runtime.") ?? false;
  for (const r of records) {
    let stk = r.Stack;
    let i = 0;
    while (i < stk.length && isRuntime(stk[i])) i++;
    if (i < stk.length) stk = stk.slice(i);
    stk = stk.filter((pc) => symtab.lookup(pc)?.fn.name !== "runtime.goexit");
    const [ao, ab] = scaleHeapSample(r.AllocObjects, r.AllocBytes, rate);
    const [io, ib] = scaleHeapSample(
      r.AllocObjects - r.FreeObjects,
      r.AllocBytes - r.FreeBytes,
      rate,
    );
    samples.push({
      values: [ao, ab, io, ib],
      blockSize: r.AllocObjects > 0
        ? Math.trunc(r.AllocBytes / r.AllocObjects)
        : 0,
      frames: stk.map((pc) => {
        const hit = symtab.lookup(pc);
        return hit === undefined
          ? { func: `0x${pc.toString(16)}`, file: "", line: 0 }
          : { func: hit.fn.name, file: hit.fn.file, line: hit.line };
      }),
    });
    pcs.push(stk);
  }
  return { samples, pcs };
}

/** Options of {@link encodeHeapProfile}. */
export interface EncodeOptions {
  /** MemProfileRate (the period). */
  rate: number;
  /** `time_nanos` (default: now). */
  timeNanos?: number;
  /** File name of the one mapping (default `/alloctrace/simulated`). */
  mappingFile?: string;
  /** Mapping range (default: the text segment). */
  mappingStart?: number;
  /** Mapping end. */
  mappingLimit?: number;
}

/**
 * Encodes heap samples as profile.proto bytes (not yet compressed). `pcs`
 * gives each sample's addresses when known (one location per PC), else
 * locations are keyed by frame.
 */
export function encodeHeapProfile(
  samples: readonly HeapSample[],
  pcs: readonly (readonly number[])[] | null,
  opts: EncodeOptions,
): Uint8Array {
  const st = new StringTable();
  const str = (s: string) => st.dedup(s);
  const functions = new Map<string, PFunction>();
  const locations = new Map<string, Location>();
  const locList: Location[] = [];
  const fnList: PFunction[] = [];
  const out: Sample[] = [];
  const funcId = (f: ProfileFrame) => {
    let fn = functions.get(f.func);
    if (fn === undefined) {
      fn = new PFunction({
        id: fnList.length + 1,
        name: str(f.func),
        systemName: str(f.func),
        filename: str(f.file),
      });
      functions.set(f.func, fn);
      fnList.push(fn);
    }
    return fn.id;
  };
  samples.forEach((s, k) => {
    const ids: number[] = [];
    s.frames.forEach((f, j) => {
      const pc = pcs?.[k]?.[j];
      const key = pc !== undefined
        ? `pc:${pc}`
        : `${f.func}\0${f.file}\0${f.line}`;
      let loc = locations.get(key);
      if (loc === undefined) {
        loc = new Location({
          id: locList.length + 1,
          mappingId: 1,
          address: pc !== undefined ? pc - 1 : 0,
          line: [new Line({ functionId: funcId(f), line: f.line })],
        });
        locations.set(key, loc);
        locList.push(loc);
      }
      ids.push(Number(loc.id));
    });
    const [ao, ab] = s.values;
    const perObject = s.blockSize ?? (ao > 0 ? Math.trunc(ab / ao) : 0);
    out.push(
      new Sample({
        locationId: ids,
        value: [...s.values],
        label: perObject > 0 ? [{ key: str("bytes"), num: perObject }] : [],
      }),
    );
  });
  const profile = new Profile({
    sampleType: HEAP_SAMPLE_TYPES.map((t) =>
      new ValueType({
        type: str(t),
        unit: str(t.endsWith("objects") ? "count" : "bytes"),
      })
    ),
    sample: out,
    location: locList,
    function: fnList,
    mapping: [
      new Mapping({
        id: 1,
        memoryStart: opts.mappingStart ?? 0,
        memoryLimit: opts.mappingLimit ?? 0,
        fileOffset: 0,
        filename: str(opts.mappingFile ?? "/alloctrace/simulated"),
        hasFunctions: true,
        hasFilenames: true,
        hasLineNumbers: true,
      }),
    ],
    stringTable: st,
    periodType: new ValueType({ type: str("space"), unit: str("bytes") }),
    period: opts.rate,
    timeNanos: opts.timeNanos ?? Date.now() * 1e6,
  });
  return profile.encode();
}

/** A heap profile read back from a file. */
export interface ReadProfile {
  /** Sample type names, in file order. */
  sampleTypes: string[];
  /** The period (MemProfileRate for heap profiles). */
  period: number;
  /** The samples. */
  samples: { values: number[]; frames: ProfileFrame[] }[];
}

/**
 * Reads a pprof profile (gzip-compressed or not), as written by Go or by
 * us.
 *
 * @throws {SyntaxError} naming `name` and what was expected when the bytes
 *   are not a profile.
 */
export async function readPprof(
  bytes: Uint8Array,
  name = "profile",
): Promise<ReadProfile> {
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      raw = await gunzip(bytes);
    } catch (e) {
      throw new SyntaxError(
        `${name}: not a pprof profile: the gzip stream is corrupt or truncated (${
          (e as Error).message
        })`,
      );
    }
  }
  let p: Profile;
  try {
    p = Profile.decode(raw);
  } catch (e) {
    throw new SyntaxError(
      `${name}: not a pprof profile: expected gzip-compressed profile.proto bytes (${
        (e as Error).message
      })`,
    );
  }
  const strings = p.stringTable.strings;
  if (p.sampleType.length === 0 || strings.length === 0) {
    throw new SyntaxError(
      `${name}: not a pprof profile: expected profile.proto with sample types and a string table`,
    );
  }
  const s = (i: unknown) => strings[Number(i)] ?? "";
  const fns = new Map(p.function.map((f) => [Number(f.id), f]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l]));
  return {
    sampleTypes: p.sampleType.map((t) => s(t.type)),
    period: Number(p.period),
    samples: p.sample.map((smp) => ({
      values: smp.value.map(Number),
      frames: smp.locationId.flatMap((id) => {
        const loc = locs.get(Number(id));
        if (loc === undefined) return [];
        return loc.line.map((ln) => {
          const fn = fns.get(Number(ln.functionId));
          return {
            func: fn ? s(fn.name) : "?",
            file: fn ? s(fn.filename) : "",
            line: Number(ln.line),
          };
        });
      }),
    })),
  };
}
