// The reader's rows of the bad-input suite (issue 13: inputs that are
// valid, or merely large, and damage the reader resynchronises after).
// Each case asserts the exit code, at most one line on stderr (the one
// expected), that no record is lost (counts and per-site figures compared
// with the clean file's), and that every file already in the directory is
// byte-identical afterwards.
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { ROOT, run, withTempDir } from "../_run.ts";
import { GO119 } from "../_testdata.ts";

const CLEAN = await Deno.readTextFile(new URL("leak-n300.trace", GO119));
const PERMS = ["--allow-env", "--allow-read", "--allow-write"];

/** What `analyze --json` says of the clean trace. */
interface Figures {
  allocs: number;
  frees: number;
  gcs: number;
  sites: { site: string; allocs: number; allocBytes: number; live: number }[];
}

/** The figures a case compares with the clean file's. */
const figures = (doc: Figures) => ({
  records: [doc.allocs, doc.frees, doc.gcs],
  sites: doc.sites.map((s) => `${s.site} ${s.allocs} ${s.allocBytes} ${s.live}`)
    .sort(),
});

/** `text` with `line` put after every `every`-th goroutine line of a record (inside the record). */
function insideRecords(text: string, line: string, every: number): string {
  let k = 0;
  return text.split("\n").flatMap((l, i, all) =>
    l.startsWith("goroutine ") && all[i - 1]?.startsWith("trace") &&
      k++ % every === 0
      ? [l, line]
      : [l]
  ).join("\n");
}

/** A record of `size` bytes (hex digits) at `addr`. */
const record = (addr: string, size: string) =>
  `tracealloc(0x${addr}, 0x${size}, main.T)\ngoroutine 1 [running]:\nruntime.mallocgc(0x10, 0x0, 0x0)\n\truntime/malloc.go:1131 +0x7b1 fp=0x1 sp=0x2 pc=0x40c531\nmain.main()\n\tmain.go:3 +0x1d\n\n`;

const GARBAGE_LINE = "@@ \u0001garbage\u00ff @@";
const GARBAGE = insideRecords(CLEAN, GARBAGE_LINE, 7);
const LOG_LINE = "2026/11/30 05:26:25 WARNING: slow request (1.2s)";
const LOGGED = insideRecords(CLEAN, LOG_LINE, 50);

/** The trace with a 200 MB line (no newline inside) after its first record's goroutine line. */
async function writeLongLine(path: string): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true });
  try {
    const lines = CLEAN.split("\n");
    await f.write(
      new TextEncoder().encode(lines.slice(0, 2).join("\n") + "\n"),
    );
    const x = new Uint8Array(1 << 20).fill(0x78);
    for (let i = 0; i < 200; i++) await f.write(x);
    await f.write(new TextEncoder().encode("\n" + lines.slice(2).join("\n")));
  } finally {
    f.close();
  }
}

interface Case {
  name: string;
  /** Files to write in the directory first (name → content, or a function that writes the path). */
  files: Record<string, string | ((path: string) => Promise<void>)>;
  /** The command after `main.ts`, `$D` standing for the directory. */
  args: string[];
  /** A shell redirection of stdin, if any (`< /dev/zero`). */
  stdin?: string;
  code: number;
  /** The one stderr line expected (a part of it), or "" for none. */
  stderr: string;
  /** For analyze --json: the figures must be the clean trace's times this (0: not checked). */
  times?: number;
  /** A part of stdout. */
  stdout?: string;
  /** Peak RSS bound in MiB (measured with /usr/bin/time when it is there). */
  maxRssMiB?: number;
}

const CASES: Case[] = [
  {
    name: "analyze: CRLF line endings",
    files: { "t.trace": CLEAN.replaceAll("\n", "\r\n") },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr: "",
    times: 1,
  },
  {
    name: "replay: CRLF line endings",
    files: { "t.trace": CLEAN.replaceAll("\n", "\r\n") },
    args: ["replay", "$D/t.trace", "--memprofilerate", "1"],
    code: 0,
    stderr: "",
    stdout:
      "1,018 allocations, 316 frees (3 of objects allocated before tracing)",
  },
  {
    name: "diff: a CRLF trace against the LF one",
    files: { "a.trace": CLEAN.replaceAll("\n", "\r\n"), "b.trace": CLEAN },
    args: ["diff", "$D/a.trace", "$D/b.trace"],
    code: 0,
    stderr: "",
    stdout: "alloc_space 297,840 (0)",
  },
  {
    name: "analyze /dev/zero: no newline ever",
    files: {},
    args: ["analyze", "/dev/zero"],
    code: 1,
    stderr:
      "/dev/zero: not an allocfreetrace log: line 1 is longer than 1 MiB and no record came before it",
    maxRssMiB: 256,
  },
  {
    name: "analyze - < /dev/zero: endless stdin without newline",
    files: {},
    args: ["analyze", "-"],
    stdin: "< /dev/zero",
    code: 1,
    stderr:
      "stdin: not an allocfreetrace log: line 1 is longer than 1 MiB and no record came before it",
    maxRssMiB: 256,
  },
  {
    name: "analyze: a 200 MB line inside a record",
    files: { "t.trace": writeLongLine },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr:
      "1 line(s) longer than 1 MiB were skipped (no trace line is that long), first at line(s) 3",
    times: 1,
    maxRssMiB: 256,
  },
  {
    name: "analyze: `end tracegc` missing",
    files: { "t.trace": CLEAN.replace("\nend tracegc\n", "\n") },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr: "",
    times: 1,
  },
  {
    name: "analyze: `end tracegc` damaged",
    files: {
      "t.trace": CLEAN.replace("\nend tracegc\n", "\nend tr\u0000gc\n"),
    },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr: "",
    times: 1,
  },
  {
    name: "analyze: garbage lines inside records",
    files: { "t.trace": GARBAGE },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr: `${
      GARBAGE.split("\n").filter((l) => l === GARBAGE_LINE).length
    } line(s) inside records are not part of them (the program's own output?); the frames after them were kept`,
    times: 1,
  },
  {
    name: "analyze: the program's log lines interleaved inside records",
    files: { "t.trace": LOGGED },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr: `${
      LOGGED.split("\n").filter((l) => l === LOG_LINE).length
    } line(s) inside records are not part of them`,
    times: 1,
  },
  {
    name: "analyze: two traces concatenated (allocations at live addresses)",
    files: { "t.trace": CLEAN + CLEAN },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr:
      "allocation(s) at an address still live (a free not traced, or two traces concatenated?)",
    times: 2,
  },
  {
    name: "analyze: a size of 7.5e22 bytes",
    files: {
      "t.trace": record("c000010000", "fe1c3a5b2e5d0000000") + CLEAN,
    },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr:
      "1 record(s) with a size or address past 2^53 were rejected (no heap is that large: a damaged trace?), first at line(s) 1",
    times: 1,
  },
  {
    name: "analyze: an address past 2^64",
    files: { "t.trace": CLEAN + record("1" + "0".repeat(17), "10") },
    args: ["analyze", "$D/t.trace", "--json"],
    code: 0,
    stderr: "1 record(s) with a size or address past 2^53 were rejected",
    times: 1,
  },
  {
    name: "replay: a size the runtime refuses names its line",
    files: { "t.trace": CLEAN + record("c000010000", "4000000000000") },
    args: ["replay", "$D/t.trace"],
    code: 1,
    stderr:
      "line 21053: mallocgc: size must be an integer from 0 to 2^48 bytes, got 1125899906842624",
  },
];

const hasTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);

const clean = await withTempDir(async (dir) => {
  await Deno.writeTextFile(`${dir}/t.trace`, CLEAN);
  const r = await run(Deno.execPath(), [
    "run",
    ...PERMS,
    "main.ts",
    "analyze",
    `${dir}/t.trace`,
    "--json",
  ]);
  return figures(JSON.parse(r.stdout));
});

for (const c of CASES) {
  Deno.test(`reader input: ${c.name}`, async () => {
    await withTempDir(async (dir) => {
      for (const [name, content] of Object.entries(c.files)) {
        if (typeof content === "string") {
          await Deno.writeTextFile(`${dir}/${name}`, content);
        } else await content(`${dir}/${name}`);
      }
      const before = await snapshot(dir);
      const args = c.args.map((a) => a.replaceAll("$D", dir));
      const cmd = [Deno.execPath(), "run", ...PERMS, "main.ts", ...args]
        .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
      const rss = `${dir}/.rss`;
      const timed = hasTime && c.maxRssMiB !== undefined
        ? `/usr/bin/time -o '${rss}' -f %M ${cmd}`
        : cmd;
      const r = await run("sh", ["-c", `${timed} ${c.stdin ?? ""}`], {
        cwd: ROOT,
      });
      assertEquals(r.code, c.code, r.stderr);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      if (c.stderr === "") assertEquals(lines, []);
      else {
        assertEquals(lines.length, 1, r.stderr);
        assertIncludes(lines[0], c.stderr);
      }
      assertTrue(!r.stderr.includes("    at "), "stack trace leaked");
      if (c.stdout !== undefined) assertIncludes(r.stdout, c.stdout);
      if (c.times !== undefined) {
        const got = figures(JSON.parse(r.stdout));
        assertEquals(got.records, clean.records.map((n) => n * c.times!));
        if (c.times === 1) assertEquals(got.sites, clean.sites);
      }
      if (hasTime && c.maxRssMiB !== undefined) {
        // (GNU time puts "Command exited with non-zero status N" first.)
        const kib = Number(
          (await Deno.readTextFile(rss)).trim().split("\n").at(-1),
        );
        assertTrue(kib < c.maxRssMiB * 1024, `peak RSS ${kib} KiB`);
        await Deno.remove(rss);
      } else if (c.maxRssMiB !== undefined) {
        console.log(`(peak RSS not measured: /usr/bin/time is missing)`);
      }
      assertEquals(await snapshot(dir), before, "a file changed");
    });
  });
}

/** Each file of `dir` with a digest of its bytes. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || e.name === ".rss") continue;
    const bytes = await Deno.readFile(`${dir}/${e.name}`);
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    out[e.name] = Array.from(d, (b) => b.toString(16).padStart(2, "0")).join(
      "",
    );
  }
  return out;
}
