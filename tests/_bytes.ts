/**
 * Byte helpers the tests share: joining byte arrays, and gzip or deflate
 * through the Web Streams every runtime has (tests make their own
 * compressed inputs with these, not with the library's gzip.ts under test).
 *
 * @module
 */

/** `parts` joined into one array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `b` (or the file at `b`) through a CompressionStream or DecompressionStream. */
export async function through(
  b: Uint8Array | string,
  t: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const src = typeof b === "string"
    ? (await Deno.open(b)).readable
    : new Blob([b as BlobPart]).stream();
  const s = src.pipeThrough(
    t as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** The file at `path`, gunzipped. */
export const gunzipFile = (path: string): Promise<Uint8Array> =>
  through(path, new DecompressionStream("gzip"));
/** `b` gzipped (one member). */
export const gzipBytes = (b: Uint8Array): Promise<Uint8Array> =>
  through(b, new CompressionStream("gzip"));
/** `b` as a raw deflate stream (no gzip header or trailer). */
export const deflateRaw = (b: Uint8Array): Promise<Uint8Array> =>
  through(b, new CompressionStream("deflate-raw"));
