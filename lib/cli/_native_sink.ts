/**
 * The consumer of `alloctrace native`'s event batches, as they arrive:
 * new stacks symbolized (file:line, C++ names) once each (_native_stacks.ts),
 * events fed to the trace analyzer, the trace file written as it goes, and
 * what only malloc has measured (lifetimes in wall time and in bytes
 * allocated between, a power-of-two size histogram: _native_buckets.ts). It
 * keeps the live blocks and the distinct stacks, nothing per event.
 *
 * @module
 */

import { type EventBatch, FREE_KIND } from "../native/event.ts";
import { ByteWriter } from "../trace/byte_writer.ts";
import { seedFrameLines, SeedPrinter } from "../trace/seed_printer.ts";
import type { Frame, StackTable } from "../trace/events.ts";
import { siteName, TraceAnalyzer } from "../trace/analyze.ts";
import type { SiteBy } from "../trace/sites.ts";
import { SlotColumns } from "../runtime/grow.ts";
import {
  BETWEEN_BUCKETS,
  bucket5,
  type NativeSiteLifetimes,
  pow2Ceil,
  type SizeBucket,
  WALL_BUCKETS,
} from "./_native_buckets.ts";
import { NativeStacks } from "./_native_stacks.ts";

// (The buckets' bounds as constants: bucket5 takes them as arguments.)
const [W0, W1, W2, W3, W4] = WALL_BUCKETS;
const [B0, B1, B2, B3, B4] = BETWEEN_BUCKETS;

/** The stack given to allocations the sampler skipped. */
const UNSAMPLED: Frame[] = [{
  func: "(not sampled)",
  file: "",
  line: 0,
  pc: 0,
  inlined: false,
}];

/** Key spaces of process images (2^53 / 2^47). */
const SPACES = 64;
/** A key no block has (above the highest user address, 2^47 − 4096). */
const NOWHERE = 2 ** 47 - 8;

/** Options of the sink. */
export interface SinkOptions {
  /** Also analyse the sampled allocations on their own (a sampling rate is set). */
  sampled: boolean;
  /**
   * Where to write the trace as it goes, or null: one output for every
   * record, or each process's own (`of`, asked once per process as its
   * first event comes; `child` when it began as a fork child). The seed
   * format carries no process id, and a fork child's heap is a copy of its
   * parent's, at the same addresses: one file of both reads back as one
   * heap with allocations at live addresses.
   */
  traceOut: TraceOutput | TraceOutputs | null;
  /** What a site is (as analyze's --by). */
  by: SiteBy;
  /** Only this process's events (0: all). */
  pid: number;
}

/** Where a trace's bytes go. */
export interface TraceOutput {
  /** Writes all of `p` (a view, valid until it returns). */
  write(p: Uint8Array): void;
}

/** A trace output per process. */
export interface TraceOutputs {
  /** The output of process `pid`'s records (`child`: it began as a fork child). */
  of(pid: number, child: boolean): TraceOutput;
}

/** What one process did. */
export interface ProcessStats {
  /** Process id. */
  pid: number;
  /** Its images (executables), in order. */
  images: string[];
  /** Allocations. */
  allocs: number;
  /** Bytes allocated. */
  allocBytes: number;
  /** Frees of blocks it was seen to allocate (as the analysis counts them). */
  frees: number;
  /** Bytes live at the end (blocks it allocated, never freed). */
  liveBytes: number;
  /** Blocks live when it exec'd, dropped with their image (not leaks). */
  droppedAtExec: number;
  /** Frees, as a fork child, of blocks it inherited from its parent. */
  inheritedFrees: number;
}

/** Consumes batches; the analyses are read when the run is over. */
export class NativeSink {
  readonly #native = new NativeStacks();
  /** Interned symbolized stacks. */
  readonly stacks: StackTable = this.#native.table;
  /** Analysis of every event. */
  readonly analyzer: TraceAnalyzer;
  /** Analysis of the sampled allocations only (with a sampling rate). */
  readonly sampledAnalyzer: TraceAnalyzer | null;
  /** Events seen. */
  events = 0;
  /** Bytes live now. */
  liveBytes = 0;
  /** Blocks live at an exec, dropped with the image that made them (not leaks). */
  readonly droppedAtExec = { blocks: 0, bytes: 0 };
  /** Frees by fork children of blocks they inherited (their parent's). */
  inheritedFrees = 0;
  /**
   * When the analysis' exact peak (its `peakLiveBytes`) was made: the
   * allocation's time on the timeline's clock (seconds since the start),
   * the bytes allocated until then, and GC cycles (none). The timeline's
   * points are sparse (peaks 1% apart, steps of bytes allocated): without
   * it the page's dot sat on the first later point as high (a program at
   * its peak, asleep, then freeing and allocating a block: 300 ms late).
   */
  readonly peakAt: { time: number; alloc: number; cycle: number } = {
    time: 0,
    alloc: 0,
    cycle: 0,
  };
  #peak = 0;
  /** Per-process trace outputs, the current one and its process. */
  #traceOf: TraceOutputs | null = null;
  #traceTo: TraceOutput | null = null;
  #tracePid = -1;
  /** Pids that began as fork children. */
  readonly #children = new Set<number>();
  readonly #o: SinkOptions;
  // Live blocks, by the analyzer's slot (its live map is the only one);
  // `image`: the process image (see #imageSpace) that made the block.
  readonly #blocks = new SlotColumns({
    size: new Float64Array(1024),
    time: new Float64Array(1024),
    clock: new Float64Array(1024),
    stack: new Int32Array(1024),
    proc: new Int32Array(1024),
    image: new Int32Array(1024),
    sampled: new Uint8Array(1024),
  });
  readonly #procList: ProcessStats[] = [];
  #lastProc: ProcessStats | null = null;
  #lastImage = -1;
  /** The process image of the last event, and its key base. */
  #lastSpace = 0;
  #lastBase = 0;
  /** Process images (pid, image id) seen, in order. */
  readonly #spaces = new Map<number, number>();
  /** Spaces given (a reused pid's new process gets a new one). */
  #nextSpace = 0;
  /** Whether a block ever had to be keyed outside its image's space. */
  #displaced = false;
  /** The (pid, image) ids of fork children's inherited images. */
  readonly #inherited = new Set<number>();
  #lastSize: SizeBucket | null = null;
  #lastLifetime: [number, { wall: number[]; between: number[] } | null] = [
    -1,
    null,
  ];
  readonly #freeEvent = {
    kind: "free" as const,
    addr: 0,
    size: 0,
    goroutine: 0,
    stack: 0,
    lineNo: 0,
  };
  readonly #allocEvent = {
    kind: "alloc" as const,
    addr: 0,
    size: 0,
    type: null,
    requested: 0,
    goroutine: 0,
    stack: 0,
    lineNo: 0,
  };
  readonly #tracebacks = new Map<number, Uint8Array>();
  readonly #writer: ByteWriter | null;
  readonly #printer: SeedPrinter | null;
  readonly #lifetimes = new Map<
    number,
    { wall: number[]; between: number[] }
  >();
  readonly #sizes = new Map<number, SizeBucket>();
  readonly #procs = new Map<number, ProcessStats>();
  readonly #images = new Map<number, string>();
  #clock = 0;
  #noStack: number | undefined;
  #unsampled: number | undefined;
  #lastTime = 0;

  /** A sink with options `o`. */
  constructor(o: SinkOptions) {
    this.#o = o;
    // The allocator's frames are skipped as for every producer (sites.ts).
    // The timeline runs on the tracer's wall clock (events carry ms since the start).
    // Blocks are freed at the address they were allocated at (no Go
    // header), and a hash table suits malloc's addresses (the paged map's
    // float modulo costs more than it saves on them). A free of a block
    // never seen allocated (made inside libc, or before the hooks) is left
    // out; the per-process table counts it.
    const opts = {
      by: o.by,
      now: () => this.#lastTime / 1000,
      headers: false,
      dense: false,
      unseenFrees: "skip" as const,
    };
    this.analyzer = new TraceAnalyzer(this.stacks, opts);
    this.sampledAnalyzer = o.sampled
      ? new TraceAnalyzer(this.stacks, opts)
      : null;
    // The trace goes through the seed's own printer, as `run --go go1.2-seed` writes it.
    // One writer and printer, the output switched (the writer flushed) as
    // the events' process changes: a buffer per process would hold a
    // forking server's thousands.
    const file = o.traceOut;
    if (file !== null && "of" in file) this.#traceOf = file;
    else this.#traceTo = file;
    this.#writer = file === null
      ? null
      : new ByteWriter((chunk) => this.#traceTo!.write(chunk));
    this.#printer = this.#writer === null
      ? null
      : new SeedPrinter(this.#writer);
  }

  /** Writes out what the trace printer holds (call once the run is over). */
  flush(): void {
    this.#writer?.flush();
  }

  /** Takes one batch. */
  async add(b: EventBatch): Promise<void> {
    if (b.stacks.length > 0) await this.#native.intern(b.stacks);
    this.#addEvents(b);
  }

  // The batch's events, once its stacks are interned. Not in add(): in an
  // async function, the resumption after the first await (the first batch
  // bringing a new stack: sampled, at a random point of the run) had no
  // type feedback, and V8 threw away this loop's optimized code to compile
  // it again (sampled at 1 M pairs: a deopt and a ~15 ms recompile per run).
  #addEvents(b: EventBatch): void {
    for (const [id, path] of b.images) this.#images.set(id, path);
    const only = this.#o.pid;
    const printer = this.#printer;
    const analyzer = this.analyzer;
    const sampledAnalyzer = this.sampledAnalyzer;
    const stackOf = this.#native.stackOf;
    // One event object of each kind, refilled (the analyzer keeps none).
    const free = this.#freeEvent;
    const alloc = this.#allocEvent;
    let proc = this.#lastProc;
    let procIndex = this.#procList.indexOf(proc!);
    let space = this.#lastSpace;
    let base = this.#lastBase;
    // Past SPACES images a key may hold another image's block.
    let crowded = this.#nextSpace > SPACES;
    // Columns and counters in locals for the loop (written back after it).
    const { n, kind, pid: pids, image, addr: addrs, time: times, tid } = b;
    let {
      size: lSize,
      stack: lStack,
      time: lTime,
      clock: lClock,
      proc: lProc,
      image: lImage,
      sampled: lSampled,
    } = this.#blocks.cols;
    let events = this.events;
    let live = this.liveBytes;
    let clock = this.#clock;
    // Execs take their old images' heaps where they happened among the
    // events (before a later image's blocks can meet theirs).
    const execs = b.execs;
    let ex = 0;
    let nextExec = execs.length > 0 ? execs[0][0] : -1;
    // Forks too, where they happened: a pid seen before is a new process
    // from there on (review1 #2), its events before are the old one's.
    const forks = b.forks;
    let fk = 0;
    // (n when none is left: a small integer, and past the loop's events.)
    let nextFork = forks.length > 0 ? forks[0][3] : n;
    for (let i = 0; i < n; i++) {
      while (i === nextExec) {
        live -= this.#dropImage(execs[ex][1], execs[ex][2]);
        nextExec = ++ex < execs.length ? execs[ex][0] : -1;
      }
      // (<=: a temporary's pair steps over its free's index.)
      while (nextFork <= i) {
        this.#forked(forks[fk][1], forks[fk][2]);
        proc = null;
        nextFork = ++fk < forks.length ? forks[fk][3] : n;
      }
      const pid = pids[i];
      if (only !== 0 && pid !== only) continue;
      const line = ++events;
      const addr = addrs[i];
      const time = times[i];
      this.#lastTime = time;
      if (proc === null || pid !== proc.pid || image[i] !== this.#lastImage) {
        proc = this.#procOf(pid, image[i]);
        procIndex = this.#procList.indexOf(proc);
        this.#lastImage = image[i];
        space = this.#imageSpace(pid, image[i]);
        base = (space % SPACES) * 2 ** 47;
        crowded = this.#nextSpace > SPACES;
        if (pid !== this.#tracePid && this.#traceOf !== null) {
          this.#traceSwitch(pid);
        }
      }
      // Addresses are per process image: a fork child's blocks are its own.
      let key = addr + base;
      if (kind[i] === FREE_KIND) {
        if (crowded) key = this.#freeKey(key, addr, space);
        free.addr = key;
        free.goroutine = tid[i];
        free.lineNo = line;
        // The analyzer's slot of the block is also ours (one live map).
        const slot = analyzer.add(free);
        if (slot < 0) {
          // A fork child's free of its parent's block, or of one
          // allocated before libc was hooked.
          if (this.#inherited.has(pid * 2 ** 30 + image[i])) {
            proc.inheritedFrees++;
            this.inheritedFrees++;
          }
          continue;
        }
        // Counted once the block is known, as the analysis counts it (a free
        // of a block libc made inside itself is left out of both).
        proc.frees++;
        const size = lSize[slot];
        const stack = lStack[slot];
        live -= size;
        this.#procList[lProc[slot]].liveBytes -= size;
        if (sampledAnalyzer !== null && lSampled[slot] === 1) {
          sampledAnalyzer.add(free);
        }
        const lt = this.#lifetimeOf(stack);
        lt.wall[bucket5(time - lTime[slot], W0, W1, W2, W3, W4)]++;
        lt.between[bucket5(clock - lClock[slot], B0, B1, B2, B3, B4)]++;
        printer?.free(addr, size, this.#traceback(stack));
        continue;
      }
      const size = b.size[i];
      const sampled = b.sampled[i] === 1;
      const tracerStack = b.stack[i];
      const stack = sampled && tracerStack >= 0
        ? stackOf[tracerStack]
        : sampled
        ? (this.#noStack ??= this.stacks.intern([]))
        : (this.#unsampled ??= this.stacks.intern(UNSAMPLED));
      // A temporary (its free is the next event, of the same process
      // image, no exec between): both at once, with no live block to keep
      // (no slot, no map entry), when the analyzer can (see allocFreed).
      const j = i + 1;
      if (
        j < n && kind[j] === FREE_KIND && addrs[j] === addr &&
        pids[j] === pid && image[j] === image[i] && j !== nextExec &&
        !crowded && !(sampled && sampledAnalyzer !== null) &&
        analyzer.liveSlot(key) < 0 && analyzer.allocFreed(size, size, stack)
      ) {
        const freedAt = times[j];
        this.#lastTime = freedAt;
        events++;
        proc.allocs++;
        proc.allocBytes += size;
        proc.frees++;
        const limit = pow2Ceil(size);
        let sb = this.#lastSize;
        if (sb === null || sb.limit !== limit) sb = this.#sizeOf(limit);
        sb.count++;
        sb.bytes += size;
        // Its lifetime: the two times apart, and nothing allocated in
        // between (a block's own bytes never count, as for Go traces).
        const lt = this.#lifetimeOf(stack);
        lt.wall[bucket5(freedAt - time, W0, W1, W2, W3, W4)]++;
        lt.between[0]++;
        clock += size;
        if (printer !== null) {
          const tb = this.#traceback(stack);
          printer.malloc(addr, size, 0, null, "single object", tb);
          printer.free(addr, size, tb);
        }
        i = j;
        continue;
      }
      if (crowded) {
        const held = analyzer.liveSlot(key);
        if (held >= 0 && lImage[held] !== space) {
          // Another image's block at the same key (64 images apart): it stays.
          key = this.#displace(addr, space);
        }
      }
      alloc.addr = key;
      alloc.size = size;
      alloc.requested = size;
      alloc.goroutine = tid[i];
      alloc.stack = stack;
      alloc.lineNo = line;
      const slot = analyzer.add(alloc);
      if (analyzer.liveBytes > this.#peak) {
        this.#peak = analyzer.liveBytes;
        this.peakAt.time = time / 1000;
        this.peakAt.alloc = clock + size;
      }
      // A block at a live address: its free was not seen (made before the hooks).
      const prev = analyzer.displaced;
      if (prev >= 0) {
        const prevSize = lSize[prev];
        live -= prevSize;
        this.#procList[lProc[prev]].liveBytes -= prevSize;
      }
      if (slot >= lSize.length) {
        this.#blocks.fit(slot);
        ({
          size: lSize,
          stack: lStack,
          time: lTime,
          clock: lClock,
          proc: lProc,
          image: lImage,
          sampled: lSampled,
        } = this.#blocks.cols);
      }
      lSize[slot] = size;
      lStack[slot] = stack;
      lSampled[slot] = sampled ? 1 : 0;
      lTime[slot] = time;
      // Counted from after its own bytes: "allocated between" is the
      // other blocks' (the analysis' rule, heaptrack's temporaries).
      clock += size;
      lClock[slot] = clock;
      lProc[slot] = procIndex;
      lImage[slot] = space;
      proc.allocs++;
      proc.allocBytes += size;
      proc.liveBytes += size;
      live += size;
      const limit = pow2Ceil(size);
      let sb = this.#lastSize;
      if (sb === null || sb.limit !== limit) sb = this.#sizeOf(limit);
      sb.count++;
      sb.bytes += size;
      if (sampled) sampledAnalyzer?.add(alloc);
      printer?.malloc(
        addr,
        size,
        0,
        null,
        "single object",
        this.#traceback(stack),
      );
    }
    this.events = events;
    for (; fk < forks.length; fk++) this.#forked(forks[fk][1], forks[fk][2]);
    for (; ex < execs.length; ex++) {
      live -= this.#dropImage(execs[ex][1], execs[ex][2]);
    }
    this.liveBytes = live;
    this.#clock = clock;
    this.#lastProc = proc;
    this.#lastSpace = space;
    this.#lastBase = base;
  }

  // Process `child` began as a fork child in image `img`. A pid seen
  // before belonged to a process that has ended: this one gets its own
  // trace output and key space (one file or one heap of both: review1 #2).
  #forked(child: number, img: number): void {
    this.#inherited.add(child * 2 ** 30 + img);
    this.#children.add(child);
    this.#traceOutputs?.delete(child);
    if (this.#tracePid === child) this.#tracePid = -1;
    this.#spaces.delete(child * 2 ** 30 + img);
    this.#procs.delete(child); // (its row stays in #procList)
    this.#lastImage = -1;
  }

  // The trace's records go to process `pid`'s output from now on.
  #traceSwitch(pid: number): void {
    this.#writer!.flush();
    const outs = this.#traceOutputs ??= new Map();
    let to = outs.get(pid);
    if (to === undefined) {
      to = this.#traceOf!.of(pid, this.#children.has(pid));
      outs.set(pid, to);
    }
    this.#traceTo = to;
    this.#tracePid = pid;
  }
  #traceOutputs: Map<number, TraceOutput> | null = null;

  // The number of a process image: a pid until its next exec. Each has its
  // space of keys (addr + (n % SPACES) · 2^47; user addresses are below
  // 2^47): a fork child's heap is a copy of its parent's, at the same
  // addresses, and an image exec'd without ASLR gets the addresses of the
  // one before, whose blocks stay live (never freed: leaks at exit).
  #imageSpace(pid: number, image: number): number {
    const id = pid * 2 ** 30 + image;
    let n = this.#spaces.get(id);
    if (n === undefined) {
      n = this.#nextSpace++;
      this.#spaces.set(id, n);
    }
    return n;
  }

  // Drops the blocks process `pid` left live in image `image` when it
  // exec'd (the exec discarded that heap): no longer live, not leaks, not
  // frees. The bytes dropped. It walks every live block (~50 ns each), so
  // only when the process holds live bytes: the usual fork-then-exec child
  // holds none. (Its earlier images' blocks went at their execs: its live
  // bytes are this image's. A zero-byte block alone is left live.)
  #dropImage(pid: number, image: number): number {
    const space = this.#spaces.get(pid * 2 ** 30 + image);
    if (space === undefined || !(this.#procs.get(pid)?.liveBytes)) return 0;
    const keys: number[] = [];
    const b = this.#blocks.cols;
    for (const [key, slot] of this.analyzer.liveEntries()) {
      if (b.image[slot] === space) keys.push(key);
    }
    let bytes = 0;
    for (const key of keys) {
      const slot = this.analyzer.drop(key);
      if (b.sampled[slot] === 1) this.sampledAnalyzer?.drop(key);
      const size = b.size[slot];
      const p = this.#procList[b.proc[slot]];
      p.liveBytes -= size;
      p.droppedAtExec++;
      bytes += size;
    }
    this.droppedAtExec.blocks += keys.length;
    this.droppedAtExec.bytes += bytes;
    return bytes;
  }

  // The first key of another space than image `space`'s own for its
  // block at `addr`: one that is free or holds the image's own block (the
  // analyzer then replaces it); when every space holds another image's
  // block there, the image's own key (that block goes).
  #displace(addr: number, space: number): number {
    this.#displaced = true;
    for (let k = 1; k < SPACES; k++) {
      const key = addr + ((space + k) % SPACES) * 2 ** 47;
      const held = this.analyzer.liveSlot(key);
      if (held < 0 || this.#blocks.cols.image[held] === space) return key;
    }
    return addr + (space % SPACES) * 2 ** 47;
  }

  // The key of image `space`'s block at `addr` (`key` in its own space, or
  // where #displace put it), or a key no block has.
  #freeKey(key: number, addr: number, space: number): number {
    const held = this.analyzer.liveSlot(key);
    const image = this.#blocks.cols.image;
    if (held >= 0 && image[held] === space) return key;
    if (this.#displaced) {
      for (let k = 1; k < SPACES; k++) {
        const other = addr + ((space + k) % SPACES) * 2 ** 47;
        const slot = this.analyzer.liveSlot(other);
        if (slot >= 0 && image[slot] === space) return other;
      }
    }
    return held < 0 ? key : NOWHERE;
  }

  /** Lifetimes per site (sites named as the analyzer names them), sites by frees. */
  lifetimes(): NativeSiteLifetimes[] {
    const bySite = new Map<string, NativeSiteLifetimes>();
    const siteOf = (stack: number) => {
      const name = siteName(this.stacks.get(stack), this.#o.by);
      let s = bySite.get(name);
      if (s === undefined) {
        s = {
          site: name,
          wall: new Array(WALL_BUCKETS.length + 1).fill(0),
          between: new Array(BETWEEN_BUCKETS.length + 1).fill(0),
          oldestLiveMs: 0,
        };
        bySite.set(name, s);
      }
      return s;
    };
    for (const [stack, lt] of this.#lifetimes) {
      const s = siteOf(stack);
      lt.wall.forEach((v, i) => s.wall[i] += v);
      lt.between.forEach((v, i) => s.between[i] += v);
    }
    const b = this.#blocks.cols;
    for (const slot of this.analyzer.liveSlots()) {
      const s = siteOf(b.stack[slot]);
      s.oldestLiveMs = Math.max(
        s.oldestLiveMs,
        this.#lastTime - b.time[slot],
      );
    }
    const total = (s: NativeSiteLifetimes) => s.wall.reduce((x, y) => x + y, 0);
    return [...bySite.values()].sort((a, b) => total(b) - total(a));
  }

  /** What each process did, by pid (a reused pid's processes in turn). */
  processes(): ProcessStats[] {
    return [...this.#procList].sort((a, b) => a.pid - b.pid);
  }

  #procOf(pid: number, image: number): ProcessStats {
    let p = this.#procs.get(pid);
    if (p === undefined) {
      p = {
        pid,
        images: [],
        allocs: 0,
        allocBytes: 0,
        frees: 0,
        liveBytes: 0,
        droppedAtExec: 0,
        inheritedFrees: 0,
      };
      this.#procs.set(pid, p);
      this.#procList.push(p);
    }
    const path = this.#images.get(image) ?? "?";
    if (p.images.at(-1) !== path) p.images.push(path);
    return p;
  }

  // The histogram's row of sizes up to `limit` (made when new), now the last one.
  #sizeOf(limit: number): SizeBucket {
    let sb = this.#sizes.get(limit);
    if (sb === undefined) {
      sb = { limit, count: 0, bytes: 0 };
      this.#sizes.set(limit, sb);
    }
    this.#lastSize = sb;
    return sb;
  }

  /** The power-of-two size histogram, by size. */
  sizeHistogram(): SizeBucket[] {
    return [...this.#sizes.values()].sort((a, b) => a.limit - b.limit);
  }

  #lifetimeOf(stack: number) {
    if (stack === this.#lastLifetime[0]) return this.#lastLifetime[1]!;
    let lt = this.#lifetimes.get(stack);
    if (lt === undefined) {
      lt = {
        wall: new Array(WALL_BUCKETS.length + 1).fill(0),
        between: new Array(BETWEEN_BUCKETS.length + 1).fill(0),
      };
      this.#lifetimes.set(stack, lt);
    }
    this.#lastLifetime = [stack, lt];
    return lt;
  }

  // The traceback lines of an interned stack, encoded once.
  #traceback(stack: number): Uint8Array {
    let t = this.#tracebacks.get(stack);
    if (t === undefined) {
      t = this.#writer!.encode(seedFrameLines(
        this.stacks.get(stack).map((f) => ({
          pc: f.pc,
          func: f.func.replaceAll(" ", "") || "?",
          file: f.file,
          line: f.line,
        })),
      ));
      this.#tracebacks.set(stack, t);
    }
    return t;
  }
}
