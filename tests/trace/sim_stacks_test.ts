/**
 * `run`'s summary, JSON and report analyse the runtime's events directly
 * (`attachEvents`), not the trace it prints: the two must name the same
 * stacks, and a real Go trace's main goroutine ends in `runtime.main`
 * (tests/testdata/shared/go1.19/leak-n300.trace: `main.main()` then
 * `runtime.main()` at runtime/proc.go:250, then `runtime.goexit()`).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { Runtime } from "../../lib/runtime/runtime.ts";
import { TracePrinter } from "../../lib/trace/printer.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import { StackTable } from "../../lib/trace/events.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { attachEvents } from "../../lib/trace/sim_events.ts";
import { findWorkload } from "../../lib/workload/registry.ts";

/** Each site with its stack, as the analysis of `run`'s events and of its printed trace give them. */
async function bothWays(
  preset: string,
  workload: string,
  args: Record<string, number>,
): Promise<[string[], string[]]> {
  const rt = new Runtime({ preset, seed: 1 });
  let text = "";
  const dec = new TextDecoder();
  const printer = new TracePrinter(rt, (b) => (text += dec.decode(b)));
  printer.attach();
  const st = new StackTable();
  const direct = new TraceAnalyzer(st, { dense: true });
  attachEvents(rt, st, (e) => direct.add(e));
  await findWorkload(workload)!.run(rt, args);
  printer.flush();
  const parsed = new StackTable();
  const fromTrace = new TraceAnalyzer(parsed);
  const p = new TraceParser((e) => fromTrace.add(e), parsed);
  p.feed(text);
  p.end();
  const show = (sites: ReturnType<TraceAnalyzer["finish"]>["sites"]) =>
    sites.map((s) =>
      `${s.allocs} ${s.site}: ${
        s.stack.map((f) => `${f.func} ${f.file}:${f.line}`).join(" ← ")
      }`
    ).sort();
  return [show(direct.finish().sites), show(fromTrace.finish().sites)];
}

for (const preset of ["go1.19", "go1.22", "go1.2-seed"]) {
  Deno.test(`${preset}: run's sites have the stacks of the trace it prints (runtime.main under main.main)`, async () => {
    const [direct, fromTrace] = await bothWays(preset, "leak", { n: 40 });
    assertTrue(
      direct.some((s) => / main\.main .* ← runtime\.main /.test(s)),
      direct.join("\n"),
    );
    assertEquals(direct, fromTrace);
  });
}

Deno.test("go1.19: a goroutine other than main has no runtime.main below it", async () => {
  const [direct, fromTrace] = await bothWays("go1.19", "multigo", {
    workers: 2,
    jobs: 4,
  });
  assertEquals(direct, fromTrace);
});
