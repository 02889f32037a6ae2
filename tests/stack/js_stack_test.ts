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

/** A --stacks js trace printer of `rt`; the function flushes and returns the text. */
function jsTrace(rt: Runtime): () => string {
  let out = "";
  const dec = new TextDecoder();
  const p = new TracePrinter(rt, (b) => (out += dec.decode(b)), {
    stacks: "js",
  });
  p.attach();
  return () => {
    p.flush();
    return out;
  };
}

Deno.test("--stacks js: the trace shows the TypeScript caller instead of simulated Go frames", () => {
  const rt = new Runtime();
  const trace = jsTrace(rt);
  buildCache(rt);
  const out = trace();
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

Deno.test("attachEvents with stacks js: an allocation's stack is the JS caller's, as the printer writes it", async () => {
  const { attachEvents, StackTable } = await import("../../mod.ts");
  const rt = new Runtime();
  const table = new StackTable();
  const stacks: number[] = [];
  attachEvents(rt, table, (e) => {
    if (e.kind === "alloc") stacks.push(e.stack);
  }, { stacks: "js" });
  for (let i = 0; i < 2; i++) buildCache(rt);
  buildCache(rt);
  assertEquals(stacks.length, 3);
  assertEquals(stacks[0], stacks[1]); // one loop, one interned stack
  assertTrue(stacks[2] !== stacks[0]); // another caller line, another stack
  const frames = table.get(stacks[0]);
  assertEquals(frames[0].func, "buildCache");
  assertTrue(frames[0].file.endsWith("tests/stack/js_stack_test.ts"));
  // Without it: the goroutine's simulated frames (none pushed here), above
  // the main goroutine's runtime.main, as Go's traceback prints them.
  const go: number[] = [];
  const rt2 = new Runtime();
  attachEvents(rt2, table, (e) => {
    if (e.kind === "alloc") go.push(e.stack);
  });
  buildCache(rt2);
  assertEquals(table.get(go[0]).map((f) => f.func), ["runtime.main"]);
});

Deno.test("run --stacks js --trace-out: the printer and the event forwarder share one JS stack capture per allocation", async () => {
  const { attachEvents, StackTable } = await import("../../mod.ts");
  const rt = new Runtime();
  const trace = jsTrace(rt);
  const table = new StackTable();
  const stacks: number[] = [];
  attachEvents(rt, table, (e) => {
    if (e.kind === "alloc") stacks.push(e.stack);
  }, { stacks: "js" });
  const E = Error as unknown as { captureStackTrace(o: object): void };
  const capture = E.captureStackTrace;
  let captures = 0;
  E.captureStackTrace = (o: object) => {
    captures++;
    capture(o);
  };
  try {
    for (let i = 0; i < 5; i++) buildCache(rt);
  } finally {
    E.captureStackTrace = capture;
  }
  const out = trace();
  assertEquals(stacks.length, 5);
  assertEquals(captures, 5);
  // Both consumers name the same caller (under the counting wrapper).
  assertEquals(table.get(stacks[0])[1].func, "buildCache");
  assertEquals(out.split("\n").filter((l) => l === "buildCache()").length, 5);
});
