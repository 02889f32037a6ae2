import { assertEquals, assertTrue } from "../_assert.ts";
import { captureJsFrames, Runtime, TracePrinter } from "../../mod.ts";

function myAllocSite() {
  return captureJsFrames();
}

Deno.test("captureJsFrames: the caller's own functions and lines, the library's left out", () => {
  const frames = myAllocSite();
  assertEquals(frames[0].func, "myAllocSite");
  assertTrue(
    frames[0].file.endsWith("tests/stack/js_stack_test.ts"),
    frames[0].file,
  );
  const src = Deno.readTextFileSync(new URL(import.meta.url)).split("\n");
  assertEquals(
    frames[0].line,
    src.findIndex((l) => l.includes("return captureJsFrames();")) + 1,
  );
});

function buildCache(rt: Runtime) {
  const t = rt.types.define("main.Entry", { size: 32, pointers: [0] });
  return rt.newobject(t);
}

Deno.test("--stacks js: the trace shows the TypeScript caller instead of simulated Go frames", () => {
  const rt = new Runtime();
  let out = "";
  const dec = new TextDecoder();
  const p = new TracePrinter(rt, (b) => (out += dec.decode(b)), {
    stacks: "js",
  });
  p.attach();
  buildCache(rt);
  p.flush();
  const lines = out.split("\n");
  assertEquals(lines[0], "tracealloc(0xc000000000, 0x20, main.Entry)");
  const i = lines.indexOf("buildCache()");
  assertTrue(i > 0, out);
  const src = Deno.readTextFileSync(new URL(import.meta.url)).split("\n");
  const want = src.findIndex((l) => l.includes("return rt.newobject(t);")) + 1;
  assertTrue(
    lines[i + 1].includes(`tests/stack/js_stack_test.ts:${want} +0x20 fp=`),
    lines[i + 1],
  );
});
