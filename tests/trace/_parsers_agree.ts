/**
 * The byte parser against the reference (string) parser on one input: the
 * same events, each with its stack's frames, and the same statistics.
 *
 * @module
 */

import { assertEquals } from "../_assert.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import { TraceParser } from "../../lib/trace/parser.ts";
import type { TraceEvent } from "../../lib/trace/events.ts";

/**
 * Asserts that the string parser reading `text` and the byte parser fed
 * `bytes` (its encoding, or the bytes `text` was decoded from) in chunks of
 * `chunk` give the same events, stacks and statistics.
 */
export function assertParsersAgree(
  text: string,
  bytes: Uint8Array,
  chunk: number,
  what?: string,
): void {
  const show = (
    p: { stacks: { get(i: number): readonly object[] } },
    e: TraceEvent,
  ) =>
    `${JSON.stringify(e)} ${
      e.kind === "gc" ? "" : JSON.stringify(p.stacks.get(e.stack))
    }`;
  const want: string[] = [];
  const sp = new TraceParser((e) => want.push(show(sp, e)));
  sp.feed(text);
  sp.end();
  const got: string[] = [];
  const bp = new ByteTraceParser((e) => got.push(show(bp, e)));
  for (let i = 0; i < bytes.length; i += chunk) {
    bp.feed(bytes.subarray(i, i + chunk));
  }
  bp.end();
  assertEquals(got, want, what);
  assertEquals(bp.stats, sp.stats, what);
}
