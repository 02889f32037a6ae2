/**
 * Builds a large allocfreetrace log (default ≥ 512 MB) for the analyze
 * benchmark by repeating the shared real traces; each repetition shifts the
 * object addresses so every copy's objects are distinct.
 *
 *   deno run --allow-read --allow-write scripts/make_large_trace.ts [OUT] [MB]
 *
 * @module
 */

import { GO119 } from "./_traces.ts";

const out = Deno.args[0] ?? "/tmp/alloctrace-large.trace";
const targetMB = Number(Deno.args[1] ?? 512);
const shared = GO119;
const gz = await Deno.readFile(new URL("binarytrees-d6.trace.gz", shared));
const text = new TextDecoder().decode(
  new Uint8Array(
    await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  ),
) +
  new TextDecoder().decode(
    await Deno.readFile(new URL("leak-n300.trace", shared)),
  );
const file = await Deno.open(out, {
  write: true,
  create: true,
  truncate: true,
});
const enc = new TextEncoder();
let written = 0;
for (let copy = 0; written < targetMB * 1e6; copy++) {
  // Shift heap addresses (0xc0000xxxxx) by 1 GiB per copy.
  const shifted = copy === 0 ? text : text.replace(
    /(trace(?:alloc|free)\()0xc([0-9a-f]{9})/g,
    (_m, head: string, low: string) =>
      `${head}0x${
        (0xc000000000 + copy * 0x40000000 + parseInt(low, 16)).toString(16)
      }`,
  );
  const bytes = enc.encode(shifted);
  let b = bytes;
  while (b.length > 0) b = b.subarray(await file.write(b));
  written += bytes.length;
}
file.close();
console.log(`wrote ${out}: ${(written / 1e6).toFixed(0)} MB`);
