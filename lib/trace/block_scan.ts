/**
 * A WebAssembly scanner for allocfreetrace records: in one pass from a
 * record's header line it finds the end of the header line and the blank
 * line that ends the record, and hashes the shape of the traceback in
 * between (two 64-bit hashes; arguments, offsets and frame pointers left
 * out), finding each line's newline, first space and last `(` or `=` 16
 * bytes at a step and hashing 8 bytes at a step. {@link ByteTraceParser}
 * uses it to recognise a traceback it has parsed before without looking at
 * its lines: in a real trace nearly every record repeats one of a few
 * thousand stacks.
 *
 * Its second function, `run` (`_record_run.ts`), reads on from record to
 * record while a table the parser filled knows each one's shape and type,
 * and writes their events itself: then JavaScript sees only the records
 * that are new.
 *
 * The module is assembled here from its two functions' instructions
 * (`_scan_func.ts`, `_record_run.ts`, about 2 KB with `_wasm.ts`), so there
 * is no build step and no binary in the repository. Bytes are found with
 * the SIMD compare `i8x16.eq` and `i8x16.bitmask`: one bit per byte of 16,
 * the first found with `ctz`, the last with `clz`.
 *
 * @module
 */

import { I32, name, section, uleb, vec } from "./_wasm.ts";
import {
  OUT,
  OUT_MAX,
  rememberRecord,
  runFunc,
  SLOTS,
  TABLE,
} from "./_record_run.ts";
import { LINE_TABLE, MAX_LINES, scanFunc } from "./_scan_func.ts";

export { MAX_LINES };

/** The module's bytes (assembled in cold code: a few ms, so only when no compiled module was handed over). */
const _assemble = (
  scan = scanFunc(),
  run = runFunc(),
): Uint8Array<ArrayBuffer> =>
  new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(
      1,
      vec([
        [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])],
        [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])],
      ]),
    ),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vec([
        [...name("scan"), 0x00, 0],
        [...name("run"), 0x00, 1],
        [...name("memory"), 0x02, 0],
      ]),
    ),
    ...section(
      10,
      vec([
        [...uleb(scan.length), ...scan],
        [...uleb(run.length), ...run],
      ]),
    ),
  ]);

let compiled: WebAssembly.Module | null = null;

/**
 * The scanner's compiled module, assembled and compiled on first use in
 * this thread. A Worker that scans too can be handed it (a
 * `WebAssembly.Module` crosses `postMessage`) and {@link useScannerModule}
 * it: then it neither assembles nor compiles the module again.
 *
 * @example
 * ```ts
 * import { scannerModule } from "./block_scan.ts";
 * const m = scannerModule();
 * if (m !== scannerModule() || !WebAssembly.Module.exports(m).some((e) => e.name === "run")) throw new Error();
 * ```
 */
export function scannerModule(): WebAssembly.Module {
  return compiled ??= new WebAssembly.Module(_assemble());
}

/**
 * Makes this thread's scanners use `m`, a module {@link scannerModule}
 * gave in another thread (before the first scanner here is made).
 *
 * @example
 * ```ts
 * import { scannerModule, useScannerModule } from "./block_scan.ts";
 * useScannerModule(scannerModule());
 * ```
 */
export function useScannerModule(m: WebAssembly.Module): void {
  compiled = m;
}

/** Where the data starts in the scanner's memory (below: its results, the line table, the record table and `run`'s events). */
export const DATA_OFFSET = OUT + 64 * OUT_MAX;

/** One scanner: its own memory, into which the bytes to scan are copied. */
export class BlockScanner {
  readonly #memory: WebAssembly.Memory;
  readonly #scan: (p: number, limit: number) => number;
  #u8: Uint8Array;
  #i32: Int32Array;
  #f64: Float64Array;
  /** The header line's newline (offset in the data) of the last hit. */
  nl1 = 0;
  /**
   * The last hit's header, when it is the plain `tracealloc(0xADDR, 0xSIZE[,
   * TYPE])` or `tracefree(0xADDR, 0xSIZE)` with at most 13 hex digits per
   * number: 1 for tracealloc, 2 for tracefree; else 0 (left to the caller).
   */
  kind = 0;
  /** Its address. */
  addr = 0;
  /** Its size. */
  size = 0;
  /** Where its type name starts (offset in the data), -1 when it has none. */
  typeAt = -1;
  /** Where the first function line's arguments start (offset in the data), -1 when that line is not one. */
  argsAt = -1;
  /** The hex number that starts them: -1 when none, -2 when past 13 digits. */
  arg = -1;
  /** The low 32 bits of the first shape hash of the last hit. */
  s1lo = 0;
  /** The high 32 bits of the first shape hash of the last hit. */
  s1hi = 0;
  /** The low 32 bits of the second shape hash of the last hit. */
  s2lo = 0;
  /**
   * The traceback lines of the last hit (the goroutine line first; the
   * header and blank lines not counted). The first {@link MAX_LINES} are in
   * the line table ({@link lineStart}, {@link lineHash}).
   */
  lines = 0;

  /** Where the last {@link run} stopped (offset in the data). */
  stopAt = 0;
  /** Whether it stopped because it wrote {@link OUT_MAX} events. */
  full = false;
  /** The lines it went past. */
  runLines = 0;
  /** Entries in the record table. */
  #entries = 0;
  /** Where the last {@link run} stopped after `scan` read the record there (-1: it did not), the data's length then, and what `scan` returned. */
  #scannedAt = -1;
  #scannedN = 0;
  #scannedE = 0;
  readonly #run: (
    p: number,
    limit: number,
    outMax: number,
    maxLine: number,
  ) => number;

  constructor() {
    const inst = new WebAssembly.Instance(scannerModule());
    this.#memory = inst.exports.memory as WebAssembly.Memory;
    this.#scan = inst.exports.scan as (p: number, limit: number) => number;
    this.#run = inst.exports.run as (
      p: number,
      limit: number,
      outMax: number,
      maxLine: number,
    ) => number;
    this.#u8 = new Uint8Array(this.#memory.buffer);
    this.#i32 = new Int32Array(this.#memory.buffer);
    this.#f64 = new Float64Array(this.#memory.buffer);
  }

  /**
   * Copies `head` to the start of the data and returns a view of the `n`
   * bytes after it, for the caller to fill (valid until the next call).
   */
  reserve(head: Uint8Array, n: number): Uint8Array {
    this.#scannedAt = -1;
    const need = DATA_OFFSET + head.length + n + 16;
    if (need > this.#memory.buffer.byteLength) {
      this.#memory.grow(
        Math.ceil((need - this.#memory.buffer.byteLength) / 65536),
      );
      this.#u8 = new Uint8Array(this.#memory.buffer);
      this.#i32 = new Int32Array(this.#memory.buffer);
      this.#f64 = new Float64Array(this.#memory.buffer);
    }
    this.#u8.set(head, DATA_OFFSET);
    const at = DATA_OFFSET + head.length;
    return this.#u8.subarray(at, at + n);
  }

  /** The first `n` bytes of the data. */
  data(n: number): Uint8Array {
    return this.#u8.subarray(DATA_OFFSET, DATA_OFFSET + n);
  }

  /**
   * For the record whose header starts at `s` in the loaded data of length
   * `n`: the offset of the newline that ends its last traceback line (the
   * blank line follows), or -1 when the record does not end inside the data.
   * Sets {@link nl1} and the shape hash of the traceback ({@link s1lo},
   * {@link s1hi}, {@link s2lo}): equal for the tracebacks of calls from the
   * same stack, whatever their arguments and frame pointers.
   */
  scan(s: number, n: number): number {
    // (The record `run` stopped at was read there: its results are in place.)
    const e = s === this.#scannedAt && n === this.#scannedN
      ? this.#scannedE
      : this.#scan(DATA_OFFSET + s, DATA_OFFSET + n);
    this.#scannedAt = -1;
    if (e < 0) return -1;
    const r = this.#i32;
    this.nl1 = r[0] - DATA_OFFSET;
    this.s1lo = r[6];
    this.s1hi = r[7];
    this.s2lo = r[8];
    this.lines = r[1];
    const kind = r[10];
    this.kind = kind;
    if (kind !== 0) {
      const f = this.#f64;
      this.addr = f[6];
      this.size = f[7];
      this.typeAt = r[11] < 0 ? -1 : r[11] - DATA_OFFSET;
    }
    this.argsAt = r[16] < 0 ? -1 : r[16] - DATA_OFFSET;
    if (this.argsAt >= 0) this.arg = this.#f64[9];
    return e - DATA_OFFSET;
  }

  /**
   * Reads the records from `s` in the loaded data of length `n` while
   * their header is plain and the record table knows their key (see
   * {@link remember}), at most {@link OUT_MAX}: their events are in
   * {@link events}, 8 numbers each (kind: 0 alloc, 1 free; addr, size,
   * type id (-1: none), requested, goroutine, stack, and the header's line
   * counted from 1 after `s`). Returns how many; sets {@link stopAt},
   * {@link full} and {@link runLines}. Records past `maxLine` bytes are
   * left to the caller.
   */
  run(s: number, n: number, maxLine: number): number {
    if (this.#entries === 0) {
      // An empty table knows no record: none read, nothing scanned.
      this.stopAt = s;
      this.full = false;
      this.runLines = 0;
      this.#scannedAt = -1;
      return 0;
    }
    const k = this.#run(DATA_OFFSET + s, DATA_OFFSET + n, OUT_MAX, maxLine);
    const r = this.#i32;
    this.stopAt = r[24] - DATA_OFFSET;
    this.full = r[25] === 1;
    this.runLines = k === 0 ? 0 : r[26];
    this.#scannedAt = r[28] === 1 ? this.stopAt : -1;
    this.#scannedN = n;
    this.#scannedE = r[27];
    return k;
  }

  /** The events of the last {@link run} (valid until the next call). */
  get events(): Float64Array {
    return this.#f64;
  }

  /** Where the events of the last {@link run} start in {@link events}. */
  static readonly EVENTS = OUT / 8;

  /**
   * Puts the key of the last record {@link scan} read (with a plain header)
   * in the record table, with what {@link run} emits for a record of that
   * key: its stack, its lines (header and blank line included), where
   * mallocgc's size argument stands after the header's newline (-1: none),
   * its type's id (-1: none) and goroutine. False when the table is full
   * or the key is there.
   */
  remember(
    stack: number,
    lines: number,
    argsAt: number,
    typeId: number,
    goroutine: number,
  ): boolean {
    if (
      !rememberRecord(this.#i32, this.#f64, this.#entries, [
        stack,
        lines,
        argsAt,
        typeId,
      ], goroutine)
    ) return false;
    this.#entries++;
    return true;
  }

  /** Empties the record table (see {@link remember}). */
  forget(): void {
    if (this.#entries === 0) return;
    this.#i32.fill(0, TABLE >> 2, (TABLE >> 2) + 16 * SLOTS);
    this.#entries = 0;
  }

  /** Where traceback line `i` (< {@link MAX_LINES}) of the last hit starts (offset in the data). */
  lineStart(i: number): number {
    return this.#i32[(LINE_TABLE >> 2) + 4 * i] - DATA_OFFSET;
  }

  /**
   * Word `w` (0–2) of traceback line `i`'s own hash: what the shape hash
   * keeps of that line (so equal for two lines exactly when their shapes
   * are; see {@link scan}).
   */
  lineHash(i: number, w: number): number {
    return this.#i32[(LINE_TABLE >> 2) + 4 * i + 1 + w];
  }
}
