/**
 * Issue 16, item 3: "Some runtime offsets and lines differ too (`refill
 * +0x170` where Go has `+0x152`; `reclaimChunk` at `mheap.go:858` where Go
 * has 855 …). Take every shape, offset and line from real traces." The
 * shape test (fidelity_test.ts) normalizes decimals and hex, so it cannot
 * see a wrong line or offset: here every runtime frame a simulated trace
 * prints (`runtime.F file:line +0xoff`, arguments and addresses left out)
 * must be one real Go 1.19.8 printed, in the committed fresh real traces
 * (tests/testdata/fidelity/frames-go1.19.txt, scripts/_runtime_frames.ts)
 * or the shared ones.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, traceStream } from "../../scripts/_traces.ts";
import { analyze } from "../../scripts/_trace_figures.ts";
import {
  FRAMES_GO119,
  parseRuntimeFrames,
} from "../../scripts/_runtime_frames.ts";
import {
  binarytrees,
  leak,
  Runtime,
  temporaries,
  TracePrinter,
} from "../../mod.ts";

/** The runtime frames of a go1.19 run of `work`, streamed as printed. */
async function simulatedFrames(
  work: (rt: Runtime) => void,
): Promise<Map<string, number>> {
  const chunks: Uint8Array[] = [];
  const rt = new Runtime({ preset: "go1.19", seed: 1 });
  const p = new TracePrinter(rt, (b) => chunks.push(b.slice()));
  p.attach();
  work(rt);
  p.flush();
  return (await analyze(ReadableStream.from(chunks))).runtimeFrames;
}

let realOnce: Promise<Set<string>> | undefined;
/** The committed real frames and the shared traces' (read once). */
function realFrames(): Promise<Set<string>> {
  return realOnce ??= _realFrames();
}

async function _realFrames(): Promise<Set<string>> {
  const real = parseRuntimeFrames(await Deno.readTextFile(FRAMES_GO119));
  for (
    const t of [
      "leak-n300.trace",
      "temporaries-n40.trace",
      "binarytrees-d6.trace.gz",
    ]
  ) {
    const f = await analyze(await traceStream(new URL(t, GO119)));
    for (const k of f.runtimeFrames.keys()) real.add(k);
  }
  return real;
}

const CASES: [string, (rt: Runtime) => void][] = [
  ["leak -n 300", (rt) => leak(rt, { n: 300 })],
  ["temporaries -n 40", (rt) => temporaries(rt, { n: 40 })],
  ["binarytrees -depth 6", (rt) => binarytrees(rt, { depth: 6 })],
  // Target sizes with several cycles, the reclaimer, bgsweep, mcache
  // flushes on acquirep/stopm and stack growth.
  ["temporaries -n 300", (rt) => temporaries(rt, { n: 300 })],
  ["leak -n 5000", (rt) => leak(rt, { n: 5000 })],
];

for (const [name, work] of CASES) {
  Deno.test(`fidelity: ${name} prints no runtime frame (function, file:line, offset) real Go 1.19 never prints`, async () => {
    const real = await realFrames();
    const sim = await simulatedFrames(work);
    assertTrue(sim.size > 20, `${sim.size} runtime frames`);
    const only = [...sim.keys()].filter((k) => !real.has(k));
    assertEquals(only, [], "runtime frames only in the simulated trace");
  });
}

Deno.test("fidelity: the committed real frames hold the lines and offsets issue 16 names (mheap.go:855, +0x152)", async () => {
  const real = await realFrames();
  const has = (re: RegExp) => [...real].some((k) => re.test(k));
  assertTrue(
    has(/^runtime\.\(\*mheap\)\.reclaimChunk runtime\/mheap\.go:855 /),
  );
  assertTrue(
    !has(/^runtime\.\(\*mheap\)\.reclaimChunk runtime\/mheap\.go:858 /),
  );
  assertTrue(
    has(/^runtime\.\(\*mcache\)\.refill runtime\/mcache\.go:\d+ \+0x152$/),
  );
  assertTrue(!has(/^runtime\.\(\*mcache\)\.refill .* \+0x170$/));
});
