import { assertEquals, assertIncludes } from "../_assert.ts";
import { ROOT, run } from "../_run.ts";

const denort = Deno.env.get("DENORT_BIN");

Deno.test({
  name:
    "deno task compile builds an executable that runs --help and a real command",
  ignore: denort === undefined,
  async fn() {
    const out = `${ROOT}dist/alloctrace`;
    try {
      const c = await run(Deno.execPath(), ["task", "compile"], {
        env: { DENORT_BIN: denort! },
      });
      assertEquals(c.code, 0, c.stderr);
      const h = await run(out, ["--help"]);
      assertEquals(h.code, 0, h.stderr);
      assertIncludes(h.stdout, "Usage: alloctrace");
      const r = await run(out, ["run", "--depth", "6", "--json"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(r.stdout).memstats.HeapObjects, 127);
    } finally {
      await Deno.remove(out).catch(() => {});
    }
  },
});

if (denort === undefined) {
  console.log(
    `compile_test: skipped: DENORT_BIN is not set (deno compile downloads its denort base, which this machine cannot reach; point DENORT_BIN at a denort binary to run it).`,
  );
}
