/**
 * Run by attach_exec_test.ts (in a process of its own, so that a detach
 * that hangs can be killed): attaches to process `pid`, lets its exec'ing
 * thread go (creates `goFile`) once the hooks report a call, and detaches
 * as soon as the marker call made right before that thread's exec is read:
 * at the exec's breakpoint, while the exec is on its way. Prints
 * `{"code":…,"marker":…}`.
 *
 * Usage: deno run -A tests/native/_exec_detach.ts PID GOFILE MARK
 */
import { traceNative } from "../../lib/native/tracer.ts";

const [pid, goFile, mark] = [
  Number(Deno.args[0]),
  Deno.args[1],
  Number(Deno.args[2]),
];
let go = false;
let marker = false;
const from = performance.now();
const code = traceNative([], {
  attach: pid,
  stacks: false,
  onEvent: (e) => {
    if (!go) {
      go = true;
      Deno.writeTextFileSync(goFile, "");
    }
    if (e.kind === "malloc" && e.size === mark) marker = true;
  },
  detachWanted: () => marker || performance.now() - from > 20_000,
});
console.log(JSON.stringify({ code, marker }));
