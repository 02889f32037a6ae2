/**
 * The go1.22 preset's allocfreetrace text against real Go 1.22.12 traces
 * of the same programs (tests/testdata/go1.22): Go 1.21+ goroutine headers
 * and creator lines, and every runtime frame (function, file:line, PC
 * offset) the simulation prints is one real Go 1.22 printed.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO122, traceText } from "../_testdata.ts";
import { traceOf } from "../../scripts/_golden.ts";
import { binarytrees, getPreset, leak, temporaries } from "../../mod.ts";

/** `func file:line +off` of every runtime frame, and the header shapes. */
function shapes(text: string) {
  const frames = new Set<string>();
  for (
    const m of text.matchAll(
      /^(runtime\.[^\n(]+)\(.*\)\n\t(\S+)( \+0x[0-9a-f]+)?/gm,
    )
  ) {
    frames.add(`${m[1]} ${m[2]}${m[3] ?? ""}`);
  }
  const headers = new Set(
    [...text.matchAll(/^goroutine \d+ (.*)$/gm)].map((m) =>
      m[1].replace(/0x[0-9a-f]+/g, "0x…").replace(/m=\d+/, "m=N")
    ),
  );
  const createdBy = new Set(
    [...text.matchAll(/^created by (\S+)(.*)$/gm)].map((m) =>
      `${m[1]}${m[2].replace(/\d+$/, "N")}`
    ),
  );
  return { frames, headers, createdBy };
}

Deno.test("go1.22: the simulated traces' runtime frames, goroutine headers and creator lines are real Go 1.22's", async () => {
  const real = [
    "binarytrees-d6.trace.gz",
    "leak-n300.trace",
    "temporaries-n40.trace",
  ].map(async (n) => shapes(await traceText(n, GO122)));
  const want = {
    frames: new Set<string>(),
    headers: new Set<string>(),
    createdBy: new Set<string>(),
  };
  for (const r of await Promise.all(real)) {
    for (const k of ["frames", "headers", "createdBy"] as const) {
      for (const v of r[k]) want[k].add(v);
    }
  }
  const sim = shapes(
    traceOf("go1.22", (rt) => {
      leak(rt, { n: 300 });
      temporaries(rt, { n: 40 });
      binarytrees(rt, { depth: 6 });
    }),
  );
  // The start-up records' frames come from fresh real Go 1.22 runs
  // (scripts/gen_startup.ts), which print paths one committed trace may
  // not (procresize's randomOrder growslice).
  for (const f of getPreset("go1.22").startup!.frames) {
    if (f[0].startsWith("runtime.") && f[6] !== true) {
      want.frames.add(`${f[0]} ${f[1]}:${f[2]} +0x${f[3].toString(16)}`);
    }
  }
  const missing = (k: "frames" | "headers" | "createdBy") =>
    [...sim[k]].filter((v) => !want[k].has(v));
  assertEquals(missing("headers"), []);
  assertEquals(missing("createdBy"), []);
  assertEquals(missing("frames"), []);
  assertTrue(sim.frames.size >= 30, `${sim.frames.size} runtime frames`);
  assertTrue(sim.headers.has("gp=0x… m=N mp=0x… [running]:"));
  assertTrue(sim.createdBy.has("runtime.gcenable in goroutine N"));
});
