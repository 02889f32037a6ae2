/**
 * A streaming reader of Go 1.22+ execution traces (the v2 format): bytes
 * in, events out in time order, one generation at a time.
 *
 * The file is a header and a sequence of batches. Each batch belongs to a
 * generation; the batches of one generation come together, and the string,
 * stack and type tables that give its ids a meaning come at its end. So a
 * generation is buffered (its batches, as raw bytes: the most compact form)
 * until the next one starts, then its per-M event streams are merged by
 * timestamp, as Go's reader (`internal/trace/generation.go`) does. Memory is
 * the largest generation (the runtime starts one every second) plus the
 * tables, not the whole trace.
 *
 * @module
 */

import type { Frame } from "../events.ts";
import {
  ALLOC_FREE_INFO_BATCH,
  ALLOC_FREE_TYPES_BATCH,
  ARG_COUNTS,
  Ev,
  EV_NAMES,
  EXPERIMENT_ALLOC_FREE,
  HEADER_SIZE,
  MAX_BATCH_SIZE,
  MAX_FRAMES_PER_STACK,
  readHeader,
  supportedVersion,
  unsupportedVersionMessage,
} from "./format.ts";

/** A Go type from the AllocFree type table. */
export interface TypeInfo {
  /** Type name as the runtime prints it (`main.Record`, `[]uint8`, `*runtime.g`). */
  readonly name: string;
  /** `typ.Size()`. */
  readonly size: number;
  /** `typ.PtrBytes`: the prefix that may hold pointers (0: no pointers). */
  readonly ptrBytes: number;
}

/** The AllocFree info batch: what turns ids back into addresses. */
export interface AddressInfo {
  /** Lowest heap address (`trace.minPageHeapAddr`). */
  readonly minPageHeapAddr: number;
  /** Heap page size. */
  readonly pageSize: number;
  /** Object id unit (`minHeapAlign`). */
  readonly minHeapAlign: number;
  /** Stack id unit (`fixedStack`). */
  readonly fixedStack: number;
}

/** One generation's tables, handed to the sink before its events. */
export interface GenerationContext {
  /** Generation number. */
  readonly gen: number;
  /** The address info (the last one seen: the runtime writes it once). */
  readonly info: AddressInfo | null;
  /** Global type index by type id of this generation (0: no type; ids past its end too). */
  readonly typeIds: Int32Array;
  /** The frames of a stack id of this generation, innermost first. */
  frames(id: number): Frame[];
}

/**
 * Where the merged events go. `wants[t]` selects the event types to deliver
 * (all are counted); the cursor is reused, so read it during the call.
 */
export interface ExecSink {
  /** Event types (bytes) to deliver. */
  readonly wants: Uint8Array;
  /** Called before each generation's events. */
  beginGeneration(g: GenerationContext): void;
  /** One event. */
  event(c: EventCursor): void;
}

/** What the reader has seen. */
export interface ReaderStats {
  /** Trace version (`go 1.NN trace`: NN), 0 before the header. */
  version: number;
  /** Generations analysed. */
  generations: number;
  /** Bytes consumed. */
  bytes: number;
  /** Events per type byte, as `go tool trace -d=2` counts them (batches included). */
  counts: Float64Array;
  /** Why reading stopped early (a cut or corrupt batch), or null. */
  problem: string | null;
  /**
   * Where a second trace's header begins (two traces concatenated), where
   * reading stopped with the first one whole; null when none did.
   */
  secondTraceAt: number | null;
  /** Nanoseconds from the first to the last event. */
  duration: number;
}

/** The current event of one M's stream during the merge. */
export class EventCursor {
  /** M (thread) id; 2^64-1 (as a float) for batches with no M. */
  readonly m: number;
  /** Goroutine running on this M (0: none). */
  g = 0;
  /** Event type byte. */
  t = 0;
  /** Timestamp in trace clock ticks. */
  ts = 0;
  /** Nanoseconds since the trace's first batch. */
  time = 0;
  /** Arguments after the timestamp delta. */
  readonly a: Float64Array = new Float64Array(6);
  readonly #datas: Uint8Array[];
  readonly #bases: number[];
  #bi = -1;
  #pos = 0;
  #data: Uint8Array = new Uint8Array(0);
  #origin = 0;
  #nsPerTick = 1;

  /** A cursor over the batches of M `m` (in file order). */
  constructor(m: number, datas: Uint8Array[], bases: number[]) {
    this.m = m;
    this.#datas = datas;
    this.#bases = bases;
  }

  /** Sets the clock: ticks at time 0 and nanoseconds per tick. */
  clock(origin: number, nsPerTick: number): void {
    this.#origin = origin;
    this.#nsPerTick = nsPerTick;
  }

  /** Decodes the next event; false at the end of this M's batches. */
  next(): boolean {
    let d = this.#data;
    let p = this.#pos;
    while (p >= d.length) {
      if (++this.#bi >= this.#datas.length) return false;
      d = this.#data = this.#datas[this.#bi];
      p = 0;
      this.ts = this.#bases[this.#bi];
    }
    const t = d[p++];
    const n = ARG_COUNTS[t];
    if (n <= 0) {
      throw new Error(
        `unknown event type ${t} (${EV_NAMES[t] || "?"}) in a batch of M ${
          this.m === 2 ** 64 ? "-1" : this.m
        }`,
      );
    }
    const a = this.a;
    for (let i = 0; i < n; i++) {
      let b = d[p++];
      let v = b & 0x7f;
      if (b & 0x80) {
        let s = 128;
        do {
          b = d[p++];
          v += (b & 0x7f) * s;
          s *= 128;
        } while (b & 0x80);
      }
      if (i === 0) this.ts += v;
      else a[i - 1] = v;
    }
    if (p > d.length) {
      throw new Error(`an event runs past the end of its batch (M ${this.m})`);
    }
    this.t = t;
    this.#pos = p;
    this.time = (this.ts - this.#origin) * this.#nsPerTick;
    return true;
  }
}

interface Generation {
  gen: number;
  freq: number;
  strings: Map<number, string>;
  stacks: Map<number, number[]>;
  types: Map<number, number>;
  ms: Map<number, { datas: Uint8Array[]; bases: number[] }>;
  minTime: number;
}

const NO_M = 2 ** 64;
// The free events (1), which sort first among events of equal time.
const _FREES = (() => {
  const a = new Uint8Array(256);
  a[Ev.HeapObjectFree] = a[Ev.SpanFree] = a[Ev.GoroutineStackFree] = 1;
  return a;
})();
const utf8 = new TextDecoder();

// Decoding a uvarint from a buffer: the value, and where it ended in _end
// (-1 when the buffer ends first or it is longer than 10 bytes).
let _end = 0;
function _uvarint(d: Uint8Array, p: number, end: number): number {
  let v = 0;
  let s = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) {
      _end = -1;
      return 0;
    }
    const b = d[p++];
    v += (b & 0x7f) * s;
    if ((b & 0x80) === 0) {
      _end = p;
      return v;
    }
    s *= 128;
  }
  _end = -2;
  return 0;
}

/**
 * Reads an execution trace fed in chunks; events reach the sink one
 * generation at a time, in time order.
 *
 * @example
 * ```ts
 * import { Ev, ExecTraceReader } from "./mod.ts";
 * // A minimal generation: a frequency batch and one M with a HeapObjectAlloc.
 * const u = (...b: number[]) => new Uint8Array(b);
 * const head = new TextEncoder().encode("go 1.23 trace\0\0\0");
 * const freq = u(Ev.EventBatch, 1, 0, 0, 2, Ev.Frequency, 100);
 * const ev = u(Ev.EventBatch, 1, 3, 10, 4, Ev.HeapObjectAlloc, 5, 7, 0);
 * const seen: number[] = [];
 * const wants = new Uint8Array(256);
 * wants[Ev.HeapObjectAlloc] = 1;
 * const r = new ExecTraceReader({ wants, beginGeneration() {}, event(c) { seen.push(c.a[0], c.time); } });
 * for (const b of [head, freq, ev]) r.feed(b);
 * r.end();
 * if (seen[0] !== 7 || seen[1] !== 5e7 || r.stats.counts[Ev.HeapObjectAlloc] !== 1) throw new Error();
 * ```
 */
export class ExecTraceReader {
  readonly #sink: ExecSink;
  /** Global type table (index 0: no type). */
  readonly types: TypeInfo[] = [{ name: "?", size: 0, ptrBytes: 0 }];
  readonly #typeIndex = new Map<string, number>();
  /** The address info batch, once seen. */
  info: AddressInfo | null = null;
  /** What was read. */
  readonly stats: ReaderStats = {
    version: 0,
    generations: 0,
    bytes: 0,
    counts: new Float64Array(256),
    problem: null,
    secondTraceAt: null,
    duration: 0,
  };
  #rest = new Uint8Array(0);
  #gen: Generation | null = null;
  #mG = new Map<number, number>();
  #origin = -1;
  #lastFreq = 0;
  #lastTime = 0;
  #stopped = false;

  /** A reader handing events to `sink`. */
  constructor(sink: ExecSink) {
    this.#sink = sink;
  }

  /** Feeds the next bytes. Throws when the trace is unreadable from the start. */
  feed(chunk: Uint8Array): void {
    if (this.#stopped || chunk.length === 0) return;
    this.stats.bytes += chunk.length;
    let buf: Uint8Array;
    if (this.#rest.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.#rest.length + chunk.length);
      buf.set(this.#rest);
      buf.set(chunk, this.#rest.length);
    }
    let p = 0;
    if (this.stats.version === 0) {
      if (buf.length < HEADER_SIZE) {
        this.#rest = buf.slice();
        return;
      }
      const h = readHeader(buf);
      if (h.kind !== "exec") {
        throw new Error("not a Go execution trace (no `go 1.NN trace` header)");
      }
      if (!supportedVersion(h.version)) {
        throw new Error(unsupportedVersionMessage(h.version));
      }
      this.stats.version = h.version;
      p = HEADER_SIZE;
    }
    try {
      p = this.#batches(buf, p);
    } catch (e) {
      if (e instanceof _SecondTrace) {
        // The input ends here, as if at the first trace's end.
        this.stats.secondTraceAt = e.at;
        this.#stopped = true;
        this.#rest = new Uint8Array(0);
        return;
      }
      this.#stop((e as Error).message);
      return;
    }
    this.#rest = p === buf.length ? new Uint8Array(0) : buf.slice(p);
  }

  /**
   * Ends the input: analyses the last generation when it is complete (the
   * input ended between two batches and its frequency batch, written with
   * its tables at its end, is there). A cut one is left out: its Ms'
   * batches are partial, so frees would come without their allocations.
   */
  end(): void {
    if (this.stats.version === 0) {
      throw new Error(
        this.#rest.length === 0
          ? "empty input"
          : `not a Go execution trace (${this.#rest.length} bytes, no complete header)`,
      );
    }
    const g = this.#gen;
    // (Stopped at a second trace's header, the first ended there whole.)
    const second = this.stats.secondTraceAt !== null;
    if (!this.#stopped && this.#rest.length > 0) {
      this.stats.problem = `the trace is cut off in generation ${
        g?.gen ?? "?"
      } (its last ${
        this.#rest.length.toLocaleString("en-US")
      } bytes are an incomplete batch), which is left out`;
    } else if ((!this.#stopped || second) && g !== null && g.freq === 0) {
      this.stats.problem =
        `generation ${g.gen} has no frequency batch (the trace is cut off at its end?), so it is left out`;
    } else if (this.#stopped && !second && g !== null) {
      this.stats.problem += `; generation ${g.gen} is left out`;
    }
    if (this.stats.problem === null) this.#finishGeneration();
    this.#gen = null;
    this.#stopped = true;
  }

  #stop(msg: string): void {
    this.stats.problem = msg;
    this.#stopped = true;
    this.#rest = new Uint8Array(0);
  }

  // Reads whole batches from buf at p; returns where the first incomplete one starts.
  #batches(buf: Uint8Array, p: number): number {
    const end = buf.length;
    const counts = this.stats.counts;
    while (p < end) {
      const start = p;
      const kind = buf[p++];
      let exp = 0;
      if (kind === Ev.ExperimentalBatch) {
        if (p >= end) return start;
        exp = buf[p++];
      } else if (kind !== Ev.EventBatch) {
        // "go 1.": another trace's header (`cat a.trace b.trace`).
        if (kind === 0x67) {
          if (end - start < 5) return start;
          if (
            buf[start + 1] === 0x6f && buf[start + 2] === 0x20 &&
            buf[start + 3] === 0x31 && buf[start + 4] === 0x2e
          ) throw new _SecondTrace(this.stats.bytes - end + start);
        }
        throw new Error(
          `expected a batch at byte ${
            (this.stats.bytes - end + start).toLocaleString("en-US")
          }, found byte ${kind} (corrupt or not an execution trace)`,
        );
      }
      const gen = _uvarint(buf, p, end);
      if (_end < 0) return this.#incomplete(start, _end);
      const m = _uvarint(buf, _end, end);
      if (_end < 0) return this.#incomplete(start, _end);
      const time = _uvarint(buf, _end, end);
      if (_end < 0) return this.#incomplete(start, _end);
      const size = _uvarint(buf, _end, end);
      if (_end < 0) return this.#incomplete(start, _end);
      if (size > MAX_BATCH_SIZE) {
        throw new Error(
          `invalid batch size ${size} (at most ${MAX_BATCH_SIZE}): corrupt trace`,
        );
      }
      if (gen === 0) throw new Error("invalid generation number 0");
      p = _end;
      if (p + size > end) return start;
      const data = buf.subarray(p, p + size);
      p += size;
      if (this.#gen === null) this.#gen = this.#newGen(gen);
      else if (gen === this.#gen.gen + 1) {
        this.#finishGeneration();
        this.#gen = this.#newGen(gen);
      } else if (gen !== this.#gen.gen) {
        throw new Error(
          `generations out of order (${gen} after ${this.#gen.gen})`,
        );
      }
      counts[kind]++;
      if (kind === Ev.ExperimentalBatch) {
        if (exp === EXPERIMENT_ALLOC_FREE) this.#allocFreeBatch(data);
      } else this.#eventBatch(m === 2 ** 64 - 1 ? NO_M : m, time, data);
    }
    return p;
  }

  #incomplete(start: number, why: number): number {
    if (why === -2) throw new Error("a batch header has an overlong uvarint");
    return start;
  }

  #newGen(gen: number): Generation {
    return {
      gen,
      freq: 0,
      strings: new Map(),
      stacks: new Map(),
      types: new Map(),
      ms: new Map(),
      minTime: Infinity,
    };
  }

  #eventBatch(m: number, time: number, data: Uint8Array): void {
    const g = this.#gen!;
    const counts = this.stats.counts;
    const first = data.length > 0 ? data[0] : 0;
    if (first === Ev.Strings) {
      counts[Ev.Strings]++;
      let p = 1;
      while (p < data.length) {
        if (data[p] !== Ev.String) throw new Error("corrupt string table");
        counts[Ev.String]++;
        const id = _uvarint(data, p + 1, data.length);
        const len = _uvarint(data, _end, data.length);
        if (_end < 0 || _end + len > data.length) {
          throw new Error("corrupt string table");
        }
        g.strings.set(id, utf8.decode(data.subarray(_end, _end + len)));
        p = _end + len;
      }
    } else if (first === Ev.Stacks) {
      counts[Ev.Stacks]++;
      let p = 1;
      while (p < data.length) {
        if (data[p] !== Ev.Stack) throw new Error("corrupt stack table");
        counts[Ev.Stack]++;
        const id = _uvarint(data, p + 1, data.length);
        const n = _uvarint(data, _end, data.length);
        if (_end < 0 || n > MAX_FRAMES_PER_STACK) {
          throw new Error("corrupt stack table");
        }
        p = _end;
        const fr: number[] = new Array(n * 4);
        for (let i = 0; i < n * 4; i++) {
          fr[i] = _uvarint(data, p, data.length);
          if (_end < 0) throw new Error("corrupt stack table");
          p = _end;
        }
        g.stacks.set(id, fr);
      }
    } else if (first === Ev.Frequency) {
      counts[Ev.Frequency]++;
      g.freq = _uvarint(data, 1, data.length);
      if (_end < 0 || g.freq === 0) throw new Error("corrupt frequency batch");
    } else if (first === Ev.CPUSamples) {
      // CPU samples: counted, not analysed (each is [type, 5 uvarints]).
      counts[Ev.CPUSamples]++;
      let p = 1;
      while (p < data.length) {
        counts[Ev.CPUSample]++;
        p++;
        for (let i = 0; i < 5; i++) {
          _uvarint(data, p, data.length);
          if (_end < 0) throw new Error("corrupt CPU sample batch");
          p = _end;
        }
      }
    } else {
      let s = g.ms.get(m);
      if (s === undefined) {
        s = { datas: [], bases: [] };
        g.ms.set(m, s);
      }
      // A copy: the input buffer is reused.
      s.datas.push(data.slice());
      s.bases.push(time);
      if (time < g.minTime) g.minTime = time;
    }
  }

  #allocFreeBatch(data: Uint8Array): void {
    if (data.length === 0) return;
    const end = data.length;
    if (data[0] === ALLOC_FREE_INFO_BATCH) {
      const v: number[] = [];
      let p = 1;
      for (let i = 0; i < 4; i++) {
        v.push(_uvarint(data, p, end));
        if (_end < 0) throw new Error("corrupt AllocFree info batch");
        p = _end;
      }
      if (v[1] === 0 || v[2] === 0 || v[3] === 0) {
        throw new Error("corrupt AllocFree info batch (a zero unit)");
      }
      this.info = {
        minPageHeapAddr: v[0],
        pageSize: v[1],
        minHeapAlign: v[2],
        fixedStack: v[3],
      };
    } else if (data[0] === ALLOC_FREE_TYPES_BATCH) {
      let p = 1;
      while (p < end) {
        const id = _uvarint(data, p, end);
        _uvarint(data, _end, end); // the type's address: not needed
        const size = _uvarint(data, _end, end);
        const ptrBytes = _uvarint(data, _end, end);
        const len = _uvarint(data, _end, end);
        if (_end < 0 || _end + len > end) {
          throw new Error("corrupt AllocFree type table");
        }
        const name = utf8.decode(data.subarray(_end, _end + len));
        p = _end + len;
        const key = `${name}\u0000${size}\u0000${ptrBytes}`;
        let gi = this.#typeIndex.get(key);
        if (gi === undefined) {
          gi = this.types.length;
          this.types.push({ name, size, ptrBytes });
          this.#typeIndex.set(key, gi);
        }
        this.#gen!.types.set(id, gi);
      }
    }
  }

  #finishGeneration(): void {
    const g = this.#gen;
    if (g === null) return;
    this.#gen = null;
    if (g.ms.size === 0) return;
    // (Go's reader refuses a generation without one; so do we, below, for
    // the last. One in the middle would have been cut and resumed: keep the
    // last known clock.)
    const freq = g.freq || this.#lastFreq || 1e9;
    this.#lastFreq = freq;
    if (this.#origin < 0) this.#origin = g.minTime;
    const nsPerTick = 1e9 / freq;
    const ctx: GenerationContext = {
      gen: g.gen,
      info: this.info,
      typeIds: (() => {
        let max = 0;
        for (const id of g.types.keys()) if (id > max) max = id;
        const a = new Int32Array(max + 1);
        for (const [id, gi] of g.types) a[id] = gi;
        return a;
      })(),
      frames: (id) => this.#frames(g, id),
    };
    this.#sink.beginGeneration(ctx);
    const cursors: EventCursor[] = [];
    for (const [m, s] of g.ms) {
      const c = new EventCursor(m, s.datas, s.bases);
      c.clock(this.#origin, nsPerTick);
      c.g = this.#mG.get(m) ?? 0;
      try {
        if (c.next()) cursors.push(c);
      } catch (e) {
        this.stats.problem ??= (e as Error).message;
      }
    }
    try {
      this.#merge(cursors);
    } catch (e) {
      this.stats.problem ??= `generation ${g.gen}: ${(e as Error).message}`;
      this.#stopped = true;
    }
    for (const c of cursors) this.#mG.set(c.m, c.g);
    this.stats.generations++;
    this.stats.duration = this.#lastTime;
  }

  #merge(cs: EventCursor[]): void {
    const counts = this.stats.counts;
    const wants = this.#sink.wants;
    const sink = this.#sink;
    // At equal timestamps (the clock ticks every 64 ns on amd64), frees go
    // first: a slot or span is freed before it is allocated again.
    const first = (c: EventCursor) => _FREES[c.t];
    while (cs.length > 0) {
      let mi = 0;
      for (let i = 1; i < cs.length; i++) {
        const d = cs[i].ts - cs[mi].ts;
        if (d < 0 || (d === 0 && first(cs[i]) > first(cs[mi]))) mi = i;
      }
      let second = Infinity;
      let freeAtSecond = 0;
      for (let i = 0; i < cs.length; i++) {
        if (i === mi) continue;
        if (cs[i].ts < second) {
          second = cs[i].ts;
          freeAtSecond = first(cs[i]);
        } else if (cs[i].ts === second) freeAtSecond |= first(cs[i]);
      }
      const c = cs[mi];
      let more: boolean;
      do {
        const t = c.t;
        counts[t]++;
        if (wants[t] === 1) sink.event(c);
        // Who runs on this M from now on.
        switch (t) {
          case Ev.GoStart:
          case Ev.GoSwitch:
          case Ev.GoSwitchDestroy:
          case Ev.GoCreateSyscall:
            c.g = c.a[0];
            break;
          case Ev.GoStop:
          case Ev.GoBlock:
          case Ev.GoDestroy:
          case Ev.GoDestroySyscall:
          case Ev.GoSyscallEndBlocked:
            c.g = 0;
            break;
          case Ev.GoStatus:
          case Ev.GoStatusStack:
            // A goroutine running (2) or in a syscall (3) on this very M.
            if ((c.a[2] === 2 || c.a[2] === 3) && c.a[1] === c.m) c.g = c.a[0];
            break;
        }
        this.#lastTime = c.time;
        more = c.next();
      } while (
        more &&
        (c.ts < second ||
          (c.ts === second && (freeAtSecond === 0 || first(c) === 1)))
      );
      if (!more) cs.splice(mi, 1);
    }
  }

  #frames(g: Generation, id: number): Frame[] {
    const fr = g.stacks.get(id);
    if (fr === undefined) return [];
    const out: Frame[] = [];
    for (let i = 0; i < fr.length; i += 4) {
      out.push({
        func: g.strings.get(fr[i + 1]) ?? "?",
        file: g.strings.get(fr[i + 2]) ?? "?",
        line: fr[i + 3],
        pc: fr[i],
        inlined: false,
      });
    }
    return out;
  }
}

/** Thrown where a second trace's header begins, at byte `at`. */
class _SecondTrace extends Error {
  constructor(readonly at: number) {
    super(`a second execution trace begins at byte ${at}`);
  }
}
