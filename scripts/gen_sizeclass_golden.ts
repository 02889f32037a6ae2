/**
 * Regenerates the golden size-class tables in tests/testdata/sizeclasses/
 * from the tables printed in the shared reference
 * (`../shared/reference/go-runtime-memory.md`, sections 8.3 and 8.6).
 * The tests never write these files; run this script by hand:
 *
 *   deno run --allow-read --allow-write scripts/gen_sizeclass_golden.ts [REFERENCE.md]
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** One size class of a golden file. */
export interface GoldenClass {
  class: number;
  size: number;
  npages: number;
  bytesPerSpan: number;
  objects: number;
  tailWaste: number;
}

/** A golden file: what tests/runtime/sizeclasses_test.ts reads. */
export interface Golden {
  source: string;
  preset: string;
  pageSize: number;
  sizeZeroClass: number;
  classes: GoldenClass[];
}

function rowsAfter(text: string, heading: string): string[][] {
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`heading not found: ${heading}`);
  const lines = text.slice(start).split("\n");
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines.slice(1)) {
    if (line.startsWith("|")) {
      inTable = true;
      rows.push(line.split("|").slice(1, -1).map((c) => c.trim()));
    } else if (inTable) break;
  }
  return rows.filter((r) => /^\d+$/.test(r[0]));
}

const ref = Deno.args[0] ??
  fileURLToPath(
    new URL("../../shared/reference/go-runtime-memory.md", import.meta.url),
  );
const text = await Deno.readTextFile(ref);

const go119: GoldenClass[] = rowsAfter(text, "### 8.3 Go 1.19 size-class table")
  .filter((r) => r[0] !== "0")
  .map((r) => ({
    class: Number(r[0]),
    size: Number(r[1]),
    bytesPerSpan: Number(r[2]),
    objects: Number(r[3]),
    tailWaste: Number(r[4]),
    npages: Number(r[7]),
  }));
const go12: GoldenClass[] = rowsAfter(text, "Resulting Go 1.2 table").map((
  r,
) => ({
  class: Number(r[0]),
  size: Number(r[1]),
  npages: Number(r[2]),
  bytesPerSpan: Number(r[3]),
  objects: Number(r[4]),
  tailWaste: Number(r[5]),
}));
if (go119.length !== 67 || go12.length !== 60) {
  throw new Error(
    `expected 67 and 60 classes, parsed ${go119.length} and ${go12.length}`,
  );
}
const out = new URL("../tests/testdata/sizeclasses/", import.meta.url);
for (
  const [name, classes, pageSize, zeroClass] of [
    ["go1.19", go119, 8192, 0],
    ["go1.2-seed", go12, 4096, 1],
  ] as const
) {
  const doc: Golden = {
    source: "shared/reference/go-runtime-memory.md",
    preset: name,
    pageSize,
    sizeZeroClass: zeroClass,
    classes,
  };
  await Deno.writeTextFile(
    new URL(`${name}.json`, out),
    JSON.stringify(doc, null, 1) + "\n",
  );
  console.log(`wrote ${name}.json: ${classes.length} classes`);
}
