/**
 * The one way a byte figure is printed, in every view: the terminal
 * summaries and call trees, the HTML report (its script is given this very
 * function's source) and table headings. The rule is `go tool pprof`'s, so a
 * figure also reads as pprof prints it for the same profile: steps of 1024,
 * the largest unit the figure reaches (B, kB, MB, GB, TB), two decimals
 * rounded half to even as Go's `%.2f` does, `.00` dropped. Unlike pprof, zero
 * is `0B` and a negative figure (a diff's change) is scaled by its size.
 *
 * @module
 */

/**
 * Formats `bytes` as `go tool pprof` does: `1023B`, `1kB`, `1.50MB`,
 * `1000kB` (the unit changes at 1024, never at 1000).
 *
 * The function uses nothing outside its body: the HTML report embeds its
 * source, so the page prints figures exactly as the terminal does.
 *
 * @example
 * ```ts
 * import { fmtBytes } from "./units.ts";
 * if (fmtBytes(1023) !== "1023B" || fmtBytes(1024) !== "1kB") throw new Error();
 * if (fmtBytes(1536 * 1024) !== "1.50MB" || fmtBytes(1000 * 1024) !== "1000kB") throw new Error();
 * if (fmtBytes(1152) !== "1.12kB") throw new Error("1.125 rounds half to even, as Go's %.2f");
 * ```
 */
export function fmtBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  const neg = bytes < 0;
  let scale = 1;
  let u = 0;
  while (Math.abs(bytes) >= scale * 1024 && u < units.length - 1) {
    scale *= 1024;
    u++;
  }
  if (u === 0) return `${bytes}B`;
  // Hundredths, rounded half to even (exact: the scale is a power of two).
  const x = Math.abs(bytes) * 100 / scale;
  let r = Math.floor(x);
  if (x - r > 0.5 || (x - r === 0.5 && r % 2 === 1)) r++;
  const whole = Math.floor(r / 100);
  const frac = r % 100;
  return `${neg ? "-" : ""}${whole}${
    frac === 0 ? "" : `.${String(frac).padStart(2, "0")}`
  }${units[u]}`;
}

/**
 * A count, with thousands separators, and its noun: singular for exactly
 * one. The text reports' one way to say how many.
 *
 * @example
 * ```ts
 * import { countOf } from "./units.ts";
 * if (countOf(1, "block") !== "1 block") throw new Error();
 * if (countOf(2000, "free") !== "2,000 frees") throw new Error();
 * if (countOf(0, "GC cycle") !== "0 GC cycles") throw new Error();
 * ```
 */
export function countOf(x: number, one: string, many = `${one}s`): string {
  return `${x.toLocaleString("en-US")} ${x === 1 ? one : many}`;
}

/**
 * `s` with its control characters (C0, DEL and C1: U+0000–U+001F,
 * U+007F–U+009F) shown escaped (`\u001b`): a name read from a trace or a
 * program goes to a terminal, which would act on an escape sequence in it
 * (U+009B alone is one: the one-character CSI).
 *
 * @example
 * ```ts
 * import { printable } from "./units.ts";
 * if (printable("a\x1b[2Jb") !== "a\\u001b[2Jb" || printable("main.f") !== "main.f") throw new Error();
 * if (printable("f\x9b2J\x7fg") !== "f\\u009b2J\\u007fg") throw new Error();
 * ```
 */
export function printable(s: string): string {
  // JSON.stringify escapes C0 only (as `\n`, `\u001b`): DEL and C1 it
  // leaves raw, so those are escaped by hand.
  return s.replace(
    _CONTROL,
    (c) =>
      c < "\x7f"
        ? JSON.stringify(c).slice(1, -1)
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// deno-lint-ignore no-control-regex
const _CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
