/**
 * The byte writer the trace printers share: records are built in one large
 * buffer and handed to a sink in chunks, never split across chunks.
 *
 * @module
 */

const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");

/**
 * Writes `0x` and the integer `n` (0 ≤ n < 2^53) in lower-case hex into
 * `buf` at `pos` and returns the position after it: what
 * `"0x" + n.toString(16)` gives, without the string (V8's `toString(16)` is
 * slow for numbers above 2^31, and every address is one).
 *
 * @example
 * ```ts
 * import { writeHex } from "./byte_writer.ts";
 * import { strictEqual } from "node:assert/strict";
 * const buf = new Uint8Array(20);
 * const end = writeHex(buf, 0, 0xc000012345);
 * strictEqual(new TextDecoder().decode(buf.subarray(0, end)), "0xc000012345");
 * ```
 */
export function writeHex(buf: Uint8Array, pos: number, n: number): number {
  const p = pos + 2;
  buf[pos] = 0x30;
  buf[pos + 1] = 0x78;
  let lo = n >>> 0;
  let hi = n > 0xffffffff ? Math.floor(n / 0x100000000) : 0;
  let digits = 1;
  if (hi !== 0) {
    for (let x = hi; x !== 0; x >>>= 4) digits++;
    digits += 7;
  } else {
    for (let x = lo >>> 4; x !== 0; x >>>= 4) digits++;
  }
  let q = p + digits;
  for (let i = 0; i < 8 && q > p; i++) {
    buf[--q] = HEX_DIGITS[lo & 15];
    lo >>>= 4;
  }
  while (q > p) {
    buf[--q] = HEX_DIGITS[hi & 15];
    hi >>>= 4;
  }
  return p + digits;
}

/**
 * A chunked byte buffer in front of a sink. A record is written between
 * {@link reserve} (room for all of it) and {@link endRecord}, so no record
 * spans two chunks.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../../mod.ts";
 * import { strictEqual } from "node:assert/strict";
 * let out = "";
 * const w = new ByteWriter((b) => (out += new TextDecoder().decode(b)));
 * w.reserve(64);
 * w.putString("p=");
 * w.putHex(255);
 * w.putByte(0x0a);
 * w.endRecord();
 * w.flush();
 * strictEqual(out, "p=0xff\n");
 * ```
 */
export class ByteWriter {
  readonly #sink: (chunk: Uint8Array) => void;
  readonly #chunk: number;
  /** The buffer's size once grown: a chunk and room for the record that ends it. */
  readonly #full: number;
  #buf: Uint8Array;
  #pos = 0;
  #flushed = 0;
  readonly #enc = new TextEncoder();

  /** Bytes written so far (handed to the sink or buffered). */
  get written(): number {
    return this.#flushed + this.#pos;
  }

  /** Makes a writer that hands chunks of about `chunkBytes` (default 1 MiB) to `sink`. */
  constructor(sink: (chunk: Uint8Array) => void, chunkBytes = 1 << 20) {
    this.#sink = sink;
    this.#chunk = chunkBytes;
    this.#full = chunkBytes + 65536;
    // Grown on demand up to #full: a fresh runtime's printer that prints
    // a few KB does not pay for a megabyte.
    this.#buf = new Uint8Array(Math.min(this.#full, 65536));
  }

  /**
   * Hands everything buffered to the sink (whole records only). The chunk
   * is a view of the writer's buffer, valid until the sink returns: copy it
   * to keep it.
   */
  flush(): void {
    if (this.#pos === 0) return;
    const out = this.#buf.subarray(0, this.#pos);
    this.#flushed += this.#pos;
    this.#pos = 0;
    this.#sink(out);
  }

  /** Makes room for a record of up to `need` bytes. */
  reserve(need: number): void {
    if (this.#pos + need > this.#buf.length) {
      if (this.#pos + need <= this.#full) {
        const buf = new Uint8Array(
          Math.min(
            this.#full,
            Math.max(2 * this.#buf.length, this.#pos + need),
          ),
        );
        buf.set(this.#buf.subarray(0, this.#pos));
        this.#buf = buf;
        return;
      }
      this.flush();
      if (need > this.#buf.length) this.#buf = new Uint8Array(need * 2);
    }
  }

  /** Ends a record: hands a full chunk to the sink. */
  endRecord(): void {
    if (this.#pos >= this.#chunk) this.flush();
  }

  /** Appends bytes (within a reserved record). */
  putBytes(b: Uint8Array): void {
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** Appends one byte. */
  putByte(c: number): void {
    this.#buf[this.#pos++] = c;
  }

  /** Appends `0x…` (see {@link writeHex}). */
  putHex(n: number): void {
    this.#pos = writeHex(this.#buf, this.#pos, n);
  }

  /** Appends a string as UTF-8 (reserve 3 bytes per UTF-16 unit). */
  putString(s: string): void {
    this.#pos += this.#enc.encodeInto(s, this.#buf.subarray(this.#pos)).written;
  }

  /** Appends one whole record made of `parts`. */
  record(...parts: (string | Uint8Array)[]): void {
    let need = 0;
    for (const p of parts) {
      need += typeof p === "string" ? p.length * 3 : p.length;
    }
    this.reserve(need);
    for (const p of parts) {
      if (typeof p === "string") this.putString(p);
      else this.putBytes(p);
    }
    this.endRecord();
  }

  /** `s` as UTF-8 bytes (for the printers' caches of rendered text). */
  encode(s: string): Uint8Array {
    return this.#enc.encode(s);
  }
}

/** The value of `key` in `map`, made by `make` and kept the first time. */
export function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
