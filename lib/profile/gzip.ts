/**
 * Gzip for profile files, with the Web Streams compression every runtime
 * has (Deno, Node, browsers). Internal: mod.ts does not re-export it.
 *
 * @module
 */

/** Gzip-compresses bytes (Web Streams, available in Deno, Node and browsers). */
export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(
      new CompressionStream("gzip"),
    );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Gunzips bytes; a truncated or corrupt stream rejects. */
export async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(
      new DecompressionStream("gzip"),
    );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
