/**
 * The stack scan work of the simulated go1.19 against real Go 1.19's
 * gcpacertrace (tests/testdata/fidelity/leak-20000-pacertrace.txt: each
 * cycle's "HEAP+STACK+GLOBALS B work"): the stacks are in the next heap
 * goal and the runway (lib/runtime/stackscan.ts). Before the model counted
 * its root slots, 8 B, where real Go scans ~3 KB.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { leak, Runtime, temporaries, TracePrinter } from "../../mod.ts";

async function realStackScans(): Promise<number[]> {
  const text = await Deno.readTextFile(
    new URL(
      "../testdata/fidelity/leak-20000-pacertrace.txt",
      import.meta.url,
    ),
  );
  return [...text.matchAll(/for \d+\+(\d+)\+\d+ B work/g)].map((m) => +m[1]);
}

/** Each cycle's stack scan work and the stack allocated, as the pacer keeps them. */
function simulated(run: (rt: Runtime) => void, traced: boolean) {
  const rt = new Runtime({ preset: "go1.19", seed: 1 });
  if (traced) new TracePrinter(rt, () => {}).attach();
  const scans: number[] = [];
  const allocated: number[] = [];
  rt.events.subscribe({
    gc: (ev) => {
      if (ev.kind !== "end") return;
      scans.push(rt.gc.pacer.lastStackScan);
      allocated.push(rt.gc.pacer.maxStackScan);
    },
  });
  run(rt);
  return { scans, allocated };
}

for (const traced of [false, true]) {
  Deno.test(`fidelity: ${traced ? "traced " : ""}leak -n 20000 scans as many stack bytes per cycle as real Go 1.19's gcpacertrace`, async () => {
    const real = await realStackScans();
    assertTrue(real.length >= 20, `${real.length} real cycles`);
    const [lo, hi] = [Math.min(...real), Math.max(...real)];
    const sim = simulated((rt) => leak(rt, { n: 20000 }), traced);
    for (const [i, s] of sim.scans.entries()) {
      assertTrue(
        s >= lo * 0.9 && s <= hi * 1.1,
        `cycle ${i + 1}: ${s} B of stacks scanned, real ${lo}–${hi}`,
      );
    }
    // Six goroutines on 2 KiB stacks and main's grown to 4 KiB, as an
    // instrumented go1.19.8 runtime shows (stackscan.ts).
    assertEquals(new Set(sim.allocated), new Set([16384]));
  });
}

Deno.test("fidelity: temporaries' main.main frame (3.6 KB) makes its stack scan 5.4 KB and its stack 8 KiB, as in real Go 1.19", () => {
  const sim = simulated((rt) => temporaries(rt, { n: 300 }), false);
  // The instrumented runtime: 5360–5392 B scanned, main's stack 8 KiB.
  for (const s of sim.scans) assertTrue(s >= 5360 * 0.9 && s <= 5392 * 1.1);
  assertEquals(new Set(sim.allocated), new Set([6 * 2048 + 8192]));
});
