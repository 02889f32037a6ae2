/**
 * A trace's later part read as the Worker reads it (`lib/cli/_read_worker.ts`):
 * a fresh parser from where `first` is idle, its events packed in batches
 * and unpacked after `first`'s, its statistics absorbed by `first`.
 */
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import { EventPacker, EventUnpacker } from "../../lib/trace/event_batch.ts";
import { StackTable, type TraceEvent } from "../../lib/trace/events.ts";
import type { ParserOptions } from "../../lib/trace/parser.ts";

/** Reads `rest` after `first` (fed by `feed`), `batch` events a batch; each event to `emit`. Returns the later part's parser. */
export function readLaterPart(
  first: ByteTraceParser,
  rest: Uint8Array,
  batch: number,
  feed: (p: ByteTraceParser, b: Uint8Array) => void,
  emit: (e: TraceEvent) => void,
  opts: ParserOptions = {},
): ByteTraceParser {
  const base = first.stats.lines;
  const unpacker = new EventUnpacker(first.stacks);
  const stacks = new StackTable();
  const packer = new EventPacker(
    stacks,
    (b) => unpacker.unpack(b, base, emit),
    batch,
  );
  // (As the Worker: most events reach the packer as numbers.)
  const second = new ByteTraceParser((e) => packer.add(e), stacks, {
    ...opts,
    sink: packer,
  });
  feed(second, rest);
  second.end();
  packer.flush();
  first.absorb(second.stats);
  return second;
}
