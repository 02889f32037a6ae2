/**
 * How the runtime's error messages print addresses (Go's `print.go`
 * `printhex`: `0x` and lower-case hex digits). Internal: not re-exported by
 * mod.ts.
 *
 * @module
 */

/**
 * `n` as `0x…` in lower-case hex, as Go's runtime prints an address.
 *
 * @example
 * ```ts
 * import { hex } from "./print.ts";
 * if (hex(0xc000010000) !== "0xc000010000") throw new Error("hex");
 * ```
 */
export function hex(n: number): string {
  return "0x" + n.toString(16);
}
