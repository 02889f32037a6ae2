/**
 * Each injected-hook event carries the time its stub saw the call, not the
 * time the tracer read the ring: the program notes its own clock
 * (CLOCK_MONOTONIC, the clock the tracer's performance.now() runs on)
 * right before and right after each marker call, and every event's time
 * must then fit between its two notes, all with one offset between the
 * two clocks. A ring read 0.25–4 ms after the calls (or 35–50 ms, at the
 * start) gave each event a lag that no one offset fits.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, dir, skip, trace } from "./_support.ts";
import { loadLibc } from "../../lib/native/ffi.ts";
import { STAMP_SHIFT } from "../../lib/native/inject.ts";
import { StubClock } from "../../lib/native/stub_clock.ts";

const N = 40;
const MARK = 4321; // marker call i asks for MARK + i bytes
const SRC = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
void *volatile keep;
static long ns(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec; }
int main(int argc, char **argv) {
  static long before[${N}], after[${N}];
  for (int i = 0; i < ${N}; i++) {
    before[i] = ns(); keep = malloc(${MARK} + i); after[i] = ns();
    /* Two bursts, a sleep between; in a burst, 200 us of work between calls. */
    if (i == ${N / 2 - 1}) usleep(30000);
    else { long until = ns() + 200000; while (ns() < until) {} }
  }
  FILE *f = fopen(argv[1], "w");
  for (int i = 0; i < ${N}; i++) fprintf(f, "%ld %ld\\n", before[i], after[i]);
  fclose(f);
  return 0;
}
`;

Deno.test({
  name:
    "native: each event's wall time is when the stub saw the call (two bursts and the sleep between them, as the program's own clock saw them), not when the ring was read",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("bursts", SRC);
    const notes = `${dir}/bursts.txt`;
    for (const stacks of [false, true]) {
      const { code, events } = trace([bin, notes], { stacks });
      assertEquals(code, 0);
      const marks = events.filter((e) =>
        e.kind === "malloc" && e.size >= MARK && e.size < MARK + N
      );
      assertEquals(marks.map((e) => e.size - MARK), [...Array(N).keys()]);
      const ms = (await Deno.readTextFile(notes)).trim().split("\n")
        .map((l) => l.split(" ").map((x) => Number(x) / 1e6));
      // The offset between the clocks, bounded by each call: time − after
      // <= offset <= time − before.
      const lo = Math.max(...marks.map((e, i) => e.time - ms[i][1]));
      const hi = Math.min(...marks.map((e, i) => e.time - ms[i][0]));
      // (Slack for the two clocks' agreement: the stub and the tracer read
      // one counter, paired with the tracer's clock at each ring read. The
      // pairing is usually within microseconds, but a tracer preempted
      // around it has put events 0.09 ms (on a quiet CI machine) to 2.5 ms
      // (at load 20) off, not yet explained (see StubClock.at). The ring-read
      // times this test was written against were 13.7–20.1 ms off, so 5 ms
      // still tells the two apart; it is not a measure of how fast anything
      // ran.)
      const SLACK = 5;
      assertTrue(
        lo <= hi + SLACK,
        `stacks ${stacks}: no one offset fits every call (${lo} > ${hi} ms)`,
      );
      // The sleep between the bursts, as the events show it.
      const gap = marks[N / 2].time - marks[N / 2 - 1].time;
      const slept = ms[N / 2][0] - ms[N / 2 - 1][1];
      assertTrue(gap >= slept - SLACK, `gap ${gap} ms, slept ${slept} ms`);
    }
  },
});

Deno.test({
  name:
    "stub clock: a record's time is the reading's less the stamps since it, never later than the reading nor before the last time given; without a steady counter (no constant_tsc, nonstop_tsc), the reading's",
  ignore: skip !== "",
  fn() {
    const c = loadLibc();
    const stampOf = (tsc: bigint) =>
      Number(BigInt.asUintN(32, tsc >> BigInt(STAMP_SHIFT)));
    for (const steady of [true, false]) {
      const clock = new StubClock(c, performance.now(), steady);
      const early = stampOf(clock.tsc());
      // Until the tracer's clock has moved on by 1 ms.
      for (const from = performance.now(); performance.now() - from < 1;);
      const late = stampOf(clock.tsc());
      const now = clock.sync();
      const tEarly = clock.at(early);
      if (steady) {
        assertTrue(tEarly < now, `${tEarly} < ${now}`);
        // A record made after the reading is taken as at the reading.
        assertEquals(clock.at(stampOf(clock.tsc() + (1n << 20n))), now);
        // Times never go back: a record stamped before the last one given.
        assertEquals(clock.at(early), now);
      } else {
        assertEquals([tEarly, clock.at(late)], [now, now]);
      }
    }
  },
});
