/**
 * Every help page is laid out alike: no line past 80 columns, and in each
 * page every option (and command, workload) description starts in one
 * column, with wrapped lines hanging at that column. Workload parameters
 * name their workload.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";

const PAGES = [[], ["run"], ["workloads"], ["analyze"], ["replay"], ["diff"], [
  "native",
]];

for (const cmd of PAGES) {
  Deno.test(`help of '${["alloctrace", ...cmd].join(" ")}': ≤ 80 columns, descriptions in one column`, async () => {
    const r = await alloctrace([...cmd, "--help"], ["-A"]);
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    for (const l of lines) {
      assertTrue([...l].length <= 80, `${[...l].length} columns: ${l}`);
    }
    // Item lines: two spaces, a term starting with - or a word, two or
    // more spaces, the description; in the Options/Commands/Workloads
    // sections.
    const cols = new Set<number>();
    let inItems = false;
    for (const l of lines) {
      if (/^(Options|Commands|Workloads)\b.*:$/.test(l)) {
        inItems = true;
        continue;
      }
      if (!l.startsWith(" ")) {
        inItems = false;
        continue;
      }
      if (!inItems) continue;
      const m = /^ {2}(\S.*?) {2,}(\S.*)$/.exec(l);
      if (m !== null && l[2] !== " ") {
        cols.add(l.length - m[2].length);
      } else {
        // A wrapped description: it hangs at the column.
        const indent = l.length - l.trimStart().length;
        cols.add(indent);
      }
    }
    assertTrue(
      cols.size === 1,
      `description columns ${[...cols]}:\n${r.stdout}`,
    );
  });
}

Deno.test("run --help: every workload parameter names its workload", async () => {
  const r = await alloctrace(["run", "--help"], ["-A"]);
  const text = r.stdout.replace(/\n {10,}/g, " ");
  for (
    const [opt, wl] of [
      ["--depth", "binarytrees"],
      ["--small", "heapprofile"],
      ["--large", "heapprofile"],
      ["--workers", "multigo"],
      ["--jobs", "multigo"],
      ["--requests", "cache"],
      ["--capacity", "cache"],
    ]
  ) {
    const line = text.split("\n").find((l) => l.startsWith(`  ${opt} N`));
    assertTrue(line?.includes(`${wl}:`), `${opt}: ${line}`);
  }
});

Deno.test("run --help: --trace-max says a pipe or device has no limit", async () => {
  // _openTrace limits a regular file only (a pipe or device fills no
  // disk): a user passing --trace-max with /dev/stdout would be surprised.
  const r = await alloctrace(["run", "--help"], ["-A"]);
  const line = r.stdout.replace(/\n {10,}/g, " ").split("\n")
    .find((l) => l.startsWith("  --trace-max BYTES"));
  assertTrue(/not a pipe or device/.test(line ?? ""), `${line}`);
});

Deno.test("the workloads listing wraps at 80 columns", async () => {
  const r = await alloctrace(["workloads"], ["-A"]);
  assertEquals(r.code, 0, r.stderr);
  for (const l of r.stdout.split("\n")) {
    assertTrue([...l].length <= 80, `${[...l].length} columns: ${l}`);
  }
});
