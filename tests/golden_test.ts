/**
 * Golden files: exact output formats (text heap profiles, allocfreetrace in
 * both presets' formats) for small deterministic runs. The test only reads
 * them; `scripts/gen_golden.ts` writes them.
 */
import { assertEquals } from "./_assert.ts";
import { GOLDEN_CASES } from "../scripts/_golden.ts";

for (const c of GOLDEN_CASES) {
  Deno.test(`golden: ${c.file} is reproduced byte for byte`, async () => {
    const want = await Deno.readTextFile(
      new URL(`testdata/golden/${c.file}`, import.meta.url),
    );
    const got = c.make();
    if (got !== want) {
      const a = got.split("\n");
      const b = want.split("\n");
      const i = a.findIndex((l, k) => l !== b[k]);
      assertEquals(
        a.slice(i, i + 3),
        b.slice(i, i + 3),
        `${c.file}: first difference at line ${i + 1}`,
      );
    }
    assertEquals(got.length, want.length);
  });
}
