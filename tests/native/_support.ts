/**
 * What the native tests share: whether they can run here (a C compiler,
 * ptrace permitted, libunwind for the breakpoint mode), compiling a test
 * program, and tracing it into an array.
 *
 * @module
 */
import { assertEquals } from "../_assert.ts";
import { childEnv, ROOT, run } from "../_run.ts";
import { type NativeEvent, traceNative } from "../../lib/native/tracer.ts";

/** Whether `cmd --version` runs. */
export async function tool(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

/** Why the native tests cannot run here ("" when they can). */
export let skip = "";
if (!(await tool("cc"))) skip = "no C compiler (cc)";
else {
  try {
    traceNative(["/bin/true"], { onEvent: () => {} });
  } catch (e) {
    skip = (e as Error).message;
  }
}
if (skip) console.log(`native tests: skipped: ${skip}`);

/** Why the breakpoint-mode tests cannot run (they need libunwind-ptrace). */
export let skipBreakpoints = skip;
if (skip === "") {
  try {
    traceNative(["/bin/true"], { mode: "breakpoints", onEvent: () => {} });
  } catch (e) {
    skipBreakpoints = (e as Error).message;
    console.log(
      `native tests: breakpoint-mode tests skipped: ${skipBreakpoints}`,
    );
  }
}

/** A temporary directory for the compiled programs. */
export const dir: string = await Deno.makeTempDir({
  prefix: "alloctrace-native-",
});
// Removed when the test file is done (each run left one, binaries and all).
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // already gone
  }
});

/** Compiles `src` (C, or C++ with `cxx`) at -g -O1 into `dir/name`. */
export async function compile(
  name: string,
  src: string,
  extra: string[] = [],
  cxx = false,
): Promise<string> {
  const ext = cxx ? "cc" : "c";
  await Deno.writeTextFile(`${dir}/${name}.${ext}`, src);
  const out = await run(cxx ? "c++" : "cc", [
    "-g",
    "-O1",
    "-fno-omit-frame-pointer",
    "-o",
    `${dir}/${name}`,
    `${dir}/${name}.${ext}`,
    ...extra,
  ]);
  if (out.code !== 0) throw new Error(out.stderr);
  return `${dir}/${name}`;
}

/**
 * A test program that runs until it is told to stop: `src` compiled as
 * `name` (with `extra` flags) and started with one path per entry of
 * `files`, `dir/name.FILE`, as its arguments (the first is where it writes
 * its pid, for {@link pidFrom}), its output discarded.
 */
export async function startProgram(
  name: string,
  src: string,
  files: string[],
  extra: string[] = [],
): Promise<{ prog: Deno.ChildProcess; paths: string[] }> {
  const bin = await compile(name, src, extra);
  const paths = files.map((x) => `${dir}/${name}.${x}`);
  const prog = new Deno.Command(bin, {
    args: paths,
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { prog, paths };
}

/**
 * A program for {@link startProgram} that allocates now and then and sleeps
 * in between: it writes its pid to argv[1], then mallocs and frees 4,000
 * bytes every 5 ms, and exits 5 once the file argv[2] exists.
 */
export const SLEEPER = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *volatile keep;
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  for (;;) {
    void *p = malloc(4000); keep = p; free(p);
    if (access(argv[2], F_OK) == 0) return 5;
    usleep(5000);
  }
}
`;

/** Traces `argv` in this thread; its exit code and every event. */
export function trace(
  argv: string[],
  opts: Omit<Parameters<typeof traceNative>[1], "onEvent"> = {},
): { code: number; events: NativeEvent[] } {
  const events: NativeEvent[] = [];
  const code = traceNative(argv, { ...opts, onEvent: (e) => events.push(e) });
  return { code, events };
}

/**
 * Checks the events of a program whose thread `t` (of `threads`) makes
 * `pairs` malloc(16 + t)/free pairs: each thread's mallocs all come from one
 * tid, and in that thread's own order each malloc is followed by its free.
 */
export function checkPairs(
  events: NativeEvent[],
  threads: number,
  pairs: number,
  what: string,
): void {
  for (let t = 0; t < threads; t++) {
    const mine = events.filter((e) => e.kind === "malloc" && e.size === 16 + t);
    assertEquals(mine.length, pairs, `${what}: mallocs of thread ${t}`);
    const tids = new Set(mine.map((e) => e.tid));
    assertEquals(tids.size, 1, `${what}: one tid for thread ${t}`);
    const own = events.filter((e) => tids.has(e.tid));
    let n = 0;
    for (let i = 0; i + 1 < own.length; i++) {
      const [a, b] = [own[i], own[i + 1]];
      if (
        a.kind === "malloc" && a.size === 16 + t && b.kind === "free" &&
        b.addr === a.addr
      ) n++;
    }
    assertEquals(n, pairs, `${what}: malloc/free pairs of thread ${t}`);
  }
}

/**
 * `deno run -A main.ts native <args>` with the current Deno, from the
 * project's root, not yet spawned: for the tests that signal the tracer,
 * attach to a running program or watch it while it runs.
 */
export function nativeCommand(
  args: string[],
  stdout: "piped" | "null" = "piped",
  stderr: "piped" | "null" = "piped",
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "native", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: childEnv(),
    stdout,
    stderr,
  });
}

/** A promise that resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

/** The number a program wrote to file `f` (0 while there is none). */
export const readNumber = async (f: string): Promise<number> =>
  Number((await Deno.readTextFile(f).catch(() => "")).trim());

/**
 * Whether the counter a program writes to `f` moves on within 10 s (a loaded
 * machine can be slow).
 */
export async function advances(f: string): Promise<boolean> {
  const from = await readNumber(f);
  for (let i = 0; i < 200; i++) {
    await sleep(50);
    if (await readNumber(f) > from) return true;
  }
  return false;
}

/** The TracerPid line of process `pid`'s status ("0": nobody traces it). */
export const tracerOf = async (pid: number): Promise<string | undefined> =>
  /^TracerPid:\s*(\d+)/m.exec(await Deno.readTextFile(`/proc/${pid}/status`))
    ?.[1];

/**
 * The pid a program writes to `pidFile` once it runs, read every `everyMs`
 * until it is there (0 when it is not after `tries` reads).
 */
export async function pidFrom(
  pidFile: string,
  tries: number,
  everyMs = 20,
): Promise<number> {
  let pid = 0;
  for (let i = 0; i < tries && pid === 0; i++) {
    await sleep(everyMs);
    pid = await readNumber(pidFile);
  }
  return pid;
}

/**
 * `p`'s value, or null when it has not come after `ms` (a watchdog: what
 * cannot end fails the test instead of hanging it).
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<null>((r) => timer = setTimeout(() => r(null), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The first 16 bytes of `malloc` in process `pid` and in ours (same libc),
 * read through thread `via` of it (a main thread that has ended has no
 * maps or memory any more).
 */
export async function mallocBytes(
  pid: number,
  via = pid,
): Promise<[string, string]> {
  const { loadLibc, cstr } = await import("../../lib/native/ffi.ts");
  const c = loadLibc();
  const self = c.dlopen(cstr("libc.so.6"), 0x4 | 0x1);
  const p = c.dlsym(self, cstr("malloc"))!;
  const addr = BigInt(Deno.UnsafePointer.value(p));
  const mine = new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(p, 16).slice(0),
  );
  // Same libc, but mapped elsewhere: find malloc's offset in each map.
  const base = (text: string) =>
    BigInt(
      "0x" +
        text.split("\n").find((l) =>
          /libc\.so\.6$/.test(l) && / 00000000 /.test(l)
        )!.split("-")[0],
    );
  const off = addr - base(await Deno.readTextFile("/proc/self/maps"));
  const theirs = base(await Deno.readTextFile(`/proc/${via}/maps`)) + off;
  const f = await Deno.open(`/proc/${via}/mem`);
  await f.seek(theirs, Deno.SeekMode.Start);
  const buf = new Uint8Array(16);
  await f.read(buf);
  f.close();
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16)).join(" ");
  return [hex(buf), hex(mine)];
}

/**
 * Runs tracer script `script` (under tests/native) with `args` in a
 * process of its own (a trace that hangs or leaves threads stopped ends
 * with it): its exit code, stdout and stderr; throws `hung` when it has
 * not ended after 60 s (killed), so a hang fails the test.
 */
export async function runTracer(
  script: string,
  args: string[],
  hung: string,
): Promise<{ code: number; said: string; err: string }> {
  const tracer = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", `tests/native/${script}`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await within(tracer.output(), 60_000);
  if (out === null) {
    tracer.kill("SIGKILL");
    throw new Error(hung);
  }
  const dec = new TextDecoder();
  return {
    code: out.code,
    said: dec.decode(out.stdout),
    err: dec.decode(out.stderr),
  };
}
