/**
 * A WebAssembly scanner for allocfreetrace records, 8 bytes at a step: from
 * a record's header line it finds the end of the header line and the blank
 * line that ends the record, and hashes the traceback in between (two
 * independent 64-bit hashes and the length). {@link ByteTraceParser} uses it
 * to recognise a traceback it has parsed before without looking at its
 * lines: in a real trace most records repeat a few thousand distinct
 * tracebacks.
 *
 * The module is assembled here from its instructions (about 300 bytes), so
 * there is no build step and no binary in the repository. Newlines are found
 * with the exact SWAR zero-byte test: for `y = x ^ 0x0a…0a`, the byte is
 * `0x80` in `~(((y & 0x7f…7f) + 0x7f…7f) | y | 0x7f…7f)` exactly where the
 * byte of `x` is `\n`.
 *
 * @module
 */

// ---- a little WebAssembly encoder ----

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

const sleb = (n: bigint): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};

const section = (id: number, body: number[]): number[] => [
  id,
  ...uleb(body.length),
  ...body,
];

const vec = (items: number[][]): number[] => [
  ...uleb(items.length),
  ...items.flat(),
];

const name = (s: string): number[] => [
  ...uleb(s.length),
  ...new TextEncoder().encode(s),
];

const I32 = 0x7f;
const I64 = 0x7e;

// Instructions.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (n: number) => [0x41, ...sleb(BigInt(n))];
const i64c = (n: bigint) => [0x42, ...sleb(BigInt.asIntN(64, n))];
const load64 = (offset: number) => [0x29, 0x00, ...uleb(offset)]; // i64.load align=1
const simd = (code: number) => [0xfd, ...uleb(code)];
const v128load = [...simd(0x00), 0x00, 0x00]; // align=1 offset=0
const v128const = (
  byte: number,
) => [...simd(0x0c), ...new Array(16).fill(byte)];
const store64 = (offset: number) => [0x37, 0x03, ...uleb(offset)];
const store32 = (offset: number) => [0x36, 0x02, ...uleb(offset)];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const ELSE = [0x05];
const END = [0x0b];
const br = (d: number) => [0x0c, ...uleb(d)];
const brIf = (d: number) => [0x0d, ...uleb(d)];
const RETURN = [0x0f];
const op = {
  i32eqz: 0x45,
  i32geU: 0x4f,
  i32add: 0x6a,
  i32sub: 0x6b,
  i32mul: 0x6c,
  i32and: 0x71,
  i32ctz: 0x68,
  i32ltU: 0x49,
  i32eq: 0x46,
  i32ne: 0x47,
  i32gtU: 0x4b,
  i32leU: 0x4d,
  i32or: 0x72,
  i32shrU: 0x76,
  i32wrap: 0xa7,
  i64eqz: 0x50,
  i64ne: 0x52,
  i64ctz: 0x7a,
  i64add: 0x7c,
  i64sub: 0x7d,
  i64mul: 0x7e,
  i64and: 0x83,
  i64or: 0x84,
  i64xor: 0x85,
  i64shl: 0x86,
  i64shrU: 0x88,
  i64rotl: 0x89,
  i64extendU: 0xad,
};

/** local += n (i32). */
const addTo = (local: number, n: number) => [
  ...get(local),
  ...i32c(n),
  op.i32add,
  ...set(local),
];

// Parameters and locals of scan(p, limit).
const P = 0;
const LIMIT = 1;
const NL1 = 2; // i32
const Q = 3; // i32
const E = 4; // i32
const M = 5; // i32: newline bitmask of 16 bytes
const PREV = 6; // i32: 1 when the byte before p is a newline
const X0 = 7; // i64
const X1 = 8; // i64
const H1 = 9; // i64
const H2 = 10; // i64

const K1 = 0x9e3779b97f4a7c15n;
const K2 = 0xc2b2ae3d27d4eb4fn;

/** m = one bit per byte of the 16 at p that is `\n` (SIMD compare). */
const nlMask = [
  ...get(P),
  ...v128load,
  ...v128const(0x0a),
  ...simd(0x23), // i8x16.eq
  ...simd(0x64), // i8x16.bitmask
  ...set(M),
];

/** h = rotl((h ^ x) × k, r) (or with `combine` instead of ^): one step of a hash chain. */
const chain = (
  h: number,
  x: number,
  k: bigint,
  r: bigint,
  combine: number = op.i64xor,
) => [
  ...get(h),
  ...get(x),
  combine,
  ...i64c(k),
  op.i64mul,
  ...i64c(r),
  op.i64rotl,
  ...set(h),
];

/** Mixes x0 into h1 and x1 into h2: two chains the CPU runs side by side. */
const mix = [...chain(H1, X0, K1, 31n), ...chain(H2, X1, K2, 29n)];

/**
 * x & (all ones >> 8 × (8 − n)): the low `n` bytes (1…8) of the i64 `x`
 * puts on the stack, `n` being what the i32 instructions `n` compute.
 */
const lowBytes = (x: number[], n: number[]) => [
  ...x,
  ...i64c(-1n),
  ...i32c(8),
  ...n,
  op.i32sub,
  ...i32c(8),
  op.i32mul,
  op.i64extendU,
  op.i64shrU,
  op.i64and,
];

/** Branches out `depth` levels when the offset `at` computes is at or past the limit. */
const atLimit = (at: number[], depth: number) => [
  ...at,
  ...get(LIMIT),
  op.i32geU,
  ...brIf(depth),
];

/** Stores (a ^ rotl(b, r) [then `more`]) × k at [offset]. */
const result = (
  offset: number,
  a: number,
  b: number,
  r: bigint,
  more: number[],
  k: bigint,
) => [
  ...i32c(0),
  ...get(a),
  ...get(b),
  ...i64c(r),
  op.i64rotl,
  op.i64xor,
  ...more,
  ...i64c(k),
  op.i64mul,
  ...store64(offset),
];

/** p += 16 */
const NEXT16 = addTo(P, 16);

// scan(p, limit) → e, the offset of the newline that ends the record's last
// traceback line (the blank line is e + 1), or -1 when the record does not
// end before `limit`. Writes the header line's newline at [0] (i32), the
// hashes of bytes [nl1 + 1, e + 1) at [8] and [16] (i64).
const body = [
  ...BLOCK, // $fail
  ...BLOCK, // $found1
  ...LOOP, // $l1
  ...atLimit(get(P), 2), // → $fail
  ...nlMask,
  ...get(M),
  ...IF,
  ...get(P),
  ...get(M),
  op.i32ctz,
  op.i32add,
  ...set(NL1),
  ...br(2), // → $found1 (if, loop, block)
  ...END,
  ...NEXT16,
  ...br(0), // → $l1
  ...END, // loop
  ...END, // $found1
  ...atLimit(get(NL1), 0), // → $fail
  ...i32c(0),
  ...get(NL1),
  ...store32(0),
  ...get(NL1),
  ...i32c(1),
  op.i32add,
  ...set(Q),
  ...get(Q),
  ...set(P),
  ...i32c(1),
  ...set(PREV), // the byte before q is the header's newline
  ...i64c(0x243f6a8885a308d3n),
  ...set(H1),
  ...i64c(0x13198a2e03707344n),
  ...set(H2),
  ...BLOCK, // $done
  ...LOOP, // $l2
  ...atLimit(get(P), 2), // → $fail
  ...nlMask,
  // A pair across the previous 16 bytes and these: e = p - 1.
  ...get(PREV),
  ...get(M),
  op.i32and,
  ...IF,
  ...get(P),
  ...i32c(1),
  op.i32sub,
  ...set(E),
  ...br(2), // → $done
  ...END,
  ...get(P),
  ...load64(0),
  ...set(X0),
  ...get(P),
  ...load64(8),
  ...set(X1),
  // A pair inside these 16 bytes: bytes i and i + 1 (i ≤ 14).
  ...get(M),
  ...get(M),
  ...i32c(1),
  op.i32shrU,
  op.i32and,
  op.i32ctz, // 32 when there is none
  ...set(E),
  ...get(E),
  ...i32c(16),
  op.i32ltU,
  ...IF,
  ...get(E),
  ...i32c(8),
  op.i32ltU,
  ...IF,
  // keep bytes 0..i of x0, none of x1
  ...lowBytes(get(X0), [...get(E), ...i32c(1), op.i32add]),
  ...set(X0),
  ...i64c(0n),
  ...set(X1),
  ...ELSE,
  // keep bytes 8..i: 0..i−8 of x1
  ...lowBytes(get(X1), [...get(E), ...i32c(7), op.i32sub]),
  ...set(X1),
  ...END,
  ...mix,
  ...get(P),
  ...get(E),
  op.i32add,
  ...set(E),
  ...br(2), // → $done
  ...END,
  ...mix,
  ...get(M),
  ...i32c(15),
  op.i32shrU,
  ...set(PREV),
  ...NEXT16,
  ...br(0), // → $l2
  ...END, // loop
  ...END, // $done
  // The blank line must be inside the data too.
  ...atLimit([...get(E), ...i32c(1), op.i32add], 0), // → $fail
  // Both results depend on both chains and on the length.
  ...result(8, H1, H2, 23n, [], K1),
  ...result(16, H2, H1, 41n, [
    ...get(E),
    ...i32c(1),
    op.i32add,
    ...get(Q),
    op.i32sub,
    op.i64extendU,
    op.i64xor,
  ], K2),
  ...get(E),
  ...RETURN,
  ...END, // $fail
  ...i32c(-1),
];

// ---- shape(q, end): a hash of the lines in [q, end) that leaves out what
// varies between calls from the same stack: a function line's arguments
// (all after its last '('), a file line's `+0x…`, `fp=`, `sp=` (all after
// its first space, except the `pc=` value). Writes it at [24] and [32]. ----

const SL = 2; // line start
const SN = 3; // line end (its newline)
const SJ = 4;
const ST = 5; // hashing cursor
const SA = 6; // range start
const SB = 7; // range end
const SX = 8; // i64
const SH1 = 9; // i64
const SH2 = 10; // i64
const load8 = [0x2d, 0x00, 0x00]; // i32.load8_u

/** Mixes SX into the shape hashes (two different chains over the same words). */
const smix = [
  ...chain(SH1, SX, K1, 31n),
  ...chain(SH2, SX, K2, 29n, op.i64add),
];

/** Hashes bytes [SA, SB), 8 at a time, then their count and `tag`. */
const hashRange = (tag: number) => [
  ...get(SA),
  ...set(ST),
  ...BLOCK,
  ...LOOP,
  ...get(ST),
  ...i32c(8),
  op.i32add,
  ...get(SB),
  op.i32gtU,
  ...brIf(1),
  ...get(ST),
  ...load64(0),
  ...set(SX),
  ...smix,
  ...addTo(ST, 8),
  ...br(0),
  ...END,
  ...END,
  ...get(ST),
  ...get(SB),
  op.i32ltU,
  ...IF,
  // the last 1–7 bytes
  ...lowBytes([...get(ST), ...load64(0)], [...get(SB), ...get(ST), op.i32sub]),
  ...set(SX),
  ...smix,
  ...END,
  ...get(SB),
  ...get(SA),
  op.i32sub,
  op.i64extendU,
  ...i64c(BigInt(tag) << 40n),
  op.i64or,
  ...set(SX),
  ...smix,
];

/** The byte at local `at` + `delta` (i32). */
const byteAt = (at: number, delta: number) => [
  ...get(at),
  ...(delta === 0
    ? []
    : [...i32c(Math.abs(delta)), delta > 0 ? op.i32add : op.i32sub]),
  ...load8,
];

/** at += d (±1). */
const step = (at: number, d: 1 | -1) =>
  d > 0 ? addTo(at, 1) : [...get(at), ...i32c(1), op.i32sub, ...set(at)];

/**
 * Moves local `at` forward to the first `byte` at or after it (or to
 * `bound`), or with `back` to the last `byte` before it (or to `bound`).
 */
const find = (at: number, bound: number, byte: number, back = false) => [
  ...BLOCK,
  ...LOOP,
  ...get(at),
  ...get(bound),
  back ? op.i32leU : op.i32geU,
  ...brIf(1),
  ...(back ? step(at, -1) : []),
  ...byteAt(at, 0),
  ...i32c(byte),
  op.i32eq,
  ...brIf(1),
  ...(back ? [] : step(at, 1)),
  ...br(0),
  ...END,
  ...END,
];

const shapeBody = [
  ...i64c(0x452821e638d01377n),
  ...set(SH1),
  ...i64c(0xbe5466cf34e90c6cn),
  ...set(SH2),
  ...get(0),
  ...set(SL),
  ...BLOCK, // $done
  ...LOOP, // $lines
  ...get(SL),
  ...get(1),
  op.i32geU,
  ...brIf(1), // → $done
  // SN = the next newline (SIMD, 16 bytes a step)
  ...get(SL),
  ...set(SN),
  ...BLOCK, // $found
  ...LOOP,
  ...get(SN),
  ...v128load,
  ...v128const(0x0a),
  ...simd(0x23),
  ...simd(0x64),
  ...set(SJ),
  ...get(SJ),
  ...IF,
  ...get(SN),
  ...get(SJ),
  op.i32ctz,
  op.i32add,
  ...set(SN),
  ...br(2), // → $found
  ...END,
  ...addTo(SN, 16),
  ...br(0),
  ...END,
  ...END, // $found
  ...BLOCK, // $kind
  // A file line: tab, path:line up to the first space, then pc=.
  ...byteAt(SL, 0),
  ...i32c(9),
  op.i32eq,
  ...IF,
  ...get(SL),
  ...set(SJ),
  ...find(SJ, SN, 32),
  ...get(SL),
  ...set(SA),
  ...get(SJ),
  ...set(SB),
  ...hashRange(1),
  // the last '=' after the space; if it is " pc=", hash the value
  ...get(SN),
  ...set(SA),
  ...find(SA, SJ, 61, true),
  ...get(SA),
  ...get(SJ),
  ...i32c(3),
  op.i32add,
  op.i32gtU,
  ...IF,
  ...byteAt(SA, -3),
  ...i32c(32),
  op.i32eq,
  ...byteAt(SA, -2),
  ...i32c(112),
  op.i32eq,
  op.i32and,
  ...byteAt(SA, -1),
  ...i32c(99),
  op.i32eq,
  op.i32and,
  ...IF,
  ...addTo(SA, 1),
  ...get(SN),
  ...set(SB),
  ...hashRange(2),
  ...END,
  ...END,
  ...br(1), // → $kind end
  ...END,
  // A function line `name(args)` (not `name(...)`): the name only.
  ...get(SN),
  ...get(SL),
  op.i32gtU,
  ...IF,
  ...byteAt(SN, -1),
  ...i32c(41),
  op.i32eq,
  ...IF,
  ...get(SN),
  ...i32c(1),
  op.i32sub,
  ...set(SJ),
  ...find(SJ, SL, 40, true),
  // SJ > SL and not "(...)" (SN − SJ = 5 and a '.' after the '(')
  ...get(SJ),
  ...get(SL),
  op.i32gtU,
  ...get(SN),
  ...get(SJ),
  op.i32sub,
  ...i32c(5),
  op.i32ne,
  ...byteAt(SJ, 1),
  ...i32c(46),
  op.i32ne,
  op.i32or,
  op.i32and,
  ...IF,
  ...get(SL),
  ...set(SA),
  ...get(SJ),
  ...set(SB),
  ...hashRange(3),
  ...br(3), // → $kind end (if, if, if, then the block)
  ...END,
  ...END,
  ...END,
  // Anything else: the whole line.
  ...get(SL),
  ...set(SA),
  ...get(SN),
  ...set(SB),
  ...hashRange(4),
  ...END, // $kind
  ...get(SN),
  ...i32c(1),
  op.i32add,
  ...set(SL),
  ...br(0), // → $lines
  ...END,
  ...END, // $done
  ...i32c(0),
  ...get(SH1),
  ...store64(24),
  ...i32c(0),
  ...get(SH2),
  ...store64(32),
  ...i32c(1),
];

const shapeFunc = [
  ...vec([
    [...uleb(6), I32],
    [...uleb(3), I64],
  ]),
  ...shapeBody,
  ...END,
];

const func = [
  ...vec([
    [...uleb(5), I32],
    [...uleb(4), I64],
  ]),
  ...body,
  ...END,
];

const wasm = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  ...section(1, vec([[0x60, ...vec([[I32], [I32]]), ...vec([[I32]])]])),
  ...section(3, vec([[0], [0]])),
  ...section(5, vec([[0x00, ...uleb(1)]])),
  ...section(
    7,
    vec([
      [...name("scan"), 0x00, 0],
      [...name("shape"), 0x00, 1],
      [...name("memory"), 0x02, 0],
    ]),
  ),
  ...section(
    10,
    vec([
      [...uleb(func.length), ...func],
      [...uleb(shapeFunc.length), ...shapeFunc],
    ]),
  ),
]);

let compiled: WebAssembly.Module | null = null;

/** Where the data starts in the scanner's memory (below: its results). */
export const DATA_OFFSET = 64;

/** One scanner: its own memory, into which the bytes to scan are copied. */
export class BlockScanner {
  readonly #memory: WebAssembly.Memory;
  readonly #scan: (p: number, limit: number) => number;
  readonly #shape: (q: number, end: number) => number;
  #u8: Uint8Array;
  #i32: Int32Array;
  /** The header line's newline (offset in the data) of the last hit. */
  nl1 = 0;
  /** Low and high 32 bits of the first hash, and the second hash's low bits, of the last hit. */
  h1lo = 0;
  h1hi = 0;
  h2lo = 0;
  /** The last {@link shape}'s hash bits. */
  s1lo = 0;
  /** The last {@link shape}'s hash bits. */
  s1hi = 0;
  /** The last {@link shape}'s hash bits. */
  s2lo = 0;

  constructor() {
    compiled ??= new WebAssembly.Module(wasm);
    const inst = new WebAssembly.Instance(compiled);
    this.#memory = inst.exports.memory as WebAssembly.Memory;
    this.#scan = inst.exports.scan as (p: number, limit: number) => number;
    this.#shape = inst.exports.shape as (q: number, end: number) => number;
    this.#u8 = new Uint8Array(this.#memory.buffer);
    this.#i32 = new Int32Array(this.#memory.buffer);
  }

  /**
   * Copies `head` to the start of the data and returns a view of the `n`
   * bytes after it, for the caller to fill (valid until the next call).
   */
  reserve(head: Uint8Array, n: number): Uint8Array {
    const need = DATA_OFFSET + head.length + n + 16;
    if (need > this.#memory.buffer.byteLength) {
      this.#memory.grow(
        Math.ceil((need - this.#memory.buffer.byteLength) / 65536),
      );
      this.#u8 = new Uint8Array(this.#memory.buffer);
      this.#i32 = new Int32Array(this.#memory.buffer);
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
   * The shape hash of data bytes [q, end) (whole lines): equal for the
   * tracebacks of calls from the same stack, whatever their arguments and
   * frame pointers. Sets {@link s1lo}, {@link s1hi}, {@link s2lo}.
   */
  shape(q: number, end: number): void {
    this.#shape(DATA_OFFSET + q, DATA_OFFSET + end);
    const r = this.#i32;
    this.s1lo = r[6];
    this.s1hi = r[7];
    this.s2lo = r[8];
  }

  /**
   * For the record whose header starts at `s` in the loaded data of length
   * `n`: the offset of the newline that ends its last traceback line (the
   * blank line follows), or -1 when the record does not end inside the data.
   * Sets {@link nl1} and the hashes.
   */
  scan(s: number, n: number): number {
    const e = this.#scan(DATA_OFFSET + s, DATA_OFFSET + n);
    if (e < 0) return -1;
    const r = this.#i32;
    this.nl1 = r[0] - DATA_OFFSET;
    this.h1lo = r[2];
    this.h1hi = r[3];
    this.h2lo = r[4];
    return e - DATA_OFFSET;
  }
}
