import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { BlockScanner } from "../../lib/trace/block_scan.ts";
import { SCANNER_WASM } from "../../lib/trace/_scanner_wasm.ts";
import { SCANNER_FILE } from "../../scripts/gen_scanner.ts";
import { staleness } from "../../scripts/_wasm_module.ts";
import { AddrMap } from "../../lib/trace/addr_map.ts";
import { PagedAddrMap } from "../../lib/trace/paged_addr_map.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import { sinkOf, type TraceEvent } from "../../lib/trace/events.ts";
import { GO119 } from "../_testdata.ts";
import { assertParsersAgree } from "./_parsers_agree.ts";

/** What scan() must find, the slow way: the header's newline and the first blank line after it. */
function reference(b: Uint8Array, s: number): { e: number; nl1: number } {
  const nl1 = b.indexOf(10, s);
  if (nl1 < 0) return { e: -1, nl1: -1 };
  for (let e = nl1; e + 1 < b.length; e++) {
    if (b[e] === 10 && b[e + 1] === 10) return { e, nl1 };
  }
  return { e: -1, nl1 };
}

// Few distinct bytes, so newlines and blank lines are everywhere; 0x0b and
// 0x8a are one bit away from `\n` (the SWAR and SIMD tests must not confuse them).
const text = fc.array(fc.constantFrom(10, 10, 97, 98, 0x0b, 0x8a, 0), {
  maxLength: 120,
}).map((a) => new Uint8Array(a));

Deno.test("block scanner: the module a run compiles (_scanner_wasm.ts) is the one its assembler builds", async () => {
  // (Stale after a change to _scan_*.ts, _record_run.ts or _wasm.ts.)
  assertEquals(await staleness(SCANNER_FILE, SCANNER_WASM), null);
});

Deno.test("block scanner: finds what a byte-by-byte search finds, wherever the data starts", () => {
  const sc = new BlockScanner();
  fc.assert(
    fc.property(text, fc.nat({ max: 20 }), fc.nat({ max: 40 }), (b, pad, s) => {
      const data = new Uint8Array(pad + b.length);
      data.set(b, pad);
      // Garbage after the data must be ignored: fill the slack with newlines.
      const view = sc.reserve(new Uint8Array(0), data.length + 32);
      view.fill(10);
      view.set(data);
      const start = Math.min(pad + s, data.length);
      const got = sc.scan(start, data.length);
      const want = reference(data, start);
      assertEquals(got, want.e);
      if (got >= 0) assertEquals(sc.nl1, want.nl1);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("block scanner: the hash of lines without tabs or parentheses depends on their bytes only, not on where they are or on the header", () => {
  const sc = new BlockScanner();
  const hashAt = (header: Uint8Array, body: Uint8Array, pad: number) => {
    const data = new Uint8Array(pad + header.length + 1 + body.length + 2);
    data.set(header, pad);
    data[pad + header.length] = 10;
    data.set(body, pad + header.length + 1);
    data[data.length - 2] = 10;
    data[data.length - 1] = 10;
    sc.reserve(new Uint8Array(0), data.length).set(data);
    const e = sc.scan(pad, data.length);
    return e < 0 ? "none" : `${e - pad} ${sc.s1lo} ${sc.s1hi} ${sc.s2lo}`;
  };
  // A traceback without blank lines: other bytes with single newlines.
  const body = fc.array(fc.constantFrom(97, 98, 99, 10, 0x8a), {
    minLength: 1,
    maxLength: 100,
  }).map((a) => {
    const out = a.filter((c, i) => !(c === 10 && (i === 0 || a[i - 1] === 10)));
    // Nor a newline first or last (the header's and the blank line's neighbours).
    while (out.length > 0 && out[out.length - 1] === 10) out.pop();
    return new Uint8Array(out.length > 0 && out[0] !== 10 ? out : [97]);
  });
  fc.assert(
    fc.property(
      body,
      body,
      fc.nat({ max: 17 }),
      fc.nat({ max: 17 }),
      (a, b, p1, p2) => {
        const h = new TextEncoder().encode("tracealloc(0x1, 0x2)");
        const hx = new TextEncoder().encode("tracefree(0xc000001234, 0x10)");
        const ha = hashAt(h, a, p1);
        assertTrue(ha !== "none");
        const [, ...hashA] = ha.split(" ");
        const [, ...hashA2] = hashAt(hx, a, p2).split(" ");
        assertEquals(hashA2, hashA, "same traceback, other header and offset");
        const same = a.length === b.length && a.every((x, i) => x === b[i]);
        const [, ...hashB] = hashAt(h, b, p2).split(" ");
        assertEquals(hashB.join() === hashA.join(), same);
      },
    ),
    { numRuns: 2000 },
  );
});

/**
 * The shape of a traceback (its lines, without newlines) the plain way:
 * what {@link BlockScanner.scan} must hash. A file line keeps its part
 * before the first space and, when the last `=` after the space follows
 * ` pc`, the value after it; a function line `name(args)` keeps its name
 * and whether `args` is empty (unless it ends in `(...)`); any other line is
 * kept whole.
 */
function shapeKey(lines: string[]): string {
  return lines.map((l) => {
    if (l[0] === "\t") {
      let sp = l.indexOf(" ");
      if (sp < 0) sp = l.length;
      const eq = l.lastIndexOf("=");
      const pc = eq > sp + 2 && l.slice(eq - 3, eq) === " pc"
        ? `|pc ${l.slice(eq + 1)}`
        : "";
      return `file ${l.slice(0, sp)}${pc}`;
    }
    if (l.endsWith(")")) {
      const open = l.lastIndexOf("(", l.length - 2);
      if (open > 0 && !(l.length - open === 5 && l[open + 1] === ".")) {
        return `func ${l.slice(0, open)}${open === l.length - 2 ? "()" : ""}`;
      }
    }
    return `line ${l}`;
  }).join("\n");
}

Deno.test("block scanner: two tracebacks hash to the same shape exactly when their shapes are equal the plain way", () => {
  const sc = new BlockScanner();
  const enc = new TextEncoder();
  const hashOf = (lines: string[], pad: number) => {
    const b = enc.encode(`tracefree(0x1, 0x2)\n${lines.join("\n")}\n\n`);
    // Stale bytes after the data (newlines, blank lines) must not count.
    const view = sc.reserve(new Uint8Array(0), pad + b.length + 40);
    view.fill(10);
    view.set(b, pad);
    assertEquals(sc.scan(pad, pad + b.length), pad + b.length - 2);
    return `${sc.s1lo} ${sc.s1hi} ${sc.s2lo}`;
  };
  // Few distinct characters, so that spaces, `=`, ` pc=`, `(`, `(...)` and
  // tabs fall everywhere, at 16-byte window edges too (lines up to 40).
  const line = fc.array(
    fc.constantFrom("a", "p", "c", " ", "\t", "(", ")", "=", ".", "\r", " pc="),
    { minLength: 1, maxLength: 24 },
  ).map((a) => a.join(""));
  const lines = fc.array(line, { minLength: 1, maxLength: 4 });
  // Per line of a: keep it, replace it, or change one character of it.
  const edit = fc.oneof(
    fc.constant(null),
    line,
    fc.record({ at: fc.nat(), c: line }),
  );
  fc.assert(
    fc.property(
      lines,
      fc.array(edit, { minLength: 4, maxLength: 4 }),
      fc.nat({ max: 17 }),
      fc.nat({ max: 17 }),
      (a, edits, p1, p2) => {
        const b = a.map((l, i) => {
          const e = edits[i];
          if (e === null) return l;
          if (typeof e === "string") return e;
          const k = e.at % l.length;
          return l.slice(0, k) + e.c[0] + l.slice(k + 1);
        });
        const same = shapeKey(a) === shapeKey(b);
        assertEquals(
          hashOf(a, p1) === hashOf(b, p2),
          same,
          `${JSON.stringify(a)} / ${JSON.stringify(b)}`,
        );
      },
    ),
    { numRuns: 5000 },
  );
});

Deno.test("AddrMap behaves like Map<number, number> under random puts, gets and takes", () => {
  // Addresses from a pool: up to 7 random ones keep the table at 16 slots,
  // where they collide and probe runs wrap around its end; or many nearby
  // heap addresses.
  const ops = fc.oneof(
    fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 40 }), {
      minLength: 1,
      maxLength: 7,
    }),
    fc.integer({ min: 8, max: 300 }).map((n) =>
      Array.from({ length: n }, (_, i) => 0xc000000000 + i * 16)
    ),
  ).chain((pool) => {
    const addr = fc.constantFrom(...pool);
    return fc.array(
      fc.oneof(
        fc.record({ op: fc.constant("set"), a: addr, v: fc.nat() }),
        fc.record({ op: fc.constant("get"), a: addr, v: fc.constant(0) }),
        fc.record({ op: fc.constant("del"), a: addr, v: fc.constant(0) }),
      ),
      { maxLength: 200 },
    );
  });
  fc.assert(
    fc.property(ops, (ops) => {
      sameAsMap(new AddrMap(16), ops);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("PagedAddrMap behaves like Map<number, number> for any integer address below 2^53 (aligned or not, past 2^32, page edges)", () => {
  const near = (base: number) =>
    fc.integer({ min: -20, max: 20 }).map((d) => Math.max(0, base + d));
  const addr = fc.oneof(
    near(0xc000000000),
    near(0xc000002000),
    near(2 ** 32),
    near(2 ** 53 - 64),
    fc.integer({ min: 0, max: 2 ** 53 - 1 }),
    fc.integer({ min: 0, max: 64 }).map((i) => 0x7f0000001ff8 + i * 8),
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom("set", "get", "del"),
          a: addr,
          v: fc.nat(),
        }),
        { maxLength: 200 },
      ),
      (ops) => {
        sameAsMap(new PagedAddrMap(), ops);
      },
    ),
    { numRuns: 3000 },
  );
});

/** Applies `ops` to `m` and to a `Map`, checking every answer, the size and the values agree. */
function sameAsMap(
  m: AddrMap | PagedAddrMap,
  ops: { op: string; a: number; v: number }[],
): void {
  const ref = new Map<number, number>();
  for (const { op, a, v } of ops) {
    if (op === "set") {
      assertEquals(m.put(a, v), ref.get(a) ?? -1);
      ref.set(a, v);
    } else if (op === "del") {
      assertEquals(m.take(a), ref.get(a) ?? -1);
      ref.delete(a);
    } else assertEquals(m.get(a), ref.get(a) ?? -1);
    assertEquals(m.size, ref.size);
  }
  for (const [a, v] of ref) assertEquals(m.get(a), v);
  assertEquals([...m.values()].sort(), [...ref.values()].sort());
}

/** Parses `bytes` with both parsers (the byte one in `chunk`-byte pieces), checks they agree, returns the byte parser. */
function bothParsers(bytes: Uint8Array, chunk: number): ByteTraceParser {
  const render = (e: { kind: string; lineNo: number }) => JSON.stringify(e);
  const want: string[] = [];
  const sp = new TraceParser((e) => want.push(render(e)));
  sp.feed(new TextDecoder().decode(bytes));
  sp.end();
  const got: string[] = [];
  const bp = new ByteTraceParser((e) => got.push(render(e)));
  for (let i = 0; i < bytes.length; i += chunk) {
    bp.feed(bytes.subarray(i, i + chunk));
  }
  bp.end();
  assertEquals(got, want);
  // The same events, in the same order, when most go to a sink as numbers.
  const viaSink: string[] = [];
  const push = (e: TraceEvent) => viaSink.push(render(e));
  const bs = new ByteTraceParser(push, undefined, { sink: sinkOf(push) });
  for (let i = 0; i < bytes.length; i += chunk) {
    bs.feed(bytes.subarray(i, i + chunk));
  }
  bs.end();
  assertEquals(viaSink, want);
  assertEquals(bs.stats, bp.stats);
  return bp;
}

Deno.test("byte parser: a real trace's repeated tracebacks come from the record cache, with the string parser's events", async () => {
  const bytes = await Deno.readFile(new URL("leak-n300.trace", GO119));
  const bp = bothParsers(bytes, 100_000);
  const records = bp.stats.allocs + bp.stats.frees;
  // 1,018 allocations and 319 frees from a few dozen call sites.
  assertTrue(
    bp.cachedRecords > records / 2,
    `${bp.cachedRecords} of ${records} records from the cache`,
  );
});

Deno.test("block scanner: the shape hash leaves out arguments, +0x offsets, fp= and sp=, and keeps names, file:line and pc=", () => {
  const sc = new BlockScanner();
  const enc = new TextEncoder();
  const shapeOf = (text: string, pad: number) => {
    const b = enc.encode(`tracealloc(0x1, 0x2)\n${text}\n`);
    sc.reserve(new Uint8Array(0), pad + b.length + 32).set(b, pad);
    assertEquals(sc.scan(pad, pad + b.length), pad + b.length - 2);
    return `${sc.s1lo} ${sc.s1hi} ${sc.s2lo}`;
  };
  const frame = fc.record({
    func: fc.constantFrom("main.f", "main.(*T).m", "runtime.mallocgc", "x"),
    file: fc.constantFrom("main.go:3", "runtime/malloc.go:1131", "a/b.go:77"),
    pc: fc.constantFrom("0x40c5b1", "0x4a230a", "0x4a2319"),
  });
  const noise = fc.record({
    args: fc.constantFrom("0x3?", "0xc000076f18?, 0x1", "{0x0?, 0x0?}"),
    off: fc.constantFrom("0x2a", "0x39", "0x7b1"),
    fp: fc.nat(),
    sp: fc.nat(),
  });
  const render = (
    g: number,
    frames: { func: string; file: string; pc: string }[],
    noises: { args: string; off: string; fp: number; sp: number }[],
  ) =>
    `goroutine ${g} [running]:\n` +
    frames.map((f, i) =>
      `${f.func}(${noises[i].args})\n\t${f.file} +${noises[i].off} fp=0x${
        noises[i].fp.toString(16)
      } sp=0x${noises[i].sp.toString(16)} pc=${f.pc}\n`
    ).join("");
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 6 }),
      fc.array(noise, { minLength: 6, maxLength: 6 }),
      fc.array(noise, { minLength: 6, maxLength: 6 }),
      fc.nat({ max: 15 }),
      fc.nat(),
      (frames, n1, n2, pad, which) => {
        const a = shapeOf(render(1, frames, n1), pad);
        assertEquals(
          shapeOf(render(1, frames, n2), 0),
          a,
          "only noise differs",
        );
        assertTrue(shapeOf(render(2, frames, n1), 0) !== a, "goroutine");
        // Change one frame's name, file:line or pc.
        const i = which % frames.length;
        const changed: { func: string; file: string; pc: string }[] = frames
          .map((f) => ({ ...f }));
        const field = (["func", "file", "pc"] as const)[which % 3];
        changed[i][field] += "9";
        assertTrue(shapeOf(render(1, changed, n1), 0) !== a, field);
      },
    ),
    { numRuns: 1000 },
  );
  // An inlined frame's `(...)` is part of the shape.
  const t = "goroutine 1 [running]:\nmain.f(0x1)\n\tmain.go:3\n";
  // So are empty arguments (`x.tracegc()` reads as a record header).
  assertTrue(shapeOf(t, 0) !== shapeOf(t.replace("(0x1)", "()"), 0), "()");
  assertTrue(
    shapeOf(t, 0) !== shapeOf(t.replace("(0x1)", "(...)"), 0),
    "inlined",
  );
});

Deno.test("byte parser: tracebacks that differ only in arguments and frame pointers are parsed once (binary-trees: tree paths)", async () => {
  const gz = await Deno.readFile(new URL("binarytrees-d6.trace.gz", GO119));
  const bytes = new Uint8Array(
    await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const bp = bothParsers(bytes, 1 << 20);
  const records = bp.stats.allocs + bp.stats.frees;
  // Half the tracebacks are distinct byte for byte, but few are in shape.
  assertTrue(
    bp.cachedRecords > records * 0.8,
    `${bp.cachedRecords} of ${records} records from the caches`,
  );
  // Nearly all of those the scanner reads on its own, from its record table.
  assertTrue(
    bp.tableRecords > bp.cachedRecords * 0.9,
    `${bp.tableRecords} of ${bp.cachedRecords} from the scanner's table`,
  );
});

Deno.test("byte parser: a trace whose first 10,000 tracebacks all differ still takes its later repeats from the caches (a deep binary-trees run starts with its stretch tree)", () => {
  const rec = (f: string, a: number) =>
    `tracealloc(0x${(0xc000010000 + 16 * a).toString(16)}, 0x10, main.Node)\n` +
    `goroutine 1 [running]:\nruntime.mallocgc(0x10, 0x4b1e20, 0x1)\n` +
    `\truntime/malloc.go:1131 +0x7b1 fp=0xc00009fe40 sp=0xc00009fdc8 pc=0x40eff1\n` +
    `main.${f}(0x${
      a.toString(16)
    })\n\tmain.go:37 +0x25 fp=0xc00009fe60 sp=0xc00009fe40 pc=0x4573e5\n\n`;
  let text = "";
  // 12,000 different tracebacks (then nothing seen before repeats) ...
  for (let i = 0; i < 12_000; i++) text += rec(`f${i}`, i);
  // ... then 20,000 records of four.
  for (let i = 0; i < 20_000; i++) text += rec(`g${i & 3}`, 12_000 + i);
  const bp = bothParsers(new TextEncoder().encode(text), 64 << 10);
  // The cache gave up on the first part; it must come back for the second.
  assertTrue(
    bp.cachedRecords > 15_000,
    `${bp.cachedRecords} of the 20,000 repeated records from the caches`,
  );
});

Deno.test("block scanner: a header it reads gives the string parser's kind, address, size and type; the byte parser agrees on damaged ones", () => {
  const sc = new BlockScanner();
  const enc = new TextEncoder();
  const digits = (min: number, max: number) =>
    fc.array(fc.constantFrom(..."0123456789abcdefABCDEF"), {
      minLength: min,
      maxLength: max,
    }).map((a) => a.join(""));
  // Mostly what a double holds (1–13 digits), sometimes none or more.
  const hex = fc.oneof(
    { arbitrary: digits(1, 13), weight: 4 },
    { arbitrary: digits(0, 16), weight: 1 },
  );
  // Mostly well formed, with one piece of damage now and then.
  const often = <T>(usual: T, ...others: T[]) =>
    fc.constantFrom(usual, usual, usual, usual, usual, usual, ...others);
  const piece = often("", "g", ",", ", ", ")", " ", "(", "x", "0x");
  const headerLine = fc.record({
    prefix: fc.constantFrom(
      "tracealloc(",
      "tracealloc(",
      "tracefree(",
      "tracealloc",
      "tracefre(",
    ),
    ox1: often("0x", "0X", "x"),
    addr: hex,
    sep: often(", ", ",", ", 0x", " "),
    ox2: often("0x", ""),
    size: hex,
    type: fc.option(
      fc.constantFrom("main.T", "*runtime.p", "[]uint8", "", ")"),
      {
        nil: null,
      },
    ),
    close: often(")", ")\r", "", ") "),
    junk: fc.tuple(fc.nat({ max: 60 }), piece),
  }).map((h) => {
    let s = `${h.prefix}${h.ox1}${h.addr}${h.sep}${h.ox2}${h.size}${
      h.type === null ? "" : `, ${h.type}`
    }${h.close}`;
    const at = h.junk[0] % (s.length + 1);
    s = s.slice(0, at) + h.junk[1] + s.slice(at);
    return s;
  });
  let read = 0;
  fc.assert(
    fc.property(headerLine, fc.nat({ max: 17 }), (h, pad) => {
      const text =
        `${h}\ngoroutine 1 [running]:\nruntime.mallocgc(0x10, 0x0, 0x0)\n\truntime/malloc.go:1 +0x1 pc=0x2\n\n`;
      const b = enc.encode(text);
      sc.reserve(new Uint8Array(0), pad + b.length + 32).set(b, pad);
      assertTrue(sc.scan(pad, pad + b.length) >= 0);
      const want: TraceEvent[] = [];
      const sp = new TraceParser((e) => want.push(e));
      sp.feed(text);
      sp.end();
      if (sc.kind !== 0) {
        read++;
        assertEquals(want.length, 1, h);
        const e = want[0];
        assertTrue(e.kind !== "gc");
        assertEquals(e.kind, sc.kind === 1 ? "alloc" : "free");
        assertEquals(e.addr, sc.addr);
        assertEquals(e.size, sc.size);
        const type = sc.typeAt < 0 ? null : new TextDecoder().decode(
          b.subarray(
            sc.typeAt - pad,
            b.indexOf(10) - (h.endsWith("\r") ? 2 : 1),
          ),
        );
        assertEquals(e.kind === "alloc" ? e.type : null, type);
        // mallocgc's size, where the first function line's arguments start.
        assertEquals(sc.argsAt - pad, text.indexOf("mallocgc(") + 9);
        assertEquals(sc.arg, 16);
      }
      // The byte parser (which takes the scanner's header when it has one)
      // gives the string parser's events, twice over (parsed, then cached).
      const got: TraceEvent[] = [];
      const bp = new ByteTraceParser((e) => got.push(e));
      bp.feed(enc.encode(text + text));
      bp.end();
      const want2: TraceEvent[] = [];
      const sp2 = new TraceParser((e) => want2.push(e));
      sp2.feed(text + text);
      sp2.end();
      assertEquals(
        got.map((e) => ({ ...e, stack: 0 })),
        want2.map((e) => ({ ...e, stack: 0 })),
      );
    }),
    { numRuns: 3000 },
  );
  assertTrue(read > 150, `${read} headers read by the scanner`);
});

Deno.test("byte parser: records whose frames are known by their lines' hashes give the string parser's events, damaged lines and look-alikes included", () => {
  const funcs = [
    "runtime.mallocgc",
    "main.f",
    "main.(*T).m",
    "x.tracegc",
    "main.tracealloc",
    "created",
    // Names of one length that differ in one byte, in each of their 8-byte
    // words and its last partial one (review2 #7: the six above never
    // compare two such), and two built to collide under f278d25's public
    // chain (review2 #2; this fuzz did not catch that one in 1,500 runs:
    // hash_collision_test repeats the records it needs).
    "main.sameLenAAAAAAAAAAA",
    "main.sameLenAAAAAAAAAAB",
    "main.sameLenAAAABAAAAAA",
    "main.sameLenBAAAAAAAAAA",
    "nain.sameLenAAAAAAAAAAA",
    "main.collideAAAAZZZZZZZZ",
    "main.collideeBBBP|R0ZZZZ",
  ];
  const files = [
    "main.go:3",
    "a/b.go:77",
    "runtime/malloc.go:1131",
    "a/b.go:78",
    "a/c.go:77",
  ];
  const frame = fc.record({
    func: fc.constantFrom(...funcs),
    file: fc.constantFrom(...files),
    pc: fc.constantFrom("0x40c5b1", "0x4a230a", "", "0x"),
    args: fc.constantFrom("", "0x10", "0x3?, 0x1", "...", "{0x0?}"),
    // Now and then the line parser sees something else at this place.
    damage: fc.constantFrom(
      ...new Array<string | null>(12).fill(null),
      "cr",
      "foreign",
      "nofile",
      "createdby",
      "elided",
      "space",
      "tab",
    ),
  });
  const record = fc.record({
    kind: fc.constantFrom(
      "tracealloc(0xc000010000, 0x10, main.T)",
      "tracefree(0xc000010000, 0x10)",
    ),
    g: fc.constantFrom(
      "goroutine 1 [running]:",
      "goroutine 7 [running]:",
      "goroutin 1",
    ),
    frames: fc.array(frame, { minLength: 0, maxLength: 5 }),
  });
  const render = (r: {
    kind: string;
    g: string;
    frames: {
      func: string;
      file: string;
      pc: string;
      args: string;
      damage: string | null;
    }[];
  }) => {
    const lines = [r.kind, r.g];
    for (const f of r.frames) {
      let fn = `${f.func}(${f.args})`;
      let fl = `\t${f.file} +0x1d fp=0xc000 sp=0xc001${
        f.pc === "" ? "" : ` pc=${f.pc}`
      }`;
      if (f.damage === "cr") fn += "\r";
      if (f.damage === "space") fn = `main.a b(${f.args})`;
      if (f.damage === "tab") fn = `\t${fn}`;
      // Creators vary, so one goroutine has several (no real trace does:
      // Go never reuses a goroutine id); the last printed counts, also
      // when the byte parser takes a record from its cache (fast-check
      // seed 2089002602 found it did not).
      if (f.damage === "createdby") fn = `created by ${f.func}`;
      if (f.damage === "elided") fn = "...additional frames elided...";
      lines.push(fn);
      if (f.damage === "foreign") lines.push("hello from the program");
      if (f.damage !== "nofile") lines.push(fl);
      if (f.damage === "cr") fl += "\r";
    }
    return lines.join("\n") + "\n\n";
  };
  fc.assert(
    fc.property(
      fc.array(record, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 7, max: 4000 }),
      (records, chunk) => {
        const text = records.map(render).join("");
        assertParsersAgree(text, new TextEncoder().encode(text), chunk);
      },
    ),
    { numRuns: 1500 },
  );
});

Deno.test("byte parser: `x.tracegc()` after `x.tracegc(0x1)` of the same shape is the header the string parser reads there, not a cached frame", () => {
  const rec = (args: string) =>
    `tracealloc(0xc000010000, 0x10, main.T)\ngoroutine 1 [running]:\nmain.f(0x1)\n\tmain.go:3 +0x1d pc=0x1\nx.tracegc(${args})\n\tmain.go:4 +0x1d pc=0x2\n\n`;
  // (Once the byte parser took the second record from its record cache.)
  for (const chunk of [1 << 20, 97]) {
    bothParsers(new TextEncoder().encode(rec("0x1") + rec("")), chunk);
    bothParsers(
      new TextEncoder().encode(rec("0x1") + rec("0x2") + rec("")),
      chunk,
    );
  }
});

Deno.test("byte parser: a record from the record cache or the scanner's record table notes its goroutine's creator again, as the string parser does (a later creator replaces an earlier one)", () => {
  const rec = (creator: string, file: string) =>
    `tracealloc(0xc000010000, 0x10, main.T)\ngoroutine 7 [running]:\nmain.f(0x1)\n\tmain.go:3 +0x1d pc=0x1\ncreated by ${creator}\n\t${file} +0x1\n\n`;
  const a = rec("main.X", "main.go:9");
  const b = rec("main.Y in goroutine 3", "main.go:11");
  const gc =
    "tracegc()\n\ngoroutine 7 [runnable]:\nmain.f(0x1)\n\tmain.go:3 +0x1d\ncreated by main.Z\n\tmain.go:12 +0x1\n\nend tracegc\n";
  // a twice more after the first: from the record cache, then from the
  // scanner's table; then another creator (b's, or the tracegc block's),
  // then a again, from either.
  for (const text of [a + a + a + b + a + a, a + a + a + gc + a + a]) {
    for (const chunk of [1 << 20, 331, 97]) {
      const sp = new TraceParser(() => {});
      sp.feed(text);
      sp.end();
      const bp = new ByteTraceParser(() => {});
      const bytes = new TextEncoder().encode(text);
      for (let i = 0; i < bytes.length; i += chunk) {
        bp.feed(bytes.subarray(i, i + chunk));
      }
      bp.end();
      assertEquals(sp.stats.goroutines.get(7)?.createdBy, "main.X");
      assertEquals(bp.stats, sp.stats);
      if (chunk === 1 << 20) {
        assertTrue(bp.tableRecords > 0, `${bp.tableRecords} from the table`);
      }
    }
  }
  // The table serves records again after a change (it is emptied, not
  // left): a's second and third, and of its four after b the last two (the
  // first two come from the record cache, the first noting X again).
  const bp = new ByteTraceParser(() => {});
  bp.feed(new TextEncoder().encode(a + a + a + b + a + a + a + a));
  bp.end();
  assertEquals(bp.stats.goroutines.get(7)?.createdBy, "main.X");
  assertEquals(bp.tableRecords, 4);
});
