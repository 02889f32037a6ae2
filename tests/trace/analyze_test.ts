import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, GO122, parseShared, truth } from "../_testdata.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { Replayer } from "../../lib/trace/replay.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import type { StackTable, TraceEvent } from "../../lib/trace/events.ts";
import { readLaterPart } from "./_later_part.ts";
import { Runtime } from "../../mod.ts";

for (
  const [trace, truthFile] of [
    ["binarytrees-d6.trace.gz", "binarytrees-d6.truth.json"],
    ["leak-n300.trace", "leak-n300.truth.json"],
    ["temporaries-n40.trace", "temporaries-n40.truth.json"],
  ]
) {
  Deno.test(`analyze ${trace}: per-site records and live objects equal the truth file`, async () => {
    const { events, parser } = await parseShared(trace);
    const a = new TraceAnalyzer(parser.stacks, { by: "func" });
    for (const e of events) a.add(e);
    const r = a.finish();
    const t = await truth(truthFile);
    // Per site and type: the truth counts intended objects per (site, type).
    const bySiteType = new Map<string, { records: number; live: number }>();
    const b = new TraceAnalyzer(parser.stacks);
    void b;
    const live = new Map<number, string>();
    for (const e of events) {
      if (e.kind === "alloc") {
        const frames = parser.stacks.get(e.stack);
        const site = frames.find((f) => !f.func.startsWith("runtime."))?.func ??
          "";
        const key = `${site} ${e.type}`;
        const v = bySiteType.get(key) ?? { records: 0, live: 0 };
        v.records++;
        v.live++;
        bySiteType.set(key, v);
        const prev = live.get(e.addr);
        if (prev) bySiteType.get(prev)!.live--;
        live.set(e.addr, key);
      } else if (e.kind === "free") {
        const key = live.get(e.addr);
        if (key) {
          bySiteType.get(key)!.live--;
          live.delete(e.addr);
        }
      }
    }
    for (const s of t.sites) {
      const got = bySiteType.get(`${s.site} ${s.type_printed}`);
      assertTrue(got !== undefined, `${s.site} ${s.type_printed} missing`);
      assertEquals(
        got.records,
        s.traced_records_expected ?? s.count,
        `${s.site} records`,
      );
      assertEquals(
        got.live,
        s.trace_live_expected ?? s.live_at_exit,
        `${s.site} live`,
      );
    }
    // The analyzer's per-site figures agree with that replay of the events.
    for (const s of t.sites) {
      const site = r.sites.find((x) => x.site === s.site)!;
      const sum = [...bySiteType].filter(([k]) => k.startsWith(s.site + " "))
        .reduce(
          (acc, [, v]) => [acc[0] + v.records, acc[1] + v.live],
          [0, 0],
        );
      assertEquals([site.allocs, site.live], sum, s.site);
    }
    assertEquals(r.allocs, parser.stats.allocs);
    assertEquals(r.unmatchedFrees, 3); // the three objects allocated before GODEBUG was read
  });
}

Deno.test("replay at MemProfileRate=1 gives each site the trace's allocations", async () => {
  const { events, parser } = await parseShared("leak-n300.trace");
  const a = new TraceAnalyzer(parser.stacks, { by: "func" });
  const rt = new Runtime({ memProfileRate: 1 });
  const rep = new Replayer(rt, parser.stacks);
  for (const e of events) {
    a.add(e);
    rep.add(e);
  }
  rep.finish();
  const r = a.finish();
  const prof = new Map<string, number>();
  for (const rec of rt.MemProfile(true)) {
    let fn = "";
    for (const pc of rec.Stack) {
      const name = rt.symtab.lookup(pc)?.fn.name ?? "";
      if (!name.startsWith("runtime.")) {
        fn = name;
        break;
      }
    }
    prof.set(fn, (prof.get(fn) ?? 0) + rec.AllocBytes);
  }
  for (
    const site of [
      "main.newRecord",
      "main.makePayload",
      "main.makeScratch",
      "main.leakIt",
    ]
  ) {
    assertEquals(
      prof.get(site),
      r.sites.find((s) => s.site === site)!.allocBytes,
      site,
    );
  }
});

/** Whole lines a damaged trace may hold where a line starts. */
const foreignLine = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => s.replaceAll("\n", " ")),
  fc.constantFrom(
    "2026/11/30 05:26:25 processing batch 3 of 9",
    "WARNING: slow request (1.2s)",
    "main.notAFrame(0x1)",
    "\tstray/file.go:12 +0x1d",
    "created by main.main in goroutine 1",
    "end tracegc",
    "tracegc()",
    "goroutine 7 gp=0xc000009180 m=0 mp=0x52e500 [running]:",
    "tracealloc(0xc000010000, 0xfe1c3a5b2e5d0000000, main.T)",
    "tracefree(0x20000000000000, 0x10)",
    "",
  ),
  // Past the fuzz tests' cap of 256 bytes.
  fc.integer({ min: 200, max: 700 }).map((n) => "y".repeat(n)),
);

/**
 * Mutations of real trace text: byte flips, cuts, splices and insertions;
 * and line-level damage: CRLF endings over a range, a foreign line put in,
 * a line taken out (an `end tracegc`, a blank line), digits added to a hex
 * number.
 */
const mutation = fc.oneof(
  fc.record({
    op: fc.constant("flip"),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ op: fc.constant("cut"), at: fc.nat() }),
  fc.record({
    op: fc.constant("splice"),
    at: fc.nat(),
    from: fc.nat(),
    len: fc.integer({ min: 1, max: 4000 }),
  }),
  fc.record({
    op: fc.constant("insert"),
    at: fc.nat(),
    text: fc.string({ maxLength: 200 }),
  }),
  fc.record({
    op: fc.constant("crlf"),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 20000 }),
  }),
  fc.record({
    op: fc.constant("line"),
    at: fc.nat(),
    text: foreignLine,
    // After the next line that starts so (any line: "").
    after: fc.constantFrom(
      "",
      "tracealloc(",
      "tracefree(",
      "goroutine ",
      "runtime.",
      "main.",
      "\t",
      "created by ",
      "tracegc()",
    ),
  }),
  fc.record({ op: fc.constant("drop"), at: fc.nat() }),
  fc.record({
    op: fc.constant("digits"),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 20 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Applies `muts` in order to a copy of `bytes`. */
function mutate(bytes: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  for (const m of muts) {
    const at = m.at % (bytes.length + 1);
    if (m.op === "flip" && bytes.length > 0) {
      bytes = bytes.slice();
      bytes[at % bytes.length] = m.byte;
    } else if (m.op === "cut") bytes = bytes.slice(0, at);
    else if (m.op === "splice") {
      const from = m.from % (bytes.length + 1);
      bytes = new Uint8Array([
        ...bytes.slice(0, at),
        ...bytes.slice(from, from + m.len),
        ...bytes.slice(at),
      ]);
    } else if (m.op === "insert") {
      bytes = new Uint8Array([
        ...bytes.slice(0, at),
        ...new TextEncoder().encode(m.text),
        ...bytes.slice(at),
      ]);
    } else if (m.op === "crlf") {
      const text = new TextDecoder().decode(bytes);
      const a = at % (text.length + 1);
      bytes = new TextEncoder().encode(
        text.slice(0, a) +
          text.slice(a, a + m.len).replaceAll("\n", "\r\n") +
          text.slice(a + m.len),
      );
    } else if (m.op === "line" || m.op === "drop") {
      // At the start of the line after `at` (for "line": after the next
      // line that starts with m.after).
      let nl = bytes.indexOf(10, at);
      if (m.op === "line" && m.after !== "") {
        const p = new TextEncoder().encode(m.after);
        const starts = (i: number) => p.every((c, k) => bytes[i + k] === c);
        while (nl >= 0 && !starts(nl + 1)) nl = bytes.indexOf(10, nl + 1);
        if (nl >= 0) nl = bytes.indexOf(10, nl + 1);
      }
      const start = nl < 0 ? bytes.length : nl + 1;
      const end = m.op === "drop"
        ? (bytes.indexOf(10, start) < 0
          ? bytes.length
          : bytes.indexOf(10, start) + 1)
        : start;
      bytes = new Uint8Array([
        ...bytes.slice(0, start),
        ...(m.op === "line" ? new TextEncoder().encode(m.text + "\n") : []),
        ...bytes.slice(end),
      ]);
    } else if (m.op === "digits") {
      // More hex digits after the next "0x": a size or address past 2^53.
      let x = at;
      while (
        x + 1 < bytes.length && !(bytes[x] === 48 && bytes[x + 1] === 120)
      ) {
        x++;
      }
      if (x + 1 < bytes.length) {
        bytes = new Uint8Array([
          ...bytes.slice(0, x + 2),
          ...new TextEncoder().encode("f".repeat(m.len)),
          ...bytes.slice(x + 2),
        ]);
      }
    }
  }
  return bytes;
}

const leakText = new TextDecoder().decode(
  await Deno.readFile(new URL("leak-n300.trace", GO119)),
);
const realText = leakText.slice(0, 120_000);
/** 60,000 characters around the trace's tracegc block (goroutines, `created by` lines). */
const gcText = leakText.slice(
  leakText.indexOf("\ntracegc()\n") - 30_000,
  leakText.indexOf("\ntracegc()\n") + 30_000,
);
// Go 1.22: goroutine headers with gp=/m=/mp=, `created by F in goroutine N`;
// from the tracegc block on, so creators are in the text.
const text122 = new TextDecoder().decode(
  await Deno.readFile(new URL("leak-n300.trace", GO122)),
);
const realText122 = text122.slice(text122.indexOf("tracegc()") - 30_000);

Deno.test("fuzz: mutated real traces never make the parser throw or hang, and every line is accounted for", () => {
  fc.assert(
    fc.property(
      fc.array(mutation, { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 5000 }),
      (muts, chunk) => {
        const bytes = mutate(new TextEncoder().encode(realText), muts);
        const text = new TextDecoder().decode(bytes);
        let records = 0;
        const p = new TraceParser(() => records++);
        for (let i = 0; i < text.length; i += chunk) {
          p.feed(
            text.slice(i, i + chunk),
          );
        }
        p.end();
        const newlines = text.split("\n").length - 1;
        const expectLines = newlines +
          (text.endsWith("\n") || text.length === 0 ? 0 : 1);
        assertEquals(p.stats.lines, expectLines);
        assertEquals(records, p.stats.allocs + p.stats.frees + p.stats.gcs);
      },
    ),
    { numRuns: 200, seed: Number(Deno.env.get("FC_SEED") ?? 20261129) },
  );
});

for (
  const [version, texts] of [
    ["go1.19", [realText.slice(0, 60000), gcText]],
    ["go1.22", [realText122.slice(0, 60000)]],
  ] as const
) {
  Deno.test(`fuzz: the byte parser and the string parser agree on mutated real ${version} traces`, () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 0, maxLength: 6 }),
        fc.integer({ min: 1, max: 70000 }),
        fc.nat({ max: texts.length - 1 }),
        (muts, chunk, which) => {
          // Keep to valid UTF-8 so both parsers see the same characters.
          const bytes = new TextEncoder().encode(
            new TextDecoder().decode(
              mutate(new TextEncoder().encode(texts[which]), muts),
            ),
          );
          const render = (
            p: {
              stacks: {
                get(
                  i: number,
                ): readonly {
                  func: string;
                  file: string;
                  line: number;
                  pc: number;
                }[];
              };
            },
            e: TraceEvent,
          ) =>
            e.kind === "gc"
              ? `gc ${e.lineNo}`
              : `${e.kind} ${e.addr} ${e.size} ${
                e.kind === "alloc" ? `${e.type} ${e.requested}` : ""
              } ${e.goroutine} ${e.lineNo} ${
                p.stacks.get(e.stack).map((f) =>
                  `${f.func}@${f.file}:${f.line}:${f.pc}`
                ).join("|")
              }`;
          // A small line cap, so that long lines come up.
          const opts = { maxLine: 256 };
          const a: string[] = [];
          const sp = new TraceParser(
            (e) => a.push(render(sp, e)),
            undefined,
            opts,
          );
          sp.feed(new TextDecoder().decode(bytes));
          sp.end();
          const b: string[] = [];
          const bp = new ByteTraceParser(
            (e) => b.push(render(bp, e)),
            undefined,
            opts,
          );
          for (let i = 0; i < bytes.length; i += chunk) {
            bp.feed(
              bytes.subarray(i, i + chunk),
            );
          }
          bp.end();
          assertEquals(b, a);
          // Every count and warning (with its line numbers), and the creators.
          assertEquals(bp.stats, sp.stats);
        },
      ),
      // A fixed seed keeps CI deterministic; FC_SEED explores others.
      {
        numRuns: version === "go1.19" ? 150 : 80,
        seed: Number(Deno.env.get("FC_SEED") ?? 20261129),
      },
    );
  });
}

Deno.test("fuzz: a trace read in two parts (a fresh parser from a line where the first is idle, events packed across) gives one parser's events, stack ids and statistics", () => {
  const texts = [realText.slice(0, 60000), gcText, realText122.slice(0, 60000)];
  let split = 0;
  fc.assert(
    fc.property(
      fc.array(mutation, { minLength: 0, maxLength: 4 }),
      fc.nat(),
      fc.nat({ max: texts.length - 1 }),
      fc.integer({ min: 1, max: 70000 }),
      fc.integer({ min: 1, max: 50 }),
      fc.boolean(),
      (muts, cutAt, which, chunk, batch, afterBlank) => {
        const bytes = mutate(new TextEncoder().encode(texts[which]), muts);
        const render = (
          p: { stacks: StackTable },
          e: TraceEvent,
        ) =>
          `${JSON.stringify(e)} ${
            e.kind === "gc"
              ? ""
              : p.stacks.get(e.stack).map((f) =>
                `${f.func}@${f.file}:${f.line}:${f.pc}:${f.inlined}`
              ).join("|")
          }`;
        const feed = (p: ByteTraceParser, b: Uint8Array) => {
          for (let i = 0; i < b.length; i += chunk) {
            p.feed(b.subarray(i, i + chunk));
          }
        };
        const opts = { maxLine: 256 };
        const want: string[] = [];
        const one = new ByteTraceParser(
          (e) => want.push(render(one, e)),
          undefined,
          opts,
        );
        feed(one, bytes);
        one.end();
        // The first part: up to the start of a line (after a blank line, as
        // a Worker's part starts, or any line).
        let nl = bytes.indexOf(10, cutAt % (bytes.length + 1));
        while (afterBlank && nl >= 0 && bytes[nl + 1] !== 10) {
          nl = bytes.indexOf(10, nl + 1);
        }
        if (nl < 0) return;
        if (afterBlank) nl++;
        const got: string[] = [];
        const first = new ByteTraceParser(
          (e) => got.push(render(first, e)),
          undefined,
          opts,
        );
        feed(first, bytes.subarray(0, nl + 1));
        if (!first.idle) return;
        split++;
        readLaterPart(
          first,
          bytes.subarray(nl + 1),
          batch,
          feed,
          (e) => got.push(render(first, e)),
          opts,
        );
        first.end();
        assertEquals(got, want);
        assertEquals(first.stats, one.stats);
        assertEquals(first.stacks.size, one.stacks.size);
      },
    ),
    { numRuns: 150, seed: Number(Deno.env.get("FC_SEED") ?? 20261129) },
  );
  // Many cuts fall between records (the rest prove nothing here).
  assertTrue(split > 50, `${split} of 150 runs were split`);
});

Deno.test("a timeline point's top ten are the sites with the most live bytes, most first, ties in the order the sites came (as a stable sort gives them)", async () => {
  const { StackTable } = await import("../../lib/trace/events.ts");
  await fc.assert(
    fc.property(
      // [site (of 14), size (few values: ties), free the site's oldest live block]
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 13 }),
          fc.constantFrom(8, 16, 16, 32),
          fc.boolean(),
        ),
        { maxLength: 120 },
      ),
      (ops) => {
        const st = new StackTable();
        const stacks = Array.from({ length: 14 }, (_, s) =>
          st.intern([{
            func: `main.f${s}`,
            file: "m.go",
            line: s + 1,
            pc: 0,
            inlined: false,
          }]));
        const a = new TraceAnalyzer(st);
        const live = new Map<number, number>(); // site → bytes
        const blocks: [number, number, number][] = []; // addr, site, size
        const order: number[] = []; // sites in the order they came
        let addr = 0x1000;
        let line = 0;
        for (const [s, size, free] of ops) {
          const i = blocks.findIndex((b) => b[1] === s);
          if (free && i >= 0) {
            const [at, , sz] = blocks.splice(i, 1)[0];
            a.free(at);
            live.set(s, live.get(s)! - sz);
            continue;
          }
          if (!order.includes(s)) order.push(s);
          a.alloc(addr, size, null, size, 0, stacks[s], ++line);
          blocks.push([addr, s, size]);
          live.set(s, (live.get(s) ?? 0) + size);
          addr += 64;
        }
        a.gc();
        const want = order.filter((s) => live.get(s)! > 0)
          .sort((x, y) => live.get(y)! - live.get(x)!)
          .slice(0, 10)
          .map((s) => [`main.f${s} m.go:${s + 1}`, live.get(s)!]);
        const points = a.finish().timeline;
        assertEquals(points.at(-2)!.top, want);
      },
    ),
    { numRuns: 300 },
  );
});
