/**
 * Presets are data: everything that differs between the modelled Go
 * versions is a field of `Preset`, so no code outside presets.ts branches
 * on a preset's name.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { getPreset, PRESET_NAMES, Runtime, TracePrinter } from "../../mod.ts";

const LIB = new URL("../../lib/", import.meta.url);

async function* tsFiles(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* tsFiles(u);
    else if (e.name.endsWith(".ts")) yield u;
  }
}

/** A line that branches on (or keys a table by) one of `names`. */
function _branchPattern(names: readonly string[]): RegExp {
  const q = `"(?:${names.map((n) => n.replaceAll(".", "\\.")).join("|")})"`;
  return new RegExp(
    [
      `[!=]==?\\s*${q}`, // x === "go1.19"
      `${q}\\s*[!=]==?`, // "go1.19" === x
      `case\\s+${q}`, // switch (name) { case "go1.19": … }
      `^\\s*${q}\\s*:`, // a table keyed by preset name
      `preset\\.name\\s*[!=]==?`, // rt.preset.name === anything
    ].join("|"),
  );
}

Deno.test("no code in lib/ outside presets.ts branches on a preset's name", async () => {
  const branch = _branchPattern(PRESET_NAMES);
  const hits: string[] = [];
  let files = 0;
  for await (const url of tsFiles(LIB)) {
    if (url.pathname.endsWith("/lib/runtime/presets.ts")) continue;
    files++;
    const lines = (await Deno.readTextFile(url)).split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\*|\/\/)/.test(line)) return; // comments and doc examples
      if (branch.test(line)) {
        hits.push(`${url.pathname.split("/lib/")[1]}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assertTrue(files > 50, `found only ${files} files under lib/`);
  assertEquals(hits, []);
});

Deno.test("the test's pattern catches a branch on a preset's name", () => {
  const branch = _branchPattern(["go1.19", "go1.2-seed"]);
  for (
    const bad of [
      `if (rt.preset.name === "go1.2-seed") {`,
      `const stw = name !== "go1.19";`,
      `    case "go1.19":`,
      `  "go1.2-seed": ["allocfreetrace"],`,
      `if ("go1.19" === p) x();`,
    ]
  ) assertTrue(branch.test(bad), bad);
  for (
    const fine of [
      `const rt = new Runtime({ preset: "go1.19" });`,
      `go: { type: "string", default: "go1.19" },`,
      `if (rt.preset.stopTheWorldSweep) {`,
    ]
  ) assertTrue(!branch.test(fine), fine);
});

Deno.test("every preset fills every field (a new preset is data)", () => {
  const fields = Object.keys(getPreset(PRESET_NAMES[0])).sort();
  for (const name of PRESET_NAMES) {
    const p = getPreset(name);
    assertEquals(Object.keys(p).sort(), fields, name);
    for (const f of fields) {
      assertTrue(
        (p as unknown as Record<string, unknown>)[f] !== undefined,
        `${name}.${f}`,
      );
    }
  }
});

Deno.test("go1.2-seed: make(chan int, 8) is one block typed by its channel type, as the Dec 2013 makechan passes it (<channel of chan int>)", () => {
  const rt = new Runtime({ preset: "go1.2-seed" });
  let out = "";
  const p = new TracePrinter(rt, (b) => (out += new TextDecoder().decode(b)));
  p.attach();
  rt.call("main.main", "main.go", 5, () => rt.makechan(rt.types.get("int"), 8));
  p.flush();
  const heads = out.split("\n").filter((l) => l.startsWith("MProf_Malloc("));
  assertEquals(heads.length, 1);
  assertTrue(heads[0].endsWith(" <channel of chan int>)"), heads[0]);
});

Deno.test("go1.2-seed: make(chan *T, 4) is one block too, hchan and buffer, typed by its channel type (<channel of chan *main.T>)", () => {
  const rt = new Runtime({ preset: "go1.2-seed" });
  let out = "";
  const p = new TracePrinter(rt, (b) => (out += new TextDecoder().decode(b)));
  p.attach();
  rt.types.define("main.T", { size: 24, pointers: [0] });
  const c = rt.call(
    "main.main",
    "main.go",
    5,
    () => rt.makechan(rt.types.get("*main.T"), 4),
  );
  p.flush();
  const heads = out.split("\n").filter((l) => l.startsWith("MProf_Malloc("));
  assertEquals(heads.length, 1, out);
  assertTrue(heads[0].endsWith(" <channel of chan *main.T>)"), heads[0]);
  // One block of hchan + 4 pointers, at its size class.
  assertEquals(rt.sizeOf(c), rt.roundupsize(96 + 4 * 8));
});
