/**
 * A streaming reader of `GODEBUG=allocfreetrace=1` output: Go 1.3–1.22's
 * `tracealloc`/`tracefree`/`tracegc` records with goroutine tracebacks, and
 * the Dec 2013 seed's `MProf_Malloc`/`MProf_Free` records with `#N` frames.
 * Text is fed in chunks of any size; complete records become events, stacks
 * are interned, lines that belong to no record (the program's own stderr)
 * are counted, and a record cut by the end of input is reported, never lost
 * silently. The reader resynchronises after damage: CRLF endings are read
 * as LF, a line past the length cap is skipped (memory stays bounded), a
 * foreign line inside a record is counted and the frames after it kept, a
 * record header ends a `tracegc` block that lost its `end tracegc`, and a
 * record whose size or address is past 2^53 is rejected. Pure: no I/O.
 *
 * This string reader is the reference: it reads line by line in the plainest
 * way, and the fast byte reader (`byte_parser.ts`, what the CLI uses) is
 * held to it by a property test on mutated real traces.
 *
 * @module
 */

import {
  type AllocEvent,
  type Frame,
  type FreeEvent,
  lineNumber,
  StackTable,
  type TraceEvent,
} from "./events.ts";
import {
  goroutineId,
  newStats,
  noteAnomaly,
  noteCreatedBy,
  type ParseStats,
} from "./parse_stats.ts";

const enum St {
  Idle,
  Header, // after tracealloc/tracefree: expect "goroutine N [...]:"
  Func, // expect a function line (or blank = end)
  File, // expect "\tfile:line ..."
  CreatedBy, // after "created by": expect its file line
  Gc, // inside tracegc()
  Seed, // inside MProf_*: "\t#N ..." lines
}

/** The default cap on a line's length in bytes: a real traceback line is far shorter. */
export const MAX_LINE = 1 << 20;

/** Input read with a line past the cap and no record yet, after which it is not a trace. */
const NOT_A_TRACE = 64 << 20;

/** The largest size or address a record may have: above it a double is not exact. */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** Options of both trace parsers. */
export interface ParserOptions {
  /**
   * Lines longer than this many bytes (UTF-8, without the line ending) are
   * skipped and counted in {@link ParseStats.long}; default {@link MAX_LINE}.
   */
  maxLine?: number;
}

/** The length of `s` in UTF-8 bytes (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
function _utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (
      c >= 0xd800 && c < 0xdc00 && i + 1 < s.length &&
      (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const HEADERS = [
  "tracealloc(",
  "tracefree(",
  "tracegc()",
  "MProf_Malloc(",
  "MProf_Free(",
];

/** The value of hex digit character code `c`; -1 when it is not one (shared by both parsers). */
export function hexDigit(c: number): number {
  return c >= 48 && c <= 57
    ? c - 48
    : c >= 97 && c <= 102
    ? c - 87
    : c >= 65 && c <= 70
    ? c - 55
    : -1;
}

function hexNum(s: string): number {
  // Leading hex digits (as far as they go); -1 when there are none.
  // Exact up to 2^53; callers reject larger sizes and addresses.
  let v = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const d = hexDigit(s.charCodeAt(i));
    if (d < 0) break;
    v = v * 16 + d;
  }
  return i === 0 ? -1 : v;
}

/** The fields of a finished alloc or free record. */
export interface RecordFields {
  /** alloc or free. */
  kind: "alloc" | "free";
  /** Object address. */
  addr: number;
  /** Size. */
  size: number;
  /** Type (allocations). */
  type: string | null;
  /** Requested size (allocations), 0 when unknown. */
  requested: number;
  /** Goroutine id. */
  goroutine: number;
  /** Interned stack. */
  stack: number;
  /** Header line. */
  lineNo: number;
}

/** Counts a finished record and hands its event on (shared by both parsers). */
export function emitRecord(
  stats: ParseStats,
  emit: (e: TraceEvent) => void,
  r: RecordFields,
): void {
  if (r.kind === "alloc") {
    stats.allocs++;
    const e: AllocEvent = {
      kind: "alloc",
      addr: r.addr,
      size: r.size,
      type: r.type,
      requested: r.requested,
      goroutine: r.goroutine,
      stack: r.stack,
      lineNo: r.lineNo,
    };
    emit(e);
  } else {
    stats.frees++;
    const e: FreeEvent = {
      kind: "free",
      addr: r.addr,
      size: r.size,
      goroutine: r.goroutine,
      stack: r.stack,
      lineNo: r.lineNo,
    };
    emit(e);
  }
}

/**
 * The trace parser.
 *
 * @example
 * ```ts
 * import { TraceParser } from "../../mod.ts";
 * const events: string[] = [];
 * const p = new TraceParser((e) => events.push(e.kind));
 * p.feed("tracealloc(0xc000092000, 0x40, main.T)\ngoroutine 1 [running]:\nruntime.mallocgc(0x38, 0x46c580, 0x1)\n");
 * p.feed("\truntime/malloc.go:1131 +0x7b1 fp=0xc00008ef10 sp=0xc00008ee98 pc=0x40b411\nmain.main()\n\tmain.go:19 +0x1d\n\n");
 * p.end();
 * if (events.join() !== "alloc" || p.stats.allocs !== 1) throw new Error();
 * ```
 */
export class TraceParser {
  /** Interned stacks of the events. */
  readonly stacks: StackTable;
  /** Counts and warnings. */
  readonly stats: ParseStats = newStats();
  readonly #emit: (e: TraceEvent) => void;
  readonly #maxLine: number;
  #rest = "";
  #creatorsReplaced = 0;
  /** Inside a line past the cap (already counted): skip to its newline. */
  #skipping = false;
  #reject = false;
  /** Characters fed. */
  #fed = 0;
  #st: St = St.Idle;
  // The record being read.
  #kind: "alloc" | "free" = "alloc";
  #addr = 0;
  #size = 0;
  #type: string | null = null;
  #requested = 0;
  #goroutine = 0;
  /** In a tracegc block: the goroutine whose traceback is being read. */
  #gcGoroutine = 0;
  #headerLine = 0;
  #header = "";
  #frames: Frame[] = [];
  #func = "";
  #inlined = false;
  #funcArgs = "";

  /** Makes a parser that hands each event to `emit`. */
  constructor(
    emit: (e: TraceEvent) => void,
    stacks: StackTable = new StackTable(),
    opts: ParserOptions = {},
  ) {
    this.#emit = emit;
    this.stacks = stacks;
    this.#maxLine = opts.maxLine ?? MAX_LINE;
  }

  /** Creators noted that replaced a different one for their goroutine (see {@link noteCreatedBy}). */
  get creatorsReplaced(): number {
    return this.#creatorsReplaced;
  }

  /** True while a record or a tracegc block is open. */
  get busy(): boolean {
    return this.#st !== St.Idle;
  }

  /**
   * True when 64 MiB were read, a line past the cap among them, and no
   * record yet: the input is not a trace (`/dev/zero`, a binary file), and
   * a reader may stop reading.
   */
  get notATrace(): boolean {
    return this.notATraceAfter(this.#fed);
  }

  /** {@link notATrace}, when `fed` bytes were read (the byte parser's count). */
  notATraceAfter(fed: number): boolean {
    const s = this.stats;
    return fed >= NOT_A_TRACE && s.long > 0 &&
      s.allocs + s.frees + s.gcs + s.rejected === 0 && this.#st === St.Idle;
  }

  /** Feeds the next chunk of text. */
  feed(text: string): void {
    this.#fed += text.length;
    let start = 0;
    if (this.#skipping) {
      const nl = text.indexOf("\n");
      if (nl < 0) return;
      // The end of the long line (counted when it passed the cap).
      this.#skipping = false;
      this.stats.lines++;
      start = nl + 1;
    }
    const data = this.#rest.length === 0 ? text : this.#rest + text;
    for (;;) {
      const nl = data.indexOf("\n", start);
      if (nl < 0) break;
      this.#line(data.slice(start, nl));
      start = nl + 1;
    }
    // A line this long is past the cap in bytes too (a UTF-16 unit is at
    // least one byte; one more for a CR): stop keeping it.
    if (data.length - start > this.#maxLine + 1) {
      this.#rest = "";
      this.#skipping = true;
      noteAnomaly(this.stats, "long", this.stats.lines + 1);
    } else this.#rest = data.slice(start);
  }

  /** True when `line` (without its newline) is past the cap. */
  #isLong(line: string): boolean {
    const n = line.length - (line.charCodeAt(line.length - 1) === 13 ? 1 : 0);
    return n * 3 > this.#maxLine &&
      _utf8Length(line.slice(0, n)) > this.#maxLine;
  }

  /** Ends the input: a final line without newline is read, a record in progress is reported as cut. */
  end(): void {
    let partial = false;
    if (this.#skipping) {
      // A long last line: skipped like any long line.
      this.#skipping = false;
      this.stats.lines++;
    } else if (this.#rest.length > 0) {
      const last = this.#rest;
      this.#rest = "";
      // A last line without its newline is itself cut: only an idle line is read.
      if (this.#st === St.Idle || this.#isLong(last)) this.#line(last);
      else {
        this.stats.lines++;
        partial = true;
      }
    }
    if (this.#st === St.Seed && !partial) {
      this.#finish(); // seed records end at the next non-frame line, or here
    } else if (this.#st !== St.Idle) {
      this.stats.cut = { lineNo: this.#headerLine, header: this.#header };
    }
    this.#st = St.Idle;
  }

  #unparsed(): void {
    noteAnomaly(this.stats, "unparsed", this.stats.lines);
  }

  #foreign(): void {
    noteAnomaly(this.stats, "foreign", this.stats.lines);
  }

  #line(line: string): void {
    const n = ++this.stats.lines;
    if (this.#isLong(line)) return noteAnomaly(this.stats, "long", n);
    // CRLF: the CR is part of the line ending.
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    this.#dispatch(line, n);
  }

  #dispatch(line: string, n: number): void {
    switch (this.#st) {
      case St.Func:
        if (line.length === 0) return this.#finish();
        if (this.#endsRecord(line)) break;
        if (this.#funcLine(line)) return;
        // A file line without its function, or a foreign line: the frames
        // after it still belong to the record.
        return this.#foreign();
      case St.File:
        if (line.charCodeAt(0) === 9) {
          this.#frame(line);
          this.#st = St.Func;
          return;
        }
        if (line.length === 0 || this.#endsRecord(line)) break;
        this.#foreign();
        // A line that starts a frame: the function line before had no file line.
        this.#st = St.Func;
        if (this.#funcLine(line)) return;
        this.#st = St.File;
        return;
      case St.CreatedBy:
        // Its file line; a foreign line before it leaves it due.
        this.#st = St.Func;
        if (line.charCodeAt(0) === 9) return;
        if (line.length === 0 || this.#endsRecord(line)) break;
        if (this.#funcLine(line)) return;
        this.#st = St.CreatedBy;
        return this.#foreign();
      case St.Header:
        if (line.startsWith("goroutine ")) {
          this.#goroutine = goroutineId(line);
          this.#st = St.Func;
          return;
        }
        if (line.length === 0 || this.#endsRecord(line)) break;
        return this.#foreign();
      case St.Gc:
        if (line === "end tracegc") {
          this.#endGc();
          return;
        }
        if (line.startsWith("goroutine ")) {
          this.#gcGoroutine = goroutineId(line);
          return;
        }
        if (line.startsWith("created by ")) {
          this.#noteCreator(this.#gcGoroutine, line);
          return;
        }
        // A record header ends a block that lost its `end tracegc`. (Only at
        // the start of a line: a goroutine listed inside may be blocked in
        // a runtime.tracealloc(...) frame.)
        if (
          line.charCodeAt(0) === 116 /* t */ ||
          line.charCodeAt(0) === 77 /* M */
        ) {
          for (const h of HEADERS) {
            if (line.startsWith(h)) {
              noteAnomaly(this.stats, "unendedGc", this.#headerLine);
              this.#endGc();
              return this.#line2(line, n);
            }
          }
        }
        return;
      case St.Seed:
        if (line.startsWith("\t#")) {
          this.#seedFrame(line);
          return;
        }
        break;
      default:
        return this.#line2(line, n);
    }
    // The record ended without its blank line: this line starts something else.
    this.#finish();
    return this.#line2(line, n);
  }

  #noteCreator(goid: number, line: string): void {
    if (noteCreatedBy(this.stats.goroutines, goid, line)) {
      this.#creatorsReplaced++;
    }
  }

  #endGc(): void {
    this.stats.gcs++;
    this.#emit({ kind: "gc", lineNo: this.#headerLine });
    this.#st = St.Idle;
  }

  /**
   * A line that stands where a function line may: a function line (its
   * file line comes next), `created by …`, or the elided-frames note.
   * False for anything else. A function's name has no space (a log line
   * such as `WARNING: slow (1.2s)` has).
   */
  #funcLine(line: string): boolean {
    if (line.charCodeAt(0) === 9) return false;
    if (line.startsWith("created by ")) {
      this.#noteCreator(this.#goroutine, line);
      this.#st = St.CreatedBy;
      return true;
    }
    if (line.startsWith("...additional frames elided...")) return true;
    const open = line.lastIndexOf("(");
    const sp = line.indexOf(" ");
    if (line.endsWith(")") && open > 0 && (sp < 0 || sp > open)) {
      this.#func = line.slice(0, open);
      this.#funcArgs = line.slice(open + 1, -1);
      this.#inlined = this.#funcArgs === "...";
      this.#st = St.File;
      return true;
    }
    return false;
  }

  /** A line read while idle. */
  #line2(line: string, n: number): void {
    if (line.length === 0) return;
    const c = line.charCodeAt(0);
    if (c === 116 /* t */ || c === 77 /* M */) {
      if (this.#startRecord(line, n)) return;
    }
    // Program output may run into a header on the same line.
    for (const h of HEADERS) {
      const at = line.indexOf(h);
      if (at > 0) {
        this.#unparsed();
        if (this.#startRecord(line.slice(at), n)) return;
      }
    }
    if (line === "end tracegc") return;
    this.#unparsed();
  }

  /** True when a record header starts somewhere in the line (program output may run into one): it ends the record. */
  #endsRecord(line: string): boolean {
    for (const h of HEADERS) if (line.includes(h)) return true;
    return false;
  }

  #startRecord(line: string, n: number): boolean {
    if (line === "tracegc()") {
      this.stats.format ??= "go1.3+";
      this.#headerLine = n;
      this.#header = line;
      this.#gcGoroutine = 0;
      this.#st = St.Gc;
      return true;
    }
    if (line.startsWith("tracealloc(") && line.endsWith(")")) {
      const body = line.slice(11, -1);
      const c1 = body.indexOf(", ");
      if (c1 < 0) return false;
      const c2 = body.indexOf(", ", c1 + 2);
      const addr = hexNum(body.slice(2, c1));
      const size = hexNum(body.slice(c1 + 4, c2 < 0 ? undefined : c2));
      if (addr < 0 || size < 0 || !body.startsWith("0x")) return false;
      this.#begin(
        "alloc",
        addr,
        size,
        c2 < 0 ? null : body.slice(c2 + 2),
        line,
        n,
      );
      this.#st = St.Header;
      return true;
    }
    if (line.startsWith("tracefree(") && line.endsWith(")")) {
      const body = line.slice(10, -1);
      const c1 = body.indexOf(", ");
      if (c1 < 0 || !body.startsWith("0x")) return false;
      const addr = hexNum(body.slice(2, c1));
      const size = hexNum(body.slice(c1 + 4));
      if (addr < 0 || size < 0) return false;
      this.#begin("free", addr, size, null, line, n);
      this.#st = St.Header;
      return true;
    }
    if (line.startsWith("MProf_Malloc(p=0x") && line.endsWith(">)")) {
      const m =
        /^MProf_Malloc\(p=0x([0-9a-f]+), size=0x([0-9a-f]+), type=0x[0-9a-f]+ <(single object|array|channel)(?: of (.*))?>\)$/
          .exec(line);
      if (m === null) return false;
      this.stats.format ??= "seed";
      this.#begin("alloc", hexNum(m[1]), hexNum(m[2]), m[4] ?? null, line, n);
      this.#st = St.Seed;
      return true;
    }
    if (line.startsWith("MProf_Free(p=0x") && line.endsWith(")")) {
      const m = /^MProf_Free\(p=0x([0-9a-f]+), size=0x([0-9a-f]+)\)$/.exec(
        line,
      );
      if (m === null) return false;
      this.stats.format ??= "seed";
      this.#begin("free", hexNum(m[1]), hexNum(m[2]), null, line, n);
      this.#st = St.Seed;
      return true;
    }
    return false;
  }

  #begin(
    kind: "alloc" | "free",
    addr: number,
    size: number,
    type: string | null,
    header: string,
    n: number,
  ): void {
    if (kind === "alloc" || kind === "free") {
      if (header.startsWith("trace")) this.stats.format ??= "go1.3+";
    }
    this.#kind = kind;
    this.#reject = addr > MAX_EXACT || size > MAX_EXACT;
    this.#addr = addr;
    this.#size = size;
    this.#type = type;
    this.#requested = 0;
    this.#goroutine = 0;
    this.#headerLine = n;
    this.#header = header;
    this.#frames = [];
  }

  #frame(line: string): void {
    const sp = line.indexOf(" ", 1);
    const loc = sp < 0 ? line.slice(1) : line.slice(1, sp);
    const colon = loc.lastIndexOf(":");
    const file = colon < 0 ? loc : loc.slice(0, colon);
    const lineNo = colon < 0 ? 0 : lineNumber(loc.slice(colon + 1));
    // pc is the last field: the line's last '=' preceded by " pc" and followed by "0x".
    let pc = 0;
    const eq = line.lastIndexOf("=");
    if (
      sp >= 0 && eq > sp && line.slice(eq - 3, eq) === " pc" &&
      line.startsWith("0x", eq + 1)
    ) {
      pc = hexNum(line.slice(eq + 3));
    }
    const func = this.#func;
    if (this.#frames.length === 0 && func === "runtime.mallocgc") {
      const comma = this.#funcArgs.indexOf(",");
      const first = comma < 0 ? this.#funcArgs : this.#funcArgs.slice(0, comma);
      if (first.startsWith("0x")) {
        const v = hexNum(first.slice(2));
        if (v >= 0 && v <= MAX_EXACT) this.#requested = v;
      }
    }
    this.#push({
      func,
      file,
      line: lineNo,
      pc: pc < 0 ? 0 : pc,
      inlined: this.#inlined,
    });
  }

  #seedFrame(line: string): void {
    // \t#N 0xPC func file:line   (or \t#N 0xPC when the PC has no function)
    const parts = line.slice(2).split(" ");
    const pc = parts.length > 1 ? hexNum(parts[1].slice(2)) : 0;
    const func = parts[2] ?? "?";
    const loc = parts.slice(3).join(" ");
    const colon = loc.lastIndexOf(":");
    this.#push({
      func,
      file: colon < 0 ? loc : loc.slice(0, colon),
      line: colon < 0 ? 0 : lineNumber(loc.slice(colon + 1)),
      pc: pc < 0 ? 0 : pc,
      inlined: false,
    });
  }

  #push(f: Frame): void {
    this.#frames.push(f);
  }

  #finish(): void {
    if (this.#reject) {
      noteAnomaly(this.stats, "rejected", this.#headerLine);
      this.#st = St.Idle;
      return;
    }
    const stack = this.stacks.intern(this.#frames);
    emitRecord(this.stats, this.#emit, {
      kind: this.#kind,
      addr: this.#addr,
      size: this.#size,
      type: this.#type,
      requested: this.#requested,
      goroutine: this.#goroutine,
      stack,
      lineNo: this.#headerLine,
    });
    this.#st = St.Idle;
  }
}
