#!/usr/bin/env -S deno run --allow-env=GODEBUG,GOGC,ALLOCTRACE_DEBUG,NO_COLOR,TERM
/**
 * The alloctrace command line. See `alloctrace --help`.
 *
 * @module
 */

import { main, stalledText } from "./lib/cli/main.ts";
import { envVar } from "./lib/cli/_usage.ts";

if (import.meta.main) {
  // (No --allow-env for it: not debugging.)
  const debug = envVar("ALLOCTRACE_DEBUG") === "1";
  // Not a top-level await: with one, a command still waiting when the
  // event loop runs dry (a script's promise that never settles) ends in
  // Deno's own four lines; without, "beforeunload" comes first, once.
  let ended = false;
  globalThis.addEventListener("beforeunload", () => {
    if (ended) return;
    console.error(`alloctrace: ${stalledText()}`);
    Deno.exit(1);
  });
  main(Deno.args, debug).then((code) => {
    ended = true;
    Deno.exit(code);
  });
}
