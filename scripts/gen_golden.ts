/**
 * Regenerates the golden files in tests/testdata/golden from the cases in
 * scripts/_golden.ts. Tests never write them; run this by hand after a
 * deliberate change of output and review the diff:
 *
 *   deno run --allow-write scripts/gen_golden.ts
 *
 * @module
 */

import { GOLDEN_CASES } from "./_golden.ts";

for (const c of GOLDEN_CASES) {
  const url = new URL(`../tests/testdata/golden/${c.file}`, import.meta.url);
  await Deno.writeTextFile(url, c.make());
  console.log(`wrote tests/testdata/golden/${c.file}`);
}
