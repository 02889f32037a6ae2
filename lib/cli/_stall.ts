/**
 * What the command is waiting on, for the one line it ends with when
 * Deno's event loop runs dry while it waits (a script's promise that never
 * settles): Deno's own ending is four lines ("error: Top-level await
 * promise never resolved", the entry's line, a caret).
 *
 * @module
 */

let _why: string | null = null;

/**
 * Says what the command waits on from now; the returned function says it
 * no longer does.
 */
export function waitingOn(why: string): () => void {
  const was = _why;
  _why = why;
  return () => {
    _why = was;
  };
}

/** The line's text when the loop ran dry: what was waited on. */
export function stalledText(): string {
  return _why ??
    "the command stopped with nothing left to wait for (a bug of alloctrace's: ALLOCTRACE_DEBUG=1 says no more)";
}
