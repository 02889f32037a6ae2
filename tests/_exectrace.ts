/**
 * The committed Go 1.23 execution-trace corpus (tests/testdata/go1.23).
 *
 * @module
 */

/** The corpus folder. */
export const GO123_DIR: URL = new URL("./testdata/go1.23/", import.meta.url);

/** The decompressed bytes of a committed trace (`NAME.trace.gz`). */
export async function corpusTrace(name: string): Promise<Uint8Array> {
  const f = await Deno.open(new URL(`${name}.trace.gz`, GO123_DIR));
  const s = f.readable.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >,
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}
