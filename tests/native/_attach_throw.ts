/**
 * Run by attach_throw_test.ts (in a process of its own: a trace that
 * leaves threads stopped, or hangs, is ended with it): attaches to process
 * `pid` and throws from the event callback at the `nth` event, partway
 * through the trace. Prints `{"threw":…}` (the error's message) once
 * traceNative has given the error back.
 *
 * Usage: deno run -A tests/native/_attach_throw.ts PID NTH
 */
import { traceNative } from "../../lib/native/tracer.ts";

const [pid, nth] = [Number(Deno.args[0]), Number(Deno.args[1])];
let n = 0;
let threw = "";
try {
  traceNative([], {
    attach: pid,
    stacks: false,
    onEvent: () => {
      if (++n === nth) throw new Error(`thrown at event ${nth}`);
    },
    detachWanted: () => false,
  });
} catch (e) {
  threw = (e as Error).message;
}
console.log(JSON.stringify({ threw }));
// The attached program must run on after we are gone, too.
