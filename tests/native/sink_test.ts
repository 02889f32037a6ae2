/**
 * `alloctrace native`'s consumer of event batches (lib/cli/_native_sink.ts)
 * on batches made by hand: no program is traced, so these run everywhere.
 */
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
