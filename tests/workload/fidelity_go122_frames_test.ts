/**
 * Issue 16 item 3 for go1.22: every runtime frame the go1.22 preset prints
 * on a free (its sweepers' paths) or in a `tracegc` listing (the parked
 * runtime goroutines) prints its arguments in a shape real Go 1.22.12
 * prints for that function. The real shapes are every `runtime.` line of
 * fid16's real traced runs at issue 16's sizes
 * (tests/testdata/fidelity/go1.22/runtime-shapes.txt) and of the committed
 * go1.22 shapes (shapes-go1.22.txt). A function no real trace prints is
 * not judged on its shape, but must be named in {@link _UNPRINTED}: so a
 * real shape lost from the data fails here instead of silently unjudging
 * its function.
 */
import { assertEquals } from "../_assert.ts";
import { shapeOf } from "../../scripts/_traces.ts";
import { getPreset } from "../../mod.ts";

/** Functions the go1.22 preset prints that no real trace does (none now). */
const _UNPRINTED = new Set<string>([]);

async function _realShapes(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of ["go1.22/runtime-shapes.txt", "shapes-go1.22.txt"]) {
    const text = await Deno.readTextFile(
      new URL(`../testdata/fidelity/${f}`, import.meta.url),
    );
    for (const l of text.split("\n")) {
      const m = /^\d+ (runtime\..*)$/.exec(l);
      if (m !== null) out.add(m[1]);
    }
  }
  return out;
}

Deno.test("fidelity: go1.22's sweeper and parked-goroutine frames print their arguments as real Go 1.22.12 does", async () => {
  const real = await _realShapes();
  const funcOf = (s: string) => s.slice(0, s.lastIndexOf("("));
  const printed = new Set([...real].map(funcOf));
  const frames = getPreset("go1.22").frames;
  const all = [
    ...Object.values(frames.sweepers).flat(),
    ...Object.values(frames.system).flatMap((s) => s.frames),
  ];
  const wrong = new Set<string>();
  const unprinted = new Set<string>();
  for (const f of all) {
    if (f.inlined) continue;
    const line = shapeOf(`${f.func}(${f.args ?? "0x0?"})`);
    const fn = funcOf(line); // decimals shaped too: func3 -> funcN
    if (printed.has(fn) && !real.has(line)) wrong.add(line);
    if (!printed.has(fn) && !_UNPRINTED.has(fn)) unprinted.add(fn);
  }
  assertEquals([...wrong], []);
  assertEquals([...unprinted], []);
});
