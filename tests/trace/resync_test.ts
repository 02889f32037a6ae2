// Issue 13's reader items: inputs that are valid, or merely large, and
// damage the reader resynchronises after. Every case runs through both
// parsers (the string reference and the byte fast path, in several chunk
// sizes) and must give both the same events.
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119 } from "../_testdata.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import type { ParseStats } from "../../lib/trace/parse_stats.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import type { StackTable, TraceEvent } from "../../lib/trace/events.ts";

const enc = new TextEncoder();

const leak = await Deno.readTextFile(new URL("leak-n300.trace", GO119));

/** One event as text: kind, numbers and its frames. */
function render(stacks: StackTable, e: TraceEvent): string {
  if (e.kind === "gc") return `gc ${e.lineNo}`;
  const frames = stacks.get(e.stack).map((f) =>
    `${f.func}@${f.file}:${f.line}:${f.pc}${f.inlined ? "i" : ""}`
  ).join("|");
  return `${e.kind} ${e.addr} ${e.size} ${
    e.kind === "alloc" ? `${e.type} ${e.requested}` : ""
  } ${e.goroutine} ${e.lineNo} ${frames}`;
}

interface Parsed {
  events: TraceEvent[];
  rendered: string[];
  stats: ParseStats;
  stacks: StackTable;
}

/** Parses `text` with the string parser, in one piece. */
function parseString(text: string, maxLine?: number): Parsed {
  const events: TraceEvent[] = [];
  const p = new TraceParser((e) => events.push(e), undefined, { maxLine });
  p.feed(text);
  p.end();
  return {
    events,
    rendered: events.map((e) => render(p.stacks, e)),
    stats: p.stats,
    stacks: p.stacks,
  };
}

/** Parses `bytes` with the byte parser, `chunk` bytes at a time. */
function parseBytes(
  bytes: Uint8Array,
  chunk: number,
  maxLine?: number,
): Parsed {
  const events: TraceEvent[] = [];
  const p = new ByteTraceParser((e) => events.push(e), undefined, { maxLine });
  for (let i = 0; i < bytes.length; i += chunk) {
    p.feed(bytes.subarray(i, i + chunk));
  }
  p.end();
  return {
    events,
    rendered: events.map((e) => render(p.stacks, e)),
    stats: p.stats,
    stacks: p.stacks,
  };
}

/** Parses `text` with both parsers (several chunk sizes); asserts they agree and returns the reference's result. */
function parseBoth(text: string, maxLine?: number): Parsed {
  const ref = parseString(text, maxLine);
  const bytes = enc.encode(text);
  for (const chunk of [bytes.length || 1, 4 << 20, 65536, 4099, 97]) {
    const got = parseBytes(bytes, chunk, maxLine);
    assertEquals(got.rendered, ref.rendered, `chunk ${chunk}`);
    assertEquals(got.stats, ref.stats, `chunk ${chunk}`);
  }
  return ref;
}

/** Per-site figures of an analysis, for comparing attribution. */
function sites(p: Parsed): string[] {
  const a = new TraceAnalyzer(p.stacks);
  for (const e of p.events) a.add(e);
  return a.finish().sites.map((s) =>
    `${s.site} ${s.allocs} ${s.allocBytes} ${s.frees} ${s.live}`
  );
}

const clean = parseBoth(leak);

Deno.test("reader: CRLF line endings give the events and stacks of LF ones", () => {
  const crlf = parseBoth(leak.replaceAll("\n", "\r\n"));
  assertEquals(crlf.rendered, clean.rendered);
  assertEquals(crlf.stats, clean.stats);
  // Mixed endings too (a file edited on two systems).
  const lines = leak.split("\n");
  const mixed = parseBoth(
    lines.map((l, i) => (i % 3 === 0 ? l + "\r" : l)).join("\n"),
  );
  assertEquals(mixed.rendered, clean.rendered);
});

Deno.test("reader: a line longer than the cap is skipped and counted, wherever it stands", () => {
  const lines = leak.split("\n");
  const long = "x".repeat(3000);
  // Between records, inside a traceback, as the last line without newline.
  const at = [lines.indexOf("") + 1, 5];
  const withLong = [...lines];
  for (const i of [...at].sort((a, b) => b - a)) withLong.splice(i, 0, long);
  const p = parseBoth(withLong.join("\n") + long, 1000);
  assertEquals(sites(p), sites(clean));
  assertEquals(p.stats.long, 3);
  assertEquals(p.stats.longLines, [
    ...withLong.flatMap((l, i) => (l === long ? [i + 1] : [])),
    withLong.length,
  ]);
  assertEquals(p.stats.lines, withLong.length);
  // At the default cap (1 MiB) the same lines are ordinary program output.
  const q = parseString(withLong.join("\n"));
  assertEquals(q.stats.long, 0);
});

Deno.test("reader: the cap counts UTF-8 bytes in both parsers", () => {
  const head =
    "tracealloc(0xc000010000, 0x10, main.T)\ngoroutine 1 [running]:\n";
  const tail = "main.main()\n\tmain.go:3 +0x1d\n\n";
  // 400 three-byte characters: 400 UTF-16 units, 1200 bytes.
  const p = parseBoth(head + "€".repeat(400) + "\n" + tail, 1000);
  assertEquals(p.stats.long, 1);
  assertEquals(p.stats.allocs, 1);
});

Deno.test("reader: input with no newline at all uses bounded memory and ends", () => {
  const p = new ByteTraceParser(() => {});
  const chunk = new Uint8Array(4 << 20).fill(0x74 /* t */);
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 50; i++) p.feed(chunk); // 200 MiB, one line
  const grew = Deno.memoryUsage().rss - before;
  assertTrue(grew < 64 << 20, `RSS grew by ${grew} bytes`);
  assertEquals(p.stats.long, 1);
  assertTrue(p.notATrace, "no record and a line past the cap: not a trace");
  p.end();
  assertEquals(p.stats.lines, 1);
  const s = new TraceParser(() => {});
  for (let i = 0; i < 63; i++) s.feed("\0".repeat(1 << 20));
  assertTrue(!s.notATrace, "64 MiB are read before giving up");
  for (let i = 0; i < 2; i++) s.feed("\0".repeat(1 << 20));
  assertTrue(s.notATrace);
  s.end();
  assertEquals([s.stats.lines, s.stats.long], [1, 1]);
});

Deno.test("reader: a record header ends a tracegc block whose `end tracegc` is missing or damaged", () => {
  assertTrue(leak.includes("\nend tracegc\n"));
  for (
    const damaged of [
      leak.replace("\nend tracegc\n", "\n"),
      leak.replace("\nend tracegc\n", "\nend trac\n"),
    ]
  ) {
    const p = parseBoth(damaged);
    assertEquals(
      [p.stats.allocs, p.stats.frees, p.stats.gcs, p.stats.cut],
      [1018, 319, 1, null],
    );
    assertEquals(p.stats.unendedGc, 1);
    assertEquals(sites(p), sites(clean));
  }
});

/** `text` with `junk` lines put at `count` pseudo-random line boundaries (a fixed seed). */
function inject(text: string, junk: string[], count: number): string {
  const lines = text.split("\n");
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < count; i++) {
    lines.splice(1 + rnd(lines.length - 2), 0, junk[i % junk.length]);
  }
  return lines.join("\n");
}

/** How many of the `junk` lines in `text` stand outside tracegc blocks (inside one, every line is ignored). */
function outsideGc(text: string, junk: string[]): number {
  let inGc = false;
  let n = 0;
  for (const l of text.split("\n")) {
    if (l === "tracegc()") inGc = true;
    else if (l === "end tracegc") inGc = false;
    else if (!inGc && junk.includes(l)) n++;
  }
  return n;
}

Deno.test("reader: garbage lines inside records are counted and leave the per-site attribution as the clean file's", () => {
  const junk = [
    "@@@@ garbage 17 @@@@",
    "\u0001\u0002binary\u00ff",
    "Segmentation fault?",
    "x",
    "}{",
    "   indented text",
  ];
  const text = inject(leak, junk, 200);
  const p = parseBoth(text);
  assertEquals(sites(p), sites(clean));
  assertEquals(p.stats.unparsed + p.stats.foreign, outsideGc(text, junk));
  assertTrue(p.stats.foreign > 150, `${p.stats.foreign} inside records`);
  assertEquals(
    [p.stats.allocs, p.stats.frees, p.stats.gcs],
    [clean.stats.allocs, clean.stats.frees, clean.stats.gcs],
  );
});

Deno.test("reader: the program's own log lines interleaved with the trace go to no site", () => {
  const log = [
    "2026/11/30 05:26:25 processing batch 3 of 9",
    'level=info msg="cache warm" entries=1024',
    "WARNING: slow request (1.2s)",
  ];
  const text = inject(leak, log, 60);
  const p = parseBoth(text);
  assertEquals(sites(p), sites(clean));
  assertTrue(!sites(p).some((s) => s.startsWith("? ")), "no record went to ?");
  assertEquals(p.stats.unparsed + p.stats.foreign, outsideGc(text, log));
});

Deno.test("reader: a size or address past 2^53 rejects its record with a warning, not a figure", () => {
  const rec = (header: string) =>
    `${header}\ngoroutine 1 [running]:\nruntime.mallocgc(0x10, 0x0, 0x0)\n\truntime/malloc.go:1131 +0x7b1 fp=0x1 sp=0x2 pc=0x40c531\nmain.main()\n\tmain.go:3 +0x1d\n\n`;
  const text = [
    rec("tracealloc(0xc000010000, 0x10, main.T)"),
    rec("tracealloc(0xc000010010, 0xfe1c3a5b2e5d0000000, main.T)"), // 7.5e22
    rec("tracealloc(0x1fffffffffffff0, 0x10)"), // 2^57
    rec("tracefree(0xc000010000, 0x100000000000000000)"), // 2^68
    rec("tracealloc(0x20000000000000, 0x10)"), // 2^53: not exact
    rec("tracealloc(0x1fffffffffffff, 0x10)"), // 2^53 − 1: exact, kept
  ].join("");
  const p = parseBoth(text);
  assertEquals(p.stats.rejected, 4);
  assertEquals(p.stats.rejectedLines, [8, 15, 22, 29]);
  assertEquals(p.events.map((e) => e.kind), ["alloc", "alloc"]);
  const a = new TraceAnalyzer(p.stacks);
  for (const e of p.events) a.add(e);
  assertEquals(a.finish().allocBytes, 32);
  // A requested size (mallocgc's first argument) past 2^53 is unknown, not huge.
  const q = parseBoth(
    rec("tracealloc(0xc000010000, 0x10)").replace(
      "mallocgc(0x10,",
      "mallocgc(0xfe1c3a5b2e5d0000000,",
    ),
  );
  assertTrue(q.events[0].kind === "alloc" && q.events[0].requested === 0);
});

Deno.test("analyzer: a second tracealloc at a live address is counted (a missed free, or traces concatenated)", () => {
  const twice = parseBoth(leak + leak);
  const a = new TraceAnalyzer(twice.stacks);
  for (const e of twice.events) a.add(e);
  const r = a.finish();
  // Every object live at the end of the first copy is allocated again.
  const b = new TraceAnalyzer(clean.stacks);
  for (const e of clean.events) b.add(e);
  const once = b.finish();
  assertEquals(once.allocsAtLive, 0);
  assertTrue(r.allocsAtLive > 0);
  assertTrue(r.allocsAtLive <= once.liveObjects);
});

Deno.test("reader: Go 1.21+ goroutine headers (gp=, m=, mp=) and `created by F in goroutine N`", () => {
  // As Go 1.22.2 prints them (a goroutine started by main.main).
  const text = `tracealloc(0xc000042020, 0x8, *[64]uint8)
goroutine 4 gp=0xc000009180 m=0 mp=0x52e500 [running]:
runtime.mallocgc(0x8, 0x4874c0, 0x1)
	/usr/lib/go-1.22/src/runtime/malloc.go:1288 +0x7a6 fp=0xc00003ff08 sp=0xc00003fe80 pc=0x40d4a6
runtime.growslice(0x0, 0x0?, 0x0?, 0x0?, 0x4874c0)
	/usr/lib/go-1.22/src/runtime/slice.go:250 +0x59c fp=0xc00003ff78 sp=0xc00003ff08 pc=0x44a93c
main.main.func1()
	/tmp/g122/main.go:11 +0x85 fp=0xc00003ffe0 sp=0xc00003ff78 pc=0x480a65
runtime.goexit({})
	/usr/lib/go-1.22/src/runtime/asm_amd64.s:1695 +0x1 fp=0xc00003ffe8 sp=0xc00003ffe0 pc=0x462321
created by main.main in goroutine 1
	/tmp/g122/main.go:9 +0x66

tracealloc(0xc000068000, 0x60)
goroutine 1 gp=0xc0000081c0 m=0 mp=0x52e500 [running, locked to thread]:
runtime.mallocgc(0x60, 0x0, 0x1)
	/usr/lib/go-1.22/src/runtime/malloc.go:1288 +0x7a6 fp=0xc00008ef10 sp=0xc00008ee88 pc=0x40d4a6
runtime.main()
	/usr/lib/go-1.22/src/runtime/proc.go:212 +0x179 fp=0xc00008efe0 sp=0xc00008ef50 pc=0x435999

`;
  const p = parseBoth(text);
  assertEquals(p.stats.unparsed + p.stats.foreign, 0);
  const [a, b] = p.events;
  assertTrue(a.kind === "alloc" && b.kind === "alloc");
  assertEquals([a.goroutine, a.requested, b.goroutine], [4, 8, 1]);
  assertEquals(
    p.stacks.get(a.stack).map((f) => `${f.func}:${f.line}`),
    [
      "runtime.mallocgc:1288",
      "runtime.growslice:250",
      "main.main.func1:11",
      "runtime.goexit:1695",
    ],
  );
  assertTrue(
    sites(p).includes("main.main.func1 /tmp/g122/main.go:11 1 8 0 1"),
    sites(p).join(),
  );
});
