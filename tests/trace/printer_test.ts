import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, parseShared, truth } from "../_testdata.ts";
import { traceOf } from "../../scripts/_golden.ts";
import { siteFrame, type TraceEvent } from "../../lib/trace/events.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import { TracePrinter, writeHex } from "../../lib/trace/printer.ts";
import {
  binarytrees,
  leak,
  PRESET_NAMES,
  Runtime,
  temporaries,
} from "../../mod.ts";

function parse(text: string) {
  const events: TraceEvent[] = [];
  const p = new TraceParser((e) => events.push(e));
  p.feed(text);
  p.end();
  return { events, p };
}

for (const preset of PRESET_NAMES) {
  Deno.test(`${preset}: everything the printer emits parses back into the same events`, () => {
    const rt = new Runtime({ preset });
    const emitted: string[] = [];
    let text = "";
    const dec = new TextDecoder();
    const printer = new TracePrinter(rt, (b) => (text += dec.decode(b)));
    if (rt.preset.traceFormat === "tracealloc") {
      rt.events.subscribe({
        alloc: (addr, size, typ) =>
          emitted.push(
            `alloc ${addr} ${size} ${typ?.name ?? null} ${rt.site()}`,
          ),
        free: (addr, size) => emitted.push(`free ${addr} ${size}`),
        gc: (e) => e.kind === "marktermination" && emitted.push("gc"),
      });
    } else {
      rt.events.subscribe({
        profileAlloc: (addr, size, typ) =>
          emitted.push(
            `alloc ${addr} ${size} ${typ?.name ?? null} ${rt.site()}`,
          ),
        profileFree: (addr, size) => emitted.push(`free ${addr} ${size}`),
      });
    }
    printer.attach();
    temporaries(rt, { n: 5 });
    leak(rt, { n: 30 });
    printer.flush();
    const { events, p } = parse(text);
    assertEquals(p.stats.unparsed, 0);
    assertEquals(p.stats.cut, null);
    const parsed = events.map((e) =>
      e.kind === "alloc"
        ? `alloc ${e.addr} ${e.size} ${e.type} ${
          // A start-up record made on g0 has no frame outside the runtime.
          siteFrame(p.stacks.get(e.stack))?.func ?? ""}`
        : e.kind === "free"
        ? `free ${e.addr} ${e.size}`
        : "gc"
    );
    assertEquals(parsed, emitted);
    if (rt.preset.traceFormat === "tracealloc") {
      // mallocgc's first argument, the requested size, comes back too
      // (temporaries' 40-byte concatstring2; leak's final concatstring3
      // asks 35 bytes of the same size class).
      const strings = events.filter((e) =>
        e.kind === "alloc" && e.type === null && e.size === 0x30 &&
        p.stacks.get(e.stack).some((f) => f.func === "runtime.concatstring2")
      );
      assertTrue(
        strings.length > 0 &&
          strings.every((e) => e.kind === "alloc" && e.requested === 40),
      );
    }
  });
}

Deno.test("go1.19 trace has the real trace's record kinds, header and frame syntax", async () => {
  const sim = traceOf("go1.19", (rt) => leak(rt, { n: 300 }));
  const real = new TextDecoder().decode(
    await Deno.readFile(
      new URL("leak-n300.trace", GO119),
    ),
  );
  const shapes = (text: string) => {
    const kinds = new Set<string>();
    for (const line of text.split("\n")) {
      if (line.startsWith("tracealloc(")) {
        kinds.add(
          /^tracealloc\(0x[0-9a-f]+, 0x[0-9a-f]+(, .+)?\)$/.test(line)
            ? "alloc"
            : "BAD " + line,
        );
      } else if (line.startsWith("tracefree(")) {
        kinds.add(
          /^tracefree\(0x[0-9a-f]+, 0x[0-9a-f]+\)$/.test(line)
            ? "free"
            : "BAD " + line,
        );
      } else if (line === "tracegc()" || line === "end tracegc") {
        kinds.add(line);
      } else if (line.startsWith("goroutine ")) {
        kinds.add(
          /^goroutine \d+ \[[\w ,()]+\]:$/.test(line)
            ? "goroutine"
            : "BAD " + line,
        );
      } else if (line.startsWith("\t")) {
        kinds.add(
          /^\t\S+:\d+( \+0x[0-9a-f]+)?( fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?$/
              .test(line)
            ? "file line"
            : "BAD " + line,
        );
      } else if (line.startsWith("created by ")) kinds.add("created by");
      else if (line !== "") {
        kinds.add(
          /^[\w./*()]+\(.*\)$/.test(line) ? "func line" : "BAD " + line,
        );
      }
    }
    return [...kinds].sort();
  };
  assertEquals(shapes(sim), shapes(real));
});

for (
  const [name, trace, truthFile, run] of [
    [
      "leak -n 300",
      "leak-n300.trace",
      "leak-n300.truth.json",
      (rt: Runtime) => leak(rt, { n: 300 }),
    ],
    [
      "temporaries -n 40",
      "temporaries-n40.trace",
      "temporaries-n40.truth.json",
      (rt: Runtime) => temporaries(rt, { n: 40 }),
    ],
    [
      "binarytrees -depth 6",
      "binarytrees-d6.trace.gz",
      "binarytrees-d6.truth.json",
      (rt: Runtime) => binarytrees(rt, { depth: 6 }),
    ],
  ] as const
) {
  Deno.test(`go1.19: ${name} traces as many records per site, size and type as real Go`, async () => {
    const sites = new Set((await truth(truthFile)).sites.map((s) => s.site));
    const count = (events: TraceEvent[], p: TraceParser) => {
      const m = new Map<string, number>();
      for (const e of events) {
        if (e.kind !== "alloc") continue;
        const site = siteFrame(p.stacks.get(e.stack))?.func ?? "";
        if (!sites.has(site)) continue;
        const k = `${site} ${e.size} ${e.type}`;
        m.set(k, (m.get(k) ?? 0) + 1);
      }
      return [...m].sort();
    };
    const real = await parseShared(trace);
    const sim = parse(traceOf("go1.19", run));
    assertEquals(count(sim.events, sim.p), count(real.events, real.parser));
  });
}

Deno.test('writeHex writes what "0x" + toString(16) gives, at the offset, for 0 ≤ n < 2^53', () => {
  const buf = new Uint8Array(32);
  const dec = new TextDecoder();
  const check = (n: number, at: number) => {
    buf.fill(0x21);
    const end = writeHex(buf, at, n);
    assertEquals(dec.decode(buf.subarray(at, end)), "0x" + n.toString(16));
    assertEquals(buf[at - 1] ?? 0x21, 0x21); // nothing before
    assertEquals(buf[end], 0x21); // nothing after
  };
  for (
    const n of [0, 1, 15, 16, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 0xc000010000]
  ) check(n, 3);
  check(Number.MAX_SAFE_INTEGER, 0);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.nat(),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      ),
      fc.nat({ max: 8 }),
      check,
    ),
    { numRuns: 2000 },
  );
});
