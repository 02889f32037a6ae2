/**
 * The ways alloctrace ships besides the executable: `deno run` from a URL
 * (the repository served over loopback HTTP), and the library imported
 * from a project outside the repository.
 */
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { ROOT, run, withTempDir } from "../_run.ts";

const ENV_FLAG = "--allow-env=GODEBUG,GOGC,ALLOCTRACE_DEBUG,NO_COLOR,TERM";

Deno.test("deno run from a URL: the repository served on loopback runs with the minimal permissions", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 403 });
      try {
        const body = await Deno.readFile(`${ROOT}${path.slice(1)}`);
        return new Response(body, {
          headers: { "content-type": "application/typescript" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/main.ts`;
    const dir = await Deno.makeTempDir();
    const r = await run(Deno.execPath(), [
      "run",
      "--no-config",
      `--allow-import=127.0.0.1:${server.addr.port}`,
      ENV_FLAG,
      url,
      "run",
      "leak",
      "--n",
      "100",
      "--json",
    ], { cwd: dir });
    await Deno.remove(dir, { recursive: true });
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.workload, "leak");
    assertEquals(doc.memstats.HeapObjects, 202);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("the library imported from a project outside the repository runs a workload", async () => {
  await withTempDir(async (dir) => {
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { Runtime, leak, heapProfileProto, readPprof } from "${mod}";
const rt = new Runtime({ memProfileRate: 1 });
leak(rt, { n: 50 });
const p = await readPprof(await heapProfileProto(rt));
console.log(JSON.stringify({ objects: rt.readMemStats().HeapObjects, samples: p.samples.length }));
`,
    );
    const r = await run(Deno.execPath(), [
      "run",
      "--no-config",
      `--allow-read=${ROOT}`,
      `${dir}/main.ts`,
    ], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assertEquals(out.objects, 102);
    assertTrue(out.samples >= 4, r.stdout);
  }, "alloctrace-lib-");
});

Deno.test("importing mod.ts touches no Deno API: it loads with no permissions at all", async () => {
  const r = await run(Deno.execPath(), [
    "eval",
    "--no-config",
    `const m = await import(${
      JSON.stringify(new URL("../../mod.ts", import.meta.url).href)
    }); console.log(typeof m.Runtime);`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "function");
});
