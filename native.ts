/**
 * The native tracer: `malloc`/`free` of x86-64 Linux programs through ptrace
 * and Deno's FFI, with native stacks. It is the library's second entry
 * (`deno.json` `exports["./native"]`), apart from `mod.ts`, so that the
 * simulated runtime and the trace tools have no FFI in their graph; using it
 * needs `--allow-all` (FFI and `/proc/PID/maps`).
 *
 * ```ts ignore
 * import { traceNative } from "./native.ts";
 * ```
 *
 * @module
 */

export { type NativeOptions, traceNative } from "./lib/native/tracer.ts";
export type { StackStats } from "./lib/native/hook_ring.ts";
export {
  BatchEncoder,
  decodeBatch,
  type EventBatch,
  EventObjects,
  type EventOut,
  NATIVE_KINDS,
  type NativeEvent,
  type NativeFrame,
  type NativeKind,
} from "./lib/native/event.ts";
export { type Resolved, symbolize } from "./lib/native/symbolize.ts";
