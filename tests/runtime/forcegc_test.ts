/**
 * sysmon's `forcegcperiod` (Go 1.19 proc.go 5120–5125, mgc.go 560–565): a
 * program that ran two minutes since its last cycle gets one, not forced
 * by the user, unless GOGC is off or no cycle ran yet.
 */
import { assertEquals } from "../_assert.ts";
import { FORCEGC_PERIOD_NS, type PresetName, Runtime } from "../../mod.ts";

/** Cycles started (forced or not) by 40 large allocations after `idle` ns. */
function cyclesAfter(
  idle: number,
  opts: { preset?: PresetName; gogc?: string; gcFirst?: boolean } = {},
): boolean[] {
  const rt = new Runtime({ preset: opts.preset ?? "go1.19", gogc: opts.gogc });
  const bytes = rt.types.get("uint8");
  const started: boolean[] = [];
  rt.events.subscribe({
    gc: (ev) => {
      if (ev.kind === "start") started.push(ev.forced);
    },
  });
  rt.call("main.main", "main.go", 5, () => {
    rt.makeslice(bytes, 40000);
    if (opts.gcFirst ?? true) rt.GC();
    rt.clock += idle;
    // Large objects: each may start a cycle (shouldhelpgc); 1.6 MB is far
    // below the 4 MB heap trigger.
    for (let i = 0; i < 40; i++) rt.makeslice(bytes, 40000);
  });
  return started;
}

Deno.test("forcegcperiod: two minutes after a cycle the next allocation that may start one does, not forced", () => {
  assertEquals(FORCEGC_PERIOD_NS, 120e9);
  assertEquals(cyclesAfter(FORCEGC_PERIOD_NS + 1), [true, false]);
});

Deno.test("forcegcperiod: not before two minutes, not with GOGC=off, not before any cycle, not on go1.2-seed", () => {
  assertEquals(cyclesAfter(FORCEGC_PERIOD_NS - 1e9), [true]);
  assertEquals(cyclesAfter(FORCEGC_PERIOD_NS + 1, { gogc: "off" }), [true]);
  assertEquals(cyclesAfter(FORCEGC_PERIOD_NS + 1, { gcFirst: false }), []);
  // Go 1.2's pacer has no heap minimum: the heap starts its cycles, the
  // same ones after two idle minutes.
  const seed = { preset: "go1.2-seed" as const };
  assertEquals(
    cyclesAfter(FORCEGC_PERIOD_NS + 1, seed),
    cyclesAfter(0, seed),
  );
});
