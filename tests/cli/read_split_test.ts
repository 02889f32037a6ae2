/**
 * Reading a trace file on two threads (`lib/cli/_read_split.ts`): a Worker
 * parses the file from a record boundary on while the main thread parses up
 * to it. Whatever the boundary, the analysis, the statistics, the warnings
 * and the stack ids are those of one thread reading the whole file; where
 * the main thread is not between records at the boundary, the Worker's part
 * is dropped and the main thread reads on.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, GO122 } from "../_testdata.ts";
import { openInput } from "../../lib/cli/_input.ts";
import { readTrace } from "../../lib/cli/_readtrace.ts";
import { recordBoundary } from "../../lib/cli/_read_split.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { StackTable } from "../../lib/trace/events.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Everything a read gives, as text: analysis, profile samples, statistics,
 * warnings. `meanwhile` runs between the open and the read.
 */
async function readAll(
  path: string,
  split: number,
  meanwhile?: () => Promise<void>,
) {
  const input = await openInput(path);
  await meanwhile?.();
  const stacks = new StackTable();
  const a = new TraceAnalyzer(stacks, { by: "stack" });
  const read = await readTrace(input, (e) => a.add(e), {
    quiet: true,
    stacks,
    split,
  });
  const result = a.finish();
  const stats = read.parser.stats;
  return {
    split: read.split,
    text: JSON.stringify({
      result,
      samples: a.samples(),
      stats: { ...stats, goroutines: [...stats.goroutines] },
      warnings: read.warnings,
      bytes: read.bytes,
      stacks: stacks.size,
    }),
  };
}

/** Real traces of Go 1.19 and 1.22, one after the other (over 1 MiB, several formats of goroutine lines). */
async function realFile(dir: string): Promise<string> {
  const gz = await Deno.readFile(new URL("binarytrees-d6.trace.gz", GO119));
  const bt = new Uint8Array(
    await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const parts = [
    bt,
    await Deno.readFile(new URL("leak-n300.trace", GO122)),
    await Deno.readFile(new URL("temporaries-n40.trace", GO119)),
  ];
  const path = `${dir}/real.trace`;
  await Deno.writeFile(path, new Uint8Array(await new Blob(parts).bytes()));
  return path;
}

Deno.test("read on two threads: the same analysis, statistics, warnings and stack ids as one thread, wherever the file is split", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await realFile(dir);
    const one = await readAll(path, 0);
    assertEquals(one.split, false);
    // (10.6 MB: at 5 % the boundary falls in the first MiB, which the
    // main thread's first read takes whole: no split.)
    for (const share of [0.05, 0.12, 0.2, 0.35, 0.5, 0.71, 0.9]) {
      const two = await readAll(path, share);
      assertEquals(two.split, share > 0.1, `split at ${share}`);
      assertEquals(two.text, one.text, `split at ${share}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read on two threads: a boundary inside a tracegc block that lost its end is not taken; a record cut at the end is reported at its line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = dec.decode(await Deno.readFile(await realFile(dir)));
    // A tracegc block without `end tracegc` at 60 %, before a record: the
    // only "\n\ntracealloc(" after the split point is inside it.
    const at = base.indexOf("\n\ntracealloc(", Math.floor(base.length * 0.6)) +
      2;
    const gc =
      "tracegc()\n\ngoroutine 1 [running]:\nmain.main()\n\tmain.go:3 +0x1d\n\n";
    // And the last record cut short.
    const text = base.slice(0, at) + gc + base.slice(at) +
      "tracealloc(0xc000100000, 0x10)\ngoroutine 1 [running]:\nmain.f(0x1)\n";
    const path = `${dir}/damaged.trace`;
    await Deno.writeTextFile(path, text);
    const bytes = enc.encode(text);
    const gcAt = enc.encode(base.slice(0, at)).length;
    // The split point just before the block: the boundary found is inside it.
    const share = (gcAt - 4) / bytes.length;
    assertEquals(
      gcAt - 4 + recordBoundary(bytes.subarray(gcAt - 4)),
      gcAt + enc.encode(gc).length,
    );
    const one = await readAll(path, 0);
    const two = await readAll(path, share);
    assertEquals(two.split, false, "the boundary inside the block is refused");
    assertEquals(two.text, one.text);
    assertTrue(one.text.includes("lack their `end tracegc`"), one.text);
    assertTrue(one.text.includes("is cut off"), "the cut record is reported");
    // Elsewhere the same file splits, with the same results.
    const three = await readAll(path, 0.3);
    assertEquals(three.split, true);
    assertEquals(three.text, one.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recordBoundary: the first record header after a blank line", () => {
  const b = (s: string) => recordBoundary(enc.encode(s));
  assertEquals(b("x\n\ntracealloc(0x1, 0x2)\n"), 3);
  assertEquals(b("tracefree(0x1, 0x2)\n\n\ntracefree(0x1"), 22);
  assertEquals(b("\ntracealloc(\n\ntracegc()\n\ngoroutine 1\n"), -1);
  assertEquals(b("a\n\ntracealloc"), -1);
  assertEquals(b("x\r\n\r\ntracealloc(0x1, 0x2)\r\n"), 5);
  assertEquals(b("x\n\r\ntracefree(0x1, 0x2)\r\n"), 4);
  assertEquals(b("x\r\n\r\r\ntracefree(0x1"), -1);
});

// Review2 #3: the Worker and the boundary search open the file again by its
// path, while the main thread reads the file it opened.
Deno.test("read on two threads: a file renamed over after it was opened is read whole from the open file (the Worker fails before any batch and the main thread reads on)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await realFile(dir);
    const one = await readAll(path, 0);
    const text = await Deno.readTextFile(path);
    // Another file of the same length, its function renamed.
    const other = `${dir}/other.trace`;
    await Deno.writeTextFile(
      other,
      text.replaceAll("main.bottomUpTree", "main.bottomUpTreX"),
    );
    const two = await readAll(path, 0.5, () => Deno.rename(other, path));
    assertEquals(two.split, false, "the Worker's part is refused");
    assertEquals(two.text, one.text);
    assertTrue(!two.text.includes("bottomUpTreX"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read on two threads: a file unlinked after it was opened is read whole from the open file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await realFile(dir);
    const one = await readAll(path, 0);
    const two = await readAll(path, 0.5, () => Deno.remove(path));
    assertEquals(two.split, false);
    assertEquals(two.text, one.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Review2 #8: the boundary search wanted "\n\n", so a CRLF trace never split.
Deno.test("read on two threads: a CRLF trace splits too, with one thread's results", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lf = await Deno.readFile(await realFile(dir));
    const crlf = new Uint8Array(lf.length + lf.filter((b) => b === 10).length);
    let j = 0;
    for (const b of lf) {
      if (b === 10) crlf[j++] = 13;
      crlf[j++] = b;
    }
    const path = `${dir}/crlf.trace`;
    await Deno.writeFile(path, crlf);
    const one = await readAll(path, 0);
    assertEquals(one.split, false);
    for (const share of [0.2, 0.5, 0.8]) {
      const two = await readAll(path, share);
      assertEquals(two.split, true, `split at ${share}`);
      assertEquals(two.text, one.text, `split at ${share}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
