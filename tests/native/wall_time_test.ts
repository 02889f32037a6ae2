/**
 * Each injected-hook event carries the time its stub saw the call, not the
 * time the tracer read the ring: the program notes its own clock
 * (CLOCK_MONOTONIC, the clock the tracer's performance.now() runs on)
 * right before and right after each marker call, and every event's time
 * must then fit between its two notes, all with one offset between the
 * two clocks. A ring read 0.25–4 ms after the calls (or 35–50 ms, at the
 * start) gave each event a lag that no one offset fits; giving a record
 * made while its ring was being read the pairing's time (stub_clock.ts) put
 * the calls of a ring read late (a tracer preempted, or busy with a first
 * stack) 0.09–2.5 ms early.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, dir, skip, trace } from "./_support.ts";
import { steadyCounter } from "../../lib/native/stub_clock.ts";

// (Without a steady counter, events carry the ring reading's time.)
const steady = steadyCounter();
if (skip === "" && !steady) {
  console.log(
    "wall_time_test: skipped: the time-stamp counter is not steady here (clocksource not tsc)",
  );
}

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
  ignore: skip !== "" || !steady,
  async fn() {
    const bin = await compile("bursts", SRC);
    const notes = `${dir}/bursts.txt`;
    for (const stacks of [false, true]) {
      const clock = { error: NaN };
      const { code, events } = trace([bin, notes], { stacks, clock });
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
      // Slack for the two clocks' agreement: two events' errors, each at
      // most what the tracer's pairings of its clock with the counter allow
      // (StubClock.error: about a microsecond; more when the tracer was
      // preempted at every try of a pairing). It follows from the pairings
      // this trace made, not from how fast anything ran.
      assertTrue(clock.error >= 0, `clock error ${clock.error}`);
      const SLACK = 2 * clock.error;
      assertTrue(
        lo <= hi + SLACK,
        `stacks ${stacks}: no one offset fits every call (${lo} > ${hi} ms, slack ${SLACK} ms)`,
      );
      // The sleep between the bursts, as the events show it.
      const gap = marks[N / 2].time - marks[N / 2 - 1].time;
      const slept = ms[N / 2][0] - ms[N / 2 - 1][1];
      assertTrue(
        gap >= slept - SLACK,
        `gap ${gap} ms, slept ${slept} ms, slack ${SLACK} ms`,
      );
      // In the order the calls were made.
      for (let i = 1; i < N; i++) {
        assertTrue(marks[i].time >= marks[i - 1].time, `call ${i} in order`);
      }
    }
  },
});
