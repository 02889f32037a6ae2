/**
 * GODEBUG, parsed with the semantics of the preset's Go version
 * (reference section 1): the seed-era C parser (a field matches a name when
 * it starts with `name=`; the value is the run of leading digits; unknown
 * fields are ignored) and Go 1.19's (exact keys, `memprofilerate`, values
 * that do not parse leave the variable as it was).
 *
 * @module
 */

import { getPreset } from "./presets.ts";

/** The result of parsing GODEBUG. */
export interface GoDebug {
  /** Variable values (every known variable is present; unset ones are 0 or Go's default). */
  vars: Record<string, number>;
  /** `memprofilerate=N` (go1.19 only), when given and valid. */
  memprofilerate?: number;
  /** Field names the preset does not know (ignored, as Go does). */
  unknown: string[];
}

/** Go 1.2's runtime `atoi`: leading ASCII digits only, wrapping at int32. */
function cAtoi(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = (n * 10 + c) | 0;
  }
  return n;
}

/** Go 1.19's `atoi64`: optional `-`, digits only, no overflow; null when invalid. */
function goAtoi(s: string, min: number, max: number): number | null {
  if (s.length === 0) return null;
  let neg = false;
  let i = 0;
  if (s[0] === "-") {
    neg = true;
    i = 1;
  }
  let n = 0n;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10n + BigInt(c);
    if (n > 2n ** 63n) return null;
  }
  const v = neg ? -n : n;
  if (v < BigInt(min) || v > BigInt(max)) return null;
  return Number(v);
}

/**
 * Parses a GODEBUG string for a preset (by name), with its Go version's
 * parser, variables and defaults.
 *
 * @example
 * ```ts
 * import { parseGodebug } from "../../mod.ts";
 * const a = parseGodebug("go1.19", "allocfreetrace=1,gctrace=2x,foo=3");
 * if (a.vars.allocfreetrace !== 1 || a.vars.gctrace !== 0 || a.unknown[0] !== "foo") throw new Error();
 * const b = parseGodebug("go1.2-seed", "gctrace=2x,allocfreetrace=1");
 * if (b.vars.gctrace !== 2 || b.vars.allocfreetrace !== 1) throw new Error();
 * ```
 */
export function parseGodebug(preset: string, s: string): GoDebug {
  const { godebugVars: names, godebugParser, godebugDefaults } = getPreset(
    preset,
  );
  const vars: Record<string, number> = {};
  for (const n of names) vars[n] = 0;
  const unknown: string[] = [];
  const out: GoDebug = { vars, unknown };
  if (godebugParser === "c-prefix") {
    let p = 0;
    while (p < s.length) {
      const rest = s.slice(p);
      const hit = names.find((n) => rest.startsWith(n + "="));
      if (hit !== undefined) vars[hit] = cAtoi(rest.slice(hit.length + 1));
      else if (rest.length > 0) unknown.push(rest.split(",")[0].split("=")[0]);
      const comma = s.indexOf(",", p);
      if (comma < 0) break;
      p = comma + 1;
    }
    return out;
  }
  Object.assign(vars, godebugDefaults);
  for (const field of s.split(",")) {
    const eq = field.indexOf("=");
    if (eq < 0) {
      if (field !== "") unknown.push(field);
      continue;
    }
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (key === "memprofilerate") {
      const n = goAtoi(value, -(2 ** 63), 2 ** 63 - 1);
      if (n !== null) out.memprofilerate = n;
      continue;
    }
    if (!names.includes(key)) {
      unknown.push(key);
      continue;
    }
    const n = goAtoi(value, -(2 ** 31), 2 ** 31 - 1);
    if (n !== null) vars[key] = n;
  }
  return out;
}
