/**
 * The sample types of a heap profile: their own module, without the
 * protobuf encoder (`npm:pprof-format`) that loading proto.ts brings, so
 * that the command line can name them in help and checks for free.
 *
 * @module
 */

/** The four sample types of a heap profile, in Go's order. */
export const HEAP_SAMPLE_TYPES = [
  "alloc_objects",
  "alloc_space",
  "inuse_objects",
  "inuse_space",
] as const;

/** A sample type name. */
export type HeapSampleType = typeof HEAP_SAMPLE_TYPES[number];
