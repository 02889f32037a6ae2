/**
 * The execution-trace reader on real Go 1.23 traces (tests/testdata/go1.23):
 * event counts per kind equal Go's own reader's (`go tool trace -d=2`,
 * counted into NAME.gotool.json), per-type figures equal what each program
 * counted itself, and allocations land on the goroutine creation site the
 * program says.
 *
 * @module
 */

import { assertEquals, assertTrue as assert } from "../_assert.ts";
import fc from "npm:fast-check@4.11.0";
import {
  ARG_COUNTS,
  Ev,
  EV_NAMES,
  type ExecAnalysis,
  ExecAnalyzer,
  ExecHeap,
  ExecTraceReader,
  StackTable,
} from "../../lib/trace/exectrace/mod.ts";
import { corpusTrace, GO123_DIR } from "../_exectrace.ts";

const DIR = GO123_DIR;
const PROGRAMS = ["leak", "churn", "lru", "goroutines"];
const GO123 = "/usr/lib/go-1.23";

interface Read {
  reader: ExecTraceReader;
  heap: ExecHeap;
  result: ExecAnalysis;
  allocStacks: Map<string, number>;
}

function read(bytes: Uint8Array, chunks: number[] = [65536]): Read {
  const stacks = new StackTable();
  const allocStacks = new Map<string, number>();
  const heap = new ExecHeap(stacks, (e) => {
    an.add(e);
    if (e.kind === "alloc" && !e.existing) {
      const key = stacks.get(e.stack).map((f) => f.func).join(";");
      allocStacks.set(key, (allocStacks.get(key) ?? 0) + 1);
    }
  });
  const reader = new ExecTraceReader(heap);
  heap.attach(reader);
  const an = new ExecAnalyzer(reader.types);
  let p = 0;
  for (let i = 0; p < bytes.length; i++) {
    const n = chunks[i % chunks.length];
    reader.feed(bytes.subarray(p, p + n));
    p += n;
  }
  reader.end();
  return {
    reader,
    heap,
    result: an.finish(heap, reader.stats.duration),
    allocStacks,
  };
}

function counts(r: ExecTraceReader): Record<string, number> {
  const out: Record<string, number> = {};
  for (let t = 0; t < 256; t++) {
    if (r.stats.counts[t] > 0) out[EV_NAMES[t]] = r.stats.counts[t];
  }
  return out;
}

async function json<T>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, DIR)));
}

for (const p of PROGRAMS) {
  Deno.test(`exectrace ${p}: every event kind counted as go tool trace -d=2 counts it`, async () => {
    const r = read(await corpusTrace(p));
    const go = await json<{ counts: Record<string, number> }>(
      `${p}.gotool.json`,
    );
    assertEquals(counts(r.reader), go.counts);
    assertEquals(r.reader.stats.problem, null);
    assert(go.counts.HeapObjectAlloc > 1000, "a real allocation trace");
    // Every heap event placed: no unknown span, no free without its object.
    // (A stack free may be of an M's g0 stack, which no snapshot lists.)
    const { unmatchedStackFrees: _, ...heapAnomalies } = r.heap.anomalies;
    assertEquals(heapAnomalies, {
      unmatchedFrees: 0,
      reallocations: 0,
      noSpan: 0,
    });
    assertEquals(r.result.allocs, go.counts.HeapObjectAlloc);
    assertEquals(r.result.frees, go.counts.HeapObjectFree);
    assertEquals(r.result.existing, go.counts.HeapObject);
  });

  Deno.test(`exectrace ${p}: per-type allocations and live objects equal the program's own count`, async () => {
    const r = read(await corpusTrace(p));
    const truth = await json<
      { types: Record<string, { allocated: number; live: number }> }
    >(`${p}.truth.json`);
    for (const [type, want] of Object.entries(truth.types)) {
      const got = r.result.types.find((t) => t.type === type);
      assert(got !== undefined, `${type} in the analysis`);
      assertEquals(
        { type, allocated: got.allocs, live: got.live },
        { type, allocated: want.allocated, live: want.live },
      );
      assertEquals(got.existing, 0);
      assertEquals(got.frees, want.allocated - want.live);
    }
  });
}

for (const p of ["go122-goroutines", "noallocfree-churn"]) {
  Deno.test(`exectrace ${p}: a trace without AllocFree events (Go 1.22's, or 1.23's without traceallocfree) read with Go's counts`, async () => {
    const r = read(await corpusTrace(p));
    const go = await json<{ go: string; counts: Record<string, number> }>(
      `${p}.gotool.json`,
    );
    assertEquals(counts(r.reader), go.counts);
    assertEquals(r.reader.stats.version, p.startsWith("go122") ? 22 : 23);
    assertEquals(go.counts.HeapObjectAlloc, undefined);
    assertEquals(r.result.allocs, 0);
  });
}

Deno.test("exectrace goroutines: allocations by creation site: each worker's type on its start function", async () => {
  const r = read(await corpusTrace("goroutines"));
  const truth = await json<
    { byGoroutine: Record<string, Record<string, number>> }
  >("goroutines.truth.json");
  for (const [start, types] of Object.entries(truth.byGoroutine)) {
    const site = r.result.sites.find((s) => s.start === start);
    assert(site !== undefined, `site ${start}`);
    assertEquals(site.createdAt.startsWith("main.main ./main.go:"), true);
    for (const [type, count] of Object.entries(types)) {
      assertEquals(
        site.types.find(([t]) => t === type)?.[1],
        count,
        `${type} by ${start}`,
      );
      // No other site allocated it.
      for (const other of r.result.sites) {
        if (other !== site) {
          assertEquals(other.types.some(([t]) => t === type), false);
        }
      }
    }
  }
  assertEquals(
    r.result.sites.find((s) => s.start === "main.producer")?.goroutines,
    3,
  );
  // The shared model's stack: type, start function, then the creator.
  const stack = [...r.allocStacks.keys()].find((k) =>
    k.startsWith("type:main.Job;main.producer;main.main")
  );
  assertEquals(r.allocStacks.get(stack!), 4500);
});

Deno.test("exectrace leak: the growing type is a leak candidate, the temporaries and the LRU's steady entries are not", async () => {
  const leak = read(await corpusTrace("leak"));
  const t = (r: Read, name: string) =>
    r.result.types.find((x) => x.type === name)!;
  assert(t(leak, "main.Leaked").leakCandidate);
  assertEquals(t(leak, "main.Leaked").survivors.slice(0, 3), [500, 1000, 1500]);
  assertEquals(t(leak, "main.Temp").leakCandidate, false);
  assertEquals(leak.reader.stats.generations, 2);
  const lru = read(await corpusTrace("lru"));
  assertEquals(t(lru, "main.entry").leakCandidate, false);
  assert(t(lru, "main.entry").survivors.every((n) => n === 256));
});

Deno.test("exectrace churn: slot sizes come from the spans (a malloc header's object keyed by its slot)", async () => {
  const r = read(await corpusTrace("churn"));
  const t = (name: string) => r.result.types.find((x) => x.type === name)!;
  assertEquals(t("main.Small").sizes, [[32, 4000]]);
  // [80]*Small = 640 bytes + an 8-byte malloc header: the 704-byte class.
  assertEquals(t("main.Medium").sizes, [[704, 1000]]);
  assertEquals(t("main.Medium").typeSize, 640);
  // 40 KiB: a large object, its own 5-page span.
  assertEquals(t("main.Large").sizes, [[40960, 80]]);
  assertEquals(t("main.Large").frees, 80);
});

Deno.test("exectrace: any chunking of the input gives the same analysis", async () => {
  const bytes = await corpusTrace("churn");
  const whole = JSON.stringify(read(bytes, [bytes.length]).result);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 70000 }), {
        minLength: 1,
        maxLength: 6,
      }),
      (chunks) => JSON.stringify(read(bytes, chunks).result) === whole,
    ),
    { numRuns: 12 },
  );
});

Deno.test("exectrace: a cut trace analyses its complete generations and leaves the cut one out", async () => {
  const bytes = await corpusTrace("leak");
  const full = read(bytes);
  // Cut inside the second generation: the first is complete.
  const r = read(bytes.subarray(0, bytes.length - 1000));
  assert(r.reader.stats.problem !== null);
  assert(r.reader.stats.problem!.includes("cut off"), r.reader.stats.problem!);
  // Only the first generation: the cut one is left out whole, so no free
  // comes without its allocation.
  assertEquals(r.reader.stats.generations, 1);
  assert(r.result.allocs > 1000 && r.result.allocs < full.result.allocs);
  assertEquals(r.heap.anomalies.unmatchedFrees, 0);
});

Deno.test("exectrace: argument counts equal the specs of Go 1.23's go122/event.go", async (t) => {
  let src: string;
  try {
    src = await Deno.readTextFile(
      `${GO123}/src/internal/trace/event/go122/event.go`,
    );
  } catch {
    console.log(`skipped: ${GO123}/src is not installed`);
    return;
  }
  const specs = src.slice(src.indexOf("var specs"));
  let checked = 0;
  for (const m of specs.matchAll(/(Ev\w+): event\.Spec\{([^}]*)\}/g)) {
    const name = m[1].slice(2) as keyof typeof Ev;
    const args = /Args:\s*\[\]string\{([^}]*)/.exec(m[2]);
    const nargs = args ? args[1].split(",").filter((s) => s.trim()).length : 0;
    if (["EventBatch", "ExperimentalBatch", "Stack", "String"].includes(name)) {
      continue;
    }
    await t.step(name, () => assertEquals(ARG_COUNTS[Ev[name]], nargs));
    checked++;
  }
  assertEquals(checked, 54); // 49 + 9 experimental, less the 4 with their own shapes
});

Deno.test("exectrace: the counts files are Go's own reader's output", async () => {
  const go = `${GO123}/bin/go`;
  try {
    await Deno.stat(go);
  } catch {
    console.log(`skipped: ${go} is not installed`);
    return;
  }
  const tmp = await Deno.makeTempFile();
  try {
    await Deno.writeFile(tmp, await corpusTrace("churn"));
    const out = await new Deno.Command(go, {
      args: ["tool", "trace", "-d=2", tmp],
      stdout: "piped",
      env: { GOTOOLCHAIN: "local" },
    }).output();
    const { countKinds } = await import("../../scripts/gen_go123_traces.ts");
    const want = await json<{ counts: Record<string, number> }>(
      "churn.gotool.json",
    );
    assertEquals(countKinds(new TextDecoder().decode(out.stdout)), want.counts);
  } finally {
    await Deno.remove(tmp);
  }
});

// A hand-built trace: uvarints, batches, one generation.
function uv(v: number): number[] {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
function batch(m: number, time: number, data: number[]): number[] {
  return [
    Ev.EventBatch,
    ...uv(1),
    ...uv(m),
    ...uv(time),
    ...uv(data.length),
    ...data,
  ];
}
function expBatch(data: number[]): number[] {
  return [
    Ev.ExperimentalBatch,
    1,
    ...uv(1),
    ...uv(0),
    ...uv(0),
    ...uv(data.length),
    ...data,
  ];
}
/** Events as [type, dt, ...args]. */
function events(...evs: number[][]): number[] {
  return evs.flatMap(([t, ...args]) => [t, ...args.flatMap(uv)]);
}
function handTrace(...batches: number[][]): Uint8Array {
  const name = (s: string) => [...uv(s.length), ...new TextEncoder().encode(s)];
  return new Uint8Array([
    ...new TextEncoder().encode("go 1.23 trace\0\0\0"),
    ...expBatch([1, ...uv(0xc000000000), ...uv(8192), ...uv(8), ...uv(2048)]),
    ...batches.flat(),
    ...expBatch([
      0,
      ...uv(1),
      0,
      ...uv(640),
      ...uv(640),
      ...name("main.A"),
      ...uv(2),
      0,
      ...uv(700),
      ...uv(700),
      ...name("main.B"),
    ]),
    ...batch(0, 0, [Ev.Frequency, ...uv(1e9)]),
  ]);
}
const SPAN = 5; // its objects' ids start at 5 * 8192 / 8
const kc = (sizeClass: number) => (sizeClass << 1) << 1;

Deno.test("exectrace: a span reallocated (another size class) before the sweeper's late frees of its old objects sorted", () => {
  const trace = handTrace(
    // M1: a span of 704-byte slots with two main.A, a GC, then (stamped
    // late: its clock runs behind) the sweep frees them and the span.
    batch(
      1,
      100,
      events(
        [Ev.SpanAlloc, 0, SPAN, 1, kc(29)],
        [Ev.HeapObjectAlloc, 1, SPAN * 1024, 1],
        [Ev.HeapObjectAlloc, 1, SPAN * 1024 + 88, 1],
        [Ev.GCBegin, 10, 1, 0],
        [Ev.GCEnd, 10, 1],
        [Ev.HeapObjectFree, 300, SPAN * 1024],
        [Ev.HeapObjectFree, 1, SPAN * 1024 + 88],
        [Ev.SpanFree, 1, SPAN],
      ),
    ),
    // M2: the same page as a span of 768-byte slots, a main.B at its start.
    batch(
      2,
      400,
      events(
        [Ev.SpanAlloc, 0, SPAN, 1, kc(30)],
        [Ev.HeapObjectAlloc, 1, SPAN * 1024, 2],
      ),
    ),
  );
  const r = read(trace);
  assertEquals(r.reader.stats.problem, null);
  const t = (n: string) => r.result.types.find((x) => x.type === n)!;
  assertEquals([t("main.A").allocs, t("main.A").frees, t("main.A").live], [
    2,
    2,
    0,
  ]);
  assertEquals([t("main.B").allocs, t("main.B").live, t("main.B").sizes], [
    1,
    1,
    [[768, 1]],
  ]);
  assertEquals(r.heap.anomalies.unmatchedFrees, 0);
});

Deno.test("exectrace: a slot's free stamped after its reallocation on another M ends the old object, not the new", () => {
  for (const freeAt of [0, 5]) {
    const trace = handTrace(
      batch(
        2,
        100,
        events(
          [Ev.SpanAlloc, 0, SPAN, 1, kc(29)],
          [Ev.HeapObjectAlloc, 1, SPAN * 1024, 1],
          [Ev.GCBegin, 10, 1, 0],
          [Ev.GCEnd, 10, 1],
          // (t = 122) the slot again, for a main.B
          [Ev.HeapObjectAlloc, 0, SPAN * 1024, 2],
        ),
      ),
      batch(1, 122 + freeAt, events([Ev.HeapObjectFree, 0, SPAN * 1024])),
    );
    const r = read(trace);
    const t = (n: string) => r.result.types.find((x) => x.type === n)!;
    assertEquals([t("main.A").frees, t("main.A").live], [1, 0], `+${freeAt}`);
    assertEquals(t("main.B").live, 1, `+${freeAt}`);
    assertEquals(r.heap.anomalies, {
      unmatchedFrees: 0,
      reallocations: 0,
      noSpan: 0,
      unmatchedStackFrees: 0,
    });
  }
});
