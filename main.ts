#!/usr/bin/env -S deno run --allow-env=GODEBUG,GOGC,ALLOCTRACE_DEBUG,NO_COLOR,TERM
/**
 * The alloctrace command line. See `alloctrace --help`.
 *
 * @module
 */

import { main } from "./lib/cli/main.ts";

if (import.meta.main) {
  let debug = false;
  try {
    debug = Deno.env.get("ALLOCTRACE_DEBUG") === "1";
  } catch {
    // No --allow-env: not debugging.
  }
  Deno.exit(await main(Deno.args, debug));
}
