/**
 * Usage errors and the one-line error report shared by the subcommands.
 *
 * @module
 */

import {
  HEAP_SAMPLE_TYPES,
  type HeapSampleType,
} from "../profile/sample_types.ts";
import { printable } from "../report/units.ts";

/** A mistake in the command line: reported with exit code 2. */
export class UsageError extends Error {
  /** Makes a usage error; the message says what was wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A write to stdout failed (not a closed pipe): main reports it as
 * `cannot write stdout: REASON`, as a failed `console.log`.
 */
export class StdoutWriteError extends Error {
  /** Wraps the write's own error `cause` (its message kept). */
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "StdoutWriteError";
  }
}

/** Exit code for a usage error. */
export const EXIT_USAGE = 2;
/** Exit code for any other failure. */
export const EXIT_FAILURE = 1;

/**
 * `name` (a path, a command) as a message shows it: quoted as a JSON
 * string when it holds a control character, which printed raw would end
 * the message's one line (a newline) or act on the terminal (an escape
 * sequence).
 *
 * @example
 * ```ts
 * import { shown } from "./_usage.ts";
 * shown("a.trace"); // "a.trace"
 * shown("a\nb"); // "\"a\\nb\"" (printed: "a\nb", quotes and all)
 * ```
 */
export function shown(name: string): string {
  // JSON.stringify escapes C0 only: printable escapes DEL and C1 after it.
  return printable(name) === name ? name : printable(JSON.stringify(name));
}

/**
 * `name` as one word of a shell command a message suggests: as it is when
 * no shell treats any of its characters specially, else in single quotes
 * (a path with a space, pasted as it was, was split in two).
 *
 * @example
 * ```ts
 * import { shellWord } from "./_usage.ts";
 * shellWord("a.trace"); // "a.trace"
 * shellWord("my a's.trace"); // "'my a'\\''s.trace'"
 * ```
 */
export function shellWord(name: string): string {
  return /^[\w@%+=:,./-]+$/.test(name)
    ? name
    : `'${name.replaceAll("'", "'\\''")}'`;
}

/**
 * An environment variable's value, or undefined when it is unset or may
 * not be read: the permission is asked first, since without `--allow-env`
 * for it, on a terminal, Deno stops at a prompt instead of failing.
 *
 * @example
 * ```ts
 * import { envVar } from "./_usage.ts";
 * envVar("NO_COLOR"); // undefined unless set (and allowed)
 * ```
 */
export function envVar(name: string): string | undefined {
  try {
    return Deno.permissions.querySync({ name: "env", variable: name })
        .state === "granted"
      ? Deno.env.get(name)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `path` holds U+FFFD: what a name that is not valid UTF-8 becomes
 * on its way into `Deno.args`, so that Deno cannot open the file by it.
 *
 * @example
 * ```ts
 * import { notUtf8 } from "./_usage.ts";
 * notUtf8("a\uFFFD.trace"); // true
 * ```
 */
export function notUtf8(path: string): boolean {
  return path.includes("\uFFFD");
}

/** One line for stderr describing `err`, without a stack trace. */
export function errorLine(err: unknown): string {
  if (err instanceof Error) {
    // (A control character that came in some other way is shown escaped.)
    const msg = printable(err.message.split("\n")[0]);
    if (err instanceof UsageError) return `alloctrace: ${msg}`;
    if (err.name === "NotCapable" || err.name === "PermissionDenied") {
      return `alloctrace: permission denied: ${msg}`;
    }
    return `alloctrace: ${msg}`;
  }
  return `alloctrace: ${String(err)}`;
}

/**
 * The reason of an OS error, without the system call and path Deno adds
 * ("File name too long (os error 36): lstat 'x…'" gives "File name too
 * long (os error 36)"): the caller names the path once, with its option.
 *
 * @example
 * ```ts
 * import { osReason } from "./_usage.ts";
 * osReason(new Error("Not a directory (os error 20): stat 'f/x'")); // "Not a directory (os error 20)"
 * ```
 */
export function osReason(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  return /^(.*\(os error \d+\)): \w+ '.*'$/.exec(msg)?.[1] ?? msg;
}

/** Parses a whole number option, or throws a UsageError naming the option. */
export function intOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    throw new UsageError(`--${name} takes a whole number, got "${value}"`);
  }
  const n = Number(value);
  if (n < min || n > max) {
    throw new UsageError(
      `--${name} must be from ${min} to ${max}, got ${value}`,
    );
  }
  return n;
}

/** Parses a sample-type option (`--folded-type`, `--type`), or throws a UsageError naming the choices. */
export function sampleTypeOption(
  name: string,
  value: string | undefined,
): HeapSampleType {
  const v = value ?? "alloc_space";
  if (!(HEAP_SAMPLE_TYPES as readonly string[]).includes(v)) {
    throw new UsageError(
      `--${name} must be one of ${HEAP_SAMPLE_TYPES.join(", ")}, got "${v}"`,
    );
  }
  return v as HeapSampleType;
}

/**
 * The options shared by the commands that print an analysis and write
 * its outputs (`analyze`, `native`): `--top`, `--json`, `--pprof`,
 * `--folded`, `--folded-type`, `--html`, `-q`/`--quiet`, `--help`.
 */
export const ANALYSIS_OPTIONS = {
  top: { type: "string" },
  json: { type: "boolean", default: false },
  pprof: { type: "string" },
  folded: { type: "string" },
  "folded-type": { type: "string", default: "alloc_space" },
  html: { type: "string" },
  quiet: { type: "boolean", short: "q", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;
