/**
 * Fidelity of the simulated runtime against real Go 1.19: the built-in
 * workloads replay the allocation patterns of the Go programs whose real
 * traces are in shared/testdata, with the same arguments, and are compared
 * on the programs' intentional allocation sites (the sites of the truth
 * files: what the workloads model; the real traces also hold the runtime's,
 * flag's and fmt's own allocations, which are not modelled).
 *
 * - allocations per size class: exact (allocation is deterministic);
 * - frees per size class: within 10% (in real Go what is freed by exit
 *   depends on which tiny block is current at the final GC and on
 *   concurrent sweeping; here all three programs free everything dead in
 *   their final runtime.GC(), so the counts agree closely);
 * - GC cycles: within ±1 (real Go's concurrent GC can start a cycle a
 *   little earlier or later than the model's pacer; each of these runs has
 *   one real cycle, the final forced one).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, GO122, parseShared, truth } from "../_testdata.ts";
import { siteFrame, slotAddr } from "../../lib/trace/events.ts";
import {
  binarytrees,
  leak,
  type PresetName,
  Runtime,
  temporaries,
} from "../../mod.ts";

interface Counts {
  allocs: Map<number, number>;
  frees: Map<number, number>;
  gcs: number;
}

function bump(m: Map<number, number>, k: number) {
  m.set(k, (m.get(k) ?? 0) + 1);
}

// Objects are keyed by their heap slot, where tracefree points (a Go 1.22
// allocation header puts tracealloc's address 8 bytes into it).
async function real(
  trace: string,
  dir: URL,
  sites: Set<string>,
): Promise<Counts> {
  const { events, parser } = await parseShared(trace, dir);
  const c: Counts = { allocs: new Map(), frees: new Map(), gcs: 0 };
  const live = new Map<number, number>();
  for (const e of events) {
    if (e.kind === "alloc") {
      const site = siteFrame(parser.stacks.get(e.stack))?.func ?? "";
      if (!sites.has(site)) continue;
      bump(c.allocs, e.size);
      live.set(slotAddr(e.addr, e.size), e.size);
    } else if (e.kind === "free") {
      if (!live.has(e.addr)) continue;
      bump(c.frees, live.get(e.addr)!);
      live.delete(e.addr);
    } else c.gcs++;
  }
  return c;
}

function simulated(
  preset: PresetName,
  run: (rt: Runtime) => void,
  sites: Set<string>,
): Counts {
  const rt = new Runtime({ preset });
  const c: Counts = { allocs: new Map(), frees: new Map(), gcs: 0 };
  const live = new Map<number, number>();
  rt.events.subscribe({
    alloc: (addr, size) => {
      if (!sites.has(rt.site())) return;
      bump(c.allocs, size);
      live.set(slotAddr(addr, size), size);
    },
    free: (addr) => {
      if (!live.has(addr)) return;
      bump(c.frees, live.get(addr)!);
      live.delete(addr);
    },
  });
  run(rt);
  c.gcs = rt.numGC;
  return c;
}

const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

const CASES: [string, string, string, (rt: Runtime) => void][] = [
  [
    "binarytrees -depth 6",
    "binarytrees-d6.trace.gz",
    "binarytrees-d6.truth.json",
    (rt) => binarytrees(rt, { depth: 6 }),
  ],
  [
    "leak -n 300",
    "leak-n300.trace",
    "leak-n300.truth.json",
    (rt) => leak(rt, { n: 300 }),
  ],
  [
    "temporaries -n 40",
    "temporaries-n40.trace",
    "temporaries-n40.truth.json",
    (rt) => temporaries(rt, { n: 40 }),
  ],
];

for (
  const [preset, dir, real122] of [
    ["go1.19", GO119, "1.19"],
    ["go1.22", GO122, "1.22"],
  ] as const
) {
  for (const [name, trace, truthFile, run] of CASES) {
    Deno.test(`fidelity: ${name} allocates, frees and collects like real Go ${real122} (${preset})`, async () => {
      const t = await truth(truthFile, dir);
      const sites = new Set(t.sites.map((s) => s.site));
      const want = await real(trace, dir, sites);
      const got = simulated(preset, run, sites);
      assertEquals(
        sorted(got.allocs),
        sorted(want.allocs),
        "allocations per size class",
      );
      const classes = new Set([...want.frees.keys(), ...got.frees.keys()]);
      for (const size of classes) {
        const w = want.frees.get(size) ?? 0;
        const g = got.frees.get(size) ?? 0;
        assertTrue(
          Math.abs(g - w) <= Math.max(1, w * 0.1),
          `frees of size ${size}: ${g}, real ${w}`,
        );
      }
      assertTrue(
        Math.abs(got.gcs - want.gcs) <= 1,
        `GC cycles: ${got.gcs}, real ${want.gcs}`,
      );
    });
  }
}
