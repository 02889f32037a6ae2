/**
 * Run by attach_forks_test.ts (in a process of its own: a detach that
 * hangs is ended with it): attaches to process `pid` and detaches once
 * `nth` events have been read. Prints `{"code":…,"events":…}` once
 * traceNative has returned.
 *
 * Usage: deno run -A tests/native/_attach_detach.ts PID NTH
 */
import { traceNative } from "../../lib/native/tracer.ts";

const [pid, nth] = [Number(Deno.args[0]), Number(Deno.args[1])];
let events = 0;
const code = traceNative([], {
  attach: pid,
  stacks: false,
  onEvent: () => {
    events++;
  },
  detachWanted: () => events >= nth,
});
console.log(JSON.stringify({ code, events }));
