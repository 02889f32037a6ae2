/**
 * The bad-input suite's machinery: the row type, the snapshots that show no
 * pre-existing file changed, the input makers, and the runner that turns
 * each row into a test (`badInputSuite`). The rows are in
 * `bad_input_test.ts` (inputs), `bad_input_files_test.ts` (special files and
 * names), `bad_input_outputs_test.ts` (outputs, devices, pipes, signals) and
 * `bad_input_usage_test.ts` (the command line).
 * Every row runs the real command in a fresh directory and asserts
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
 * reason. Others may add rows (keep them table-shaped).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "../_assert.ts";
import { childEnv, ROOT } from "../_run.ts";
import { GO119 } from "../_testdata.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import { TraceAnalyzer } from "../../lib/trace/analyze.ts";
import { StackTable } from "../../lib/trace/events.ts";
import { concat, deflateRaw } from "../_bytes.ts";

export const SHARED = fileURLToPath(GO119);
export const LEAK = `${SHARED}leak-n300.trace`;
export const BT = `${SHARED}binarytrees-d6.trace.gz`;
/** Counts of the clean inputs (tests/cli/analyze_test.ts pins them too). */
export const LEAK_COUNTS = { allocs: 1018, frees: 319, gcs: 1 };
export const BT_COUNTS = { allocs: 4521, frees: 4283, gcs: 1 };

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export interface Ctx {
  /** The case's directory (the command's working directory). */
  dir: string;
}

export interface Row {
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

export interface Entry {
  kind: string;
  mode: number | null;
  uid: number | null;
  data?: string;
  target?: string;
}

/** Every entry of `dir`; file contents only of those in `known` (all when undefined). */
export function snapshot(
  dir: string,
  known?: Map<string, Entry>,
): Map<string, Entry> {
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
export function digest(b: Uint8Array): string {
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

/** Copies `from` to a new file `to` that its owner may write, whatever the mode of `from` (a checkout may be read-only). */
export function copy(from: string, to: string) {
  Deno.copyFileSync(from, to);
  Deno.chmodSync(to, 0o644);
}

export const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** BGZF as bgzip writes it: 64 KiB blocks, each a member with a `BC` extra field, then an empty member. */
export async function bgzf(data: Uint8Array): Promise<Uint8Array> {
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

/** The leak trace with `f` applied to its lines. */
export function leakLines(f: (lines: string[]) => string[]): Uint8Array {
  const lines = dec.decode(Deno.readFileSync(LEAK)).split("\n");
  return enc.encode(f(lines).join("\n"));
}

/** `lines` with `line` put after every `every`-th record's goroutine line (inside the record). */
export function insideRecords(
  lines: string[],
  line: string,
  every: number,
): string[] {
  let k = 0;
  return lines.flatMap((l, i) =>
    l.startsWith("goroutine ") && lines[i - 1]?.startsWith("trace") &&
      k++ % every === 0
      ? [l, line]
      : [l]
  );
}

/** A tracealloc record at `addr` of `size` (hex digits). */
export const record = (addr: string, size: string) =>
  `tracealloc(0x${addr}, 0x${size}, main.T)\ngoroutine 1 [running]:\nruntime.mallocgc(0x10, 0x0, 0x0)\n\truntime/malloc.go:1131 +0x7b1 fp=0x1 sp=0x2 pc=0x40c531\nmain.main()\n\tmain.go:3 +0x1d\n\n`;

/** Per site: allocations, bytes, live objects (as `analyze --json` gives them), sorted. */
export function siteFigures(doc: {
  sites: { site: string; allocs: number; allocBytes: number; live: number }[];
}): string[] {
  return doc.sites.map((s) => `${s.site} ${s.allocs} ${s.allocBytes} ${s.live}`)
    .sort();
}

/** The clean leak trace's per-site figures, read by the library. */
let _leakSites: string[] | undefined;

/**
 * The `--json` analysis on stdout attributes every record as the clean trace
 * does. The clean figures are computed at the first call: of the three row
 * files only `bad_input_test.ts` asks, and the others need not parse the
 * trace when they load.
 */
export function sameSites(stdout: string): void {
  _leakSites ??= (() => {
    const stacks = new StackTable();
    const a = new TraceAnalyzer(stacks);
    const p = new ByteTraceParser((e) => a.add(e), stacks);
    p.feed(Deno.readFileSync(LEAK));
    p.end();
    return siteFigures(a.finish());
  })();
  assertEquals(siteFigures(JSON.parse(stdout)), _leakSites);
}

/** The peak RSS /usr/bin/time wrote to `dir`/rss is under `mib` MiB. */
export function rssBelow(dir: string, mib: number): void {
  // (GNU time puts "Command exited with non-zero status N" first.)
  const kib = Number(
    Deno.readTextFileSync(`${dir}/rss`).trim().split("\n").at(-1),
  );
  assertTrue(kib > 0 && kib < mib * 1024, `peak RSS ${kib} KiB`);
}

export function tmpfsOk(): string | null {
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

export function mountFull(dir: string) {
  Deno.mkdirSync(dir);
  const r = new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
  }).outputSync();
  assertTrue(r.success, dec.decode(r.stderr));
}

export function hasTool(name: string): string | null {
  const r = new Deno.Command("sh", {
    args: ["-c", `command -v ${name}`],
    stdout: "null",
  }).outputSync();
  return r.success ? null : `${name} is missing`;
}

export const NOBODY = 65534;
export let nobodyDir: string | null = null;

/**
 * A copy of Deno, the tool and its npm cache that user 65534 can run (the
 * originals may sit under a 0700 home); made once, removed at exit.
 */
export function nobodyCopy(): string {
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

export function nobodyOk(): string | null {
  if (Deno.uid() !== 0) return "needs root to switch to user 65534";
  return hasTool("setpriv");
}

export function rootOnly(): string | null {
  return Deno.uid() === 0 ? null : "needs root (mknod, a root-owned victim)";
}

const AT = `"${Deno.execPath()}" run -A "${ROOT}main.ts"`;

// ---------------------------------------------------------------------------

/** Registers a test for each row. */
export function badInputSuite(rows: Row[]): void {
  for (const row of rows) {
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
          const why = `\nstdout: ${
            r.stdout.slice(0, 2000)
          }\nstderr: ${r.stderr}`;
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
}

async function runRow(
  row: Row,
  dir: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = childEnv({ NO_COLOR: "1", ...row.env });
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
      clearEnv: true,
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
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", ...(row.perms ?? ["-A"]), `${ROOT}main.ts`, ...row.args!],
      cwd: dir,
      clearEnv: true,
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

/**
 * A new memory cgroup directory (v1's memory controller or v2's) under this
 * process's own, where root may make one; null when there is none to make.
 */
export function cgroupDir(): string | null {
  if (Deno.uid() !== 0) return null;
  for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
    const [, ctl, path] = line.split(":");
    const base = ctl === "memory"
      ? "/sys/fs/cgroup/memory"
      : ctl === "" && path !== undefined
      ? "/sys/fs/cgroup"
      : null;
    if (base === null) continue;
    const dir = `${base}${path === "/" ? "" : path}/alloctrace-${Deno.pid}-${
      Math.random().toString(36).slice(2)
    }`;
    try {
      Deno.mkdirSync(dir);
      Deno.removeSync(dir);
      return dir;
    } catch {
      // not writable here
    }
  }
  return null;
}

export function cgroupOk(): string | null {
  if (Deno.uid() !== 0) return "needs root to make a memory cgroup";
  return cgroupDir() === null ? "no writable memory cgroup here" : null;
}

/**
 * A shell line running `cmd` in a new memory cgroup limited to `bytes`,
 * removing the cgroup after; its exit code is `cmd`'s.
 */
export function inCgroup(bytes: number, cmd: string): string {
  // (Called as the table is built, also where the row is then skipped by
  // cgroupOk: as a user who may make no cgroup, the file failed to load.)
  const cg = cgroupDir();
  if (cg === null) return "echo no memory cgroup here >&2; exit 125";
  const limit = cg.startsWith("/sys/fs/cgroup/memory/")
    ? "memory.limit_in_bytes"
    : "memory.max";
  return `mkdir '${cg}' && echo ${bytes} > '${cg}/${limit}' && ` +
    `( echo $BASHPID > '${cg}/cgroup.procs' && exec ${cmd} ); rc=$?; ` +
    `rmdir '${cg}'; exit $rc`;
}
