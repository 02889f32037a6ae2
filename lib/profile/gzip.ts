/**
 * Gzip for profile files, with the Web Streams compression every runtime
 * has (Deno, Node, browsers), and the magic bytes that tell a compressed
 * input (a gzipped trace or profile, or an xz one we cannot read). Internal:
 * mod.ts does not re-export it.
 *
 * @module
 */

/** A compression format: its name and the command that undoes it. */
export interface Compression {
  /** `gzip`, `xz`, `bzip2`, `zstd` or `lz4`. */
  readonly name: string;
  /** The command that decompresses it to stdout (`xz -dc`). */
  readonly undo: string;
}

/** Compressions by their magic bytes. */
const _FORMATS: readonly [readonly number[], Compression][] = [
  [[0x1f, 0x8b], { name: "gzip", undo: "gzip -dc" }],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], { name: "xz", undo: "xz -dc" }],
  [[0x42, 0x5a, 0x68], { name: "bzip2", undo: "bzip2 -dc" }],
  [[0x28, 0xb5, 0x2f, 0xfd], { name: "zstd", undo: "zstd -dc" }],
  [[0x04, 0x22, 0x4d, 0x18], { name: "lz4", undo: "lz4 -dc" }],
];

/** The compression whose magic bytes `head` starts with, or null. */
export function compressionOf(head: Uint8Array): Compression | null {
  for (const [magic, c] of _FORMATS) {
    if (magic.every((b, i) => head[i] === b)) return c;
  }
  return null;
}

/** True when `head` starts with gzip's magic bytes. */
export function isGzip(head: Uint8Array): boolean {
  return compressionOf(head)?.name === "gzip";
}

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
