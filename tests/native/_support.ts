/**
 * What the native tests share: whether they can run here (a C compiler,
 * ptrace permitted, libunwind for the breakpoint mode), compiling a test
 * program, and tracing it into an array.
 *
 * @module
 */
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
