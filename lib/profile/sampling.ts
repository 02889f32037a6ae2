/**
 * The heap profiler's samplers now live with the runtime that draws them
 * (`lib/runtime/sampling.ts`); this module keeps the old path working for
 * importers above the runtime.
 *
 * @module
 */

export * from "../runtime/sampling.ts";
