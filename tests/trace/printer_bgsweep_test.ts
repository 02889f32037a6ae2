/**
 * The printer's free records from the background sweeper (goroutine 3,
 * `created by runtime.gcenable`) against the real Go 1.19 trace of the same
 * program: the same frames, file:line +offset and `created by` lines. No
 * other test compared this record (its offset could change unnoticed).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { GO119 } from "../_testdata.ts";

/** The bgsweep tracefree records of `text`, without arguments, fp/sp/pc or addresses. */
function bgsweepShapes(text: string): string[] {
  return text.split("\n\n")
    .filter((r) =>
      r.startsWith("tracefree(") && r.includes("\nruntime.bgsweep(")
    )
    .map((r) =>
      r.split("\n").slice(1).map((l) =>
        l.replace(/ fp=.*$/, "").replace(/\(.*\)$/, "()")
      ).join("\n")
    );
}

Deno.test("printer: a bgsweep free record matches real Go 1.19's, `created by runtime.gcenable` offset included", async () => {
  const real = bgsweepShapes(
    await Deno.readTextFile(new URL("leak-n300.trace", GO119)),
  );
  assertTrue(real.length > 0, "the real trace has bgsweep frees");
  assertEquals(new Set(real).size, 1, real.join("\n--\n"));
  await withTempDir(async (dir) => {
    const r = await alloctrace([
      "run",
      "leak",
      "--n",
      "300",
      "--godebug",
      "allocfreetrace=1",
      "--trace-out",
      `${dir}/t.trace`,
      "-q",
    ], ["--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`]);
    assertEquals(r.code, 0, r.stderr);
    const sim = bgsweepShapes(await Deno.readTextFile(`${dir}/t.trace`));
    assertTrue(sim.length > 0, "the simulated run has bgsweep frees");
    for (const s of new Set(sim)) assertEquals(s, real[0]);
    assertTrue(
      real[0].endsWith(
        "created by runtime.gcenable\n\truntime/mgc.go:178 +0x6b",
      ),
    );
  });
});
