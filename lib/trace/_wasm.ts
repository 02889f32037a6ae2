/**
 * A little WebAssembly encoder: the module sections and the instructions
 * the trace scanner (`block_scan.ts`) is assembled from, each a function
 * or constant that gives its bytes.
 *
 * @module
 */

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

export const sleb = (n: bigint): number[] => {
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

/** A module's first bytes: the magic `\0asm` and version 1. */
export const MODULE_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const section = (id: number, body: number[]): number[] => [
  id,
  ...uleb(body.length),
  ...body,
];

export const vec = (items: number[][]): number[] => [
  ...uleb(items.length),
  ...items.flat(),
];

export const name = (s: string): number[] => [
  ...uleb(s.length),
  ...new TextEncoder().encode(s),
];

export const I32 = 0x7f;
export const I64 = 0x7e;

// Instructions.
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const i32c = (n: number) => [0x41, ...sleb(BigInt(n))];
export const i64c = (n: bigint) => [0x42, ...sleb(BigInt.asIntN(64, n))];
export const f64c = (x: number) => [
  0x44,
  ...new Uint8Array(new Float64Array([x]).buffer),
];
export const load64 = (offset: number) => [0x29, 0x00, ...uleb(offset)]; // i64.load align=1
export const simd = (code: number) => [0xfd, ...uleb(code)];
export const v128load = [...simd(0x00), 0x00, 0x00]; // align=1 offset=0
export const v128const = (
  byte: number,
) => [...simd(0x0c), ...new Array(16).fill(byte)];
export const store64 = (offset: number) => [0x37, 0x03, ...uleb(offset)];
export const store32 = (offset: number) => [0x36, 0x02, ...uleb(offset)];
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = [0x05];
export const END = [0x0b];
export const br = (d: number) => [0x0c, ...uleb(d)];
export const brIf = (d: number) => [0x0d, ...uleb(d)];
export const RETURN = [0x0f];
export const SELECT = 0x1b;
export const op = {
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
  i32gtS: 0x4a,
  i32ltS: 0x48,
  i32leS: 0x4c,
  i32geS: 0x4e,
  i32clz: 0x67,
  f64FromI64S: 0xb9,
  i32shl: 0x74,
  i32or: 0x72,
  i32xor: 0x73,
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
export const addTo = (local: number, n: number) => [
  ...get(local),
  ...i32c(n),
  op.i32add,
  ...set(local),
];

export const load8 = [0x2d, 0x00, 0x00]; // i32.load8_u
export const load16 = (offset: number) => [0x2f, 0x00, ...uleb(offset)]; // i32.load16_u
export const load32 = (offset: number) => [0x28, 0x00, ...uleb(offset)]; // i32.load
export const I64EQ = 0x51;
export const F64_FROM_U64 = 0xba; // f64.convert_i64_u
export const storeF64 = (offset: number) => [0x39, 0x03, ...uleb(offset)];

/** The byte at local `at` + `delta` (i32). */
export const byteAt = (at: number, delta: number) => [
  ...get(at),
  ...(delta === 0
    ? []
    : [...i32c(Math.abs(delta)), delta > 0 ? op.i32add : op.i32sub]),
  ...load8,
];

/** Is the byte at local `at` + `delta` `c`? (i32 0/1) */
export const byteIs = (at: number, delta: number, c: number) => [
  ...byteAt(at, delta),
  ...i32c(c),
  op.i32eq,
];

/** Bytes as the little-endian integer a load of them gives. */
export const le = (text: string): bigint =>
  [...new TextEncoder().encode(text)].reduceRight(
    (v, b) => (v << 8n) | BigInt(b),
    0n,
  );

/** i32.const of up to 4 bytes, as an i32 load of them gives them. */
export const i32le = (text: string) => i32c(Number(le(text)));

export const F64 = 0x7c;
export const loadF64 = (offset: number) => [0x2b, 0x03, ...uleb(offset)];
export const CALL = (f: number) => [0x10, ...uleb(f)];
export const F64_FROM_I32 = 0xb7; // f64.convert_i32_s
export const F64_LT = 0x63;
export const F64_EQ = 0x61;
