import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { GO119, traceText } from "../_testdata.ts";
import { ByteTraceParser } from "../../lib/trace/byte_parser.ts";
import type { StackTable, TraceEvent } from "../../lib/trace/events.ts";
import { readLaterPart } from "./_later_part.ts";

// The Worker's records that the scanner's record table knows reach its
// packer in bulk (EventPacker.packed), not one call each: read in two parts
// with the second part packed, a real trace (its records whole, past the
// table's first sight of each stack) gives one parser's events.
const real = new TextEncoder().encode(
  await traceText("binarytrees-d6.trace.gz", GO119),
);

Deno.test("a real trace's later part packed in bulk from the scanner's record table gives one parser's events", () => {
  const render = (p: { stacks: StackTable }, e: TraceEvent) =>
    `${JSON.stringify(e)} ${
      e.kind === "gc"
        ? ""
        : p.stacks.get(e.stack).map((f) => `${f.func}@${f.file}:${f.line}`)
          .join("|")
    }`;
  let tabled = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: real.length - 1 }),
      fc.integer({ min: 4096, max: 1 << 20 }),
      fc.integer({ min: 1, max: 9000 }),
      (cutAt, chunk, batch) => {
        const feed = (p: ByteTraceParser, b: Uint8Array) => {
          for (let i = 0; i < b.length; i += chunk) {
            p.feed(b.subarray(i, i + chunk));
          }
        };
        const want: string[] = [];
        const one = new ByteTraceParser((e) => want.push(render(one, e)));
        feed(one, real);
        one.end();
        // Cut after a blank line, where a Worker's part starts.
        let nl = real.indexOf(10, cutAt);
        while (nl >= 0 && real[nl + 1] !== 10) nl = real.indexOf(10, nl + 1);
        if (nl < 0) return;
        nl++;
        const got: string[] = [];
        const first = new ByteTraceParser((e) => got.push(render(first, e)));
        feed(first, real.subarray(0, nl + 1));
        assertTrue(first.idle, `not idle at ${nl + 1}`);
        const second = readLaterPart(
          first,
          real.subarray(nl + 1),
          batch,
          feed,
          (e) => got.push(render(first, e)),
        );
        tabled += second.tableRecords;
        first.end();
        assertEquals(got, want);
        assertEquals(first.stats, one.stats);
      },
    ),
    { numRuns: 25, seed: Number(Deno.env.get("FC_SEED") ?? 20261130) },
  );
  // The bulk path was taken (most of a part's records come from the table).
  assertTrue(tabled > 10000, `${tabled} records from the record table`);
});
