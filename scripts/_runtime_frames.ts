/**
 * The runtime frames real Go 1.19 prints, with their lines and offsets
 * (`runtime.(*mheap).reclaimChunk runtime/mheap.go:855 +0x2a5`), as
 * committed in `tests/testdata/fidelity/frames-go1.19.txt` for issue 16's
 * item 3: a normalized line shape (decimal → N, hex → 0xX) hides a wrong
 * line or offset ("`reclaimChunk` at `mheap.go:858` where Go has 855"), so
 * the fidelity test also holds the simulated traces' runtime frames to
 * those real traces print. Written by `scripts/fidelity_compare.ts
 * --real-traces DIR --save-frames FILE` from every gzipped real trace in
 * DIR.
 *
 * @module
 */

import { analyze } from "./_trace_figures.ts";
import { traceStream } from "./_traces.ts";
import { fileUrl } from "./_file_url.ts";

/** Where the committed frames are. */
export const FRAMES_GO119: URL = new URL(
  "../tests/testdata/fidelity/frames-go1.19.txt",
  import.meta.url,
);

/**
 * Reads every `*.gz` real trace in `dir` and writes `out`: a header naming
 * the traces and Go's version, then one line per runtime frame, the number
 * of traces that print it first. Returns how many frames it wrote.
 */
export async function saveRuntimeFrames(
  dir: string,
  out: string,
  go: string,
): Promise<number> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".gz")) names.push(e.name);
  }
  names.sort();
  const seen = new Map<string, number>();
  for (const name of names) {
    const url = fileUrl(`${dir}/${name}`);
    const f = await analyze(await traceStream(url));
    for (const k of f.runtimeFrames.keys()) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const lines = [...seen].sort((a, b) => a[0] < b[0] ? -1 : 1)
    .map(([k, n]) => `${n} ${k}`);
  await Deno.writeTextFile(
    out,
    `# Runtime frames (function file:line +0xoff) of ${names.length} real traces (${go}, GODEBUG=allocfreetrace=1,gctrace=1, GOMAXPROCS=2): ${
      names.map((n) => n.replace(/-\d+-\d+\.gz$/, "")).filter((n, i, a) =>
        a.indexOf(n) === i
      ).join(", ")
    }\n# traces printing it, frame\n${lines.join("\n")}\n`,
  );
  return lines.length;
}

/**
 * The committed runtime frames (`text`: the file's content), each as
 * `runtime.F FILE:LINE +0xOFF`.
 *
 * @example
 * ```ts
 * import { parseRuntimeFrames } from "./_runtime_frames.ts";
 * const f = parseRuntimeFrames("# head\n3 runtime.main runtime/proc.go:250 +0x212\n");
 * if (!f.has("runtime.main runtime/proc.go:250 +0x212")) throw new Error();
 * ```
 */
export function parseRuntimeFrames(text: string): Set<string> {
  return new Set(
    text.split("\n").filter((l) => /^\d+ /.test(l)).map((l) =>
      l.slice(l.indexOf(" ") + 1)
    ),
  );
}
