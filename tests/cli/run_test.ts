import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";

Deno.test("alloctrace run (the main job) prints a summary of the simulated heap", async () => {
  const r = await alloctrace(["run", "binarytrees", "--depth", "8"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  // depth 8: stretch 2^10-1, long-lived 2^9-1, then trees of depth 4, 6, 8
  const nodes = 1023 + 511 + 256 * 31 + 64 * 127 + 16 * 511;
  assertIncludes(r.stdout, `allocations   ${nodes.toLocaleString("en-US")} (`);
  assertIncludes(r.stdout, "live          511 objects, 8,176 bytes");
});

Deno.test("alloctrace run --json gives the MemStats of the run", async () => {
  const r = await alloctrace([
    "run",
    "--depth",
    "6",
    "--go",
    "go1.2-seed",
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assertEquals(doc.preset, "go1.2-seed");
  assertEquals(doc.memstats.HeapObjects, 127);
  assertEquals(doc.memstats.HeapAlloc, 127 * 16);
  assertEquals(doc.memstats.Mallocs - doc.memstats.Frees, 127);
});

Deno.test("bad command lines: one line on stderr and exit code 2", async () => {
  for (
    const [args, want] of [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["run", "--depth", "x"], /--depth takes a whole number, got "x"/],
      [["run", "nosuch"], /unknown workload "nosuch"/],
      [["run", "--go", "go1.5"], /unknown preset "go1.5"/],
      [["run", "--bogus"], /bogus/],
    ] as const
  ) {
    const r = await alloctrace([...args]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertEquals(r.stdout, "");
    assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assertTrue(want.test(r.stderr), r.stderr);
    assertTrue(!r.stderr.includes("    at "), "stack trace leaked");
  }
});

Deno.test("a heap limit that is too small fails with one line and exit code 1", async () => {
  const r = await alloctrace(["run", "--depth", "10", "--heap-limit", "4096"]);
  assertEquals(r.code, 1);
  assertIncludes(r.stderr, "out of memory: allocating 16 bytes");
  assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
});

Deno.test("--help and --version answer", async () => {
  const h = await alloctrace(["--help"]);
  assertEquals(h.code, 0);
  assertIncludes(h.stdout, "Usage: alloctrace <command>");
  const rh = await alloctrace(["run", "--help"]);
  assertIncludes(rh.stdout, "--depth N");
  const v = await alloctrace(["--version"]);
  assertTrue(/^alloctrace \d+\.\d+\.\d+\n$/.test(v.stdout), v.stdout);
});
