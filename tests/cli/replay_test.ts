import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { GO119, GO122 } from "../_testdata.ts";

const PERMS = ["--allow-env", "--allow-read", "--allow-write"];

// Allocation entry points the simulated Go 1.22 profile keeps on top of a
// stack (mallocgc's caller) and the analysis leaves out (not a site).
const ENTRY =
  /(;runtime\.(newobject|makeslice|growslice|makechan|makemap_small|mapassign\w*|rawstring|rawbyteslice|rawruneslice|concatstring\d*|slicebytetostring|mallocgc))+$/;

/**
 * Folded stacks as stack → bytes, the leaf's " file:line" label and the
 * allocation entry points dropped.
 */
function foldedMap(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const at = line.lastIndexOf(" ");
    const stack = line.slice(0, at).replace(/ \S+:\d+$/, "").replace(
      ENTRY,
      "",
    );
    m.set(stack, (m.get(stack) ?? 0) + Number(line.slice(at + 1)));
  }
  return m;
}

for (
  const [name, trace, go] of [
    ["go1.19 leak", `${fileURLToPath(GO119)}leak-n300.trace`, "go1.19"],
    ["go1.22 leak", `${fileURLToPath(GO122)}leak-n300.trace`, "go1.22"],
    [
      "go1.19 temporaries",
      `${fileURLToPath(GO119)}temporaries-n40.trace`,
      "go1.19",
    ],
  ]
) {
  // Objects always; bytes too where no allocation header makes the traced
  // size (analyze) and the slot (the replayed profile) differ.
  const types = go === "go1.19"
    ? ["alloc_objects", "alloc_space"]
    : ["alloc_objects"];
  Deno.test(
    `replay at MemProfileRate=1 and analyze of one trace (${name}) file every allocation under the same stack (${
      types.join(", ")
    }): start-up ones under runtime.rt0_go, not runtime.main`,
    async () => {
      await withTempDir(async (dir) => {
        for (const type of types) {
          const a = await alloctrace(
            ["analyze", trace, "--by", "func", "--folded", `${dir}/a.folded`]
              .concat(["--folded-type", type]),
            PERMS,
          );
          assertEquals(a.code, 0, a.stderr);
          const r = await alloctrace(
            ["replay", trace, "--go", go, "--memprofilerate", "1"]
              .concat(["--folded", `${dir}/r.folded`, "--folded-type", type]),
            PERMS,
          );
          assertEquals(r.code, 0, r.stderr);
          const analyzed = foldedMap(
            await Deno.readTextFile(`${dir}/a.folded`),
          );
          const replayed = foldedMap(
            await Deno.readTextFile(`${dir}/r.folded`),
          );
          const startup = [...analyzed.keys()].filter((s) =>
            s.startsWith("runtime.rt0_go;")
          );
          assertTrue(startup.length > 0, "the trace has start-up allocations");
          for (const s of startup) {
            assertEquals(replayed.get(s), analyzed.get(s), `${type}: ${s}`);
          }
          // And every other stack: the same set, the same figures.
          const diff = [...new Set([...analyzed.keys(), ...replayed.keys()])]
            .filter((s) => analyzed.get(s) !== replayed.get(s))
            .map((s) =>
              `${type}: ${s}: analyze ${analyzed.get(s)}, replay ${
                replayed.get(s)
              }`
            );
          assertEquals(diff, []);
        }
      });
    },
  );
}
