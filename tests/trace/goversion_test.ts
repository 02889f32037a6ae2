/**
 * Naming the Go version a trace came from, on every committed real trace
 * and on the simulator's golden traces, and the warning when size classes
 * are computed under another version's rules (through the CLI).
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { GO119, GO122, parseShared } from "../_testdata.ts";
import { alloctrace } from "../_run.ts";
import { detectGoVersion, rulesWarning } from "../../lib/trace/goversion.ts";
import { StackTable } from "../../lib/trace/events.ts";
import { newStats } from "../../lib/trace/parse_stats.ts";
import { getPreset, sizeClassesOf } from "../../lib/runtime/presets.ts";

const GOLDEN = new URL("../testdata/golden/", import.meta.url);

for (
  const [dir, name, want] of [
    [GO119, "binarytrees-d6.trace.gz", "go1.19"],
    [GO119, "leak-n300.trace", "go1.19"],
    [GO119, "temporaries-n40.trace", "go1.19"],
    [GO122, "binarytrees-d6.trace.gz", "go1.22"],
    [GO122, "leak-n300.trace", "go1.22"],
    [GO122, "temporaries-n40.trace", "go1.22"],
    [GO122, "allocheaders.trace", "go1.22"],
    [GOLDEN, "go1.2-seed-leak-n8.trace", "go1.2-seed"],
  ] as const
) {
  Deno.test(`goversion: ${name} of ${fileURLToPath(dir).split("/").at(-2)} is ${want}`, async () => {
    const { parser } = await parseShared(name, dir);
    const g = detectGoVersion(parser.stats, parser.stacks);
    assertEquals(g.version, want, g.evidence.join("; "));
  });
}

Deno.test("goversion: the traceback format alone, and a contradiction", () => {
  const stats = (parents: number[]) => ({
    ...newStats(),
    format: "go1.3+" as const,
    goroutines: new Map(
      parents.map((p, i) => [i + 2, { createdBy: "main.main", parent: p }]),
    ),
  });
  const none = new StackTable();
  assertEquals(detectGoVersion(stats([1]), none).version, "go1.21+");
  assertEquals(detectGoVersion(stats([-1]), none).version, "go1.20 or older");
  assertEquals(detectGoVersion(stats([]), none).version, null);
  // Allocation-header sizes say Go 1.22; Go 1.20's creator lines disagree.
  assertEquals(detectGoVersion(stats([1]), none, [0x238]).version, "go1.22");
  assertEquals(detectGoVersion(stats([-1]), none, [0x238]).version, null);
  // A format-only guess agrees with the releases of its range.
  assertEquals(
    rulesWarning({ version: "go1.21+", evidence: [] }, "go1.22", "x"),
    null,
  );
  assertTrue(
    rulesWarning(
      { version: "go1.20 or older", evidence: [] },
      "go1.22",
      "x",
    ) !==
      null,
  );
});

const READ = ["--allow-env", "--allow-read"];

for (
  const name of [
    "leak-n300.trace",
    "temporaries-n40.trace",
    "binarytrees-d6.trace.gz",
    "allocheaders.trace",
  ]
) {
  Deno.test(`analyze ${name} (Go 1.22): names go1.22, no warning, size classes with the header`, async () => {
    const r = await alloctrace(
      ["analyze", `${fileURLToPath(GO122)}${name}`, "--json"],
      READ,
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    const j = JSON.parse(r.stdout);
    assertEquals(j.warnings, []);
    assertEquals(j.go.version, "go1.22");
    assertEquals(j.go.sizeRules, "go1.22");
    assertIncludes(j.go.evidence.join(), "runtime/malloc.go:1288");
    // Every size is a size class or whole pages: none is class − 8.
    const classes = new Set(sizeClassesOf(getPreset("go1.19")).classToSize);
    for (const s of j.sizes) {
      assertTrue(classes.has(s.size) || s.size % 8192 === 0, `${s.size}`);
    }
    // The background sweeper's creator is reported.
    assertTrue(
      j.goroutines.some((g: { createdBy: string; parent: number }) =>
        g.createdBy === "runtime.gcenable" && g.parent === 1
      ),
    );
  });
}

Deno.test("analyze: a Go 1.22 trace under go1.19's size-class rules warns once, naming go1.22; the text names the version", async () => {
  const trace = `${fileURLToPath(GO122)}allocheaders.trace`;
  const r = await alloctrace(["analyze", trace, "--go", "go1.19"], READ);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    r.stderr,
    "alloctrace: warning: size classes and fragmentation follow go1.19's rules, but the trace comes from go1.22 (tracealloc called at runtime/malloc.go:1288, as go1.22.12 prints it)\n",
  );
  // go1.19's rules: the printed 0x238 is its own row; go1.22's: slot 576.
  assertTrue(/\n\s+568\s+4\s+2,272\s+8\.5%\n/.test(r.stdout), r.stdout);
  const d = await alloctrace(["analyze", trace], READ);
  assertIncludes(d.stdout, "\ngo version    go1.22 (");
  assertTrue(/\n\s+576\s+8\s+4,608\s+9\.7%\n/.test(d.stdout), d.stdout);
  const old = await alloctrace(
    ["analyze", `${fileURLToPath(GO119)}leak-n300.trace`],
    READ,
  );
  assertEquals(old.stderr, "");
  assertIncludes(old.stdout, "\ngo version    go1.19 (");
});

Deno.test("replay: a Go 1.22 trace replayed on go1.19 warns that its figures follow go1.19's rules", async () => {
  const r = await alloctrace(
    ["replay", `${fileURLToPath(GO122)}leak-n300.trace`, "--go", "go1.19"],
    READ,
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr.split("\n").length, 2, r.stderr);
  assertIncludes(
    r.stderr,
    "alloctrace: warning: the replay's size classes, fragmentation and GC pacing follow go1.19's rules, but the trace comes from go1.22",
  );
  const same = await alloctrace(
    ["replay", `${fileURLToPath(GO119)}leak-n300.trace`],
    READ,
  );
  assertEquals(same.stderr, "");
});
