/**
 * The committed real runs and the rule a simulated cycle is held to
 * against them (scripts/_real_runs.ts), which scripts/fidelity_compare.ts
 * and fidelity_traced_test share.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  committedGCTraces,
  committedRuns,
  medianReading,
  parseTracedRuns,
  runsWithinMedian,
  runsWithinSpread,
  spread,
} from "../../scripts/_real_runs.ts";
import { analyze } from "../../scripts/_trace_figures.ts";

Deno.test("fidelity runs: a run saved without marked= gets each cycle's marked bytes from the next tracegc", () => {
  // Cycle 1: heap 10 at its tracegc; 8 bytes allocated until tracegc 2,
  // whose heap is 12: the sweep freed 6, so cycle 1 marked 4.
  const runs = parseTracedRuns(
    "# run 1\ntracegc 1 live=10 allocated=10\n" +
      "tracegc 2 live=12 allocated=18\nfrees 6: bgsweep=6\n" +
      "# run 2\ntracegc 1 live=9 marked=3 allocated=9\n",
  );
  assertEquals(runs.length, 2);
  assertEquals(runs[0].marked, [4]);
  assertEquals(runs[0].live, [10, 12]);
  assertEquals(runs[0].frees, 6);
  assertEquals(runs[0].sweepers.get("bgsweep"), 6);
  assertEquals(runs[1].marked, [3]);
});

Deno.test("fidelity runs: a cycle is held to [0.9 × P10, 1.1 × P90] of the real runs, min–max below ten runs", () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100];
  // One outlying run does not widen the yardstick.
  assertEquals(spread(ten, 9.9).ok, true);
  assertEquals(spread(ten, 10).ok, false);
  assertEquals(spread(ten, 0.9).ok, true);
  assertEquals(spread(ten, 0.89).ok, false);
  assertEquals(spread(ten, 5).median, 5);
  assertEquals(spread(ten, 5).rank, 50);
  // Three runs: min–max, widened by 10%.
  assertEquals(spread([10, 20, 30], 33).ok, true);
  assertEquals(spread([10, 20, 30], 33.1).ok, false);
  // gctrace's whole MB: the grain widens both ends.
  assertEquals(spread([3, 3, 3], 4.3, 1).ok, true);
});

Deno.test("fidelity runs: every committed run of the target cases has its cycles, marks and frees", async () => {
  for (const [program, value] of [["leak", 20000], ["temporaries", 300]]) {
    const runs = await committedRuns(String(program), +value);
    assertTrue(runs.length >= 20, `${program}: ${runs.length} runs`);
    for (const r of runs) {
      assertTrue(r.live.length >= 3 && r.frees > 0, `${program}: a run`);
      // Only runs saved before marked= lack their last cycle's.
      assertTrue(r.marked.length >= r.live.length - 1);
      assertTrue(r.marked.every((m, i) => m > 0 && m <= r.live[i]));
    }
  }
});

Deno.test("fidelity runs: the committed untraced gctrace runs parse into their cycles", async () => {
  const leak = await committedGCTraces("leak", 20000, "leak -n 20000");
  assertEquals(leak.map((r) => r.length), [5, 5, 5, 5, 5, 5]);
  // Run 2's last line was cut off at exit: a cycle without figures.
  assertEquals(leak.map((r) => r.at(-1)!.cut === true), [
    false,
    true,
    false,
    false,
    false,
    false,
  ]);
  assertTrue(Number.isNaN(leak[1][4].marked) && leak[1][3].marked === 5);
  const quiet = "binarytrees -depth 14 -quiet";
  const trees = await committedGCTraces("binarytrees", 14, quiet);
  // Six runs of fidcheck's, then ten fresh ones of fidpace (under load).
  assertEquals(trees.map((r) => r.length), [
    18,
    17,
    15,
    17,
    17,
    17,
    18,
    18,
    17,
    18,
    17,
    17,
    17,
    18,
    17,
    16,
  ]);
  // Only runs of the command asked for: the file also holds 20 runs of the
  // printing program (a machine at load ~3.6), which runs a cycle more.
  const printing = "binarytrees -depth 14";
  const loud = await committedGCTraces("binarytrees", 14, printing);
  assertEquals(loud.length, 20);
  assertEquals(loud.filter((r) => r.length === 18).length, 17);
  assertEquals(await committedGCTraces("leak", 1, "leak -n 1"), []);
});

Deno.test("fidelity runs: a gctrace line printed inside a trace record does not lose the record", async () => {
  // Go prints a gctrace line under printlock between two print calls of a
  // record (each print statement takes printlock on its own); the
  // simulator's CLI writes it between two buffered chunks of the trace.
  // Either way the record's line goes on after the gctrace line's newline.
  const gc =
    "gc 1 @0.168s 0%: 0.025+10+0.040 ms clock, 0.050+0/0.060/0+0.080 ms cpu, 3->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n";
  const text = "tracealloc(0xc000010000, 0x10)\ngoroutine 1 [running]:\n" +
    "main.f()\n\tmain.go:1 +0x1\n\n" +
    `tracealloc(0xc0004${gc}08000, 0xa000, uint8)\n` +
    "goroutine 1 [running]:\nmain.g()\n\tmain.go:2 +0x1\n\n" +
    "tracegc()\nend tracegc\n\n" +
    "tracefree(0xc000408000, 0xa000)\ngoroutine 0 [idle]:\n" +
    "runtime.bgsweep()\n\truntime/mgcsweep.go:1 +0x1\n\n";
  const f = await analyze(
    ReadableStream.from([new TextEncoder().encode(text)]),
  );
  assertEquals(f.allocCount, 2);
  assertEquals(f.liveAtGC, [0x10 + 0xa000]);
  assertEquals(f.markedAtGC, [0x10]);
  assertEquals(f.orphanFrees, 0);
  assertEquals(f.gc.map((g) => [g.n, g.atTerm, g.goal]), [[1, 4, 4]]);
});

Deno.test("fidelity runs: the median reading holds a cycle to 10% of the real median and counts the real runs that meet it", () => {
  const real = [90, 100, 100, 130, 200];
  const r = medianReading(real, 108);
  assertEquals([r.n, r.median, r.ok, r.near], [5, 100, true, 3]);
  assertEquals(medianReading(real, 111).ok, false);
  assertEquals(medianReading(real, 89).ok, false);
  assertTrue(Math.abs(medianReading(real, 111).off - 0.11) < 1e-12);
  // gctrace's whole MB: the grain widens the window and who meets it.
  assertEquals(medianReading([3, 3, 4, 5], 4, 1).ok, true);
  assertEquals(medianReading([3, 3, 4, 5], 4, 1).near, 3);
  // Each run against the others' median: the third run's second cycle is
  // 50% above it; a cycle only one run has is not held to anything.
  assertEquals(runsWithinMedian([[10, 20], [10, 21], [11, 30], [10, 20]]), 3);
  assertEquals(runsWithinMedian([[10, 20], [10, 21, 5], [11, 21]]), 3);
  assertEquals(runsWithinMedian([[10], [10], [12]]), 2);
});

Deno.test("fidelity runs: the spread reading counts the real runs within [0.9 P10, 1.1 P90] of the others", () => {
  // Below ten runs the others' min–max: the third run's second cycle (30)
  // is beyond 1.1 × 21 = 23.1; its first (11) is within 0.9 × 10 – 1.1 × 10.
  assertEquals(runsWithinSpread([[10, 20], [10, 21], [11, 30], [10, 20]]), 3);
  // 7.9 < 0.9 × 9 = 8.1: the low run is out too.
  assertEquals(runsWithinSpread([[9], [10], [10], [7.9]]), 3);
  // gctrace's whole MB widens the window by the grain.
  assertEquals(runsWithinSpread([[3], [3], [4]], 1), 3);
  assertEquals(runsWithinSpread([[3], [3], [4]]), 2);
  // A cycle no other run has holds the run to nothing; a cut line (NaN)
  // neither.
  assertEquals(runsWithinSpread([[10, 20], [10, 21, 5], [11, NaN]]), 3);
});

Deno.test("fidelity runs: a trace's runtime frames keep their file:line and offset, without arguments or addresses", async () => {
  // Issue 16 item 3: shapes (decimal → N) hide a wrong line or offset.
  const text = "tracefree(0xc000408000, 0xa000)\ngoroutine 0 [idle]:\n" +
    "runtime.(*mheap).reclaimChunk(0xc00001c000?, 0x1, 0x8)\n" +
    "\truntime/mheap.go:855 +0x2a5 fp=0xc0000 sp=0xc0000 pc=0x4255e5\n" +
    "main.f(0x1)\n\tmain.go:1 +0x1\n" +
    "created by runtime.gcenable\n\truntime/mgc.go:178 +0x6b\n\n";
  const f = await analyze(
    ReadableStream.from([new TextEncoder().encode(text)]),
  );
  assertEquals([...f.runtimeFrames], [[
    "runtime.(*mheap).reclaimChunk runtime/mheap.go:855 +0x2a5",
    1,
  ]]);
});

// Before, --help and unknown flags were ignored: the script built the
// programs and ran real Go for minutes, then printed a comparison.
Deno.test("fidelity_compare.ts: --help prints its usage and exits 0 without running Go; an unknown flag is one line and exit 2", async () => {
  const script = fileURLToPath(
    new URL("../../scripts/fidelity_compare.ts", import.meta.url),
  );
  const run = async (...args: string[]) => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", script, ...args],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: o.code,
      out: dec.decode(o.stdout),
      err: dec.decode(o.stderr),
    };
  };
  const help = await run("--help");
  assertEquals([help.code, help.err], [0, ""]);
  assertTrue(help.out.startsWith("usage:\n"), help.out);
  assertTrue(help.out.includes("--real-traces"), help.out);
  assertTrue(help.out.includes("--go 1.22"), help.out);
  // --go names a version whose real runs and preset there are.
  for (const bad of [["--bogus"], ["stray"], ["--runs"], ["--go", "1.23"]]) {
    const r = await run(...bad);
    assertEquals([r.code, r.out], [2, ""], bad.join(" "));
    assertEquals(r.err.trimEnd().split("\n").length, 1, r.err);
  }
});

Deno.test("fidelity runs: a Go 1.22 trace's free of an object with an allocation header finds the object 8 bytes on", async () => {
  // mallocgc (go1.22.12 malloc.go 1157, 1288) prints a small pointerful
  // object over 512 B 8 bytes into its slot, with the slot's size less 8;
  // the sweeper (mgcsweep.go 608) frees the slot.
  const text = "tracealloc(0xc000010008, 0x2f8, *main.T)\n" +
    "goroutine 1 gp=0xc0000081c0 m=0 mp=0x54b800 [running]:\n" +
    "main.f()\n\tmain.go:1 +0x1\n\n" +
    "tracegc()\nend tracegc\n\n" +
    "tracefree(0xc000010000, 0x300)\n" +
    "goroutine 0 gp=0xc000008a80 m=2 mp=0xc00003a808 [idle]:\n" +
    "runtime.bgsweep(0xc0000a0000)\n\truntime/mgcsweep.go:1 +0x1\n\n";
  const read = (allocHeaders: boolean) =>
    analyze(ReadableStream.from([new TextEncoder().encode(text)]), {
      allocHeaders,
    });
  const go122 = await read(true);
  assertEquals([go122.orphanFrees, go122.markedAtGC], [0, [0]]);
  assertEquals(go122.sweepers.get("bgsweep"), 1);
  // Read as Go 1.19's, the free is of an object never seen.
  const go119 = await read(false);
  assertEquals([go119.orphanFrees, go119.markedAtGC], [1, [0x2f8]]);
});
