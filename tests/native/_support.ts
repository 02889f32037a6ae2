/**
 * What the native tests share: whether they can run here (a C compiler,
 * ptrace permitted, libunwind for the breakpoint mode), compiling a test
 * program, and tracing it into an array.
 *
 * @module
 */
import { assertEquals } from "../_assert.ts";
import { run } from "../_run.ts";
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
