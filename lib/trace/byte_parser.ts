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
import { grown } from "../runtime/grow.ts";
import { unpackEvents } from "./event_batch.ts";
import {
  type EventSink,
  type Frame,
  sinkOf,
  StackTable,
  type TraceEvent,
} from "./events.ts";
import {
  emitRecord,
  hexDigit,
  MAX_EXACT,
  MAX_LINE,
  noteAnomaly,
  noteCreatedBy,
  type ParserOptions,
  type ParseStats,
  TraceParser,
} from "./parser.ts";

const NL = 10;
const CR = 13;
const TAB = 9;
const SP = 32;
const LPAREN = 40;

const dec = new TextDecoder();

/** Bytes of the record headers the fast path recognises. */
const P_ALLOC = new TextEncoder().encode("tracealloc(");
const P_FREE = new TextEncoder().encode("tracefree(");
const P_GOROUTINE = new TextEncoder().encode("goroutine ");
const P_GC = new TextEncoder().encode("tracegc()");
const P_MALLOC = new TextEncoder().encode("MProf_Malloc(");
const P_MFREE = new TextEncoder().encode("MProf_Free(");
const P_CREATED = new TextEncoder().encode("created by ");
const P_ELIDED = new TextEncoder().encode("...additional frames elided...");
const P_MALLOCGC = new TextEncoder().encode("runtime.mallocgc");

function startsWith(
  buf: Uint8Array,
  s: number,
  e: number,
  p: Uint8Array,
): boolean {
  if (e - s < p.length) return false;
  for (let i = 0; i < p.length; i++) if (buf[s + i] !== p[i]) return false;
  return true;
}

/**
 * True when a record header starts somewhere in `buf[s, e)` (program output
 * may run into one): it ends a record, as in {@link TraceParser}.
 */
function hasHeader(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c === 116 /* t */) {
      if (
        startsWith(buf, i, e, P_ALLOC) || startsWith(buf, i, e, P_FREE) ||
        startsWith(buf, i, e, P_GC)
      ) return true;
    } else if (c === 77 /* M */) {
      if (startsWith(buf, i, e, P_MALLOC) || startsWith(buf, i, e, P_MFREE)) {
        return true;
      }
    }
  }
  return false;
}

/** The second hash of the last {@link hashRange} (no object per call). */
let lastHash2 = 0;

/** Two independent 32-bit hashes of a byte range (FNV-1a, returned, and a multiply-rotate one, left in `lastHash2`). */
function hashRange(
  buf: Uint8Array,
  s: number,
  e: number,
  h: number,
  h2: number,
): number {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    h = Math.imul(h ^ c, 0x01000193);
    h2 = Math.imul((h2 << 5) | (h2 >>> 27), 0x9e3779b1) ^ c;
  }
  lastHash2 = h2;
  return h;
}

/** The value of each byte as a hex digit, -1 for the others. */
const HEX_VALUE = Int8Array.from({ length: 256 }, (_, c) => hexDigit(c));

/** Where the digits read by the last {@link hexAt} ended. */
let lastHexEnd = 0;

/**
 * Parses `0x…` hex digits at `s` (up to a non-hex byte); -1 when there are
 * none. The end of the digits is left in `lastHexEnd` (no object per call).
 */
function hexAt(buf: Uint8Array, s: number, e: number): number {
  lastHexEnd = s;
  if (buf[s] !== 48 || buf[s + 1] !== 120) return -1;
  let v = 0;
  let i = s + 2;
  const start = i;
  for (; i < e; i++) {
    const d = HEX_VALUE[buf[i]];
    if (d < 0) break;
    v = v * 16 + d;
  }
  lastHexEnd = i;
  return i === start ? -1 : v;
}

/** Tracebacks the record cache keeps, at most (it stops growing then). */
const BLOCK_CACHE_MAX = 200_000;

/** What parsing a traceback gave: its lines, goroutine and stack. */
interface ParsedBlock {
  lines: number;
  goroutine: number;
  stack: number;
}

/** A traceback seen before by shape: where mallocgc's size argument stands (-1: none). */
interface ShapedBlock extends ParsedBlock {
  check: number;
  check2: number;
  argsAt: number;
}

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
  #funcHash = 0;
  #pendingRequested = -1;
  /** Where the first frame's mallocgc arguments start, or -1. */
  #mallocArgsAt = -1;
  #funcHash2 = 0;
  #funcStart = 0;
  #funcEnd = 0;
  #funcInlined = false;
  #funcBuf: Uint8Array | null = null;
  #frameIds: number[] = [];
  #rh1 = 0;
  #rh2 = 0;
  #afterCreatedBy = false;
  // Frame and stack caches.
  readonly #frames: Frame[] = [];
  readonly #frameByHash = new Map<number, number>();
  readonly #stackByHash = new Map<
    number,
    { ids: Int32Array; stack: number }[]
  >();
  #lines = 0;
  /** Record cache (see #block): tracebacks by shape (arguments and frame pointers left out). */
  readonly #shapes = new Map<number, ShapedBlock>();
  readonly #scanner = new BlockScanner();
  #reservedAt = 0;
  #blockTries = 0;
  #blockHits = 0;
  #tableHits = 0;
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
    this.#maxLine = opts.maxLine ?? MAX_LINE;
    this.#slow = new TraceParser(emit, stacks, opts);
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
    return this.#blockHits;
  }

  /** Of {@link cachedRecords}, those the scanner read on its own (from its record table). */
  get tableRecords(): number {
    return this.#tableHits;
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
    const base = this.#lines;
    st.allocs += later.allocs;
    st.frees += later.frees;
    st.gcs += later.gcs;
    for (
      const kind of [
        "unparsed",
        "foreign",
        "long",
        "rejected",
        "unendedGc",
      ] as const
    ) {
      const lines = later[`${kind}Lines`];
      for (const n of lines) noteAnomaly(st, kind, base + n);
      st[kind] += later[kind] - lines.length;
    }
    if (later.cut !== null) {
      st.cut = { lineNo: base + later.cut.lineNo, header: later.cut.header };
    }
    st.format ??= later.format;
    // A creator printed again later replaces the earlier one, in place.
    for (const [id, g] of later.goroutines) st.goroutines.set(id, g);
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
    // The record cache is given up when fewer than 1 in 4 of the first
    // 10,000 records hit (every traceback different: nothing to gain).
    let cache = this.#blockTries < 10_000 ||
      this.#blockHits * 4 > this.#blockTries;
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
    if (this.#funcBuf === buf) {
      this.#funcBuf = buf.slice(this.#funcStart, this.#funcEnd);
      this.#funcEnd -= this.#funcStart;
      this.#funcStart = 0;
    }
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
    const allocs = unpackEvents(
      sc.events,
      BlockScanner.EVENTS,
      k,
      base,
      this.#typeList,
      null,
      this.#sink,
    );
    st.allocs += allocs;
    st.frees += k - allocs;
    this.#lines = base + sc.runLines;
    this.#blockTries += k;
    this.#blockHits += k;
    this.#tableHits += k;
    this.#funcBuf = null;
  }

  /** Type names by id, for the scanner's record table. */
  readonly #typeList: string[] = [];
  readonly #typeIds = new Map<string, number>();

  /** Puts the record the scanner read last in its table (when its header is plain). */
  #remember(block: ShapedBlock, type: string | null): void {
    const sc = this.#scanner;
    if (sc.kind === 0) return;
    let t = -1;
    if (type !== null) {
      t = this.#typeIds.get(type) ?? -1;
      if (t < 0) {
        t = this.#typeList.length;
        this.#typeList.push(type);
        this.#typeIds.set(type, t);
      }
    }
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
    // A small-integer key (no boxed number per lookup); the rest of the
    // 96 bits is checked.
    const skey = sc.s1lo & 0x3fffffff;
    const shapeCheck = sc.s2lo;
    const shapeCheck2 = sc.s1hi;
    this.#blockTries++;
    const sh = this.#shapes.get(skey);
    if (
      sh !== undefined && sh.check === shapeCheck && sh.check2 === shapeCheck2
    ) {
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
      this.#warned === warned0 && sh === undefined &&
      this.#shapes.size < BLOCK_CACHE_MAX
    ) {
      const block: ShapedBlock = {
        lines: this.#lines - lines0 - 2,
        goroutine: this.#goroutine,
        stack: this.#lastStack,
        check: shapeCheck,
        check2: shapeCheck2,
        argsAt: this.#mallocArgsAt < 0 ? -1 : this.#mallocArgsAt - nl1 - 1,
      };
      this.#shapes.set(skey, block);
      this.#remember(block, this.#type);
    }
    return p;
  }

  /** Frames by the scanner's hashes of their two lines: the key's other words, then the frame id (5 numbers each). */
  readonly #frameByLines = new Map<number, number>();
  #frameChecks = new Int32Array(5 * 256);
  #frameCount = 0;

  /**
   * The scanner's key of the frame whose function line is traceback line
   * `i` (its file line next): a small integer, its other words left in
   * {@link #frameCheck}.
   */
  #frameKey(i: number): number {
    const sc = this.#scanner;
    const a = sc.lineHash(i, 0);
    const b = sc.lineHash(i + 1, 0);
    const c = this.#frameCheck;
    c[0] = sc.lineHash(i, 1);
    c[1] = sc.lineHash(i, 2);
    c[2] = sc.lineHash(i + 1, 1);
    c[3] = sc.lineHash(i + 1, 2);
    return (a ^ Math.imul(b, 0x9e3779b1)) & 0x3fffffff;
  }

  readonly #frameCheck = new Int32Array(4);
  /** The frame ids {@link #byFrames} found by their lines' hashes, by frame (-1: new). */
  readonly #knownIds = new Int32Array(MAX_LINES / 2 + 1);

  /** The frame id of the key {@link #frameKey} made, or -1. */
  #knownFrame(key: number): number {
    const at = this.#frameByLines.get(key);
    if (at === undefined) return -1;
    const fc = this.#frameChecks;
    const c = this.#frameCheck;
    return fc[at] === c[0] && fc[at + 1] === c[1] && fc[at + 2] === c[2] &&
        fc[at + 3] === c[3]
      ? fc[at + 4]
      : -1;
  }

  #rememberFrame(key: number, id: number): void {
    if (this.#frameByLines.has(key)) return;
    const at = this.#frameCount * 5;
    if (at + 5 > this.#frameChecks.length) {
      this.#frameChecks = grown(
        this.#frameChecks,
        this.#frameChecks.length * 2,
      );
    }
    this.#frameChecks.set(this.#frameCheck, at);
    this.#frameChecks[at + 4] = id;
    this.#frameCount++;
    this.#frameByLines.set(key, at);
  }

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
    const known = this.#knownIds;
    for (let i = 1; i < n; i += 2) {
      const fs = sc.lineStart(i);
      const ls = sc.lineStart(i + 1);
      const fe = ls - 1;
      const le = i + 2 < n ? sc.lineStart(i + 2) - 1 : end;
      if (
        buf[fs] === TAB || buf[ls] !== TAB || buf[fe - 1] === CR ||
        buf[le - 1] === CR
      ) return -1;
      const id = i > 1 ? this.#knownFrame(this.#frameKey(i)) : -1;
      known[i >> 1] = id;
      // (A known name followed by `()` may end in `tracegc()`: a header.)
      if (id >= 0 && buf[fe - 2] !== LPAREN) continue;
      if (!this.#plainFuncLine(buf, fs, fe)) return -1;
    }
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
        key = this.#frameKey(i);
        id = this.#knownFrame(key);
      }
      if (id >= 0) {
        // What #fileLine does with a frame it finds.
        this.#lines += 2;
        this.#frameIds.push(id);
        this.#rh1 = Math.imul(this.#rh1 ^ id, 0x01000193);
        this.#rh2 = Math.imul(this.#rh2 + id + 1, 0x5bd1e995) ^
          (this.#rh2 >>> 15);
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
        this.#rememberFrame(key, this.#frameIds[this.#frameIds.length - 1]);
      }
    }
    // The blank line.
    this.#lines++;
    this.#finish();
    this.#blankEnds++;
    return end + 2;
  }

  /** True when the line parser takes `buf[s, e)` as a plain function line `name(args)` (not `created by`, elision or a header). */
  #plainFuncLine(buf: Uint8Array, s: number, e: number): boolean {
    if (e <= s || buf[e - 1] !== 41 /* ) */ || hasHeader(buf, s, e)) {
      return false;
    }
    if (startsWith(buf, s, e, P_CREATED) || startsWith(buf, s, e, P_ELIDED)) {
      return false;
    }
    const open = buf.lastIndexOf(LPAREN, e - 1);
    if (open <= s) return false;
    for (let i = s; i < open; i++) if (buf[i] === SP) return false;
    return true;
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
    hit: ParsedBlock,
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
      this.#type = sc.typeAt < 0 ? null : this.#typeName(buf, sc.typeAt, e - 1);
      this.#headerLine = this.#lines;
      this.#inRecord = true;
    } else if (!this.#fastHeader(buf, s, e)) {
      this.#lines--;
      return -1;
    }
    this.#goroutine = hit.goroutine;
    this.#requested = requested;
    this.#lines += hit.lines + 1;
    this.#blockHits++;
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

  readonly #typeNames = new Map<number, { bytes: Uint8Array; name: string }>();

  /** The type name in `buf[s, e)`, decoded once per distinct name. */
  #typeName(buf: Uint8Array, s: number, e: number): string {
    const h = hashRange(buf, s, e, 0x811c9dc5, 0x27d4eb2f);
    const hit = this.#typeNames.get(h);
    if (hit !== undefined && hit.bytes.length === e - s) {
      let same = true;
      for (let i = 0; i < hit.bytes.length; i++) {
        if (hit.bytes[i] !== buf[s + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.name;
    }
    const name = dec.decode(buf.subarray(s, e));
    if (this.#typeNames.size < 100_000) {
      this.#typeNames.set(h, { bytes: buf.slice(s, e), name });
    }
    return name;
  }

  /** Reads a plain `tracealloc(`/`tracefree(` header line on the fast path; false hands it to the string parser. */
  #fastHeader(buf: Uint8Array, s: number, e: number): boolean {
    const isAlloc = startsWith(buf, s, e, P_ALLOC);
    if (!isAlloc && !startsWith(buf, s, e, P_FREE)) return false;
    if (buf[e - 1] !== 41 /* ) */) return false;
    let i = s + (isAlloc ? P_ALLOC.length : P_FREE.length);
    const addr = hexAt(buf, i, e);
    if (addr < 0 || buf[lastHexEnd] !== 44 || buf[lastHexEnd + 1] !== SP) {
      return false;
    }
    i = lastHexEnd + 2;
    const size = hexAt(buf, i, e);
    if (size < 0) return false;
    const zEnd = lastHexEnd;
    let type: string | null = null;
    if (zEnd === e - 1) {
      type = null;
    } else if (isAlloc && buf[zEnd] === 44 && buf[zEnd + 1] === SP) {
      type = this.#typeName(buf, zEnd + 2, e - 1);
    } else return false;
    if (!isAlloc && type !== null) return false;
    const st = this.#slow.stats;
    st.lines = this.#lines;
    st.format ??= "go1.3+";
    this.#inRecord = true;
    this.#kind = isAlloc ? "alloc" : "free";
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
    this.#frameIds = [];
    this.#rh1 = 0x811c9dc5;
    this.#rh2 = 0x1234567;
    this.#afterCreatedBy = false;
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
        // The id runs to the next space; anything but digits there makes it 0.
        let id = 0;
        let i = s + P_GOROUTINE.length;
        for (; i < e; i++) {
          const c = buf[i];
          if (c === SP) break;
          if (c < 48 || c > 57) {
            id = 0;
            while (i < e && buf[i] !== SP) i++;
            break;
          }
          id = id * 10 + (c - 48);
        }
        this.#goroutine = id <= MAX_EXACT ? id : 0;
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
      noteCreatedBy(
        this.#slow.stats.goroutines,
        this.#goroutine,
        dec.decode(buf.subarray(s, e)),
      );
      this.#afterCreatedBy = true;
      return true;
    }
    if (c === 46 /* . */ && startsWith(buf, s, e, P_ELIDED)) return true;
    if (buf[e - 1] !== 41 /* ) */) return false;
    const open = buf.lastIndexOf(LPAREN, e - 1);
    if (open <= s) return false;
    const sp = buf.indexOf(SP, s);
    if (sp >= 0 && sp < open) return false;
    this.#funcStart = s;
    this.#funcEnd = open;
    this.#funcHash = hashRange(buf, s, open, 0x811c9dc5, 0x27d4eb2f);
    this.#funcHash2 = lastHash2;
    this.#funcInlined = e - open === 5 && buf[open + 1] === 46 &&
      buf[open + 2] === 46 && buf[open + 3] === 46;
    this.#funcBuf = buf;
    // The first frame's first argument is mallocgc's requested size (taken
    // when its file line arrives, as the string parser does).
    this.#pendingRequested = -1;
    if (
      this.#frameIds.length === 0 && open - s === P_MALLOCGC.length &&
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
    let sp = buf.indexOf(SP, s + 1);
    if (sp < 0 || sp > e) sp = e;
    let h = hashRange(
      buf,
      s + 1,
      sp,
      this.#funcHash ^ (this.#funcInlined ? 0x5bd1e995 : 0),
      this.#funcHash2,
    );
    let h2 = lastHash2;
    // The pc= value (the last field) is part of a frame, as the string parser keeps it.
    let pc = 0;
    if (sp < e) {
      const eq = buf.lastIndexOf(61, /* = */ e - 1);
      if (
        eq > sp && buf[eq - 1] === 99 && buf[eq - 2] === 112 &&
        buf[eq - 3] === SP
      ) {
        const x = hexAt(buf, eq + 1, e);
        if (x >= 0) pc = x;
        h = Math.imul(h ^ (pc >>> 0), 0x01000193);
        h2 = Math.imul(h2 ^ Math.floor(pc / 4294967296), 0x9e3779b1);
      }
    }
    const key = (h >>> 0) * 2097152 + (h2 & 0x1fffff);
    let id = this.#frameByHash.get(key);
    if (id === undefined) {
      const fb = this.#funcBuf!;
      const loc = dec.decode(buf.subarray(s + 1, sp));
      const colon = loc.lastIndexOf(":");
      const f: Frame = {
        func: dec.decode(fb.subarray(this.#funcStart, this.#funcEnd)),
        file: colon < 0 ? loc : loc.slice(0, colon),
        line: colon < 0 ? 0 : Number(loc.slice(colon + 1)) || 0,
        pc,
        inlined: this.#funcInlined,
      };
      id = this.#frames.length;
      this.#frames.push(f);
      this.#frameByHash.set(key, id);
    }
    this.#frameIds.push(id);
    this.#rh1 = Math.imul(this.#rh1 ^ id, 0x01000193);
    this.#rh2 = Math.imul(this.#rh2 + id + 1, 0x5bd1e995) ^ (this.#rh2 >>> 15);
  }

  #finish(): void {
    if (this.#reject) return this.#emitRecord(-1);
    const ids = this.#frameIds;
    const key = (this.#rh1 ^ Math.imul(this.#rh2, 31) ^ ids.length) | 0;
    let list = this.#stackByHash.get(key);
    let stack = -1;
    if (list !== undefined) {
      for (const cand of list) {
        if (cand.ids.length !== ids.length) continue;
        let same = true;
        for (let i = 0; i < ids.length; i++) {
          if (cand.ids[i] !== ids[i]) {
            same = false;
            break;
          }
        }
        if (same) {
          stack = cand.stack;
          break;
        }
      }
    } else {
      list = [];
      this.#stackByHash.set(key, list);
    }
    if (stack < 0) {
      stack = this.stacks.intern(ids.map((i) => this.#frames[i]));
      list.push({ ids: Int32Array.from(ids), stack });
    }
    this.#lastStack = stack;
    this.#emitRecord(stack);
    this.#funcBuf = null;
  }

  /** Emits the record whose header and goroutine were read, with `stack`. */
  #emitRecord(stack: number): void {
    this.#funcBuf = null;
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
