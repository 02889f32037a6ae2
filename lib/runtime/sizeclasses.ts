/**
 * Size classes: the table that maps a request size to the rounded object
 * size, the number of pages of a span of that class and the objects per span.
 *
 * Both Go versions compute their table with the same algorithm (Go 1.2's
 * `msize.c` at start-up, Go 1.19's `mksizeclasses.go` at build time); the
 * differences are data: the page size, the size from which 16-byte
 * alignment applies, and Go 1.19's "enlarge" post-pass. Facts:
 * `reference/go-runtime-memory.md` sections 8.2, 8.3 and 8.6.
 *
 * @module
 */

/** Largest "small" object size; larger requests get a span of their own. */
export const MAX_SMALL_SIZE = 32768;
/** `smallSizeDiv`: step of the first lookup table. */
export const SMALL_SIZE_DIV = 8;
/** `smallSizeMax`: limit of the first lookup table. */
export const SMALL_SIZE_MAX = 1024;
/** `largeSizeDiv`: step of the second lookup table. */
export const LARGE_SIZE_DIV = 128;

/** What differs between the Go versions' size-class algorithms. */
export interface SizeClassParams {
  /** Runtime page size in bytes (4096 for Go 1.2, 8192 for Go 1.19). */
  pageSize: number;
  /** Alignment becomes 16 at the first power of two at or above this size (Go 1.2: 16, Go 1.19: 32). */
  align16From: number;
  /** Go 1.19's post-pass: grow each class while the same count of objects still fits. */
  enlarge: boolean;
  /** Class that `size_to_class8[0]` maps to (Go 1.2: 1, Go 1.19: 0). */
  class8Zero: number;
}

/**
 * A computed size-class table with Go's two-level size → class lookup.
 *
 * @example
 * ```ts
 * import { SizeClassTable } from "../../mod.ts";
 * const t = new SizeClassTable({ pageSize: 8192, align16From: 32, enlarge: true, class8Zero: 0 });
 * const c = t.sizeToClass(100);
 * if (t.classToSize[c] !== 112 || t.numClasses !== 68) throw new Error("table");
 * ```
 */
export class SizeClassTable {
  /** Number of classes including class 0 (large objects). */
  readonly numClasses: number;
  /** `class_to_size`: bytes per object; entry 0 is 0. */
  readonly classToSize: Int32Array;
  /** `class_to_allocnpages`: pages per span; entry 0 is 0. */
  readonly classToAllocNPages: Int32Array;
  /** Objects per span (`npages*pageSize / size`); entry 0 is 1 (a large object). */
  readonly classToNElems: Int32Array;
  /** `size_to_class8`: index `ceil(size/8)` for sizes up to 1016. */
  readonly sizeToClass8: Uint8Array;
  /** `size_to_class128`: index `ceil((size-1024)/128)` for sizes 1017 to 32768. */
  readonly sizeToClass128: Uint8Array;
  /** The page size the table was computed for. */
  readonly pageSize: number;

  /** Computes the table with the algorithm shared by Go 1.2 and Go 1.19. */
  constructor(params: SizeClassParams) {
    const { pageSize, align16From, enlarge, class8Zero } = params;
    this.pageSize = pageSize;
    const sizes: number[] = [0];
    const npagesOf: number[] = [0];
    let align = 8;
    for (let size = align; size <= MAX_SMALL_SIZE; size += align) {
      if ((size & (size - 1)) === 0) {
        if (size >= 2048) align = 256;
        else if (size >= 128) align = size / 8;
        else if (size >= align16From) align = 16;
      }
      let allocsize = pageSize;
      while (allocsize % size > allocsize / 8) allocsize += pageSize;
      const npages = allocsize / pageSize;
      const last = sizes.length - 1;
      if (
        sizes.length > 1 && npages === npagesOf[last] &&
        Math.floor(allocsize / size) === Math.floor(allocsize / sizes[last])
      ) {
        sizes[last] = size;
        continue;
      }
      sizes.push(size);
      npagesOf.push(npages);
    }
    if (enlarge) {
      for (let i = 1; i < sizes.length; i++) {
        const psize = npagesOf[i] * pageSize;
        const grown = Math.floor(psize / Math.floor(psize / sizes[i])) &
          ~(LARGE_SIZE_DIV - 1);
        if (grown > sizes[i]) sizes[i] = grown;
      }
    }
    this.numClasses = sizes.length;
    this.classToSize = Int32Array.from(sizes);
    this.classToAllocNPages = Int32Array.from(npagesOf);
    this.classToNElems = new Int32Array(sizes.length);
    this.classToNElems[0] = 1;
    for (let c = 1; c < sizes.length; c++) {
      this.classToNElems[c] = Math.floor(npagesOf[c] * pageSize / sizes[c]);
    }
    this.sizeToClass8 = new Uint8Array(SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1);
    this.sizeToClass128 = new Uint8Array(
      (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1,
    );
    let c = 0;
    for (let i = 0; i < this.sizeToClass8.length; i++) {
      while (sizes[c] < i * SMALL_SIZE_DIV) c++;
      this.sizeToClass8[i] = c;
    }
    this.sizeToClass8[0] = class8Zero;
    for (let j = 0; j < this.sizeToClass128.length; j++) {
      while (sizes[c] < SMALL_SIZE_MAX + j * LARGE_SIZE_DIV) c++;
      this.sizeToClass128[j] = c;
    }
  }

  /**
   * The size class of a small request (0 ≤ size ≤ 32768), by Go's two-level
   * lookup. Larger sizes are class 0; callers check `MAX_SMALL_SIZE` first.
   */
  sizeToClass(size: number): number {
    if (size <= SMALL_SIZE_MAX - 8) {
      return this.sizeToClass8[(size + SMALL_SIZE_DIV - 1) >>> 3];
    }
    if (size > MAX_SMALL_SIZE) return 0;
    return this.sizeToClass128[
      (size - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) >>> 7
    ];
  }
}
