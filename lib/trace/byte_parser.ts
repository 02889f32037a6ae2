/**
 * The fast reader of allocfreetrace logs: the same formats, records,
 * statistics and warnings as {@link TraceParser}, but over bytes. Lines are
 * found with the native `indexOf`, frames are recognised by a hash of their
 * function name and `file:line` (arguments and `fp=`/`sp=`/`pc=` values are
 * skipped) and decoded to strings only the first time they are seen, and a
 * stack is interned by the sequence of its frame ids. The string reader
 * (`parser.ts`) is the reference; a test checks that both parsers agree on
 * mutated real traces.
 *
 * @module
 */

import { BlockScanner, MAX_LINES } from "./block_scan.ts";
import { passEvents } from "./event_batch.ts";
import {
  type EventSink,
  sinkOf,
  StackTable,
  type TraceEvent,
} from "./events.ts";
import {
  emitRecord,
  MAX_EXACT,
  MAX_LINE,
  type ParserOptions,
  TraceParser,
} from "./parser.ts";
import { absorbStats, noteAnomaly, type ParseStats } from "./parse_stats.ts";
import { CreatorNotes } from "./_creators.ts";
import {
  CR,
  funcOpenAt,
  goroutineIdAt,
  hasHeader,
  headerAddr,
  headerAt,
  headerSize,
  headerTypeAt,
  hexAt,
  NL,
  P_CREATED,
  P_ELIDED,
  P_GOROUTINE,
  P_MALLOCGC,
  startsWith,
  TAB,
} from "./_bytes.ts";
import { FrameLines } from "./_frame_lines.ts";
import { FrameStacks } from "./_frame_stacks.ts";
import { TypeNames } from "./_type_names.ts";
import { RecordShapes, type ShapedBlock } from "./_record_shapes.ts";

const dec = new TextDecoder();

/**
 * The byte-level trace parser. Records of the Go 1.3+ format take the fast
 * path; anything else (the seed's format, program output, odd lines) is
 * handed, line by line, to an embedded {@link TraceParser}, so the results
 * are the same.
 *
 * @example
 * ```ts
 * import { ByteTraceParser } from "./byte_parser.ts";
 * const kinds: string[] = [];
 * const p = new ByteTraceParser((e) => kinds.push(e.kind));
 * p.feed(new TextEncoder().encode("tracealloc(0xc000010000, 0x10, main.T)\ngoroutine 1 [running]:\nmain.main()\n\tmain.go:3 +0x1d\n\n"));
 * p.end();
 * if (kinds.join() !== "alloc" || p.stacks.get(1)[0].func !== "main.main") throw new Error();
 * ```
 */
export class ByteTraceParser {
  /** Interned stacks. */
  readonly stacks: StackTable;
  readonly #emit: (e: TraceEvent) => void;
  readonly #sink: EventSink;
  readonly #slow: TraceParser;
  readonly #maxLine: number;
  #carry: Uint8Array = new Uint8Array(0);
  /** Inside a line past the cap (already counted): skip to its newline. */
  #skipping = false;
  /** Bytes fed. */
  #fed = 0;
  /** Warnings noted (foreign, long and rejected): a record that made one is not cached. */
  #warned = 0;
  #reject = false;
  // Record state (fast path).
  #inRecord = false;
  #kind: "alloc" | "free" = "alloc";
  #addr = 0;
  #size = 0;
  #type: string | null = null;
  #requested = 0;
  #goroutine = 0;
  #headerLine = 0;
  #header = "";
  #sawGoroutine = false;
  #expectFile = false;
  #pendingRequested = -1;
  /** Where the first frame's mallocgc arguments start, or -1. */
  #mallocArgsAt = -1;
  #afterCreatedBy = false;
  readonly #creators: CreatorNotes;
  // Frame and stack caches.
  readonly #ids: FrameStacks;
  #lines = 0;
  /** Record cache (see #block): tracebacks by shape (arguments and frame pointers left out). */
  readonly #shapes = new RecordShapes();
  readonly #scanner = new BlockScanner();
  #reservedAt = 0;
  #slowLines = 0;
  #blankEnds = 0;
  #lastStack = -1;

  /**
   * Makes a parser that hands each event to `emit`, or (most of them, in
   * order with the others) to `opts.sink` when there is one.
   */
  constructor(
    emit: (e: TraceEvent) => void,
    stacks: StackTable = new StackTable(),
    opts: ParserOptions & { sink?: EventSink } = {},
  ) {
    this.#emit = emit;
    this.#sink = opts.sink ?? sinkOf(emit);
    this.stacks = stacks;
    this.#ids = new FrameStacks(stacks);
    this.#maxLine = opts.maxLine ?? MAX_LINE;
    this.#slow = new TraceParser(emit, stacks, opts);
    this.#creators = new CreatorNotes(this.#slow.stats.goroutines, this.#slow);
  }

  /**
   * True when 64 MiB were read, a line past the cap among them, and no
   * record yet: the input is not a trace (`/dev/zero`, a binary file), and
   * a reader may stop reading.
   */
  get notATrace(): boolean {
    return !this.#inRecord && this.#slow.notATraceAfter(this.#fed);
  }

  /** Records whose traceback came from the record cache (not parsed again). */
  get cachedRecords(): number {
    return this.#shapes.hits;
  }

  /** Of {@link cachedRecords}, those the scanner read on its own (from its record table). */
  get tableRecords(): number {
    return this.#shapes.tableHits;
  }

  /** Counts and warnings (merged from both paths). */
  get stats(): ParseStats {
    const s = this.#slow.stats;
    return { ...s, lines: this.#lines };
  }

  /**
   * True between records at the start of a line: no record, `tracegc`
   * block or line is open, so a parser started here on the rest of the
   * input reads it as this one would (see {@link absorb}).
   */
  get idle(): boolean {
    return !this.#inRecord && !this.#slowBusy() && !this.#skipping &&
      this.#carry.length === 0;
  }

  /**
   * Takes in the statistics of a parser that read the rest of the input
   * from where this one is {@link idle}: counts add up, its line numbers
   * follow ours, its cut record and creators are the later ones.
   */
  absorb(later: ParseStats): void {
    const st = this.#slow.stats;
    absorbStats(st, later, this.#lines);
    this.#lines += later.lines;
    st.lines = this.#lines;
  }

  /** Feeds the next chunk of bytes. */
  feed(chunk: Uint8Array): void {
    this.reserve(chunk.length).set(chunk);
    this.commit(chunk.length);
  }

  /**
   * A view of `n` bytes in the parser's own buffer, to read the next chunk
   * into without a copy; then call {@link commit} with the bytes read.
   */
  reserve(n: number): Uint8Array {
    // The scanner's memory holds the cut line carried over, then the chunk.
    this.#reservedAt = this.#carry.length;
    return this.#scanner.reserve(this.#carry, n);
  }

  /** Parses the `n` bytes read into the view {@link reserve} gave. */
  commit(n: number): void {
    this.#fed += n;
    const buf = this.#scanner.data(this.#reservedAt + n);
    let cache = this.#shapes.worthTrying();
    let s = 0;
    if (this.#skipping) {
      // The rest of a line past the cap (counted when it passed it).
      const nl = buf.indexOf(NL);
      if (nl < 0) {
        this.#carry = new Uint8Array(0);
        return;
      }
      this.#skipping = false;
      this.#lines++;
      s = nl + 1;
    }
    for (;;) {
      if (
        cache && !this.#inRecord && buf[s] === 116 && !this.#slowBusy()
      ) {
        // The records the scanner's table knows, then the one it stopped at.
        // (Its records would not note their creators: it is emptied when
        // one changed since.)
        if (this.#creators.changedSinceAsked()) this.#scanner.forget();
        s = this.#known(buf, s);
        if (buf[s] !== 116) continue;
        const next = this.#block(buf, s);
        if (next >= 0) {
          s = next;
          continue;
        }
        // No blank line after s in this chunk (CRLF endings, or the end of
        // the chunk): none after a later record either; stop looking.
        if (next === -2) cache = false;
      }
      const nl = buf.indexOf(NL, s);
      if (nl < 0) break;
      this.#line(buf, s, nl);
      s = nl + 1;
    }
    if (buf.length - s > this.#maxLine + 1) {
      // A line past the cap (one byte more may be its CR): keep none of it.
      this.#skipping = true;
      this.#carry = new Uint8Array(0);
      this.#note("long", this.#lines + 1);
      return;
    }
    this.#carry = buf.slice(s);
    // A function line waiting for its file line points into the scanner's
    // memory, which the next chunk overwrites.
    this.#ids.keep(buf);
  }

  /**
   * The records from `s` on that the scanner's record table knows (see
   * {@link BlockScanner.run}), emitted; returns where it stopped.
   */
  #known(buf: Uint8Array, s: number): number {
    const sc = this.#scanner;
    for (;;) {
      const k = sc.run(s, buf.length, this.#maxLine);
      if (k > 0) this.#emitKnown(k);
      s = sc.stopAt;
      if (!sc.full) return s;
    }
  }

  /** Emits the `k` events the scanner's last {@link BlockScanner.run} wrote. */
  #emitKnown(k: number): void {
    const sc = this.#scanner;
    const st = this.#slow.stats;
    const base = this.#lines;
    st.format ??= "go1.3+";
    // (Into a Worker's packer: copied in bulk, no call per event.)
    const allocs = passEvents(
      sc.events,
      BlockScanner.EVENTS,
      k,
      base,
      this.#types.list,
      this.#sink,
    );
    st.allocs += allocs;
    st.frees += k - allocs;
    this.#lines = base + sc.runLines;
    this.#shapes.tries += k;
    this.#shapes.hits += k;
    this.#shapes.tableHits += k;
    this.#ids.release();
  }

  /** Type names, numbered for the scanner's record table. */
  readonly #types = new TypeNames();

  /** Puts the record the scanner read last in its table (when its header is plain). */
  #remember(block: ShapedBlock, type: string | null): void {
    const sc = this.#scanner;
    if (sc.kind === 0) return;
    const t = this.#types.idOf(type);
    sc.remember(block.stack, block.lines + 2, block.argsAt, t, block.goroutine);
  }

  /**
   * A whole record at `s` (a header line, its goroutine line and traceback,
   * and the blank line), when all of it is in `buf`. A traceback whose
   * shape was seen before (the same names, file:line and pc=, from
   * {@link BlockScanner.scan}, which finds the record's end in the same
   * pass) is not parsed again: mallocgc's size argument is read where it
   * stands, its goroutine and stack come from the cache, so the record
   * costs its header line. A new one is parsed line by line and cached when
   * that made exactly one clean record, ended by the blank line. Returns the
   * offset after the blank line, or -1 to go line by line (-2: and there is
   * no blank line after `s` in `buf`).
   */
  #block(buf: Uint8Array, s: number): number {
    const sc = this.#scanner;
    const end = sc.scan(s, buf.length);
    if (end < 0) return -2;
    const nl1 = sc.nl1;
    // (A record this long may hold a line past the cap: line by line.)
    if (end <= nl1 || end - s > this.#maxLine) return -1;
    this.#shapes.tries++;
    const sh = this.#shapes.find(sc);
    if (sh !== undefined) {
      // mallocgc's first argument, read where the line parser reads it
      // (the scanner read the first function line's).
      const at = nl1 + 1 + sh.argsAt;
      const h = sh.argsAt < 0
        ? -1
        : sc.argsAt === at && sc.arg !== -2
        ? sc.arg
        : hexAt(buf, at, end);
      const requested = h >= 0 && h <= MAX_EXACT ? h : 0;
      const next = this.#fromCache(buf, s, nl1, end, sh, requested);
      // (A type not seen with this traceback: the table learns it too.)
      if (next >= 0) this.#remember(sh, this.#type);
      return next;
    }
    // Parse it (frames known by their line hashes, the rest line by line);
    // cache it if that made one clean record.
    const lines0 = this.#lines;
    const slow0 = this.#slowLines;
    const blank0 = this.#blankEnds;
    const warned0 = this.#warned;
    let p = this.#byFrames(buf, s, nl1, end);
    if (p < 0) {
      p = s;
      while (p <= end + 1) {
        const nl = buf.indexOf(NL, p);
        this.#line(buf, p, nl);
        p = nl + 1;
      }
    }
    if (
      this.#slowLines === slow0 && this.#blankEnds === blank0 + 1 &&
      this.#warned === warned0
    ) {
      const block = this.#shapes.add(
        this.#lines - lines0 - 2,
        this.#goroutine,
        this.#lastStack,
        this.#mallocArgsAt < 0 ? -1 : this.#mallocArgsAt - nl1 - 1,
        this.#creators.record,
      );
      if (block !== null) this.#remember(block, this.#type);
    }
    return p;
  }

  /** Frames known by their lines' hashes (the scanner's line table). */
  readonly #frameLines = new FrameLines(this.#scanner);

  /**
   * The record at `s` (header newline `nl1`, last traceback line ending at
   * `end`) when it is plain: the goroutine line, then a function line and
   * its file line per frame, no CR, nothing else. A frame whose two lines
   * hash as a known frame's (the scanner's line table) is not read again;
   * the first frame (mallocgc's size) and new ones go through the line
   * parser's own steps, so the result is the line parser's. Returns the
   * offset after the blank line, or -1 (nothing done) when the record is
   * not plain: then it is read line by line.
   */
  #byFrames(buf: Uint8Array, s: number, nl1: number, end: number): number {
    const sc = this.#scanner;
    const n = sc.lines;
    // The goroutine line, then two lines per frame.
    if (n > MAX_LINES || (n & 1) === 0 || buf[nl1 - 1] === CR) return -1;
    const g0 = nl1 + 1;
    const g1 = n > 1 ? sc.lineStart(1) - 1 : end;
    if (!startsWith(buf, g0, g1, P_GOROUTINE) || buf[g1 - 1] === CR) return -1;
    // First check that every line is what the line parser would take as it.
    if (!this.#frameLines.plain(buf, n, end)) return -1;
    const known = this.#frameLines.ids;
    this.#lines++;
    if (!this.#fastHeader(buf, s, nl1)) {
      this.#lines--;
      return -1;
    }
    // (#header is read only for a record cut off at the end; this one ends.)
    this.#lines++;
    this.#recordLine(buf, g0, g1);
    for (let i = 1; i < n; i += 2) {
      // (A frame new in the first loop may be known now: a recursion's.)
      let id = known[i >> 1];
      let key = 0;
      if (id < 0 && i > 1) {
        key = this.#frameLines.key(i);
        id = this.#frameLines.known(key);
      }
      if (id >= 0) {
        // What #fileLine does with a frame it finds.
        this.#lines += 2;
        this.#ids.push(id);
        continue;
      }
      const fs = sc.lineStart(i);
      const ls = sc.lineStart(i + 1);
      this.#lines++;
      this.#funcLine(buf, fs, ls - 1);
      this.#lines++;
      this.#fileLine(buf, ls, i + 2 < n ? sc.lineStart(i + 2) - 1 : end);
      this.#expectFile = false;
      if (i > 1) {
        this.#frameLines.remember(key, this.#ids.last);
      }
    }
    // The blank line.
    this.#lines++;
    this.#finish();
    this.#blankEnds++;
    return end + 2;
  }

  /**
   * The record at `s` whose traceback (ending at `end`) was parsed before:
   * its header is read, the rest comes from `hit`. The offset after its
   * blank line, or -1 when the header is not one (go line by line).
   */
  #fromCache(
    buf: Uint8Array,
    s: number,
    nl1: number,
    end: number,
    hit: ShapedBlock,
    requested: number,
  ): number {
    this.#lines++;
    const e = buf[nl1 - 1] === CR ? nl1 - 1 : nl1;
    const sc = this.#scanner;
    if (sc.kind !== 0) {
      // The scanner read the header (what #fastHeader accepts, with numbers a
      // double holds): only what the record's event needs is set.
      this.#slow.stats.format ??= "go1.3+";
      this.#kind = sc.kind === 1 ? "alloc" : "free";
      this.#reject = false;
      this.#addr = sc.addr;
      this.#size = sc.size;
      this.#type = sc.typeAt < 0
        ? null
        : this.#types.name(buf, sc.typeAt, e - 1);
      this.#headerLine = this.#lines;
      this.#inRecord = true;
    } else if (!this.#fastHeader(buf, s, e)) {
      this.#lines--;
      return -1;
    }
    this.#goroutine = hit.goroutine;
    this.#creators.again(hit.goroutine, hit.creators);
    this.#requested = requested;
    this.#lines += hit.lines + 1;
    this.#shapes.hits++;
    this.#emitRecord(hit.stack);
    return end + 2;
  }

  /** Ends the input (a last line without newline; a cut record is reported). */
  end(): void {
    const st = this.#slow.stats;
    const last = this.#carry;
    const lastEnd = last.length - (last[last.length - 1] === CR ? 1 : 0);
    if (this.#skipping || lastEnd > this.#maxLine) {
      // A long last line: skipped like any long line.
      if (!this.#skipping) this.#note("long", this.#lines + 1);
      this.#skipping = false;
      this.#carry = new Uint8Array(0);
      this.#lines++;
      st.lines = this.#lines;
    } else if (this.#carry.length > 0) {
      this.#carry = new Uint8Array(0);
      if (this.#inRecord) {
        this.#lines++;
        st.lines++;
        st.cut = { lineNo: this.#headerLine, header: this.#header };
        this.#inRecord = false;
        this.#slow.end();
        return;
      }
      this.#lines++;
      this.#slow.stats.lines = this.#lines - 1;
      this.#slow.feed(dec.decode(last));
      this.#slow.end();
      return;
    }
    if (this.#inRecord) {
      st.cut = { lineNo: this.#headerLine, header: this.#header };
      this.#inRecord = false;
    }
    this.#slow.end();
  }

  /** Hands the line `buf[s, nl]` (with its newline) to the embedded parser. */
  #toStringParser(buf: Uint8Array, s: number, nl: number): void {
    this.#slowLines++;
    // Keep the embedded parser's line numbers in step with ours.
    this.#slow.stats.lines = this.#lines - 1;
    this.#slow.feed(dec.decode(buf.subarray(s, nl + 1)));
  }

  /** Counts a warning (in the embedded parser's statistics, which are ours). */
  #note(kind: "foreign" | "long" | "rejected", lineNo: number): void {
    this.#warned++;
    noteAnomaly(this.#slow.stats, kind, lineNo);
  }

  /** The line `buf[s, nl)`, `nl` being its newline. */
  #line(buf: Uint8Array, s: number, nl: number): void {
    this.#lines++;
    // CRLF: the CR is part of the line ending.
    const e = nl > s && buf[nl - 1] === CR ? nl - 1 : nl;
    if (e - s > this.#maxLine) return this.#note("long", this.#lines);
    if (this.#inRecord) {
      if (this.#recordLine(buf, s, e)) return;
      // The record ended: this line starts something else.
      this.#finish();
    }
    // Idle: only plain `tracealloc(`/`tracefree(` headers take the fast path.
    const c = buf[s];
    if (c === 116 && !this.#slowBusy() && this.#fastHeader(buf, s, e)) {
      this.#header = dec.decode(buf.subarray(s, e));
      return;
    }
    this.#toStringParser(buf, s, nl);
  }

  /** The embedded parser is inside a record or a tracegc block: lines go there. */
  #slowBusy(): boolean {
    return this.#slow.busy;
  }

  /** Reads a plain `tracealloc(`/`tracefree(` header line on the fast path; false hands it to the string parser. */
  #fastHeader(buf: Uint8Array, s: number, e: number): boolean {
    const kind = headerAt(buf, s, e);
    if (kind === 0) return false;
    const addr = headerAddr;
    const size = headerSize;
    const type = headerTypeAt < 0
      ? null
      : this.#types.name(buf, headerTypeAt, e - 1);
    const st = this.#slow.stats;
    st.lines = this.#lines;
    st.format ??= "go1.3+";
    this.#inRecord = true;
    this.#kind = kind === 1 ? "alloc" : "free";
    this.#reject = addr > MAX_EXACT || size > MAX_EXACT;
    this.#addr = addr;
    this.#size = size;
    this.#type = type;
    this.#requested = 0;
    this.#goroutine = 0;
    this.#mallocArgsAt = -1;
    this.#headerLine = this.#lines;
    this.#sawGoroutine = false;
    this.#expectFile = false;
    this.#ids.begin();
    this.#afterCreatedBy = false;
    this.#creators.begin();
    return true;
  }

  /**
   * Handles a line inside a record; false when the line ends it (a blank
   * line where a file line was due, or a record header). A foreign line is
   * counted and the record goes on: the frames after it still belong to it.
   */
  #recordLine(buf: Uint8Array, s: number, e: number): boolean {
    if (!this.#sawGoroutine) {
      if (startsWith(buf, s, e, P_GOROUTINE)) {
        this.#goroutine = goroutineIdAt(buf, s, e);
        this.#sawGoroutine = true;
        return true;
      }
      if (s === e || hasHeader(buf, s, e)) return false;
      this.#note("foreign", this.#lines);
      return true;
    }
    if (s === e) {
      if (this.#expectFile) return false;
      this.#finish();
      this.#blankEnds++;
      return true;
    }
    const c = buf[s];
    if (this.#afterCreatedBy) {
      // Its file line; a foreign line before it leaves it due.
      this.#afterCreatedBy = false;
      if (c === TAB) return true;
      if (hasHeader(buf, s, e)) return false;
      if (this.#funcLine(buf, s, e)) return true;
      this.#afterCreatedBy = true;
      this.#note("foreign", this.#lines);
      return true;
    }
    if (this.#expectFile) {
      if (c === TAB) {
        this.#fileLine(buf, s, e);
        this.#expectFile = false;
        return true;
      }
      if (hasHeader(buf, s, e)) return false;
      this.#note("foreign", this.#lines);
      // A line that starts a frame: the function line before had no file line.
      this.#expectFile = false;
      if (!this.#funcLine(buf, s, e)) this.#expectFile = true;
      return true;
    }
    if (hasHeader(buf, s, e)) return false;
    // A file line without its function, or a foreign line.
    if (!this.#funcLine(buf, s, e)) this.#note("foreign", this.#lines);
    return true;
  }

  /**
   * A line where a function line may stand: a function line `name(args)`
   * (its file line comes next), `created by …`, or the elided-frames note.
   * False for anything else. A function's name has no space.
   */
  #funcLine(buf: Uint8Array, s: number, e: number): boolean {
    const c = buf[s];
    if (c === TAB) return false;
    if (c === 99 /* c */ && startsWith(buf, s, e, P_CREATED)) {
      this.#creators.note(this.#goroutine, dec.decode(buf.subarray(s, e)));
      this.#afterCreatedBy = true;
      return true;
    }
    if (c === 46 /* . */ && startsWith(buf, s, e, P_ELIDED)) return true;
    const open = funcOpenAt(buf, s, e);
    if (open < 0) return false;
    this.#ids.funcLine(buf, s, open, e);
    // The first frame's first argument is mallocgc's requested size (taken
    // when its file line arrives, as the string parser does).
    this.#pendingRequested = -1;
    if (
      this.#ids.depth === 0 && open - s === P_MALLOCGC.length &&
      startsWith(buf, s, open, P_MALLOCGC)
    ) {
      this.#mallocArgsAt = open + 1;
      const h = hexAt(buf, open + 1, e);
      if (h >= 0 && h <= MAX_EXACT) this.#pendingRequested = h;
    }
    this.#expectFile = true;
    return true;
  }

  #fileLine(buf: Uint8Array, s: number, e: number): void {
    if (this.#pendingRequested >= 0) {
      this.#requested = this.#pendingRequested;
      this.#pendingRequested = -1;
    }
    this.#ids.fileLine(buf, s, e);
  }

  #finish(): void {
    if (this.#reject) return this.#emitRecord(-1);
    const stack = this.#ids.stack();
    this.#lastStack = stack;
    this.#emitRecord(stack);
    this.#ids.release();
  }

  /** Emits the record whose header and goroutine were read, with `stack`. */
  #emitRecord(stack: number): void {
    this.#ids.release();
    if (this.#reject) {
      // A size or address past 2^53: a warning, not a figure.
      this.#inRecord = false;
      return this.#note("rejected", this.#headerLine);
    }
    emitRecord(this.#slow.stats, this.#emit, {
      kind: this.#kind,
      addr: this.#addr,
      size: this.#size,
      type: this.#type,
      requested: this.#requested,
      goroutine: this.#goroutine,
      stack,
      lineNo: this.#headerLine,
    });
    this.#inRecord = false;
  }
}
