/**
 * Whether an input is a Go 1.23+ execution trace, from its first bytes
 * alone: the commands that read one load its reader (`_readexec.ts`) only
 * then, so reading an allocfreetrace log does not load it.
 *
 * @module
 */

import { readHeader } from "../trace/exectrace/format.ts";
import { type Input, peekStream } from "./_input.ts";

/** Whether `input` is an execution trace; for gzip, peeks at the decompressed start. */
export async function sniffExecTrace(input: Input): Promise<Input | null> {
  if (!input.gzip) {
    return readHeader(input.head).kind === "exec" ? input : null;
  }
  // The text path reads the same stream afterwards: hand the peeked chunk back.
  const { head, stream } = await peekStream(input.stream);
  input.stream = stream;
  return readHeader(head).kind === "exec" ? input : null;
}
