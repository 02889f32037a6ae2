/**
 * Run by detach_stub_test.ts (in a process of its own: a detach that
 * hangs is ended with it): attaches to process `pid`, stacks on (every
 * call's slot then waits for the tracer to free it), and detaches after
 * `ms` milliseconds, as `native -p --duration` does. Prints
 * `{"code":…,"events":…}` once traceNative has returned.
 *
 * Usage: deno run -A tests/native/_attach_for.ts PID MS
 */
import { traceNative } from "../../lib/native/tracer.ts";

const [pid, ms] = [Number(Deno.args[0]), Number(Deno.args[1])];
let events = 0;
let until = 0;
const code = traceNative([], {
  attach: pid,
  stacks: true,
  onEvent: () => {
    events++;
  },
  detachWanted: () => {
    until ||= Date.now() + ms;
    return Date.now() >= until;
  },
});
console.log(JSON.stringify({ code, events }));
