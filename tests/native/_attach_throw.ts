/**
 * Run by attach_throw_test.ts (in a process of its own: a trace that
 * leaves threads stopped, or hangs, is ended with it): attaches to process
 * `pid` and throws from the event callback at the `nth` event, partway
 * through the trace. Prints `{"threw":…}` (the error's message) once
 * traceNative has given the error back.
 *
 * Usage: deno run -A tests/native/_attach_throw.ts PID NTH [at|from|size [GO]]
 */
import { traceNative } from "../../lib/native/tracer.ts";

const [pid, nth] = [Number(Deno.args[0]), Number(Deno.args[1])];
// "at" (default): once, at event `nth`; "from": at every event from the
// `nth` on (a consumer that stays broken: it throws again on the rings'
// last records); "size": at the event of that size (a go file, argv[3],
// made at the first event).
const how = Deno.args[2] ?? "at";
const go = Deno.args[3];
let n = 0;
let threw = "";
// Threads of the program in a ptrace stop when the callback throws (the
// stops the clean-up must undo): a row with none proves less.
let held = -1;
const heldNow = () => {
  let k = 0;
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/stat`);
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "t") k++;
    } catch { /* ended */ }
  }
  return k;
};
const fail = (message: string) => {
  if (held < 0) held = heldNow();
  return new Error(message);
};
try {
  traceNative([], {
    attach: pid,
    stacks: false,
    onEvent: (e) => {
      n++;
      if (go !== undefined && n === 1) Deno.writeTextFileSync(go, "");
      if (how === "at" && n === nth) throw fail(`thrown at event ${nth}`);
      if (how === "from" && n >= nth) throw fail(`thrown at event ${n}`);
      if (how === "size" && e.size === nth) {
        throw fail(`thrown at size ${nth}`);
      }
    },
    detachWanted: () => false,
  });
} catch (e) {
  threw = (e as Error).message;
}
console.log(JSON.stringify({ threw, held }));
// The attached program must run on after we are gone, too.
