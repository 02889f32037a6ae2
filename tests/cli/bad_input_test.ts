/**
 * The bad-input suite's inputs: every valid form read with no record lost
 * (multi-member gzip, bgzip, CRLF, huge lines), compressions it does not
 * read named, damaged traces warned about once, the reader's
 * resynchronisation. The assertions each row gets are in `_bad_input.ts`.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT } from "../_run.ts";
import { concat, gunzipFile, gzipBytes } from "../_bytes.ts";
import {
  badInputSuite,
  bgzf,
  BT,
  BT_COUNTS,
  copy,
  dec,
  enc,
  hasTool,
  insideRecords,
  LEAK,
  LEAK_COUNTS,
  leakLines,
  record,
  type Row,
  rssBelow,
  sameSites,
  SHARED,
} from "./_bad_input.ts";

/** The binarytrees trace's lines, decompressed once by the row that needs them. */
let btLines: string[] | undefined;

const ROWS: Row[] = [
  // --- inputs: every valid one, no record lost -----------------------------
  {
    name: "multi-member gzip (cat a.gz b.gz): every member is read",
    setup: async ({ dir }) => {
      const a = await gzipBytes(Deno.readFileSync(LEAK));
      Deno.writeFileSync(`${dir}/ab.gz`, concat(a, Deno.readFileSync(BT)));
    },
    args: ["analyze", "ab.gz", "--json"],
    code: 0,
    // Two traces one after the other: the second's objects reuse live addresses.
    stderr:
      /allocation\(s\) at an address still live \(a free not traced, or two traces concatenated\?\)/,
    counts: {
      allocs: LEAK_COUNTS.allocs + BT_COUNTS.allocs,
      frees: LEAK_COUNTS.frees + BT_COUNTS.frees,
      gcs: 2,
    },
  },
  {
    name: "multi-member gzip on stdin",
    setup: async ({ dir }) => {
      const a = await gzipBytes(Deno.readFileSync(LEAK));
      Deno.writeFileSync(`${dir}/ab.gz`, concat(Deno.readFileSync(BT), a));
    },
    args: ["analyze", "-", "--json"],
    stdinFile: "ab.gz",
    code: 0,
    // Two traces one after the other: the second's objects reuse live addresses.
    stderr:
      /allocation\(s\) at an address still live \(a free not traced, or two traces concatenated\?\)/,
    counts: {
      allocs: LEAK_COUNTS.allocs + BT_COUNTS.allocs,
      frees: LEAK_COUNTS.frees + BT_COUNTS.frees,
      gcs: 2,
    },
  },
  {
    name: "bgzip (BGZF blocks with an extra field, an empty last member)",
    setup: async ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/t.bgz`,
        await bgzf(await gunzipFile(BT)),
      ),
    args: ["analyze", "t.bgz", "--json"],
    code: 0,
    stderr: "",
    counts: BT_COUNTS,
  },
  {
    name: "gzip followed by trailing bytes: one warning, nothing lost",
    setup: async ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/g.gz`,
        concat(
          await gzipBytes(Deno.readFileSync(LEAK)),
          enc.encode("trailing garbage\n"),
        ),
      ),
    args: ["analyze", "g.gz", "--json"],
    code: 0,
    stderr:
      /^alloctrace: warning: g\.gz: 17 byte\(s\) after gzip member 1 .* not gzip data/,
    counts: LEAK_COUNTS,
  },
  {
    name: "gzip followed by zero padding: read as gzip does, silently",
    setup: async ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/z.gz`,
        concat(
          await gzipBytes(Deno.readFileSync(LEAK)),
          new Uint8Array(4096),
        ),
      ),
    args: ["analyze", "z.gz", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
  },
  {
    name: "diff: multi-member gzip is read, not 'failed to write whole buffer'",
    setup: async ({ dir }) => {
      const a = await gzipBytes(Deno.readFileSync(LEAK));
      Deno.writeFileSync(`${dir}/ab.gz`, concat(a, Deno.readFileSync(BT)));
    },
    args: ["diff", LEAK, "ab.gz", "--json"],
    code: 0,
    // Two traces one after the other: the second's objects reuse live addresses.
    stderr:
      /allocation\(s\) at an address still live \(a free not traced, or two traces concatenated\?\)/,
    check: (_, { stdout }) => {
      const doc = JSON.parse(stdout);
      const b = doc.sites.reduce(
        (n: number, s: { b: number[] }) => n + s.b[0],
        0,
      );
      assertEquals(b, LEAK_COUNTS.allocs + BT_COUNTS.allocs);
    },
  },
  {
    name: "a cut gzip stream: one warning, everything before the cut",
    setup: ({ dir }) => {
      const b = Deno.readFileSync(BT);
      Deno.writeFileSync(`${dir}/cut.gz`, b.subarray(0, b.length - 2000));
    },
    args: ["analyze", "cut.gz", "--json"],
    code: 0,
    stderr: /^alloctrace: warning: cut\.gz: the gzip stream is cut or corrupt/,
    check: (_, { stdout }) => assertTrue(JSON.parse(stdout).allocs > 4000),
  },
  {
    // Found trying it as a new user: only the trailer's length was checked,
    // so damage that still inflated (or a flipped CRC) passed in silence.
    name:
      "a gzip member whose CRC-32 does not match its data: one warning, nothing lost",
    setup: async ({ dir }) => {
      const gz = await gzipBytes(Deno.readFileSync(LEAK));
      gz[gz.length - 8] ^= 0xff; // the trailer's CRC-32, first byte
      Deno.writeFileSync(`${dir}/crc.gz`, gz);
    },
    args: ["analyze", "crc.gz", "--json"],
    code: 0,
    stderr:
      /^alloctrace: warning: crc\.gz: the gzip stream is cut or corrupt after [\d,]+ bytes of trace \(crc\.gz: gzip member 1 is corrupt: its trailer's CRC-32 is [0-9a-f]{8}, its data's [0-9a-f]{8} \(at byte \d{1,3}(,\d{3})+\)\); everything before the cut was analysed$/,
    counts: LEAK_COUNTS,
  },
  {
    // Found trying it as a new user: the gzip warning and the cut record's
    // came as two lines for one damage.
    name: "a gzip stream cut inside a record: one warning names both",
    setup: async ({ dir }) => {
      Deno.writeFileSync(
        `${dir}/cut.gz`,
        Deno.readFileSync(BT).subarray(0, 5000),
      );
      btLines ??= dec.decode(await gunzipFile(BT)).split("\n");
    },
    args: ["analyze", "cut.gz", "--json"],
    code: 0,
    stderr:
      /^alloctrace: warning: cut\.gz: the gzip stream is cut or corrupt after [\d,]+ bytes of trace .*; its last record \(line \d+: tracealloc\(.*\)\) is cut off; everything before it was analysed$/,
    // No record lost: every tracealloc before the cut record's line.
    check: (_, { stdout, stderr }) => {
      const cutAt = Number(/its last record \(line (\d+)/.exec(stderr)![1]);
      const whole = btLines!.slice(0, cutAt - 1)
        .filter((l) => l.startsWith("tracealloc(")).length;
      assertTrue(whole > 50);
      assertEquals(JSON.parse(stdout).allocs, whole);
    },
  },
  ...([
    ["analyze", `$AT analyze "${LEAK}" > /dev/full`],
    ["run", `$AT run leak --n 20 > /dev/full`],
    ["analyze --json", `$AT analyze "${LEAK}" --json > /dev/full`],
  ] as const).map(([what, shell]): Row => ({
    // Found trying it as a new user: the line said only "No space left on
    // device (os error 28)", naming no file.
    name: `${what} with stdout on /dev/full: the line says it is stdout`,
    shell,
    code: 1,
    stderr:
      /^alloctrace: cannot write stdout: No space left on device \(os error 28\)$/,
  })),
  // --- compressions it does not read: say which, and how to read it --------
  ...([
    ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz -dc"],
    ["bzip2", [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59], "bzip2 -dc"],
    ["zstd", [0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00], "zstd -dc"],
  ] as const).map(([kind, magic, tool]): Row => ({
    name: `a ${kind}-compressed trace: one line saying so and how to read it`,
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/t.${kind}`,
        concat(new Uint8Array(magic), enc.encode("\x01\x02 packed bytes\n")),
      ),
    args: ["analyze", `t.${kind}`],
    code: 1,
    stderr: new RegExp(
      `^alloctrace: t\\.${kind}: not an allocfreetrace log: it is ${kind}-compressed \\(decompress it first: ${tool} t\\.${kind}\\)$`,
    ),
  })),
  {
    name: "a gzipped gzip: one line saying so",
    setup: async ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/gg.gz`,
        await gzipBytes(await gzipBytes(Deno.readFileSync(LEAK))),
      ),
    args: ["replay", "gg.gz"],
    code: 1,
    stderr:
      /^alloctrace: gg\.gz: not an allocfreetrace log: it is gzip-compressed inside gzip \(decompress it first: gzip -dc gg\.gz\)$/,
  },
  {
    name: "a truncated trace: one warning, everything before the cut",
    args: ["analyze", `${SHARED}bad-leak-n300-truncated.trace`, "--json"],
    code: 0,
    stderr: /the last record \(line 7664: .*\) is cut off/,
    check: (_, { stdout }) => assertEquals(JSON.parse(stdout).allocs, 465),
  },
  {
    name: "garbage lines between records: one warning, no record lost",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/g.trace`,
        leakLines((ls) =>
          ls.flatMap((l, i) =>
            i % 500 === 0 && l.startsWith("tracealloc(")
              ? ["some program output", "", l]
              : [l]
          )
        ),
      ),
    args: ["analyze", "g.trace", "--json"],
    code: 0,
    stderr: /line\(s\) belong to no record/,
    counts: LEAK_COUNTS,
  },
  {
    name: "CRLF line endings are read",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/crlf.trace`,
        leakLines((ls) => ls.map((l) => l + "\r")),
      ),
    args: ["analyze", "crlf.trace", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
  },
  {
    name: "a 4 MiB line: skipped with one warning, bounded memory",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/huge.trace`,
        leakLines((ls) => ["x".repeat(4 << 20), ...ls]),
      ),
    args: ["analyze", "huge.trace", "--json"],
    code: 0,
    stderr: /longer than/,
    counts: LEAK_COUNTS,
  },
  {
    name: "a missing `end tracegc`: the next record header ends the block",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/gc.trace`,
        leakLines((ls) => ls.filter((l) => l !== "end tracegc")),
      ),
    args: ["analyze", "gc.trace", "--json"],
    code: 0,
    stderr:
      /1 tracegc block\(s\) lack their `end tracegc` \(a record header ended them\), first at line\(s\) 15909$/,
    counts: LEAK_COUNTS,
    check: (_, { stdout }) => sameSites(stdout),
  },
  // --- the reader's resynchronisation (issue 13) -----------------------------
  {
    name: "a damaged `end tracegc`: the next record header ends the block",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/gc.trace`,
        leakLines((ls) =>
          ls.map((l) => (l === "end tracegc" ? "end tr\u0000gc" : l))
        ),
      ),
    args: ["analyze", "gc.trace", "--json"],
    code: 0,
    stderr: /1 tracegc block\(s\) lack their `end tracegc`/,
    counts: LEAK_COUNTS,
    check: (_, { stdout }) => sameSites(stdout),
  },
  {
    name: "replay: CRLF line endings",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/crlf.trace`,
        leakLines((ls) => ls.map((l) => l + "\r")),
      ),
    args: ["replay", "crlf.trace", "--json"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).replayed, {
        allocs: 1018,
        frees: 316,
        unmatchedFrees: 3,
      }),
  },
  {
    name: "diff: a CRLF trace against the LF one: no difference",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/crlf.trace`,
        leakLines((ls) => ls.map((l) => l + "\r")),
      ),
    args: ["diff", "crlf.trace", LEAK, "--json"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) => {
      const doc = JSON.parse(stdout);
      assertTrue(doc.sites.length > 10);
      for (const site of doc.sites) assertEquals(site.a, site.b, site.site);
    },
  },
  {
    name:
      "a 200 MB line inside a record: skipped, bounded memory, no frame lost",
    needs: () => hasTool("/usr/bin/time"),
    setup: async ({ dir }) => {
      // The first record's header and goroutine line, 200 MB of 'x', the rest.
      const lines = dec.decode(Deno.readFileSync(LEAK)).split("\n");
      const f = await Deno.open(`${dir}/long.trace`, {
        write: true,
        create: true,
      });
      try {
        await f.write(enc.encode(lines.slice(0, 2).join("\n") + "\n"));
        const x = new Uint8Array(1 << 20).fill(0x78);
        for (let i = 0; i < 200; i++) await f.write(x);
        await f.write(enc.encode("\n" + lines.slice(2).join("\n")));
      } finally {
        f.close();
      }
    },
    shell: "/usr/bin/time -o rss -f %M $AT analyze long.trace --json",
    code: 0,
    stderr:
      /long\.trace: 1 line\(s\) longer than 1 MiB were skipped \(no trace line is that long\), first at line\(s\) 3$/,
    counts: LEAK_COUNTS,
    changes: ["rss"],
    check: ({ dir }, { stdout }) => {
      rssBelow(dir, 256);
      sameSites(stdout);
    },
  },
  {
    name:
      "garbage lines inside records: counted, attribution as the clean file's",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/g.trace`,
        leakLines((ls) => insideRecords(ls, "@@ \u0001garbage\u00ff @@", 7)),
      ),
    args: ["analyze", "g.trace", "--json"],
    code: 0,
    stderr:
      /191 line\(s\) inside records are not part of them \(the program's own output\?\); the frames after them were kept/,
    counts: LEAK_COUNTS,
    check: (_, { stdout }) => sameSites(stdout),
  },
  {
    name:
      "the program's log lines inside records: no record goes to another site",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/log.trace`,
        leakLines((ls) =>
          insideRecords(
            ls,
            "2026/11/30 05:26:25 WARNING: slow request (1.2s)",
            50,
          )
        ),
      ),
    args: ["analyze", "log.trace", "--json"],
    code: 0,
    stderr: /27 line\(s\) inside records are not part of them/,
    counts: LEAK_COUNTS,
    check: (_, { stdout }) => sameSites(stdout),
  },
  {
    name: "two traces concatenated: allocations at live addresses warn",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/twice.trace`,
        concat(Deno.readFileSync(LEAK), Deno.readFileSync(LEAK)),
      ),
    args: ["analyze", "twice.trace", "--json"],
    code: 0,
    stderr:
      /twice\.trace: 701 allocation\(s\) at an address still live \(a free not traced, or two traces concatenated\?\)/,
    counts: { allocs: 2036, frees: 638, gcs: 2 },
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).allocsAtLive, 701),
  },
  {
    // review1: a forking program's native --trace-out holds the parent's
    // and the child's records at overlapping addresses (the child's heap is
    // a copy); the seed format has no pid, so the warning must say so.
    name:
      "a native trace of a program that forks (seed format, no pid): the warning names the processes",
    setup: ({ dir }) => {
      const frame = "\t#0 0x401136 main tf.c:13\n";
      const m = (p: string) =>
        `MProf_Malloc(p=${p}, size=0x190, type=0x0 <single object>)\n${frame}`;
      const f = (p: string) => `MProf_Free(p=${p}, size=0x190)\n${frame}`;
      // Parent and child each allocate at 0x4052a0 and free it.
      Deno.writeTextFileSync(
        `${dir}/fork.trace`,
        m("0x4052a0") + m("0x4052a0") + f("0x4052a0") + f("0x4052a0"),
      );
    },
    args: ["analyze", "fork.trace", "--json"],
    code: 0,
    stderr:
      /^alloctrace: warning: fork\.trace: 1 allocation\(s\) at an address still live \(a free not traced, or two traces concatenated\?\); the earlier object was counted as gone; a seed-format trace carries no process id: native --trace-out of a program that forks holds every process's records, at overlapping addresses$/,
    check: (_, { stdout }) => assertEquals(JSON.parse(stdout).allocsAtLive, 1),
  },
  {
    name: "a size of 7.5e22 bytes: the record is rejected, not reported",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/big.trace`,
        concat(
          enc.encode(record("c000010000", "fe1c3a5b2e5d0000000")),
          Deno.readFileSync(LEAK),
        ),
      ),
    args: ["analyze", "big.trace", "--json"],
    code: 0,
    stderr:
      /big\.trace: 1 record\(s\) with a size or address past 2\^53 were rejected \(no heap is that large: a damaged trace\?\), first at line\(s\) 1$/,
    counts: LEAK_COUNTS,
    check: (_, { stdout }) => sameSites(stdout),
  },
  // Found as a new user: a frame's line past 2^53 showed as
  // "main.go:1e+23" (and went into the pprof as a wrapped 64-bit number),
  // a negative one went into the pprof as such: not a line, the frame has
  // none (0), and every record stays.
  ...["99999999999999999999999", "2147483648", "-41", "4.5"].map((
    bad,
  ): Row => ({
    name: `a frame's line ${bad}: the frame has no line, nothing is lost`,
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/l.trace`,
        leakLines((ls) =>
          ls.map((l) =>
            l.replace(
              "acceptance/programs/leak/main.go:41 ",
              `acceptance/programs/leak/main.go:${bad} `,
            )
          )
        ),
      ),
    args: ["analyze", "l.trace", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    check: (_, { stdout }) => {
      const site = JSON.parse(stdout).sites.find((
        s: { func: string },
      ) => s.func === "main.makePayload");
      assertEquals(
        [site.site, site.line, site.allocs],
        ["main.makePayload acceptance/programs/leak/main.go", 0, 300],
      );
    },
  })),
  {
    name: "an address past 2^64: the record is rejected",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/big.trace`,
        concat(
          Deno.readFileSync(LEAK),
          enc.encode(record("1" + "0".repeat(17), "10")),
        ),
      ),
    args: ["analyze", "big.trace", "--json"],
    code: 0,
    stderr: /1 record\(s\) with a size or address past 2\^53 were rejected/,
    counts: LEAK_COUNTS,
  },
  {
    name: "replay: a size the runtime refuses names its line",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/big.trace`,
        concat(
          Deno.readFileSync(LEAK),
          enc.encode(record("c000010000", "4000000000000")),
        ),
      ),
    args: ["replay", "big.trace"],
    code: 1,
    stderr:
      /line 21053: mallocgc: size must be an integer from 0 to 2\^48 bytes, got 1125899906842624$/,
  },
  {
    name: "a foreign line inside a record keeps the record's frames",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/f.trace`,
        leakLines((ls) =>
          ls.flatMap((l) =>
            l.startsWith("runtime.mallocgc(") ? [l, "program says hi"] : [l]
          )
        ),
      ),
    args: ["analyze", "f.trace", "--json"],
    code: 0,
    stderr: /program says hi|line\(s\)/,
    counts: LEAK_COUNTS,
  },
  {
    name: "a second tracealloc at a live address warns (a missed free)",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/dup.trace`,
        // A whole record again, right after itself: no free between.
        enc.encode(
          (() => {
            const text = dec.decode(Deno.readFileSync(LEAK));
            const at = text.indexOf("\ntracealloc(", 1000) + 1;
            const end = text.indexOf("\n\n", at) + 2;
            return text.slice(0, end) + text.slice(at, end) + text.slice(end);
          })(),
        ),
      ),
    args: ["analyze", "dup.trace", "--json"],
    code: 0,
    stderr: /live|already allocated/,
    counts: { ...LEAK_COUNTS, allocs: LEAK_COUNTS.allocs + 1 },
  },
  {
    name: "a size past 2^53 is rejected per record with a warning",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/big.trace`,
        enc.encode(
          dec.decode(Deno.readFileSync(LEAK)).replace(
            /tracealloc\((0x[0-9a-f]+), 0x[0-9a-f]+,/,
            "tracealloc($1, 0xfffffffffffffffff,",
          ),
        ),
      ),
    args: ["analyze", "big.trace", "--json"],
    code: 0,
    stderr: /2\^53|too large|out of range/,
    counts: { ...LEAK_COUNTS, allocs: LEAK_COUNTS.allocs - 1 },
  },
  // note8: diff of a legacy text heap profile said only "not an
  // allocfreetrace log". (Real Go's, as the shared data has it.)
  ...["analyze", "replay", "diff"].map((cmd): Row => ({
    name:
      `${cmd} of a legacy text heap profile (debug=1) says it is one and how to convert it`,
    args: [
      cmd,
      `${SHARED}heap/rate-1.txt`,
      ...(cmd === "diff" ? [`${SHARED}heap/rate-1.pb.gz`] : []),
    ],
    code: 1,
    // (The path is quoted in the command when the checkout's has a space.)
    stderr:
      /^alloctrace: .+rate-1\.txt: not an allocfreetrace log: it is a legacy text heap profile \(debug=1\): `go tool pprof -proto ('[^']*rate-1\.txt'|\S+rate-1\.txt) > heap\.pb\.gz` writes it as a pprof profile, which alloctrace diff compares$/,
  })),
  // Found running the suite from a path with a space: the commands these
  // lines suggest pasted the file's name into them as it is, and a shell
  // split it at the space. It is one word of the command now.
  {
    name:
      "a legacy heap profile named with a space and a quote: the suggested command quotes it",
    setup: ({ dir }) =>
      copy(`${SHARED}heap/rate-1.txt`, `${dir}/my heap's.txt`),
    args: ["analyze", "my heap's.txt"],
    code: 1,
    stderr: new RegExp(
      `^alloctrace: my heap's\\.txt: not an allocfreetrace log: .*: \`go tool pprof -proto 'my heap'\\\\''s\\.txt' > heap\\.pb\\.gz\` writes`,
    ),
  },
  {
    name:
      "an xz-compressed trace named with a space: the suggested command quotes it",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/my t.xz`,
        concat(
          new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
          enc.encode("x\n"),
        ),
      ),
    args: ["analyze", "my t.xz"],
    code: 1,
    stderr: /\(decompress it first: xz -dc 'my t\.xz'\)$/,
  },
  {
    name: "an ELF binary named with a space: the suggested command quotes it",
    setup: ({ dir }) => Deno.copyFileSync("/usr/bin/true", `${dir}/my prog`),
    args: ["analyze", "my prog"],
    code: 1,
    stderr: /alloctrace native -- '\.\/my prog'\)$/,
  },
  // newuser: `analyze ./prog` (as one runs heaptrack or valgrind on a
  // program) said only "no record in 10 line(s)": it names the executable
  // and the command that traces it.
  ...["analyze", "replay", "diff"].map((cmd): Row => ({
    name: `${cmd} of an ELF binary says it is one and how to trace a program`,
    setup: ({ dir }) => Deno.copyFileSync("/usr/bin/true", `${dir}/prog`),
    args: [cmd, "prog", ...(cmd === "diff" ? [LEAK] : [])],
    code: 1,
    stderr:
      /^alloctrace: prog: not an allocfreetrace log: it is an ELF binary \(to trace a program's malloc and free: alloctrace native -- \.\/prog\)$/,
  })),
  // note8: an execution trace concatenated with itself left its own last
  // generation out ("expected a batch … found byte 103": the second
  // header's "g"), as if cut.
  {
    name:
      "an execution trace concatenated with itself: the first read whole, one warning names the second",
    setup: async ({ dir }) => {
      const one = await gunzipFile(
        `${ROOT}tests/testdata/go1.23/leak.trace.gz`,
      );
      Deno.writeFileSync(`${dir}/ee.trace`, concat(one, one));
    },
    args: ["analyze", "ee.trace", "--json"],
    code: 0,
    stderr:
      /^alloctrace: warning: ee\.trace: a second execution trace begins at byte 1,427,924 \(traces concatenated\?\): only the first was analysed$/,
    check: (_, { stdout }) => {
      const d = JSON.parse(stdout);
      // (tests/testdata/go1.23/leak.trace.gz alone: 2 generations.)
      assertEquals([d.generations, d.allocs, d.frees, d.gcs], [
        2,
        9102,
        6078,
        7,
      ]);
    },
  },
  {
    name: "a bit-flipped pprof file says it is a damaged profile",
    setup: async ({ dir }) => {
      const raw = await gunzipFile(`${SHARED}heap/rate-1.pb.gz`);
      raw[raw.length >> 1] ^= 0xff;
      Deno.writeFileSync(`${dir}/bad.pb`, raw);
    },
    args: ["diff", "bad.pb", `${SHARED}heap/rate-1.pb.gz`],
    code: 1,
    stderr: /^alloctrace: bad\.pb: a pprof profile, but damaged: /,
  },
  {
    name: "a truncated pprof file says it is a damaged profile",
    setup: async ({ dir }) => {
      const raw = await gunzipFile(`${SHARED}heap/rate-1.pb.gz`);
      Deno.writeFileSync(`${dir}/cut.pb`, raw.subarray(0, raw.length - 1000));
    },
    args: ["diff", `${SHARED}heap/rate-1.pb.gz`, "cut.pb"],
    code: 1,
    stderr: /^alloctrace: cut\.pb: a pprof profile, but damaged: .*cut short/,
  },
  {
    name: "a truncated .pb.gz says it is a cut profile",
    setup: ({ dir }) => {
      const b = Deno.readFileSync(`${SHARED}heap/rate-1.pb.gz`);
      Deno.writeFileSync(`${dir}/cut.pb.gz`, b.subarray(0, b.length >> 1));
    },
    args: ["diff", `${SHARED}heap/rate-1.pb.gz`, "cut.pb.gz"],
    code: 1,
    stderr: /cut\.pb\.gz: a pprof profile, but damaged: .*cut off/,
  },
  {
    name: "analyze on a pprof profile says it is one",
    args: ["analyze", `${SHARED}heap/rate-1.pb.gz`],
    code: 1,
    stderr:
      /rate-1\.pb\.gz: not an allocfreetrace log: it looks like a pprof profile/,
  },
  {
    name: "replay on a plain profile.proto (stdin) says it is one",
    setup: async ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/p.pb`,
        await gunzipFile(`${SHARED}heap/rate-1.pb.gz`),
      ),
    args: ["replay", "-"],
    stdinFile: "p.pb",
    code: 1,
    stderr: /stdin: not an allocfreetrace log: it looks like a pprof profile/,
  },
  {
    name: "diff - - is a usage error",
    args: ["diff", "-", "-"],
    code: 2,
    stderr: /only one of A and B from stdin/,
  },
];

badInputSuite(ROWS);
