/**
 * The readers and the analysis on real Go 1.22.12 traces
 * (tests/testdata/go1.22): Go 1.21+ goroutine headers
 * (`goroutine N gp=0x… m=N mp=0x… [status]:`, `m=nil` in tracegc) and
 * `created by F in goroutine N` read without a warning, creators kept, both
 * parsers agreeing, and the analysis's counts equal to an independent count
 * made here with regular expressions over the text: record headers as
 * `grep -c` counts them, and frees matched to allocations by address —
 * where an object with a Go 1.22 allocation header is freed at its slot,
 * 8 bytes before the address tracealloc printed.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO122, parseShared, traceText, truth } from "../_testdata.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import type { StackTable, TraceEvent } from "../../lib/trace/events.ts";

const TRACES = [
  "binarytrees-d6.trace.gz",
  "leak-n300.trace",
  "temporaries-n40.trace",
  "allocheaders.trace",
];

/** Counts made from the text alone, not by the parsers. */
function independent(text: string) {
  const allocs = text.match(/^tracealloc\(/gm)?.length ?? 0;
  const frees = text.match(/^tracefree\(/gm)?.length ?? 0;
  const gcs = text.match(/^tracegc\(\)$/gm)?.length ?? 0;
  // Replay by address: a free matches the live object at its address, or
  // (allocation header) the one 8 bytes further whose printed size is 8 less.
  const live = new Map<bigint, bigint>();
  let matched = 0, matchedHeader = 0, unmatched = 0;
  for (
    const m of text.matchAll(
      /^trace(alloc|free)\((0x[0-9a-f]+), (0x[0-9a-f]+)[,)]/gm,
    )
  ) {
    const addr = BigInt(m[2]);
    const size = BigInt(m[3]);
    if (m[1] === "alloc") live.set(addr, size);
    else if (live.has(addr)) {
      live.delete(addr);
      matched++;
    } else if (live.get(addr + 8n) === size - 8n) {
      live.delete(addr + 8n);
      matchedHeader++;
    } else unmatched++;
  }
  let liveBytes = 0n;
  for (const s of live.values()) liveBytes += s;
  // Goroutine creators: the header of each traceback, then its created-by line.
  const creators = new Map<number, string>();
  let goid = 0;
  for (const line of text.split("\n")) {
    const h = /^goroutine (\d+) /.exec(line);
    if (h) goid = Number(h[1]);
    const c = /^created by (\S+) in goroutine (\d+)$/.exec(line);
    if (c) creators.set(goid, `${c[1]} in ${c[2]}`);
  }
  return {
    allocs,
    frees,
    gcs,
    matched,
    matchedHeader,
    unmatched,
    live: live.size,
    liveBytes: Number(liveBytes),
    creators,
  };
}

function render(stacks: StackTable, e: TraceEvent): string {
  return e.kind === "gc"
    ? `gc ${e.lineNo}`
    : `${e.kind} ${e.addr} ${e.size} ${
      e.kind === "alloc" ? `${e.type} ${e.requested}` : ""
    } ${e.goroutine} ${e.lineNo} ${
      stacks.get(e.stack).map((f) => `${f.func}@${f.file}:${f.line}:${f.pc}`)
        .join("|")
    }`;
}

for (const name of TRACES) {
  Deno.test(`go1.22 ${name}: both parsers read every record without a warning and agree`, async () => {
    const text = await traceText(name, GO122);
    const want = independent(text);
    const { events, parser } = await parseShared(name, GO122);
    const kinds = (k: string) => events.filter((e) => e.kind === k).length;
    assertEquals(
      { allocs: kinds("alloc"), frees: kinds("free"), gcs: kinds("gc") },
      { allocs: want.allocs, frees: want.frees, gcs: want.gcs },
    );
    assertEquals(parser.stats.unparsed, 0, "lines outside records");
    assertEquals(parser.stats.cut, null);
    // The header's goroutine id is kept (the 1.21+ header has gp=/m=/mp= after it).
    const headerIds = [
      ...text.matchAll(/^trace(?:alloc|free)\(.*\ngoroutine (\d+) gp=0x/gm),
    ].map((m) => Number(m[1]));
    assertEquals(
      events.flatMap((e) => e.kind === "gc" ? [] : [e.goroutine]),
      headerIds,
    );
    // Creators, from records and tracegc blocks.
    const got = new Map(
      [...parser.stats.goroutines].map((
        [id, g],
      ) => [id, `${g.createdBy} in ${g.parent}`]),
    );
    assertEquals(got, want.creators);
    assertTrue(
      [...got.values()].includes("runtime.gcenable in 1"),
      "the background sweeper and scavenger",
    );
    // The byte parser: the same events, stacks, goroutines and counts.
    const b: string[] = [];
    const bp = new ByteTraceParser((e) => b.push(render(bp.stacks, e)));
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i < bytes.length; i += 65536) {
      bp.feed(bytes.subarray(i, i + 65536));
    }
    bp.end();
    assertEquals(b, events.map((e) => render(parser.stacks, e)));
    assertEquals(bp.stats.goroutines, parser.stats.goroutines);
    assertEquals(bp.stats.unparsed, 0);
  });

  Deno.test(`go1.22 ${name}: analyze counts equal an independent count, frees matched at the slot`, async () => {
    const text = await traceText(name, GO122);
    const want = independent(text);
    const { events, parser } = await parseShared(name, GO122);
    const a = new TraceAnalyzer(parser.stacks);
    for (const e of events) a.add(e);
    const r = a.finish();
    assertEquals(
      {
        allocs: r.allocs,
        frees: r.frees,
        gcs: r.gcs,
        unmatched: r.unmatchedFrees,
        live: r.liveObjects,
        liveBytes: r.liveBytes,
      },
      {
        allocs: want.allocs,
        frees: want.frees,
        gcs: want.gcs,
        unmatched: want.unmatched,
        live: want.live,
        liveBytes: want.liveBytes,
      },
    );
    // Only what Go allocated before it read GODEBUG is freed unseen.
    assertEquals(want.unmatched, 3);
  });
}

Deno.test("go1.22 leak: the growslice arrays with allocation headers are matched to their frees", async () => {
  const text = await traceText("leak-n300.trace", GO122);
  const want = independent(text);
  // []*Record of 1,144 and 2,296 bytes (classes 1,152 and 2,304) were freed.
  assertEquals(want.matchedHeader, 2);
  const { events, parser } = await parseShared("leak-n300.trace", GO122);
  const a = new TraceAnalyzer(parser.stacks);
  for (const e of events) a.add(e);
  const site = a.finish().sites.find((s) => s.func === "main.leakIt")!;
  const t = await truth("leak-n300.truth.json", GO122);
  const leakIt = t.sites.find((s) => s.site === "main.leakIt")!;
  assertEquals(
    { allocs: site.allocs, frees: site.frees, live: site.live },
    {
      allocs: leakIt.count,
      frees: leakIt.count - leakIt.live_at_exit,
      live: leakIt.live_at_exit,
    },
  );
});

Deno.test("go1.22 allocheaders: tracealloc prints the program's own pointer, 8 bytes into the slot when the object has a header", async () => {
  const t = JSON.parse(
    await Deno.readTextFile(new URL("allocheaders.truth.json", GO122)),
  ) as {
    go: string;
    sites: {
      site: string;
      type_printed: string;
      addrs: string[];
      live: boolean[];
    }[];
  };
  assertEquals(t.go, "go1.22.12");
  const { events } = await parseShared("allocheaders.trace", GO122);
  const allocAt = new Map<number, { size: number; type: string | null }>();
  const freeAt = new Map<number, number>();
  for (const e of events) {
    if (e.kind === "alloc") allocAt.set(e.addr, e);
    if (e.kind === "free") freeAt.set(e.addr, e.size);
  }
  const seen: Record<string, string> = {};
  for (const s of t.sites) {
    const sizes = new Set<string>();
    s.addrs.forEach((hex, i) => {
      const addr = Number(hex);
      const a = allocAt.get(addr);
      assertTrue(a !== undefined, `${s.site}: no tracealloc at ${hex}`);
      assertEquals(a.type, s.type_printed);
      const offset = addr % 8192 % 16 === 8 ? 8 : 0;
      if (s.live[i]) {
        assertTrue(!freeAt.has(addr - offset), `${s.site}: ${hex} was freed`);
      } else {
        // Freed at the slot's start, with the full slot size.
        assertEquals(
          freeAt.get(addr - offset),
          a.size + offset,
          `${s.site} ${hex}`,
        );
      }
      sizes.add(`${a.size} +${offset}`);
    });
    seen[s.site] = [...sizes].join();
  }
  assertEquals(seen, {
    "main.newP504": "512 +0",
    "main.newP512": "512 +0",
    "main.newP520": "568 +8", // class 576 (chosen for 528), minus the header
    "main.newP576": "632 +8", // class 640 (for 584); Go 1.19: 576
    "main.newA128": "1144 +8", // class 1152 (for 1032)
    "main.newN520": "576 +0", // noscan: no header
    "main.newP32760": "32760 +8", // class 32768 (for 32768)
    "main.newP40000": "40960 +0", // large: the type is in the span, no header
  });
});
