/**
 * The bad-input suite: what an adversarial user tries, one row each. Every
 * row runs the real command in a fresh directory and asserts
 *
 * - the exit code;
 * - stderr: exactly one line matching `stderr`, or nothing (`""`);
 * - no record lost: `--json` counts equal the clean input's;
 * - every file that was in the directory before is byte-identical after
 *   (contents, type, mode, link target), and no new file appears, except
 *   the outputs the row asked for (`changes`);
 * - any extra check of the row (`check`).
 *
 * Rows whose fix belongs to another piece of work carry `ignore` with the
 * reason. Others may add rows here (keep them table-shaped).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT } from "../_run.ts";
import { GO119 } from "../_testdata.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { StackTable } from "../../lib/trace/events.ts";

const SHARED = GO119.pathname;
const LEAK = `${SHARED}leak-n300.trace`;
const BT = `${SHARED}binarytrees-d6.trace.gz`;
/** Counts of the clean inputs (tests/cli/analyze_test.ts pins them too). */
const LEAK_COUNTS = { allocs: 1018, frees: 319, gcs: 1 };
const BT_COUNTS = { allocs: 4521, frees: 4283, gcs: 1 };

const enc = new TextEncoder();
const dec = new TextDecoder();
/** The binarytrees trace's lines, decompressed once by the row that needs them. */
let btLines: string[] | undefined;

interface Ctx {
  /** The case's directory (the command's working directory). */
  dir: string;
}

interface Row {
  name: string;
  /** Makes the files of the case in `dir` (before the snapshot). */
  setup?: (c: Ctx) => Promise<void> | void;
  /** Arguments after `main.ts`; or `shell` for a pipeline. */
  args?: string[];
  /** A bash command line; `$AT` runs alloctrace with all permissions. */
  shell?: string;
  /** Deno's permission flags instead of -A. */
  perms?: string[];
  /** Standard input (a file of the case's directory, by name). */
  stdinFile?: string;
  env?: Record<string, string>;
  code: number;
  /** The single line on stderr, or "" for an empty stderr. */
  stderr: RegExp | "";
  /** `--json` counts on stdout that must equal the clean input's. */
  counts?: { allocs: number; frees: number; gcs: number };
  /** Files (by name in the directory) the command may create or replace. */
  changes?: string[];
  /** New files that may be left (a temporary when the process is killed). */
  leftover?: RegExp;
  /** More assertions, after the run. */
  check?: (c: Ctx, out: { stdout: string; stderr: string }) => void;
  /** Why the row is not run yet. */
  ignore?: string;
  /** Skip (with the reason printed) when this returns a reason. */
  needs?: () => string | null;
  /** Run as user 65534 (nobody) through setpriv, with its own Deno copy. */
  nobody?: boolean;
}

// ---------------------------------------------------------------------------
// Snapshots: every entry of a directory, as it is.

interface Entry {
  kind: string;
  mode: number | null;
  uid: number | null;
  data?: string;
  target?: string;
}

/** Every entry of `dir`; file contents only of those in `known` (all when undefined). */
function snapshot(dir: string, known?: Map<string, Entry>): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${dir}/${rel}`)) {
      const name = rel === "" ? e.name : `${rel}/${e.name}`;
      const path = `${dir}/${name}`;
      const st = Deno.lstatSync(path);
      const kind = st.isSymlink
        ? "symlink"
        : st.isFile
        ? "file"
        : st.isDirectory
        ? "dir"
        : st.isFifo
        ? "fifo"
        : st.isCharDevice
        ? "chardev"
        : "other";
      const entry: Entry = { kind, mode: st.mode, uid: st.uid };
      if (kind === "file" && (known === undefined || known.has(name))) {
        entry.data = digest(Deno.readFileSync(path));
      }
      if (kind === "symlink") entry.target = Deno.readLinkSync(path);
      out.set(name, entry);
      if (kind === "dir" && !st.isSymlink) walk(name);
    }
  };
  walk("");
  return out;
}

/** Length and two 32-bit hashes of `b`: equal for equal bytes only, in practice. */
function digest(b: Uint8Array): string {
  let h = 2166136261;
  let g = 0;
  for (const x of b) {
    h = Math.imul(h ^ x, 16777619);
    g = (Math.imul(g, 31) + x) | 0;
  }
  return `${b.length}:${h >>> 0}:${g >>> 0}`;
}

// ---------------------------------------------------------------------------
// Input makers.

function copy(from: string, to: string) {
  Deno.copyFileSync(from, to);
}

/** `b` (or the file at `b`) through a CompressionStream or DecompressionStream. */
async function through(
  b: Uint8Array | string,
  t: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const src = typeof b === "string"
    ? (await Deno.open(b)).readable
    : new Blob([b as BlobPart]).stream();
  const s = src.pipeThrough(
    t as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

const gunzipFile = (path: string) =>
  through(path, new DecompressionStream("gzip"));
const gzipBytes = (b: Uint8Array) => through(b, new CompressionStream("gzip"));
const deflateRaw = (b: Uint8Array) =>
  through(b, new CompressionStream("deflate-raw"));

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** BGZF as bgzip writes it: 64 KiB blocks, each a member with a `BC` extra field, then an empty member. */
async function bgzf(data: Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const block = async (chunk: Uint8Array) => {
    const body = await deflateRaw(chunk);
    const size = 18 + body.length + 8;
    const h = new Uint8Array(18);
    h.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0]);
    new DataView(h.buffer).setUint16(16, size - 1, true);
    const t = new Uint8Array(8);
    new DataView(t.buffer).setUint32(0, crc32(chunk), true);
    new DataView(t.buffer).setUint32(4, chunk.length, true);
    parts.push(h, body, t);
  };
  for (let i = 0; i < data.length; i += 0xff00) {
    await block(data.subarray(i, i + 0xff00));
  }
  await block(new Uint8Array(0));
  return concat(...parts);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The leak trace with `f` applied to its lines. */
function leakLines(f: (lines: string[]) => string[]): Uint8Array {
  const lines = dec.decode(Deno.readFileSync(LEAK)).split("\n");
  return enc.encode(f(lines).join("\n"));
}

/** `lines` with `line` put after every `every`-th record's goroutine line (inside the record). */
function insideRecords(lines: string[], line: string, every: number): string[] {
  let k = 0;
  return lines.flatMap((l, i) =>
    l.startsWith("goroutine ") && lines[i - 1]?.startsWith("trace") &&
      k++ % every === 0
      ? [l, line]
      : [l]
  );
}

/** A tracealloc record at `addr` of `size` (hex digits). */
const record = (addr: string, size: string) =>
  `tracealloc(0x${addr}, 0x${size}, main.T)\ngoroutine 1 [running]:\nruntime.mallocgc(0x10, 0x0, 0x0)\n\truntime/malloc.go:1131 +0x7b1 fp=0x1 sp=0x2 pc=0x40c531\nmain.main()\n\tmain.go:3 +0x1d\n\n`;

/** Per site: allocations, bytes, live objects (as `analyze --json` gives them), sorted. */
function siteFigures(doc: {
  sites: { site: string; allocs: number; allocBytes: number; live: number }[];
}): string[] {
  return doc.sites.map((s) => `${s.site} ${s.allocs} ${s.allocBytes} ${s.live}`)
    .sort();
}

/** The clean leak trace's per-site figures, read by the library. */
const LEAK_SITES = (() => {
  const stacks = new StackTable();
  const a = new TraceAnalyzer(stacks);
  const p = new ByteTraceParser((e) => a.add(e), stacks);
  p.feed(Deno.readFileSync(LEAK));
  p.end();
  return siteFigures(a.finish());
})();

/** The `--json` analysis on stdout attributes every record as the clean trace does. */
function sameSites(stdout: string): void {
  assertEquals(siteFigures(JSON.parse(stdout)), LEAK_SITES);
}

/** The peak RSS /usr/bin/time wrote to `dir`/rss is under `mib` MiB. */
function rssBelow(dir: string, mib: number): void {
  // (GNU time puts "Command exited with non-zero status N" first.)
  const kib = Number(
    Deno.readTextFileSync(`${dir}/rss`).trim().split("\n").at(-1),
  );
  assertTrue(kib > 0 && kib < mib * 1024, `peak RSS ${kib} KiB`);
}

function tmpfsOk(): string | null {
  if (Deno.uid() !== 0) return "needs root to mount a small tmpfs";
  const probe = Deno.makeTempDirSync({ prefix: "alloctrace-tmpfs-probe-" });
  const r = new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
    stderr: "null",
  }).outputSync();
  if (r.success) {
    new Deno.Command("umount", { args: [probe] }).outputSync();
  }
  Deno.removeSync(probe);
  return r.success ? null : "mount -t tmpfs failed here";
}

function mountFull(dir: string) {
  Deno.mkdirSync(dir);
  const r = new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
  }).outputSync();
  assertTrue(r.success, dec.decode(r.stderr));
}

function hasTool(name: string): string | null {
  const r = new Deno.Command("sh", {
    args: ["-c", `command -v ${name}`],
    stdout: "null",
  }).outputSync();
  return r.success ? null : `${name} is missing`;
}

const NOBODY = 65534;
let nobodyDir: string | null = null;

/**
 * A copy of Deno, the tool and its npm cache that user 65534 can run (the
 * originals may sit under a 0700 home); made once, removed at exit.
 */
function nobodyCopy(): string {
  if (nobodyDir !== null) return nobodyDir;
  const dir = Deno.makeTempDirSync({ prefix: "alloctrace-nobody-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone */ }
  });
  const sh = (cmd: string) => {
    const r = new Deno.Command("bash", { args: ["-c", cmd] }).outputSync();
    assertTrue(r.success, `${cmd}: ${dec.decode(r.stderr)}`);
  };
  const info = JSON.parse(
    dec.decode(
      new Deno.Command(Deno.execPath(), { args: ["info", "--json"] })
        .outputSync().stdout,
    ),
  );
  sh(`cp "${Deno.execPath()}" "${dir}/deno"`);
  sh(`mkdir -p "${dir}/repo" "${dir}/deno_dir/npm/registry.npmjs.org"`);
  sh(
    `cd "${ROOT}" && cp -r main.ts mod.ts deno.json deno.lock lib "${dir}/repo/"`,
  );
  sh(
    `cp -r "${info.npmCache}/registry.npmjs.org/pprof-format" "${dir}/deno_dir/npm/registry.npmjs.org/"`,
  );
  sh(
    `chmod -R a+rX "${dir}" && chown -R ${NOBODY}:${NOBODY} "${dir}/deno_dir"`,
  );
  nobodyDir = dir;
  return dir;
}

function nobodyOk(): string | null {
  if (Deno.uid() !== 0) return "needs root to switch to user 65534";
  return hasTool("setpriv");
}

function rootOnly(): string | null {
  return Deno.uid() === 0 ? null : "needs root (mknod, a root-owned victim)";
}

// ---------------------------------------------------------------------------
// The rows.

const AT = `"${Deno.execPath()}" run -A "${ROOT}main.ts"`;

const ROWS: Row[] = [
  // --- outputs: never destroy a file ---------------------------------------
  {
    name: "an output path equal to the input is refused before reading",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    args: ["analyze", "t.trace", "--pprof", "t.trace"],
    code: 2,
    stderr: /--pprof t\.trace is the input t\.trace/,
  },
  {
    name: "an output that is a symlink to the input is refused",
    setup: ({ dir }) => {
      copy(LEAK, `${dir}/t.trace`);
      Deno.symlinkSync("t.trace", `${dir}/link`);
    },
    args: ["analyze", "t.trace", "--folded", "link"],
    code: 2,
    stderr: /--folded link is the input t\.trace/,
  },
  {
    name: "an output equal to the file on stdin is refused",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    shell: `$AT analyze - --html t.trace < t.trace`,
    code: 2,
    stderr: /--html t\.trace is the input \(stdin\)/,
  },
  {
    name: "diff: an output equal to B is refused",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    args: ["diff", LEAK, "t.trace", "--html", "./t.trace"],
    code: 2,
    stderr: /--html \.\/t\.trace is the input t\.trace/,
  },
  {
    name: "two outputs on one path are refused",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    args: ["analyze", "t.trace", "--pprof", "o", "--folded", "./o"],
    code: 2,
    stderr: /--pprof and --folded name one file/,
  },
  {
    name: "run: two outputs on one path are refused",
    args: ["run", "leak", "--memprofile", "o", "--html", "o"],
    code: 2,
    stderr: /--memprofile and --html name one file/,
  },
  {
    name: "an empty output path is a usage error",
    args: ["analyze", LEAK, "--html", ""],
    code: 2,
    stderr: /--html needs a file name/,
  },
  {
    name: "run: an empty output path is a usage error",
    args: ["run", "leak", "--folded", ""],
    code: 2,
    stderr: /--folded needs a file name/,
  },
  {
    name: "an output in a missing directory fails before reading",
    args: ["analyze", LEAK, "--pprof", "nodir/p.pb.gz"],
    code: 2,
    stderr: /--pprof nodir\/p\.pb\.gz: directory nodir does not exist/,
  },
  {
    name: "an output without read permission on its directory names the flag",
    args: ["analyze", LEAK, "--pprof", "p.pb.gz"],
    perms: ["--no-prompt", `--allow-read=${LEAK}`, "--allow-write=."],
    code: 2,
    stderr:
      /--pprof p\.pb\.gz: permission to read \. is missing \(run with --allow-read=\.\)/,
  },
  {
    name: "an output without write permission on its directory names the flag",
    args: ["analyze", LEAK, "--pprof", "p.pb.gz"],
    perms: ["--no-prompt", `--allow-read=${LEAK},.`],
    code: 2,
    stderr:
      /--pprof p\.pb\.gz: permission to write in \. is missing \(run with --allow-write=\.\)/,
  },
  {
    name: "an output that is a directory fails before reading",
    setup: ({ dir }) => Deno.mkdirSync(`${dir}/sub`),
    args: ["analyze", LEAK, "--pprof", "sub"],
    code: 2,
    stderr: /--pprof sub is a directory/,
  },
  // OS errors in one line: the option, the path once, the reason (not the
  // system call and the path again, which a 5,000-byte name made unreadable).
  {
    name: "an output name longer than the file system allows: one clear line",
    args: ["analyze", LEAK, "--html", `${"x".repeat(300)}.html`],
    code: 2,
    stderr:
      /^alloctrace: --html x{300}\.html: File name too long \(os error 36\)$/,
  },
  {
    name: "an output under a regular file (not a directory): one clear line",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/f`, "a file\n"),
    args: ["analyze", LEAK, "--pprof", "f/p.pb.gz"],
    code: 2,
    stderr:
      /^alloctrace: --pprof f\/p\.pb\.gz: Not a directory \(os error 20\)$/,
  },
  {
    name: "an output that is a symlink loop: one clear line",
    setup: ({ dir }) => Deno.symlinkSync("loop", `${dir}/loop`),
    args: ["analyze", LEAK, "--folded", "loop"],
    code: 2,
    stderr:
      /^alloctrace: --folded loop: Too many levels of symbolic links \(os error 40\)$/,
  },
  {
    name: "an input that is a symlink loop: one clear line",
    setup: ({ dir }) => Deno.symlinkSync("loop", `${dir}/loop`),
    args: ["analyze", "loop"],
    code: 1,
    stderr:
      /^alloctrace: loop: Too many levels of symbolic links \(os error 40\)$/,
  },
  {
    name: "an input name longer than the file system allows: one clear line",
    args: ["analyze", `${"y".repeat(300)}.trace`],
    code: 1,
    stderr: /^alloctrace: y{300}\.trace: File name too long \(os error 36\)$/,
  },
  {
    name: "a symlink to a missing file is not followed",
    setup: ({ dir }) => Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`),
    args: ["analyze", LEAK, "--folded", "dangling"],
    code: 2,
    stderr: /dangling is a symbolic link to a missing file/,
  },
  {
    name: "a symlink to a regular file: the file is replaced, the link stays",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/real.txt`, "old\n");
      Deno.symlinkSync("real.txt", `${dir}/out.txt`);
    },
    args: ["analyze", LEAK, "--folded", "out.txt", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["real.txt"],
    check: ({ dir }) => {
      assertEquals(Deno.readLinkSync(`${dir}/out.txt`), "real.txt");
      assertTrue(
        Deno.readTextFileSync(`${dir}/real.txt`).includes("main.makePayload"),
      );
    },
  },
  {
    name: "replacing a file keeps its mode",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/p.txt`, "old\n");
      Deno.chmodSync(`${dir}/p.txt`, 0o640);
    },
    args: ["analyze", LEAK, "--folded", "p.txt", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["p.txt"],
    check: ({ dir }) =>
      assertEquals(Deno.statSync(`${dir}/p.txt`).mode! & 0o777, 0o640),
  },
  {
    name:
      "planted temporary names (symlinks to a root-only file at every .NAME.tmp-PID) change nothing",
    needs: rootOnly,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
      Deno.chmodSync(`${dir}/victim`, 0o600);
      Deno.chmodSync(dir, 0o1777);
      const last = Number(
        Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim(),
      );
      // The next few thousand process ids: the command's is among them.
      for (let pid = last + 1; pid < last + 4000; pid++) {
        Deno.symlinkSync(`${dir}/victim`, `${dir}/.out.html.tmp-${pid}`);
      }
    },
    args: ["analyze", LEAK, "--html", "out.html", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["out.html"],
  },
  {
    name:
      "as nobody: planted temporary names (symlinks to the user's own file at every .NAME.tmp-PID) change nothing",
    needs: nobodyOk,
    nobody: true,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
      Deno.chmodSync(`${dir}/victim`, 0o600);
      Deno.chownSync(`${dir}/victim`, NOBODY, NOBODY);
      Deno.mkdirSync(`${dir}/shared`, { mode: 0o1777 });
      Deno.chmodSync(`${dir}/shared`, 0o1777);
      const last = Number(
        Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim(),
      );
      for (let pid = last + 1; pid < last + 4000; pid++) {
        Deno.symlinkSync(
          `${dir}/victim`,
          `${dir}/shared/.out.html.tmp-${pid}`,
        );
      }
    },
    args: ["analyze", LEAK, "--html", "shared/out.html", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["shared/out.html"],
  },
  {
    name: "as nobody: --folded /dev/stdout goes into the pipe",
    needs: nobodyOk,
    nobody: true,
    shell: `$AT analyze ${LEAK} --folded /dev/stdout | cat`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertTrue(stdout.includes("main.makePayload"), stdout),
  },
  {
    name: "as nobody: /dev/null and /dev/full as outputs",
    needs: nobodyOk,
    nobody: true,
    args: [
      "analyze",
      LEAK,
      "--html",
      "/dev/null",
      "--pprof",
      "/dev/full",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    counts: LEAK_COUNTS,
    check: () => assertTrue(Deno.statSync("/dev/null").isCharDevice),
  },
  {
    name:
      "as nobody: an output in a directory it cannot write fails before reading",
    needs: nobodyOk,
    nobody: true,
    setup: ({ dir }) => Deno.mkdirSync(`${dir}/ro`, { mode: 0o755 }),
    args: ["analyze", LEAK, "--pprof", "ro/p.pb.gz"],
    code: 2,
    stderr:
      /--pprof ro\/p\.pb\.gz: cannot create a file in ro: Permission denied/,
  },
  {
    name: "/dev/null as an output stays a device",
    args: ["analyze", LEAK, "--pprof", "/dev/null", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    check: () => assertTrue(Deno.statSync("/dev/null").isCharDevice),
  },
  {
    name: "a device made with mknod is written, not replaced",
    needs: rootOnly,
    setup: ({ dir }) => {
      const r = new Deno.Command("mknod", {
        args: [`${dir}/null`, "c", "1", "3"],
      }).outputSync();
      assertTrue(r.success, dec.decode(r.stderr));
    },
    args: ["analyze", LEAK, "--html", "null", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
  },
  {
    name:
      "/dev/full: ENOSPC names the file, exits 1; the other outputs and stdout still get theirs",
    args: [
      "analyze",
      LEAK,
      "--pprof",
      "/dev/full",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    counts: LEAK_COUNTS,
    changes: ["f.txt"],
  },
  {
    name:
      "run: one output on /dev/full fails at the end; the others and the JSON summary are written",
    args: [
      "run",
      "leak",
      "--n",
      "100",
      "--memprofile",
      "/dev/full",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    changes: ["f.txt"],
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).written, { folded: "f.txt" }),
  },
  {
    name:
      "replay: one output on /dev/full fails at the end; the others and the JSON are written",
    args: [
      "replay",
      LEAK,
      "--memprofile-text",
      "/dev/full",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    changes: ["f.txt"],
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).replayed.allocs, LEAK_COUNTS.allocs),
  },
  {
    name: "$&, $', $` and $$ in function and file names: one HTML page",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/dollar.trace`,
        leakLines((ls) =>
          ls.map((l) =>
            // (Function replacers: a string one reads the $ patterns.)
            l.replaceAll("main.makePayload", () => "main.make$&Pay$'lo$`ad$$")
              .replaceAll("leak/main.go", () => "leak/$&ma$'in$`.go")
          )
        ),
      ),
    args: ["analyze", "dollar.trace", "--html", "r.html", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["r.html"],
    check: ({ dir }) => {
      const html = Deno.readTextFileSync(`${dir}/r.html`);
      assertEquals(html.split("<!DOCTYPE html>").length, 2);
      const data = /<script type="application\/json" id="data">(.*?)<\/script>/s
        .exec(html)![1];
      assertTrue(
        JSON.stringify(JSON.parse(data)).includes("main.make$&Pay$'lo$`ad$$"),
      );
    },
  },
  {
    name: "a FIFO output is written through, and stays a FIFO",
    needs: () => hasTool("mkfifo"),
    setup: ({ dir }) => {
      const r = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] })
        .outputSync();
      assertTrue(r.success);
    },
    shell: `(cat fifo > got.txt &) ; $AT analyze ${LEAK} --folded fifo --json`,
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["got.txt"],
    check: ({ dir }) => {
      // The reader may still be copying: wait for its file to fill.
      for (let i = 0; i < 100; i++) {
        if (Deno.readTextFileSync(`${dir}/got.txt`).endsWith("\n")) break;
        new Deno.Command("sleep", { args: ["0.05"] }).outputSync();
      }
      assertTrue(
        Deno.readTextFileSync(`${dir}/got.txt`).includes("main.makePayload"),
      );
      assertTrue(Deno.lstatSync(`${dir}/fifo`).isFifo);
    },
  },
  {
    name: "--folded /dev/stdout goes into the pipe, without the summary",
    shell: `$AT analyze ${LEAK} --folded /dev/stdout | cat`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) => {
      assertTrue(stdout.includes("main.makePayload"), stdout);
      assertTrue(!stdout.includes("top sites"), stdout);
    },
  },
  {
    name: "--folded - goes to stdout",
    args: ["analyze", LEAK, "--folded", "-"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertTrue(
        /^[^\n]*main\.makePayload \S+:\d+ [0-9]+$/m.test(stdout),
        stdout,
      ),
  },
  {
    name:
      "run --trace-out on a full disk: the old trace stays, the error names the file, no temporary is left",
    needs: tmpfsOk,
    setup: ({ dir }) => {
      mountFull(`${dir}/full`);
      Deno.writeTextFileSync(`${dir}/full/t.trace`, "old trace\n");
    },
    args: [
      "run",
      "leak",
      "--n",
      "1000",
      "--godebug",
      "allocfreetrace=1",
      "--trace-out",
      "full/t.trace",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write full\/t\.trace: No space left on device/,
  },
  {
    name:
      "analyze with one output on a full disk: that one fails, the others and the JSON are written",
    needs: tmpfsOk,
    setup: ({ dir }) => {
      mountFull(`${dir}/full`);
      // Leave a few KiB free: the check passes, the write fails.
      Deno.writeFileSync(`${dir}/full/filler`, new Uint8Array(60 << 10));
    },
    args: [
      "analyze",
      LEAK,
      "--html",
      "full/r.html",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write full\/r\.html: No space left on device/,
    counts: LEAK_COUNTS,
    changes: ["f.txt"],
  },
  {
    name:
      "SIGTERM during run --trace-out leaves the old trace whole and no temporary",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    shell:
      `$AT run binarytrees --depth 16 --godebug allocfreetrace=1 --trace-out t.trace -q & pid=$!; sleep 3; kill -TERM $pid; wait $pid`,
    code: 143,
    stderr: "",
  },
  {
    name:
      "SIGINT (Ctrl-C) during run --trace-out: the old trace stays, no temporary, exit 130",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    shell:
      // env gives the background job SIGINT's default action back (a
      // non-interactive shell starts it ignored), as Ctrl-C finds it.
      `env --default-signal=INT $AT run binarytrees --depth 16 --godebug allocfreetrace=1 --trace-out t.trace -q & pid=$!; sleep 3; kill -INT $pid; wait $pid`,
    code: 130,
    stderr: "",
  },
  {
    name:
      "SIGINT while analyze waits on stdin: no output file, the old one stays",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/p.pb.gz`, "old\n"),
    shell:
      // env gives the background job SIGINT's default action back (a
      // non-interactive shell starts it ignored), as Ctrl-C finds it.
      `sleep 4 2>/dev/null | env --default-signal=INT $AT analyze - --pprof p.pb.gz & pid=$!; sleep 2; kill -INT $pid; wait $pid`,
    code: 130,
    stderr: "",
  },
  // native: the program is killed, what it did is reported and its trace
  // written, and the exit code is the signal's (the program has started,
  // and so the tracer's listeners are on, once it has made 'started').
  ...([["HUP", 129], ["TERM", 143], ["INT", 130]] as const).map((
    [sig, code],
  ): Row => ({
    name:
      `SIG${sig} during native --trace-out: the program is killed, its trace written, no temporary, exit ${code}`,
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    shell:
      `${
        sig === "INT" ? "env --default-signal=INT " : ""
      }$AT native -q --trace-out t.trace -- sh -c 'touch started; sleep 20' & pid=$!; ` +
      `for i in $(seq 600); do [ -e started ] && break; sleep 0.1; done; kill -${sig} $pid; wait $pid`,
    code,
    stderr: "",
    changes: ["t.trace", "started"],
    check: ({ dir }) =>
      assertTrue(
        Deno.readTextFileSync(`${dir}/t.trace`).startsWith("MProf_Malloc("),
        "the trace of what it did",
      ),
  })),
  {
    name:
      "SIGTERM during native: the program's children are killed too (a shell's job ran on, traced, and native waited for it)",
    shell:
      `$AT native -q -- sh -c 'sleep 1000 & echo $! > child; wait' & pid=$!; ` +
      `for i in $(seq 600); do [ -s child ] && break; sleep 0.1; done; kill -TERM $pid; c=$(cat child); ` +
      `for i in $(seq 300); do kill -0 $c 2>/dev/null || break; sleep 0.1; done; ` +
      `kill -0 $c 2>/dev/null && { kill -9 $c; echo "child $c survived" >&2; }; wait $pid`,
    code: 143,
    stderr: "",
    changes: ["child"],
  },
  {
    name:
      "SIGINT started ignored (trap '' INT, a background job) stays ignored: analyze - reads stdin to its end",
    shell:
      `{ sleep 3; cat ${LEAK}; } | (trap '' INT; exec $AT analyze - --json) & pid=$!; sleep 1.5; kill -INT $pid; wait $pid`,
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
  },
  {
    name:
      "native with SIGINT started ignored: a SIGINT neither kills the traced program nor ends the trace",
    shell:
      `(trap '' INT; exec $AT native -q -- sleep 2) & pid=$!; sleep 1.2; kill -INT $pid; wait $pid`,
    code: 0,
    stderr: "",
  },
  {
    name: "run with the trace on stderr into a closed pipe exits quietly",
    shell:
      `$AT run leak --n 2000 --godebug allocfreetrace=1 2>&1 >/dev/null | head -1 >/dev/null; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  },
  {
    name: "run --trace-out /dev/stdout into a closed pipe exits quietly",
    shell:
      `$AT run leak --n 2000 --godebug allocfreetrace=1 --trace-out /dev/stdout | head -1 >/dev/null; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  },
  {
    name: "analyze into a closed pipe exits quietly",
    shell:
      `$AT analyze ${BT} --stacks --top 1000 | head -1 >/dev/null; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  },

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
    ["analyze", `$AT analyze ${LEAK} > /dev/full`],
    ["run", `$AT run leak --n 20 > /dev/full`],
    ["analyze --json", `$AT analyze ${LEAK} --json > /dev/full`],
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
    name: "analyze /dev/zero: stops at once, bounded memory",
    needs: () => hasTool("/usr/bin/time"),
    shell: "/usr/bin/time -o rss -f %M $AT analyze /dev/zero",
    code: 1,
    stderr:
      /^alloctrace: \/dev\/zero: not an allocfreetrace log: no record in the first \d+ MiB, and line 1 is longer than 1 MiB$/,
    changes: ["rss"],
    check: ({ dir }) => rssBelow(dir, 256),
  },
  {
    name: "analyze - < /dev/zero: endless stdin without a newline stops",
    needs: () => hasTool("/usr/bin/time"),
    shell: "/usr/bin/time -o rss -f %M $AT analyze - < /dev/zero",
    code: 1,
    stderr: /^alloctrace: stdin: not an allocfreetrace log: no record in the/,
    changes: ["rss"],
    check: ({ dir }) => rssBelow(dir, 256),
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

  // --- the command line ----------------------------------------------------
  {
    name: "run --gogc off",
    args: ["run", "leak", "--n", "100", "--gogc", "off", "--json"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) => assertEquals(JSON.parse(stdout).gogc, -1),
  },
  {
    name: "run with GOGC=off",
    args: ["run", "leak", "--n", "100", "--json"],
    env: { GOGC: "off" },
    code: 0,
    stderr: "",
    check: (_, { stdout }) => assertEquals(JSON.parse(stdout).gogc, -1),
  },
  {
    name: "replay --gogc off: every record replayed",
    args: ["replay", LEAK, "--gogc", "off", "--json"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).replayed.allocs, LEAK_COUNTS.allocs),
  },
  {
    name: "a negative --gogc gets the allowed range",
    args: ["run", "--gogc", "-5"],
    code: 2,
    stderr: /GOGC must be a non-negative integer percentage or "off", got "-5"/,
  },
  {
    name: "a negative --memprofilerate gets the allowed range",
    args: ["run", "--memprofilerate", "-1"],
    code: 2,
    stderr: /--memprofilerate must be from 0 to/,
  },
  {
    name: "a negative --top gets the allowed range",
    args: ["analyze", LEAK, "--top", "-1"],
    code: 2,
    stderr: /--top must be from 1 to 1000000, got -1/,
  },
  {
    name: "no command: one line of usage, exit 2 (not the demo)",
    args: [],
    code: 2,
    stderr:
      /^usage: alloctrace <command> \[options\] \(commands: run, workloads, analyze, replay, diff, native, help; see alloctrace --help\)$/,
    check: (_c, out) => assertEquals(out.stdout, ""),
  },
  {
    name: "help for an unknown command exits 2",
    args: ["help", "nosuch"],
    code: 2,
    stderr: /no help for "nosuch"/,
  },
  {
    name: "native: an empty output path is a usage error",
    args: ["native", "--html", "", "--", "true"],
    code: 2,
    stderr: /--html needs a file name/,
  },
  {
    name: "native takes -q",
    args: ["native", "-q"],
    code: 2,
    stderr: /native needs a command/,
  },
  // --- native: -p (attach) and --pid (a filter) are told apart ------------
  {
    name: "native --pid without a command: --pid only filters, -p attaches",
    args: ["native", "--pid", "4242"],
    code: 2,
    stderr:
      /native needs a command: .*--pid only filters the processes of a trace: to trace running process 4242, use -p 4242$/,
  },
  {
    name:
      "native --pid of a process not in the trace says so (not an empty report and a warning), writes nothing",
    args: ["native", "--pid", "1", "--json", "out.json", "--", "/bin/true"],
    code: 2,
    stderr:
      /^alloctrace: --pid 1: no call of process 1 in this trace \(.*\); --pid filters the processes traced, -p PID attaches to a running one$/,
  },
  // --- native's outputs: checked like the other commands', before the run --
  {
    name:
      "native --trace-out naming the program itself is refused: the binary stays",
    setup: ({ dir }) => {
      Deno.copyFileSync("/bin/true", `${dir}/prog`);
      Deno.chmodSync(`${dir}/prog`, 0o755);
    },
    args: ["native", "--trace-out", "prog", "--", "./prog"],
    code: 2,
    stderr:
      /^alloctrace: --trace-out prog is the input \.\/prog: writing it would destroy it; choose another file$/,
  },
  {
    name:
      "native --html naming the program found through PATH is refused: the binary stays",
    setup: ({ dir }) => {
      Deno.copyFileSync("/bin/true", `${dir}/prog`);
      Deno.chmodSync(`${dir}/prog`, 0o755);
    },
    shell: `PATH="$PWD:$PATH" $AT native --html prog -- prog`,
    code: 2,
    stderr:
      /^alloctrace: --html prog is the input .*\/prog: writing it would destroy it/,
  },
  {
    name:
      "native --trace-out and --folded on one path are refused (the trace was lost under the folded stacks)",
    args: ["native", "--trace-out", "x", "--folded", "x", "--", "/bin/true"],
    code: 2,
    stderr: /^alloctrace: --trace-out and --folded name one file \(x\)/,
  },
  {
    name:
      "native --json and --folded on one path are refused (the JSON replaced the folded stacks)",
    args: ["native", "--folded", "x", "--json", "./x", "--", "/bin/true"],
    code: 2,
    stderr: /^alloctrace: --folded and --json name one file \(\.\/x\)/,
  },
  {
    name:
      "native --html and --pprof on one path are refused before the program runs, not after",
    args: ["native", "--html", "x", "--pprof", "x", "--", "touch", "ran"],
    code: 2,
    stderr: /^alloctrace: --html and --pprof name one file \(x\)/,
  },
  // native --trace-out is an output like the others (README, Output files).
  {
    name:
      "native --trace-out through a symlink: the target is replaced, the link stays",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/real.trace`, "old\n");
      Deno.symlinkSync("real.trace", `${dir}/link.trace`);
    },
    args: ["native", "-q", "--trace-out", "link.trace", "--", "/bin/true"],
    code: 0,
    stderr: "",
    changes: ["real.trace"],
    check: ({ dir }) =>
      assertEquals(Deno.readTextFileSync(`${dir}/real.trace`), ""),
  },
  {
    name: "native --trace-out replacing a file keeps its mode",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/t.trace`, "old\n");
      Deno.chmodSync(`${dir}/t.trace`, 0o640);
    },
    args: ["native", "-q", "--trace-out", "t.trace", "--", "/bin/true"],
    code: 0,
    stderr: "",
    changes: ["t.trace"],
    check: ({ dir }) =>
      assertEquals(Deno.statSync(`${dir}/t.trace`).mode! & 0o777, 0o640),
  },
  {
    name:
      "native --trace-out with symlinks planted at every .NAME.tmp-PID: traced, nothing planted followed",
    needs: rootOnly,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
      Deno.chmodSync(`${dir}/victim`, 0o600);
      const last = Number(
        Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim(),
      );
      for (let pid = last + 1; pid < last + 4000; pid++) {
        Deno.symlinkSync(`${dir}/victim`, `${dir}/.t.trace.tmp-${pid}`);
      }
    },
    args: ["native", "-q", "--trace-out", "t.trace", "--", "/bin/true"],
    code: 0,
    stderr: "",
    changes: ["t.trace"],
  },
  {
    name: "native with an empty command name is a usage error",
    args: ["native", "--", ""],
    code: 2,
    stderr: /^alloctrace: native needs a command: the command name is empty$/,
  },
  {
    name: "native -p with a command: attach takes none",
    args: ["native", "-p", "4242", "--", "/bin/true"],
    code: 2,
    stderr: /native -p PID attaches to a running process: give no command$/,
  },
  {
    name: "native --duration without -p",
    args: ["native", "--duration", "1", "--", "/bin/true"],
    code: 2,
    stderr: /--duration goes with -p PID$/,
  },
  {
    name: "native -p of a process that does not exist",
    args: ["native", "-p", "4194303"],
    code: 1,
    stderr: /^alloctrace: no process 4194303$/,
  },
  {
    name: "native without --allow-all says so, before starting the tracer",
    args: ["native", "--", "/bin/true"],
    perms: ["--no-prompt", `--allow-read=${ROOT}`],
    code: 1,
    stderr: /^alloctrace: native needs --allow-all \(.*\): run deno with -A$/,
  },
  {
    name: "native with only some permissions says it needs --allow-all",
    args: ["native", "--", "/bin/true"],
    perms: ["--no-prompt", "--allow-read", "--allow-run", "--allow-ffi"],
    code: 1,
    stderr: /^alloctrace: native needs --allow-all/,
  },
  {
    name: "workloads takes no argument: the house style, exit 2",
    args: ["workloads", "extra"],
    code: 2,
    stderr:
      /^alloctrace workloads: unexpected argument 'extra' \(see alloctrace workloads --help\)$/,
  },
  // --- unknown options: one clear line naming the command ------------------
  ...([
    ["run", "--bogus"],
    ["run", "-z"],
    ["replay", LEAK, "--bogus"],
    ["analyze", LEAK, "--bogus"],
    ["diff", LEAK, LEAK, "--bogus"],
    ["workloads", "--bogus"],
    ["native", "--bogus", "--", "/bin/true"],
  ].map((args): Row => {
    const opt = args.find((a) => a.startsWith("-"))!;
    return {
      name: `${args[0]} ${opt}: unknown option`,
      args,
      code: 2,
      stderr: new RegExp(
        `^alloctrace ${args[0]}: unknown option ${opt} ` +
          `\\(see alloctrace ${args[0]} --help\\)$`,
      ),
    };
  })),
];

// ---------------------------------------------------------------------------

for (const row of ROWS) {
  const skip = row.ignore ?? row.needs?.() ?? null;
  if (skip !== null && row.ignore === undefined) {
    console.log(`bad_input: "${row.name}" skipped: ${skip}`);
  }
  Deno.test({
    name: `bad input: ${row.name}`,
    ignore: skip !== null,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "alloctrace-bad-" });
      const ctx = { dir };
      try {
        await row.setup?.(ctx);
        const before = snapshot(dir);
        const r = await runRow(row, dir);
        const why = `\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`;
        assertEquals(r.code, row.code, `exit code${why}`);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        if (row.stderr === "") {
          assertEquals(lines, [], `stderr should be empty${why}`);
        } else {
          assertEquals(lines.length, 1, `one line on stderr${why}`);
          assertTrue(row.stderr.test(lines[0]), `stderr${why}`);
        }
        if (row.counts !== undefined) {
          const doc = JSON.parse(r.stdout);
          assertEquals(
            { allocs: doc.allocs, frees: doc.frees, gcs: doc.gcs },
            row.counts,
          );
        }
        const after = snapshot(dir, before);
        const changes = new Set(row.changes ?? []);
        for (const [name, entry] of before) {
          if (changes.has(name)) continue;
          assertEquals(after.get(name), entry, `${name} changed${why}`);
        }
        for (const name of after.keys()) {
          assertTrue(
            before.has(name) || changes.has(name) ||
              row.leftover?.test(name) === true,
            `new file ${name}${why}`,
          );
        }
        row.check?.(ctx, r);
      } finally {
        for (const sub of ["full"]) {
          try {
            if (Deno.lstatSync(`${dir}/${sub}`).isDirectory) {
              new Deno.Command("umount", { args: [`${dir}/${sub}`] })
                .outputSync();
            }
          } catch { /* not made */ }
        }
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

async function runRow(
  row: Row,
  dir: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = { NO_COLOR: "1", ...row.env };
  if (row.nobody) {
    const n = nobodyCopy();
    // The case's directory belongs to nobody, except what the row made root's.
    Deno.chownSync(dir, NOBODY, NOBODY);
    env.DENO_DIR = `${n}/deno_dir`;
    env.HOME = n;
    const at = `setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups ` +
      `"${n}/deno" run -A "${n}/repo/main.ts"`;
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        row.shell?.replaceAll("$AT", at) ??
          `${at} ${row.args!.map((a) => `'${a}'`).join(" ")}`,
      ],
      cwd: dir,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const out = await child.output();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  }
  const cmd = row.shell !== undefined
    ? new Deno.Command("bash", {
      args: ["-c", row.shell.replaceAll("$AT", AT)],
      cwd: dir,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", ...(row.perms ?? ["-A"]), `${ROOT}main.ts`, ...row.args!],
      cwd: dir,
      env,
      stdin: row.stdinFile === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    });
  const child = cmd.spawn();
  if (row.stdinFile !== undefined) {
    const f = await Deno.open(`${dir}/${row.stdinFile}`);
    await f.readable.pipeTo(child.stdin);
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}
