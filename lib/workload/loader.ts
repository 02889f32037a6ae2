/**
 * Script workloads: a user's module, from a path or a URL, whose default
 * export receives the runtime (and the script's own arguments):
 *
 * ```ts ignore
 * // my_workload.ts
 * import type { Runtime } from "https://…/alloctrace/mod.ts";
 * export default function (rt: Runtime, args: string[]) {
 *   const t = rt.types.define("main.T", { size: 64, pointers: [0] });
 *   rt.call("main.main", "main.go", 10, () => {
 *     for (let i = 0; i < Number(args[0] ?? 1000); i++) rt.newobject(t);
 *   });
 * }
 * ```
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";

/** The shape of a script workload's default export. */
export type ScriptWorkload = (
  rt: Runtime,
  args: string[],
) => void | Promise<void>;

/** True when a `run` argument names a script rather than a built-in workload. */
export function isScriptSpecifier(s: string): boolean {
  return /^(https?|file):\/\//.test(s) || s.includes("/") ||
    /\.(ts|js|mts|mjs)$/.test(s);
}

/**
 * Loads a script workload. `resolved` is an absolute URL (the caller
 * resolves relative paths against its working directory).
 *
 * @throws {TypeError} when the module has no default export function.
 */
export async function loadScriptWorkload(
  resolved: string,
): Promise<ScriptWorkload> {
  const mod = await import(resolved);
  if (typeof mod.default !== "function") {
    throw new TypeError(
      `workload script ${resolved} has no default export function (export default function (rt, args) { … })`,
    );
  }
  return mod.default as ScriptWorkload;
}
