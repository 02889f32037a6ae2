/**
 * `alloctrace run`'s workload: a built-in one with its parameters, or a
 * user's script (a path or URL) with the arguments after it.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { waitingOn } from "./_stall.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { findWorkload, WORKLOADS } from "../workload/registry.ts";
import {
  isScriptSpecifier,
  loadScriptWorkload,
  type ScriptWorkload,
} from "../workload/loader.ts";
import { OutOfMemoryError } from "../runtime/mheap.ts";
import { intOption, shown, UsageError } from "./_usage.ts";
import { SignalExit } from "./_signals.ts";

/**
 * The `--trace-out` file would pass `--trace-max`: the run stops and the
 * file is not written (thrown from the trace's sink, through the workload).
 */
export class TraceMaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceMaxError";
  }
}

/** Every built-in workload's parameter names, once each (`--n` is shared). */
export const PARAM_NAMES: readonly string[] = [
  ...new Set(WORKLOADS.flatMap((w) => w.params.map((p) => p.name))),
];

/**
 * One help line per workload parameter, naming the workload(s) that take
 * it; a name several workloads share (`--n`) says what it means for each,
 * since that differs. Aligned and wrapped by the help formatter.
 */
export function paramHelp(): string {
  const uses = new Map<string, string[]>();
  for (const w of WORKLOADS) {
    for (const p of w.params) {
      uses.set(p.name, [...uses.get(p.name) ?? [], `${w.name}: ${p.help}`]);
    }
  }
  return [...uses].map(([name, helps]) =>
    `  --${name} N  workload parameter: ${helps.join("; ")}`
  ).join("\n");
}

/** The workload a `run` command line names, checked, ready to load. */
export interface ChosenWorkload {
  /** The built-in workload's name, or the script's path or URL. */
  name: string;
  /** Whether `name` is a script. */
  script: boolean;
  /** Loads the workload (a script is imported here) and returns its body. */
  load(
    args: Record<string, number>,
  ): Promise<(rt: Runtime) => void | Promise<void>>;
  /**
   * The built-in workload's parameters from `values`, defaults filled in
   * (none for a script).
   *
   * @throws {UsageError} for a bad value or a parameter the workload does
   * not take.
   */
  args(
    values: Record<string, string | boolean | undefined>,
  ): Record<string, number>;
}

/**
 * Chooses the workload from `run`'s positionals (default binarytrees).
 *
 * @throws {UsageError} for an unknown workload or extra positionals.
 */
export function chooseWorkload(positionals: string[]): ChosenWorkload {
  const name = positionals[0] ?? "binarytrees";
  const script = isScriptSpecifier(name);
  if (!script && positionals.length > 1) {
    throw new UsageError(
      `run takes one built-in workload, got ${positionals.length}: ${
        positionals.join(" ")
      } (arguments after a script's path go to the script)`,
    );
  }
  const workload = script ? undefined : findWorkload(name);
  if (!script && workload === undefined) {
    throw new UsageError(
      `unknown workload "${name}": built-in workloads are ${
        WORKLOADS.map((w) => w.name).join(", ")
      } (or give a script's path or URL)`,
    );
  }
  return {
    name,
    script,
    args(values) {
      const args: Record<string, number> = {};
      for (const p of workload?.params ?? []) {
        args[p.name] = intOption(
          p.name,
          values[p.name] as string | undefined,
          p.default,
          p.min,
          p.max,
        );
      }
      for (const n of PARAM_NAMES) {
        if (
          values[n] !== undefined && !workload?.params.some((p) => p.name === n)
        ) {
          throw new UsageError(
            `--${n} is not a parameter of ${name} (see alloctrace workloads)`,
          );
        }
      }
      return args;
    },
    load: (args) =>
      workload !== undefined
        ? Promise.resolve((rt: Runtime) => workload.run(rt, args))
        : _loadScript(name, positionals.slice(1)),
  };
}

/**
 * Imports the script `name` (a path, relative to the working directory, or
 * a URL); its errors, at load and when it runs, become one line naming it.
 */
async function _loadScript(
  name: string,
  sargs: string[],
): Promise<(rt: Runtime) => Promise<void>> {
  // A path is escaped into its URL ('#', '?', '%' and spaces are a file
  // name's characters, not the URL's fragment, query or escapes).
  const url = /^(https?|file):\/\//.test(name)
    ? name
    : pathToFileURL(resolve(Deno.cwd(), name)).href;
  let fn: ScriptWorkload;
  try {
    fn = await loadScriptWorkload(url);
  } catch (e) {
    // The loader's own "no default export" error names the script by its
    // URL: named as given instead, as every other line names it.
    if (e instanceof TypeError && e.message.includes("default export")) {
      e.message = e.message.replace(url, shown(name));
      throw e;
    }
    // (A script may throw any value as it loads, not only an Error.)
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `cannot load workload script ${name}: ${why.split("\n")[0]}`,
    );
  }
  return async (rt) => {
    const done = waitingOn(
      `workload script ${
        shown(name)
      } returned a promise that never settles: nothing is left for it to wait on`,
    );
    try {
      await fn(rt, sargs);
    } catch (e) {
      if (
        e instanceof OutOfMemoryError || e instanceof SignalExit ||
        e instanceof TraceMaxError
      ) throw e;
      throw new Error(
        `workload script ${name} failed: ${(e as Error)?.message ?? String(e)}`,
      );
    } finally {
      done();
    }
  };
}
