/**
 * Where the real Go traces of the repository are, and reading them
 * (gunzipped when the name ends in `.gz`): one helper for the scripts, the
 * benchmarks and the tests (`tests/_testdata.ts` re-exports it), so that no
 * script imports test support.
 *
 * @module
 */

/**
 * The shared testdata folder of Go 1.19 traces: `../shared/testdata/go1.19/`
 * beside the checkout when it is there (the source of truth), else the copy
 * in `tests/testdata/shared/` (so a checkout placed anywhere still tests).
 */
export const GO119: URL = sharedTestdata();

function sharedTestdata(): URL {
  const beside = new URL("../../shared/testdata/go1.19/", import.meta.url);
  try {
    Deno.statSync(beside);
    return beside;
  } catch {
    return new URL("../tests/testdata/shared/go1.19/", import.meta.url);
  }
}

/** Real Go 1.22.12 traces (`scripts/gen_go122_testdata.sh`). */
export const GO122: URL = new URL(
  "../tests/testdata/go1.22/",
  import.meta.url,
);

/** The bytes of a trace file as a stream, gunzipped when `url` ends in `.gz`. */
export async function traceStream(
  url: URL,
): Promise<ReadableStream<Uint8Array>> {
  const file = (await Deno.open(url)).readable;
  return url.pathname.endsWith(".gz")
    ? file.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<
        Uint8Array,
        Uint8Array
      >,
    )
    : file;
}

/** The text of trace `name` in `dir`, gunzipped when it ends in `.gz`. */
export async function traceText(name: string, dir: URL): Promise<string> {
  return await new Response(await traceStream(new URL(name, dir))).text();
}

/** Normalizes a line to its shape: hex numbers → 0xX, decimal runs → N (the
 * shapes fidelity_compare compares and gen_startup records). */
export function shapeOf(line: string): string {
  return line.replace(/0x[0-9a-f]+|\d+/g, (m) => m[1] === "x" ? "0xX" : "N");
}
