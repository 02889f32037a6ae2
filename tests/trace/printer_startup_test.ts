/**
 * Start-up records are built once per preset and their printed stacks are
 * kept across runtimes (`goStartup`, the printer's explicit-stack bytes):
 * a fresh runtime prints the same bytes every time, and a runtime whose
 * symbol table lays functions out differently still prints its own PCs.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { traceOf } from "../../scripts/_golden.ts";
import { goStartup, leak, type Runtime } from "../../mod.ts";

/** Every `func(args)\n\tfile:line +off fp= sp= pc=` frame: its function and pc. */
function framePcs(text: string): { func: string; pc: number }[] {
  return [
    ...text.matchAll(/^(\S+)\(.*\)\n\t\S+ .*pc=(0x[0-9a-f]+)$/gm),
  ].map((m) => ({ func: m[1], pc: Number(m[2]) }));
}

for (const preset of ["go1.19", "go1.22"]) {
  Deno.test(`${preset}: fresh runtimes print the same start-up records, the first and the next`, () => {
    const first = traceOf(preset, (rt) => leak(rt, { n: 20 }));
    const again = traceOf(preset, (rt) => leak(rt, { n: 20 }));
    assertTrue(first.split("tracealloc(").length > 100, "start-up records");
    assertEquals(again, first);
  });

  Deno.test(`${preset}: start-up stacks print this runtime's PCs when its symbol table differs`, () => {
    // Prime the shared stacks with a fresh runtime first.
    traceOf(preset, (rt) => goStartup(rt, "leak"));
    let shifted: Runtime | null = null;
    const text = traceOf(preset, (rt) => {
      shifted = rt;
      // Functions registered first move every later function's entry.
      for (let i = 0; i < 5; i++) rt.symtab.func(`main.f${i}`, "main.go");
      goStartup(rt, "leak");
    });
    const fresh = traceOf(preset, (rt) => goStartup(rt, "leak"));
    const frames = framePcs(text);
    assertTrue(frames.length > 300, `${frames.length} frames`);
    for (const { func, pc } of frames) {
      assertEquals(shifted!.symtab.lookup(pc)?.fn.name, func, `pc ${pc}`);
    }
    // The same records, at other PCs.
    assertEquals(
      text.replace(/pc=0x[0-9a-f]+/g, "pc="),
      fresh.replace(/pc=0x[0-9a-f]+/g, "pc="),
    );
    assertTrue(text !== fresh, "the PCs moved");
  });
}
