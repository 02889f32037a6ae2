import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, parseShared } from "../_testdata.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import type { TraceEvent } from "../../lib/trace/events.ts";

/** What `grep -c` counts: lines starting with tracealloc( / tracefree(, lines equal to tracegc(). */
async function grepCounts(name: string) {
  let bytes = await Deno.readFile(new URL(name, GO119));
  if (name.endsWith(".gz")) {
    bytes = new Uint8Array(
      await new Response(
        new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
      ).arrayBuffer(),
    );
  }
  const lines = new TextDecoder().decode(bytes).split("\n");
  return {
    allocs: lines.filter((l) => l.startsWith("tracealloc(")).length,
    frees: lines.filter((l) => l.startsWith("tracefree(")).length,
    gcs: lines.filter((l) => l === "tracegc()").length,
  };
}

for (
  const name of [
    "binarytrees-d6.trace.gz",
    "leak-n300.trace",
    "temporaries-n40.trace",
  ]
) {
  Deno.test(`parser: ${name} yields as many records as grep counts, with stacks`, async () => {
    const { events, parser } = await parseShared(name);
    const want = await grepCounts(name);
    const got = {
      allocs: events.filter((e) => e.kind === "alloc").length,
      frees: events.filter((e) => e.kind === "free").length,
      gcs: events.filter((e) => e.kind === "gc").length,
    };
    assertEquals(got, want);
    assertEquals(parser.stats.unparsed, 0);
    assertEquals(parser.stats.cut, null);
    for (const e of events) {
      if (e.kind !== "gc") {
        assertTrue(
          parser.stacks.get(e.stack).length > 0,
          `record at line ${e.lineNo} has no frames`,
        );
      }
    }
  });
}

Deno.test("parser: a truncated trace keeps every record before the cut and names the cut", async () => {
  const { events, parser } = await parseShared("bad-leak-n300-truncated.trace");
  const want = await grepCounts("bad-leak-n300-truncated.trace");
  assertEquals(events.length, want.allocs - 1);
  assertEquals(
    parser.stats.cut?.header,
    "tracealloc(0xc0000bd700, 0x100, uint8)",
  );
  assertEquals(parser.stats.unparsed, 0);
});

Deno.test("parser: program output, a header mid-line and a missing blank line are handled", () => {
  const events: TraceEvent[] = [];
  const p = new TraceParser((e) => events.push(e));
  const text = [
    "hello from the program",
    "tracealloc(0xc000010000, 0x10, main.Node)",
    "goroutine 1 [running]:",
    "runtime.mallocgc(0x10, 0x4b42c0, 0x1)",
    "\truntime/malloc.go:1131 +0x7b1 fp=0xc000076db0 sp=0xc000076d38 pc=0x40c5b1",
    "main.(*T).f(...)",
    "\tmain.go:12",
    "partial outputtracefree(0xc000010000, 0x10)",
    "goroutine 0 [idle]:",
    "runtime.(*sweepLocked).sweep(0x7ffe4b5ec998?, 0x0)",
    "\truntime/mgcsweep.go:577 +0x97e",
    "",
    "tracegc()",
    "",
    "goroutine 1 [running]:",
    "main.main()",
    "\tmain.go:3 +0x1",
    "end tracegc",
    "",
  ].join("\n");
  // Fed byte by byte: chunk boundaries may fall anywhere.
  for (const ch of text) p.feed(ch);
  p.end();
  assertEquals(events.map((e) => e.kind), ["alloc", "free", "gc"]);
  const a = events[0];
  assertTrue(a.kind === "alloc");
  assertEquals(a.requested, 0x10);
  const frames = p.stacks.get(a.stack);
  assertEquals(frames.map((f) => f.func), ["runtime.mallocgc", "main.(*T).f"]);
  assertEquals(frames[1].inlined, true);
  assertEquals(frames[0].pc, 0x40c5b1);
  assertEquals(p.stats.unparsed, 2);
  assertEquals(p.stats.unparsedLines, [1, 8]);
});

Deno.test("parser: the seed's MProf_Malloc / MProf_Free format", () => {
  const events: TraceEvent[] = [];
  const p = new TraceParser((e) => events.push(e));
  p.feed(
    [
      "MProf_Malloc(p=0xc2100210a0, size=0x50, type=0x0 <single object>)",
      "\t#0 0x46ee15 runtime.mallocgc /go/src/pkg/runtime/malloc.goc:141",
      "\t#1 0x47004f runtime.settype_flush /go/src/pkg/runtime/malloc.goc:612",
      "MProf_Malloc(p=0xc210021100, size=0x20, type=0x4a2000 <array of uint8>)",
      "\t#0 0x46ee15 runtime.mallocgc /go/src/pkg/runtime/malloc.goc:141",
      "MProf_Free(p=0xc2100210a0, size=0x50)",
      "\t#0 0x46ee15 runtime.mallocgc /go/src/pkg/runtime/malloc.goc:141",
      "\t#1 0x47004f runtime.settype_flush /go/src/pkg/runtime/malloc.goc:612",
    ].join("\n") + "\n",
  );
  p.end();
  assertEquals(events.map((e) => e.kind), ["alloc", "alloc", "free"]);
  assertEquals(p.stats.format, "seed");
  const [a, b, f] = events;
  assertTrue(a.kind === "alloc" && b.kind === "alloc" && f.kind === "free");
  assertEquals([a.addr, a.size, a.type, b.type], [
    0xc2100210a0,
    0x50,
    null,
    "uint8",
  ]);
  assertEquals(f.stack, a.stack);
  assertEquals(p.stacks.get(a.stack)[1], {
    func: "runtime.settype_flush",
    file: "/go/src/pkg/runtime/malloc.goc",
    line: 612,
    pc: 0x47004f,
    inlined: false,
  });
});

Deno.test("parser: goroutine creators, Go 1.19's `created by F` and Go 1.21+'s `created by F in goroutine N`", () => {
  const text = [
    "tracefree(0xc000094000, 0xa000)",
    "goroutine 17 [running]:",
    "runtime.bgsweep(0x0?)",
    "\truntime/mgcsweep.go:281 +0x105 fp=0xc0000327c8 sp=0xc000032790 pc=0x41fb45",
    "created by runtime.gcenable",
    "\truntime/mgc.go:178 +0x6b",
    "",
    "tracefree(0xc000044000, 0x8)",
    "goroutine 18 gp=0xc000084000 m=1 mp=0xc000080008 [running]:",
    "runtime.bgsweep(0xc000080000)",
    "\truntime/mgcsweep.go:301 +0xff fp=0xc00003c7c8 sp=0xc00003c780 pc=0x422f1f",
    "created by runtime.gcenable in goroutine 1",
    "\truntime/mgc.go:203 +0x66",
    "",
    "tracegc()",
    "",
    "goroutine 3 gp=0xc000008fc0 m=nil [finalizer wait]:",
    "runtime.runfinq()",
    "\truntime/mfinal.go:194 +0x107 fp=0xc0000417e0 sp=0xc000041620 pc=0x416847",
    "created by runtime.createfing in goroutine 1",
    "\truntime/mfinal.go:164 +0x3d",
    "end tracegc",
    "",
  ].join("\n");
  const string = new TraceParser(() => {});
  string.feed(text);
  string.end();
  const bytes = new ByteTraceParser(() => {});
  bytes.feed(new TextEncoder().encode(text));
  bytes.end();
  for (const p of [string, bytes]) {
    assertEquals(p.stats.unparsed, 0);
    assertEquals(
      p.stats.goroutines,
      new Map([
        [17, { createdBy: "runtime.gcenable", parent: -1 }],
        [18, { createdBy: "runtime.gcenable", parent: 1 }],
        [3, { createdBy: "runtime.createfing", parent: 1 }],
      ]),
    );
  }
});
