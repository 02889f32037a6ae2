/**
 * Where the mark's WebAssembly module (`mgcmark_wasm.ts`, assembled by
 * `scripts/gen_mark_wasm.ts`) finds what it works on: the fields of its
 * header and of a span's record, as byte offsets. The assembler and the
 * runner both read them here.
 *
 * @module
 */

/** The header's fields (byte offsets from its start). */
export const H = {
  /** f64: the arena start (the value of a pointer to offset 0). */
  arenaStart: 0,
  /** f64: mapped bytes (offsets at or past it are no heap). */
  mapped: 8,
  /** f64: 1 / page size. */
  invPageSize: 16,
  /** i32: the page table: span number (1-based; 0 none) per mapped page. */
  pageTab: 24,
  /** i32: the span table, {@link SPAN_BYTES} per span. */
  spanTab: 28,
  /** i32: the work list, 8 bytes (first heap word, words) per slot. */
  work: 32,
  /** i32: slots on the work list. */
  nwork: 36,
  /** i32: slots the work list holds. */
  cap: 40,
  /** i32: pointer words scanned. */
  scanned: 44,
  /** i32: objects marked. */
  marked: 48,
  /** i32: where the heap bits start (one byte per heap word). */
  bits: 52,
  /** f64: scan work, bytes. */
  scanWork: 56,
  /** f64: bytes marked. */
  markedBytes: 64,
  /** Size of the header. */
  size: 72,
} as const;

/** A span's record in the span table (i32 fields, byte offsets). */
export const SPAN = {
  /** u32: the span's offset into the arena (`MSpan.base`). */
  base: 0,
  /** u32: `divMul`. */
  divMul: 4,
  /** Slots. */
  nelems: 8,
  /** Bytes per slot. */
  elemsize: 12,
  /** 1 for a pointerful span. */
  scan: 16,
  /** Byte address of its alloc bits (a copy). */
  allocBits: 20,
  /** Byte address of its mark bits (a copy, written back). */
  markBits: 24,
  /** Objects the mark marked in it. */
  nmarked: 28,
} as const;

/** Bytes per span record. */
export const SPAN_BYTES = 32;

/** The largest slot, in words, that the module's `drain` scans by its heap bits. */
export const SMALL_WORDS = 16;
