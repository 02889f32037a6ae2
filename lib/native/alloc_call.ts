/**
 * An allocation call as the tracer sees it, whichever way it is caught
 * (breakpoints or injected hooks): the bytes it asks for, computed from
 * its arguments by the rule the injected stubs' sampling budget also uses,
 * and the call itself while its result is awaited.
 *
 * @module
 */

import type { HookSpec } from "./inject.ts";
import type { NativeEvent } from "./event.ts";

/** How each allocation function's byte count is computed (default `rdi`). */
export const SIZE_EXPR: Partial<
  Record<NativeEvent["kind"], HookSpec["size"]>
> = {
  calloc: "rdi*rsi",
  realloc: "rsi",
  posix_memalign: "rdx",
  aligned_alloc: "rsi",
  memalign: "rsi",
  reallocarray: "rsi*rdx",
};

/**
 * The bytes an allocation call asks for, from its arguments: what
 * {@link SIZE_EXPR} says, the same rule the stubs' sampling budget uses.
 */
export function requestedSize(
  kind: NativeEvent["kind"],
  rdi: number,
  rsi: number,
  rdx: number,
): number {
  switch (SIZE_EXPR[kind] ?? "rdi") {
    case "rsi":
      return rsi;
    case "rdx":
      return rdx;
    case "rdi*rsi":
      return rdi * rsi;
    case "rsi*rdx":
      return rsi * rdx;
    default:
      return rdi;
  }
}

/** An allocation call whose result is awaited. */
export interface Call {
  kind: NativeEvent["kind"];
  size: number;
  old: number;
  frames: NativeEvent["frames"];
  sampled: boolean;
}
