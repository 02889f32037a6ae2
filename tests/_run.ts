/**
 * Spawning the real `main.ts` (or any command) from tests.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** What a finished command printed and returned. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/**
 * The variables alloctrace reads (main.ts's --allow-env list). A command a
 * test runs gets none of them from the environment the suite runs in (a CI
 * box or a shell may export NO_COLOR, TERM=dumb, GOGC or ALLOCTRACE_DEBUG=1,
 * and the outputs would then differ): a test sets those it means.
 */
export const TOOL_ENV: readonly string[] = [
  "GODEBUG",
  "GOGC",
  "ALLOCTRACE_DEBUG",
  "NO_COLOR",
  "TERM",
];

/** This process's environment without {@link TOOL_ENV}, then `env` on top. */
export function childEnv(
  env: Record<string, string> = {},
): Record<string, string> {
  const out = Deno.env.toObject();
  for (const name of TOOL_ENV) delete out[name];
  return { ...out, ...env };
}

/** Runs a command to completion. */
export async function run(
  cmd: string,
  args: string[],
  opts: {
    cwd?: string;
    env?: Record<string, string>;
    stdin?: string | Uint8Array;
  } = {},
): Promise<Ran> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd ?? ROOT,
    clearEnv: true,
    env: childEnv(opts.env),
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof opts.stdin === "string"
        ? new TextEncoder().encode(opts.stdin)
        : opts.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** Runs `deno run <perms> main.ts <args>` with the current Deno (and `stdin`, if given). */
export function alloctrace(
  args: string[],
  perms: string[] = ["--allow-env=GODEBUG,GOGC,ALLOCTRACE_DEBUG,NO_COLOR"],
  stdin?: string | Uint8Array,
): Promise<Ran> {
  return run(Deno.execPath(), ["run", ...perms, "main.ts", ...args], {
    stdin,
  });
}

/** Runs `fn` with a fresh temporary directory, removed afterwards whatever happens. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix = "alloctrace-test-",
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    // A copy of a read-only checkout keeps its modes (directories 0555):
    // a user who is not root may then remove nothing in it until it is
    // made writable again.
    await run("chmod", ["-R", "u+w", dir]);
    await Deno.remove(dir, { recursive: true });
  }
}
