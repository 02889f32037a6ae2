/**
 * `alloctrace native`'s consumer of event batches (lib/cli/_native_sink.ts)
 * on batches made by hand: no program is traced, so these run everywhere.
 */
import fc from "npm:fast-check@4.11.0";
import { assertEquals } from "../_assert.ts";
import { BatchEncoder, type EventBatch } from "../../lib/native/event.ts";
import { NativeSink } from "../../lib/cli/_native_sink.ts";

const MALLOC = 0;
const FREE = 3;

/** A batch of [kind, addr, size] events of pid 7, thread 7, no stacks. */
function batch(events: [number, number, number][]): EventBatch {
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  events.forEach(([kind, addr, size], i) =>
    enc.event(kind, 7, 7, img, addr, size, 0, -1, true, i)
  );
  return enc.take();
}

Deno.test("native sink: a malloc of 520 bytes (a Go 1.22 header size) is freed at its own address, not 8 bytes before", async () => {
  // 520 > 512 and 520 % 16 === 8: Go 1.22's tracealloc prints such an
  // object 8 bytes into its slot; native malloc never does.
  const sink = new NativeSink({
    sampled: false,
    traceOut: null,
    by: "line",
    pid: 0,
  });
  await sink.add(batch([
    [MALLOC, 0x5000, 520],
    [FREE, 0x5000, 0],
    [MALLOC, 0x6000, 1144],
    [FREE, 0x6000, 0],
    [MALLOC, 0x7000, 64],
  ]));
  const r = sink.analyzer.finish();
  assertEquals(
    [r.allocs, r.frees, r.unmatchedFrees, r.liveObjects, r.liveBytes],
    [3, 2, 0, 1, 64],
  );
  assertEquals(sink.liveBytes, 64);
  assertEquals(sink.processes()[0].liveBytes, 64);
  // Both freed blocks' lifetimes are counted, the live one is not.
  const lt = sink.lifetimes();
  assertEquals(lt.map((s) => s.wall.reduce((a, b) => a + b, 0)), [2]);
});

Deno.test("native sink: an allocation at a live address (its free unseen) replaces the block in the live bytes, per process too", async () => {
  const sink = new NativeSink({
    sampled: true,
    traceOut: null,
    by: "line",
    pid: 0,
  });
  await sink.add(batch([
    [MALLOC, 0x5000, 100],
    [MALLOC, 0x5000, 30],
    [MALLOC, 0x9000, 8],
    [FREE, 0x9000, 0],
    [FREE, 0x1234, 0],
  ]));
  const r = sink.analyzer.finish();
  assertEquals(
    [r.allocsAtLive, r.frees, r.unmatchedFrees, r.liveBytes, r.peakLiveBytes],
    [1, 1, 0, 30, 100],
  );
  assertEquals(sink.liveBytes, 30);
  // The free of a block never seen allocated is left out of the analysis
  // (libc frees blocks it made inside itself) and of the process's figures
  // alike: the processes table and the header count the same frees (a
  // thread and a fork child's program showed 2,835 frees for the parent
  // beside 2,833 in all).
  assertEquals(
    [sink.processes()[0].liveBytes, sink.processes()[0].frees],
    [30, r.frees],
  );
  const s = sink.sampledAnalyzer!.finish();
  assertEquals([s.allocs, s.frees, s.liveBytes], [3, 1, 30]);
});

Deno.test("native sink: past 64 process images, a block at an address another image's block holds in its key space is keyed in a free space, and its free finds it there", async () => {
  const sink = new NativeSink({
    sampled: false,
    traceOut: null,
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  const ev = (kind: number, j: number) =>
    enc.event(
      kind,
      100 + j,
      100 + j,
      img,
      0x5000,
      kind === FREE ? 0 : j + 1,
      0,
      -1,
      true,
      0,
    );
  // 64 processes (fork children share a heap layout) fill the 64 key spaces at one address.
  for (let j = 0; j < 64; j++) ev(MALLOC, j);
  ev(FREE, 1); // space 1 is free again
  ev(MALLOC, 64); // space 0's key is image 0's: it goes to space 1
  ev(FREE, 64);
  ev(FREE, 0);
  ev(MALLOC, 65); // its own space (1) is free
  await sink.add(enc.take());
  const r = sink.analyzer.finish();
  assertEquals(
    [r.allocs, r.frees, r.unmatchedFrees, r.allocsAtLive, r.liveObjects],
    [66, 3, 0, 0, 63],
  );
  let want = 66;
  for (let j = 2; j < 64; j++) want += j + 1;
  assertEquals([r.liveBytes, sink.liveBytes], [want, want]);
  const live = sink.processes().filter((p) => p.liveBytes > 0);
  assertEquals(live.map((p) => p.pid).includes(100), false);
  assertEquals(live.map((p) => p.pid).includes(164), false);
  assertEquals(live.length, 63);
});

/** One event of a generated run: [kind, pid, address index, size, stack, sampled, ms later]. */
type GenEvent = [number, number, number, number, number, boolean, number];

/**
 * What a sink makes of `events` given in batches of `per` events (1: no
 * malloc meets its free in one batch): every figure it reports, and the
 * trace it writes.
 */
async function sinkOf(events: GenEvent[], sampled: boolean, per: number) {
  const chunks: Uint8Array[] = [];
  const sink = new NativeSink({
    sampled,
    traceOut: { write: (p) => chunks.push(p.slice()) },
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  // Module "?": nothing to symbolize.
  const stacks = [0, 1, 2].map((s) =>
    enc.stackId([
      { pc: 0x401000, name: "malloc", off: 0, module: "?", rel: 0x1000 },
      { pc: 0x402000 + 16 * s, name: `f${s}`, off: 4, module: "?", rel: 0 },
    ])
  );
  let t = 0;
  for (let i = 0; i < events.length; i++) {
    const [kind, pid, a, size, s, smp, dt] = events[i];
    t += dt;
    const stack = kind === FREE || (sampled && !smp) ? -1 : stacks[s];
    enc.event(kind, pid, pid, img, 0x5000 + 16 * a, size, 0, stack, smp, t);
    if ((i + 1) % per === 0) await sink.add(enc.take());
  }
  await sink.add(enc.take());
  sink.flush();
  return {
    analysis: sink.analyzer.finish(),
    samples: sink.analyzer.samples(),
    sampled: sink.sampledAnalyzer?.finish(),
    lifetimes: sink.lifetimes(),
    sizes: sink.sizeHistogram(),
    processes: sink.processes(),
    live: sink.liveBytes,
    events: sink.events,
    trace: chunks.flatMap((c) => [...c]),
  };
}

Deno.test("native sink: a malloc freed by the next event (a temporary, taken as a pair) gives every figure and the trace as when the two come one by one", async () => {
  // Few addresses (frees of live blocks, of unseen ones, allocations at a
  // live address), two processes, sizes that make new peaks and timeline
  // points, lifetimes in several buckets.
  const ev = fc.tuple(
    fc.constantFrom(MALLOC, MALLOC, FREE),
    fc.constantFrom(7, 7, 7, 8),
    fc.integer({ min: 0, max: 5 }),
    fc.constantFrom(0, 24, 64, 1000, 2000, 5000, 70000),
    fc.integer({ min: 0, max: 2 }),
    fc.boolean(),
    fc.constantFrom(0, 0.25, 3, 40),
  );
  // A temporary: a malloc and, next, its free (or a free at its address
  // by another process, which is not its free).
  const pair = fc.tuple(ev, fc.integer({ min: 0, max: 2 }), fc.boolean()).map(
    ([e, n, other]): GenEvent[] => {
      const m: GenEvent = [MALLOC, ...e.slice(1)] as GenEvent;
      const pid = other && n === 0 ? 15 - e[1] : e[1];
      const f: GenEvent = [FREE, pid, e[2], 0, 0, false, e[6] * n];
      return [m, f];
    },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(ev.map((e) => [e]), pair), { maxLength: 200 }),
      fc.boolean(),
      async (runs, sampled) => {
        const events = runs.flat();
        const whole = await sinkOf(events, sampled, 1 << 20);
        const one = await sinkOf(events, sampled, 1);
        assertEquals(whole, one);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("native sink: past 1,024 stacks (its stack table grows), each allocation keeps its own stack", async () => {
  const sink = new NativeSink({
    sampled: false,
    traceOut: null,
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  for (let s = 0; s < 3000; s++) {
    const stack = enc.stackId([
      { pc: 0x401000, name: "malloc", off: 0, module: "?", rel: 0x1000 },
      { pc: 0x500000 + 16 * s, name: `f${s}`, off: 4, module: "?", rel: 0 },
    ]);
    enc.event(MALLOC, 7, 7, img, 0x5000 + 16 * s, s + 1, 0, stack, true, 0);
    // Stacks come in several batches, as they are first met.
    if (s % 700 === 699) await sink.add(enc.take());
  }
  await sink.add(enc.take());
  const sites = sink.analyzer.finish().sites;
  assertEquals(sites.length, 3000);
  // Sites by bytes: f2999 has the most (3000 bytes), f0 the least.
  assertEquals(
    [sites[0].func, sites[0].allocBytes, sites[2999].func],
    ["f2999", 3000, "f0"],
  );
  assertEquals(
    sites.every((s) => s.allocBytes === Number(s.func.slice(1)) + 1),
    true,
  );
});

Deno.test("native sink: the moment of the exact peak (its allocation's time and the bytes allocated until then), where the timeline's sparse points miss it", async () => {
  const sink = new NativeSink({
    sampled: false,
    traceOut: null,
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  // [kind, addr, size, ms]: the peak (100,500 bytes) is made at 7 ms, less
  // than 1% above the one before it; a temporary and frees come after.
  for (
    const [kind, addr, size, ms] of [
      [MALLOC, 0x10000, 100000, 2],
      [MALLOC, 0x90000, 500, 7],
      [FREE, 0x90000, 0, 40],
      [MALLOC, 0xa0000, 300, 50],
      [FREE, 0xa0000, 0, 51],
      [FREE, 0x10000, 0, 90],
    ]
  ) enc.event(kind, 7, 7, img, addr, size, 0, -1, true, ms);
  await sink.add(enc.take());
  const r = sink.analyzer.finish();
  assertEquals(r.peakLiveBytes, 100500);
  assertEquals(sink.peakAt, { time: 0.007, alloc: 100500, cycle: 0 });
  // Which the timeline alone does not show: no point at 7 ms.
  assertEquals(r.timeline.some((p) => p.time === 0.007), false);
});

Deno.test("native sink: each process's records go to its own trace output (a fork child's heap is a copy at the same addresses: one file mixed them), asked for once per process, children said to be children", async () => {
  const outs = new Map<number, { child: boolean; text: string }>();
  const dec = new TextDecoder();
  const sink = new NativeSink({
    sampled: false,
    traceOut: {
      of(pid: number, child: boolean) {
        assertEquals(outs.has(pid), false, `pid ${pid} asked for twice`);
        const o = { child, text: "" };
        outs.set(pid, o);
        return { write: (p: Uint8Array) => o.text += dec.decode(p) };
      },
    },
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  const ev = (kind: number, pid: number, addr: number, size: number) =>
    enc.event(kind, pid, pid, img, addr, size, 0, -1, true, 1);
  ev(MALLOC, 7, 0x5000, 100);
  enc.forked(7, 8, img);
  // The child frees its inherited block (not its own: not in its trace),
  // and both make one at the same address, interleaved.
  ev(FREE, 8, 0x5000, 0);
  ev(MALLOC, 8, 0x5000, 200);
  ev(MALLOC, 7, 0x6000, 300);
  await sink.add(enc.take());
  ev(FREE, 8, 0x5000, 0);
  ev(FREE, 7, 0x5000, 0);
  await sink.add(enc.take());
  sink.flush();
  assertEquals([...outs.keys()], [7, 8]);
  assertEquals([outs.get(7)!.child, outs.get(8)!.child], [false, true]);
  const records = (t: string) =>
    t.split("\n").filter((l) => l.startsWith("MProf_"));
  assertEquals(records(outs.get(7)!.text), [
    "MProf_Malloc(p=0x5000, size=0x64, type=0x0 <single object>)",
    "MProf_Malloc(p=0x6000, size=0x12c, type=0x0 <single object>)",
    "MProf_Free(p=0x5000, size=0x64)",
  ]);
  assertEquals(records(outs.get(8)!.text), [
    "MProf_Malloc(p=0x5000, size=0xc8, type=0x0 <single object>)",
    "MProf_Free(p=0x5000, size=0xc8)",
  ]);
});

Deno.test("native sink: a pid reused by a later fork child is a new process: its records go to a new trace output, and its blocks are its own, not at the live addresses of the earlier child's (review1 #2)", async () => {
  const outs: { pid: number; text: string }[] = [];
  const dec = new TextDecoder();
  const sink = new NativeSink({
    sampled: false,
    traceOut: {
      of(pid: number) {
        const o = { pid, text: "" };
        outs.push(o);
        return { write: (p: Uint8Array) => o.text += dec.decode(p) };
      },
    },
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  const ev = (kind: number, pid: number, addr: number, size: number) =>
    enc.event(kind, pid, pid, img, addr, size, 0, -1, true, 1);
  ev(MALLOC, 7, 0x5000, 100);
  enc.forked(7, 8, img);
  // The first child 8 keeps a block and exits; pid 8 is forked again, in
  // the same batch, and its child makes a block at the same address.
  ev(MALLOC, 8, 0x9000, 200);
  ev(MALLOC, 7, 0x6000, 300);
  enc.forked(7, 8, img);
  ev(MALLOC, 8, 0x9000, 400);
  await sink.add(enc.take());
  // And once more, in a batch of its own.
  enc.forked(7, 8, img);
  ev(MALLOC, 8, 0x9000, 500);
  await sink.add(enc.take());
  sink.flush();
  const records = (t: string) =>
    t.split("\n").filter((l) => l.startsWith("MProf_"));
  assertEquals(outs.map((o) => o.pid), [7, 8, 8, 8]);
  assertEquals(outs.slice(1).map((o) => records(o.text)), [
    ["MProf_Malloc(p=0x9000, size=0xc8, type=0x0 <single object>)"],
    ["MProf_Malloc(p=0x9000, size=0x190, type=0x0 <single object>)"],
    ["MProf_Malloc(p=0x9000, size=0x1f4, type=0x0 <single object>)"],
  ]);
  // Every block live: none was taken for another's at its address.
  assertEquals(sink.liveBytes, 1500);
  assertEquals(sink.analyzer.finish().liveBytes, 1500);
});

Deno.test("native sink: a pid reused by a later fork child has a row of its own in the processes table, not the earlier child's row with both's figures (review1 #2)", async () => {
  const sink = new NativeSink({
    sampled: false,
    traceOut: null,
    by: "line",
    pid: 0,
  });
  const enc = new BatchEncoder();
  const img = enc.imageId("/bin/prog");
  const ev = (kind: number, pid: number, addr: number, size: number) =>
    enc.event(kind, pid, pid, img, addr, size, 0, -1, true, 1);
  ev(MALLOC, 7, 0x5000, 100);
  enc.forked(7, 8, img);
  ev(MALLOC, 8, 0x9000, 200);
  ev(FREE, 8, 0x5000, 0);
  enc.forked(7, 8, img);
  ev(MALLOC, 8, 0x9000, 400);
  await sink.add(enc.take());
  assertEquals(
    sink.processes().map((p) => [p.pid, p.allocs, p.allocBytes, p.liveBytes]),
    [[7, 1, 100, 100], [8, 1, 200, 200], [8, 1, 400, 400]],
  );
  assertEquals(sink.processes().map((p) => p.inheritedFrees), [0, 1, 0]);
});
