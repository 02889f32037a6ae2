/**
 * What a Go 1.19 trace says, for scripts/fidelity_compare.ts: a trace
 * (stderr of `GODEBUG=allocfreetrace=1,gctrace=1`, gctrace lines mixed in)
 * streamed into its figures: allocations and frees per size, who swept each
 * free, the heap and the marked bytes at each `tracegc`, the line shapes.
 * Real runs and the simulator's are read alike.
 *
 * @module
 */

import { shapeOf } from "./_traces.ts";

/** Who swept a free, from the functions on its stack. */
export const SWEEPERS = [
  "mcache flush",
  "reclaimer",
  "proportional",
  "lazy/cacheSpan",
  "bgsweep",
  "runtime.GC",
  "other",
] as const;
export type Sweeper = typeof SWEEPERS[number];

function sweeperOf(funcs: string[]): Sweeper {
  const has = (s: string) => funcs.some((f) => f.includes(s));
  if (has("(*mcache).releaseAll") || has("uncacheSpan")) return "mcache flush";
  if (has("(*mheap).reclaim")) return "reclaimer";
  if (has("deductSweepCredit")) return "proportional";
  if (has("(*mcentral).cacheSpan")) return "lazy/cacheSpan";
  if (has("runtime.bgsweep")) return "bgsweep";
  if (has("runtime.GC")) return "runtime.GC";
  return "other";
}

/** gctrace figures of one cycle. */
export interface GCLine {
  n: number;
  before: number;
  atTerm: number;
  marked: number;
  goal: number;
  forced: boolean;
  /** The line was cut off when the program exited: only its number is known. */
  cut?: boolean;
}

const GC_RE =
  /gc (\d+) @[\d.]+s \d+%: .*? (\d+)->(\d+)->(\d+) MB, (\d+) MB goal.*? \d+ P( \(forced\))?/;

/** The gctrace lines of `text`. */
export function gcLines(text: string): GCLine[] {
  const out: GCLine[] = [];
  for (const line of text.split("\n")) {
    const m = GC_RE.exec(line);
    if (m === null) continue;
    out.push({
      n: +m[1],
      before: +m[2],
      atTerm: +m[3],
      marked: +m[4],
      goal: +m[5],
      forced: m[6] !== undefined,
    });
  }
  return out;
}

/**
 * A gctrace line cut off when the program exited (runtime.GC() returned and
 * the program ended while mark termination's M still printed it piece by
 * piece): still a cycle, its number the only figure. Null for any other line.
 */
export function cutGCLine(line: string): GCLine | null {
  const m = /^gc (\d+) @[\d.]+s /.exec(line);
  if (m === null || line.length >= 200) return null;
  return {
    n: +m[1],
    before: NaN,
    atTerm: NaN,
    marked: NaN,
    goal: NaN,
    forced: false,
    cut: true,
  };
}

/** What one trace says. */
export interface TraceFigures {
  allocs: Map<number, number>;
  frees: Map<number, number>;
  allocCount: number;
  allocBytes: number;
  freeCount: number;
  sweepers: Map<Sweeper, number>;
  /** Frees of addresses never allocated in the trace (pre-GODEBUG objects). */
  orphanFrees: number;
  /**
   * Heap at each `tracegc` (the trace replayed by address: allocated minus
   * freed when mark termination dumps it): gctrace's middle figure, "heap
   * size at GC end", at object grain.
   */
  liveAtGC: number[];
  /**
   * Bytes each cycle marked (gctrace's last figure, "live heap", at object
   * grain): the heap at its `tracegc` minus what its sweep freed, i.e. every
   * free up to the next `tracegc` (Go 1.19 finishes a cycle's sweep before
   * the next one marks, mgc.go `finishsweep_m`; the final runtime.GC()
   * sweeps everything before it returns). Objects allocated during the mark
   * are allocated black and survive, as `work.bytesMarked` counts them.
   */
  markedAtGC: number[];
  /** Bytes allocated (replayed) before each `tracegc`. */
  allocAtGC: number[];
  peakLive: number;
  shapes: Map<string, number>;
  /**
   * Runtime frames as printed, arguments and addresses left out:
   * `runtime.refill runtime/mcache.go:181 +0x152` (issue 16 item 3: a
   * shape hides a wrong line or offset, `mheap.go:858` where Go has 855).
   */
  runtimeFrames: Map<string, number>;
  gc: GCLine[];
  /** Records before the first one whose stack reaches main.main. */
  startup: { count: number; bytes: number };
  /** The last lines of the stream (a crash's message, when there is one). */
  tail: string[];
}

/**
 * Streams a trace (stderr with gctrace lines mixed in) into its figures.
 * `allocHeaders`: a Go 1.22 trace, where a small pointerful object over
 * 512 B has an 8-byte header in front (mbitmap_allocheaders.go): tracealloc
 * prints the object 8 bytes into its slot and tracefree the slot, so a free
 * of no live address is looked for 8 bytes on.
 */
export async function analyze(
  stream: ReadableStream<Uint8Array>,
  { allocHeaders = false }: { allocHeaders?: boolean } = {},
): Promise<TraceFigures> {
  const f: TraceFigures = {
    allocs: new Map(),
    frees: new Map(),
    allocCount: 0,
    allocBytes: 0,
    freeCount: 0,
    sweepers: new Map(),
    orphanFrees: 0,
    liveAtGC: [],
    markedAtGC: [],
    allocAtGC: [],
    peakLive: 0,
    shapes: new Map(),
    runtimeFrames: new Map(),
    gc: [],
    startup: { count: 0, bytes: 0 },
    tail: [],
  };
  const live = new Map<number, number>();
  let liveBytes = 0;
  let freedSinceGC = 0;
  let kind: "alloc" | "free" | "gc" | null = null;
  let funcs: string[] = [];
  let startupDone = false;
  let recSize = 0;
  const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const endRecord = () => {
    if (kind === "free") bump(f.sweepers, sweeperOf(funcs));
    if (kind === "alloc" && !startupDone) {
      if (funcs.includes("main.main")) startupDone = true;
      else {
        f.startup.count++;
        f.startup.bytes += recSize;
      }
    }
    kind = null;
    funcs = [];
  };
  const HEAD = /^trace(alloc|free)\((0x[0-9a-f]+), (0x[0-9a-f]+)/;
  // A gctrace line printed inside a record's line (Go: between two print
  // calls of the record, each taking printlock; the simulator's CLI:
  // between two buffered chunks of the trace) ends with its own newline:
  // the record's line goes on in the next one.
  let carry = "";
  /** The function line before a file line (a runtime frame's). */
  let frameFunc = "";
  const line = (s: string) => {
    if (carry !== "") {
      s = carry + s;
      carry = "";
    }
    if (f.tail.push(s) > 4) f.tail.shift();
    const gm = GC_RE.exec(s);
    if (gm !== null) {
      f.gc.push(...gcLines(gm[0]));
      const after = s.slice(gm.index + gm[0].length);
      if (gm.index > 0 && after === "") {
        carry = s.slice(0, gm.index);
        return;
      }
      s = s.slice(0, gm.index) + after;
      if (s === "") return;
    } else {
      // The last cycle's line, cut off (seen on leak -n 300 under load).
      const cut = cutGCLine(s);
      if (cut !== null) {
        f.gc.push(cut);
        return;
      }
    }
    bump(f.shapes, shapeOf(s));
    if (s[0] === "\t" && frameFunc !== "") {
      bump(
        f.runtimeFrames,
        `${frameFunc} ${s.slice(1).replace(/ fp=.*$/, "")}`,
      );
    }
    frameFunc = s.startsWith("runtime.") ? s.slice(0, s.lastIndexOf("(")) : "";
    if (s === "") {
      if (kind !== "gc") endRecord();
      return;
    }
    const h = HEAD.exec(s);
    if (h !== null) {
      endRecord();
      const addr = parseInt(h[2], 16);
      const size = parseInt(h[3], 16);
      if (h[1] === "alloc") {
        kind = "alloc";
        recSize = size;
        f.allocCount++;
        f.allocBytes += size;
        bump(f.allocs, size);
        live.set(addr, size);
        liveBytes += size;
        if (liveBytes > f.peakLive) f.peakLive = liveBytes;
      } else {
        kind = "free";
        f.freeCount++;
        bump(f.frees, size);
        const at = allocHeaders && !live.has(addr) ? addr + 8 : addr;
        const had = live.get(at);
        if (had === undefined) f.orphanFrees++;
        else {
          live.delete(at);
          liveBytes -= had;
          freedSinceGC += had;
        }
      }
      return;
    }
    if (s === "tracegc()") {
      endRecord();
      kind = "gc";
      if (f.liveAtGC.length > 0) {
        f.markedAtGC.push(f.liveAtGC.at(-1)! - freedSinceGC);
      }
      freedSinceGC = 0;
      f.liveAtGC.push(liveBytes);
      f.allocAtGC.push(f.allocBytes);
      return;
    }
    if (s === "end tracegc") {
      kind = null;
      return;
    }
    if (kind === null || kind === "gc") return;
    if (!s.startsWith("goroutine ") && s[0] !== "\t") {
      funcs.push(s.slice(0, s.lastIndexOf("(")));
    }
  };
  let rest = "";
  for await (
    const chunk of stream.pipeThrough(
      new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>,
    )
  ) {
    const text = rest + chunk;
    let from = 0;
    for (;;) {
      const nl = text.indexOf("\n", from);
      if (nl < 0) break;
      line(text.slice(from, nl));
      from = nl + 1;
    }
    rest = text.slice(from);
  }
  if (rest !== "" || carry !== "") line(rest);
  endRecord();
  if (f.liveAtGC.length > 0) {
    f.markedAtGC.push(f.liveAtGC.at(-1)! - freedSinceGC);
  }
  return f;
}
