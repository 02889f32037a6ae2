/**
 * Usage errors, exit codes and the one-line error report: what `main`
 * needs before it has loaded any subcommand (`_usage.ts` re-exports them
 * beside the option parsers).
 *
 * @module
 */

/** A mistake in the command line: reported with exit code 2. */
export class UsageError extends Error {
  /** Makes a usage error; the message says what was wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit code for a usage error. */
export const EXIT_USAGE = 2;
/** Exit code for any other failure. */
export const EXIT_FAILURE = 1;

/** One line for stderr describing `err`, without a stack trace. */
export function errorLine(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message.split("\n")[0];
    if (err instanceof UsageError) return `alloctrace: ${msg}`;
    if (err.name === "NotCapable" || err.name === "PermissionDenied") {
      return `alloctrace: permission denied: ${msg}`;
    }
    return `alloctrace: ${msg}`;
  }
  return `alloctrace: ${String(err)}`;
}
