/**
 * The mark workers' race into `gcMarkDone`, as real go1.19.8 traces show
 * it (2 Ps): at about half the cycles the worker that did not end the mark
 * is listed in `tracegc` blocked on `work.markDoneSema` (30 of 64 cycles
 * of leak, binarytrees and temporaries), most of those times after
 * allocating the `sudog` it waits with.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { traceOf } from "../../scripts/_golden.ts";
import { binarytrees, leak, Runtime, temporaries } from "../../mod.ts";

/** Per `tracegc`: whether a worker is listed in semacquire1, and the sudogs gcMarkDone allocated since the last. */
function races(trace: string): { blocked: boolean; sudogs: number }[] {
  const out: { blocked: boolean; sudogs: number }[] = [];
  let sudogs = 0;
  for (const rec of trace.split("\n\n")) {
    if (
      rec.startsWith("tracealloc(") && rec.includes(", runtime.sudog)") &&
      rec.includes("\nruntime.gcMarkDone()\n")
    ) sudogs++;
  }
  const listings = trace.split("tracegc()\n").slice(1)
    .map((t) => t.slice(0, t.indexOf("end tracegc")));
  let at = 0;
  for (const l of listings) {
    // The sudogs allocated between this listing and the previous one.
    const here = trace.indexOf(l, at);
    const since = trace.slice(at, here).split("\n\n").filter((r) =>
      r.startsWith("tracealloc(") && r.includes(", runtime.sudog)") &&
      r.includes("\nruntime.gcMarkDone()\n")
    ).length;
    at = here + l.length;
    out.push({
      blocked: l.split("\n\n").some((g) =>
        g.includes("[runnable]:\nruntime.gopark(") &&
        g.includes("\nruntime.semacquire1(")
      ),
      sudogs: since,
    });
  }
  assertEquals(out.reduce((a, c) => a + c.sudogs, 0), sudogs);
  return out;
}

Deno.test("markdone: about half the cycles list the second mark worker blocked in gcMarkDone, each after allocating its sudog", () => {
  const cycles = [
    ...races(traceOf("go1.19", (rt) => leak(rt, { n: 20000 }))),
    ...races(traceOf("go1.19", (rt) => temporaries(rt, { n: 300 }))),
    ...races(traceOf("go1.19", (rt) => binarytrees(rt, { depth: 9 }))),
  ];
  const blocked = cycles.filter((c) => c.blocked).length;
  assertTrue(
    blocked >= cycles.length * 0.25 && blocked <= cycles.length * 0.75,
    `${blocked} of ${cycles.length} cycles`,
  );
  for (const c of cycles) assertEquals(c.sudogs, c.blocked ? 1 : 0);
});

Deno.test("markdone: the sudog stays live (a P's sudogcache keeps it) and the worker is idle again at the next cycle", () => {
  const rt = new Runtime({ preset: "go1.19" });
  const sudogs: number[] = [];
  const freed = new Set<number>();
  rt.events.subscribe({
    alloc: (addr, _size, typ) => {
      if (typ?.name === "runtime.sudog") sudogs.push(addr);
    },
    free: (addr) => freed.add(addr),
  });
  leak(rt, { n: 20000 });
  assertTrue(sudogs.length > 0, "no sudog");
  for (const a of sudogs) assertTrue(!freed.has(a), `sudog ${a} freed`);
  const workers = rt.allgs.filter((g) => g.kind === "markworker");
  assertEquals(workers.length, 2);
  for (const w of workers) assertEquals(w.waitReason, "GC worker (idle)");
});
