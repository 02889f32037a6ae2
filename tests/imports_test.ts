/**
 * Imports run down the floors (DESIGN.md: cli → report/native/trace →
 * profile/workload → runtime → stack), with no circles: no file imports a
 * folder on a higher floor, the folders' graph has no cycle, no two files
 * import each other's values or types in a circle (the runtime's parts take
 * what they need as narrow interfaces declared beside them, not `Runtime`).
 * mod.ts, the library's entry, has no FFI (lib/native) in its graph.
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "./_assert.ts";

const ROOT_URL = new URL("../", import.meta.url);
const ROOT = fileURLToPath(ROOT_URL);
const FLOOR: Record<string, number> = {
  cli: 4,
  report: 3,
  native: 3,
  trace: 3,
  exectrace: 3,
  profile: 2,
  workload: 2,
  runtime: 1,
  stack: 0,
};
interface Edge {
  to: string;
  typeOnly: boolean;
}

/** Every .ts file under `dir` (relative to the root) and its relative imports. */
function _graph(dir: string): Map<string, Edge[]> {
  const g = new Map<string, Edge[]>();
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${d}`)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts")) g.set(p, _imports(p));
    }
  };
  walk(dir);
  return g;
}

function _imports(file: string): Edge[] {
  const src = Deno.readTextFileSync(`${ROOT}${file}`)
    .replace(/\/\*[\s\S]*?\*\//g, ""); // doc examples import too
  const out: Edge[] = [];
  for (
    const m of src.matchAll(
      /^\s*(?:import|export)\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)"/gm,
    )
  ) {
    const to = new URL(m[2], new URL(file, ROOT_URL)).href.slice(
      ROOT_URL.href.length,
    );
    out.push({ to, typeOnly: m[1] !== undefined });
  }
  return out;
}

/** Strongly connected components with more than one file (Tarjan). */
function _cycles(
  g: Map<string, Edge[]>,
  follow: (e: Edge) => boolean,
): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const e of g.get(v) ?? []) {
      if (!follow(e) || !g.has(e.to)) continue;
      if (!index.has(e.to)) {
        visit(e.to);
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!));
      } else if (on.has(e.to)) {
        low.set(v, Math.min(low.get(v)!, index.get(e.to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

const folderOf = (f: string) => f.split("/")[1];
const LIB = _graph("lib");

Deno.test("every file under lib/ is in a folder with a floor", () => {
  const stray = [...LIB.keys()].filter((f) => !(folderOf(f) in FLOOR));
  assertEquals(stray, []);
});

Deno.test("no import runs up a floor", () => {
  const up: string[] = [];
  for (const [f, edges] of LIB) {
    for (const e of edges) {
      if (!e.to.startsWith("lib/")) continue;
      if (FLOOR[folderOf(e.to)] > FLOOR[folderOf(f)]) {
        up.push(`${f} -> ${e.to}`);
      }
    }
  }
  assertEquals(up, []);
});

Deno.test("the folders' import graph has no cycle", () => {
  const folders = new Map<string, Edge[]>();
  for (const [f, edges] of LIB) {
    const a = `lib/${folderOf(f)}`;
    const list = folders.get(a) ?? [];
    for (const e of edges) {
      const b = `lib/${folderOf(e.to)}`;
      if (b !== a && !list.some((x) => x.to === b)) {
        list.push({ to: b, typeOnly: false });
      }
    }
    folders.set(a, list);
  }
  assertEquals(_cycles(folders, () => true), []);
});

Deno.test("no import circle among files, of values or of types", () => {
  assertEquals(_cycles(LIB, (e) => !e.typeOnly), []);
  assertEquals(_cycles(LIB, () => true), []);
});

/** The files `file` loads before it runs: its static value imports, transitively. */
function _reach(file: string): Set<string> {
  const seen = new Set<string>();
  const todo = [file];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const e of _imports(f)) if (!e.typeOnly) todo.push(e.to);
  }
  return seen;
}

Deno.test("mod.ts has no FFI (lib/native) in its import graph", () => {
  const seen = _reach("mod.ts");
  assertTrue(seen.size > 30, `mod.ts reaches only ${seen.size} files`);
  assertEquals([...seen].filter((f) => f.startsWith("lib/native/")), []);
});

Deno.test("analyze loads no output writer up front: the HTML report, pprof (npm:pprof-format), the heap profile and folded stacks load only when asked for", () => {
  const seen = _reach("lib/cli/analyze.ts");
  assertTrue(seen.has("lib/cli/_output.ts"), [...seen].join(" "));
  const writers = [
    "lib/report/html.ts",
    "lib/profile/proto.ts",
    "lib/profile/heap.ts",
    "lib/profile/folded.ts",
    "lib/profile/text.ts",
  ];
  assertEquals(writers.filter((f) => seen.has(f)), []);
});

Deno.test("every command's dispatch (main.ts) loads none of the runtime: _usage.ts checks --go and --gogc in _runtime_options.ts, for the commands that take them", () => {
  const seen = _reach("main.ts");
  assertTrue(seen.has("lib/cli/_usage.ts"), [...seen].join(" "));
  assertEquals([...seen].filter((f) => f.startsWith("lib/runtime/")), []);
});

Deno.test("analyze of an allocfreetrace log loads no simulator GC, no execution-trace reader, no node: module and, for --json, no text report up front", () => {
  const seen = new Set([..._reach("main.ts"), ..._reach("lib/cli/analyze.ts")]);
  assertTrue(seen.has("lib/trace/byte_parser.ts"), [...seen].join(" "));
  const later = [
    "lib/runtime/gc.ts",
    "lib/runtime/mbitmap.ts",
    "lib/cli/exec_analyze.ts",
    "lib/cli/_readexec.ts",
    "lib/trace/exectrace/mod.ts",
    "lib/trace/exectrace/reader.ts",
    "lib/trace/exectrace/heap.ts",
    "lib/report/text.ts",
    "lib/report/tree.ts",
  ];
  assertEquals(later.filter((f) => seen.has(f)), []);
  // Nor Deno's Node layer (its first `node:` import costs ~17 ms or more):
  // node:zlib loads for gzip alone.
  const node = [...seen].filter((f) =>
    /^\s*import\s[^;]*?from\s+"node:/m.test(
      Deno.readTextFileSync(`${ROOT}${f}`).replace(/\/\*[\s\S]*?\*\//g, ""),
    )
  );
  assertEquals(node, []);
});

Deno.test("no script, bench or library file imports from tests/", () => {
  const into: string[] = [];
  for (const dir of ["lib", "scripts", "bench"]) {
    for (const [f, edges] of _graph(dir)) {
      for (const e of edges) {
        if (e.to.startsWith("tests/")) into.push(`${f} -> ${e.to}`);
      }
    }
  }
  assertEquals(into, []);
});

Deno.test("the checks catch what they look for", () => {
  const g = new Map<string, Edge[]>([
    ["lib/runtime/a.ts", [{ to: "lib/runtime/b.ts", typeOnly: false }]],
    ["lib/runtime/b.ts", [{ to: "lib/runtime/a.ts", typeOnly: true }]],
  ]);
  assertEquals(_cycles(g, (e) => !e.typeOnly), []);
  assertEquals(_cycles(g, () => true), [[
    "lib/runtime/a.ts",
    "lib/runtime/b.ts",
  ]]);
  const here = _imports("tests/imports_test.ts");
  assertEquals(here, [{ to: "tests/_assert.ts", typeOnly: false }]);
});
