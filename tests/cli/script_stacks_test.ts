import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace, ROOT, withTempDir } from "../_run.ts";

// A script workload as the README's library example writes it: no Go frames
// of its own (no rt.call), so its sites are known only from its JS stack.
const SCRIPT = `export default function (rt, args) {
  const node = rt.types.define("main.Node", { size: 16, pointers: [0, 1] });
  const root = rt.global("main.root");
  rt.setGlobal(root, rt.newobject(node));
  for (let i = 0; i < Number(args[0]); i++) {
    rt.newobject(node);
  }
  rt.GC();
}
`;

/** The first site row of a summary or analyze table: its `file:line`. */
function _topSite(text: string, heading: RegExp): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => heading.test(l));
  assertTrue(at >= 0, text);
  const row = lines.slice(at + 1).find((l) => /\S+:\d+/.test(l)) ?? "";
  return row.match(/(\S+\.ts:\d+)/)?.[1] ?? `no file:line in ${row}`;
}

Deno.test("run --stacks js: the summary's sites are the script's own lines, as analyze of its --trace-out names them, without the tool's frames", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/my_workload.ts`;
    await Deno.writeTextFile(script, SCRIPT);
    const trace = `${dir}/js.trace`;
    const perms = [
      "--allow-env",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
    ];
    const r = await alloctrace(
      ["run", script, "1000", "--stacks", "js", "--trace-out", trace],
      perms,
    );
    assertEquals(r.code, 0, r.stderr);
    const runTop = _topSite(r.stdout, /^top .*exact/);
    assertEquals(runTop, `${script}:6`, r.stdout);
    assertTrue(!r.stdout.includes("?"), r.stdout);
    const a = await alloctrace(["analyze", trace], [`--allow-read=${dir}`]);
    assertEquals(a.code, 0, a.stderr);
    assertEquals(_topSite(a.stdout, /^top /), runTop, a.stdout);
    // No frame of the tool itself (main.ts's entry, lib/…) in the trace.
    const text = await Deno.readTextFile(trace);
    for (const own of [`${ROOT}main.ts`, `${ROOT}mod.ts`, `${ROOT}lib/`]) {
      assertTrue(!text.includes(own), `${own} in the trace`);
      assertTrue(!r.stdout.includes(own), `${own} in the summary`);
    }
    // The JSON summary names the same site.
    const j = await alloctrace(
      ["run", script, "1000", "--stacks", "js", "--json"],
      perms,
    );
    assertEquals(j.code, 0, j.stderr);
    const top = JSON.parse(j.stdout).top[0];
    assertEquals(`${top.file}:${top.line}`, runTop);
  });
});

Deno.test("run of a script without Go frames or --stacks js says its sites are unknown, not `?` and an empty tree", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/my_workload.ts`;
    await Deno.writeTextFile(script, SCRIPT);
    const r = await alloctrace(
      ["run", script, "1000"],
      ["--allow-env", `--allow-read=${dir}`],
    );
    assertEquals(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "--stacks js");
    assertTrue(!/^top /m.test(r.stdout), r.stdout);
    assertTrue(!r.stdout.includes("call tree by"), r.stdout);
    assertTrue(!/^\s*\?\s/m.test(r.stdout), r.stdout);
  });
});
