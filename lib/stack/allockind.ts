/**
 * Allocation kinds: how an allocation reached `mallocgc`.
 *
 * @module
 */

/**
 * How an allocation reached `mallocgc`: it decides the runtime frames Go
 * shows above the caller (`runtime.newobject`, `runtime.makeslice` …).
 */
export const AllocKind = {
  /** A direct `mallocgc` call. */
  mallocgc: 0,
  /** `new(T)`, `&T{}`: `runtime.newobject`. */
  newobject: 1,
  /** `make([]T, n)`: `runtime.makeslice`. */
  makeslice: 2,
  /** `append` past capacity: `runtime.growslice`. */
  growslice: 3,
  /** `make(chan T, n)`: `runtime.makechan` (hchan and buffer in one block, or the buffer). */
  makechan: 4,
  /** The `hchan` of a channel whose elements hold pointers (`new(hchan)` in makechan). */
  makechanHchan: 5,
  /** String concatenation: `runtime.concatstrings` → `rawstring`. */
  concatstring: 6,
  /** `make(map[K]V)`: `runtime.makemap_small`. */
  makemapSmall: 7,
  /** The first bucket of a map: `runtime.mapassign_faststr`. */
  mapassign: 8,
  /**
   * A record of the runtime's start-up replayed from a real trace
   * (`lib/runtime/startup.ts`): its whole stack is the runtime's
   * `explicitStack`.
   */
  startup: 9,
} as const;

/** One of {@link AllocKind}'s values. */
export type AllocKind = typeof AllocKind[keyof typeof AllocKind];
