/**
 * Type descriptors: what `mallocgc` receives as its `typ` argument. Each has
 * the name as Go prints it (`main.T`, `*runtime.p`, `uint8`), a size, the
 * words that hold pointers (Go's `ptrdata`/GC program, as word indices) and
 * a stable fake address in a read-only segment, as a `*_type` would have.
 *
 * @module
 */

/** Go's kind of a type, as far as the allocator and the printers care. */
export type TypeKind =
  | "bool"
  | "int"
  | "uint"
  | "float"
  | "complex"
  | "string"
  | "ptr"
  | "unsafe.Pointer"
  | "slice"
  | "array"
  | "struct"
  | "chan"
  | "map"
  | "func"
  | "interface";

/** Bytes per word (the model is 64-bit, like linux/amd64). */
export const PTR_SIZE = 8;

/** Size of Go 1.19's `hchan` (chan.go's `hchanSize`). */
export const HCHAN_SIZE = 96;

/** What a caller gives to define a type. */
export interface TypeSpec {
  /** Size in bytes (0 allowed). */
  size: number;
  /** Indices of the 8-byte words that hold pointers (default: none). */
  pointers?: readonly number[];
  /** Go kind (default: `struct` when it has pointers, else `uint`). */
  kind?: TypeKind;
}

/**
 * A type descriptor. Instances are made by a {@link TypeRegistry} and are
 * compared by identity.
 */
export class GoType {
  /** Registry index, dense from 0 (used as the type id in span metadata). */
  readonly id: number;
  /** The type string Go prints (`main.Node`, `uint8`, `*main.Record`). */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Go kind. */
  readonly kind: TypeKind;
  /** Sorted indices of words that hold pointers. */
  readonly ptrWords: Int32Array;
  /** True when the type holds no pointers (`noscan` allocation). */
  readonly noscan: boolean;
  /** Bytes up to the end of the last pointer word (Go's `ptrdata`; 0 for noscan). */
  readonly ptrdata: number;
  /** One byte per word of the type: 1 where the word holds a pointer. */
  readonly ptrMask: Uint8Array;
  /** Fake address of the descriptor in the read-only segment. */
  readonly addr: number;
  /** The allocator whose fast path cached {@link #fastSpc}, or null. */
  #fastOwner: object | null = null;
  /** Span class of the type's objects on that allocator's fast path (-1: none). */
  #fastSpc = -1;

  /** Use {@link TypeRegistry.define}; this constructor does no checks. */
  constructor(
    id: number,
    name: string,
    size: number,
    kind: TypeKind,
    ptrWords: Int32Array,
    addr: number,
  ) {
    this.id = id;
    this.name = name;
    this.size = size;
    this.kind = kind;
    this.ptrWords = ptrWords;
    this.noscan = ptrWords.length === 0;
    this.ptrdata = this.noscan
      ? 0
      : (ptrWords[ptrWords.length - 1] + 1) * PTR_SIZE;
    this.ptrMask = new Uint8Array(Math.ceil(size / PTR_SIZE));
    for (const w of ptrWords) this.ptrMask[w] = 1;
    this.addr = addr;
  }

  /**
   * The span class allocator `owner` cached for this type's fast path
   * (malloc.ts's `mallocFast`; -1: the type always takes the full path),
   * or -2 when `owner` cached none. Kept on the type, where the fast path
   * finds it with the type's other fields, instead of in the allocator's
   * table by type id, which needed a second look-up to check that the type
   * is the registered one of its id.
   */
  fastSpcFor(owner: object): number {
    return this.#fastOwner === owner ? this.#fastSpc : -2;
  }

  /** Caches `spc` as {@link fastSpcFor}`(owner)`; one owner at a time. */
  setFastSpc(owner: object, spc: number): void {
    this.#fastOwner = owner;
    this.#fastSpc = spc;
  }
}

/** Bytes reserved per descriptor in the fake read-only segment (`_type` + uncommon data). */
const DESCRIPTOR_STRIDE = 0x60;

const BUILTINS: readonly [string, TypeSpec][] = [
  ["bool", { size: 1, kind: "bool" }],
  ["int8", { size: 1, kind: "int" }],
  ["uint8", { size: 1, kind: "uint" }],
  ["int16", { size: 2, kind: "int" }],
  ["uint16", { size: 2, kind: "uint" }],
  ["int32", { size: 4, kind: "int" }],
  ["uint32", { size: 4, kind: "uint" }],
  ["float32", { size: 4, kind: "float" }],
  ["int", { size: 8, kind: "int" }],
  ["int64", { size: 8, kind: "int" }],
  ["uint", { size: 8, kind: "uint" }],
  ["uint64", { size: 8, kind: "uint" }],
  ["uintptr", { size: 8, kind: "uint" }],
  ["float64", { size: 8, kind: "float" }],
  ["complex128", { size: 16, kind: "complex" }],
  ["string", { size: 16, pointers: [0], kind: "string" }],
  ["unsafe.Pointer", { size: 8, pointers: [0], kind: "unsafe.Pointer" }],
  ["[]uint8", { size: 24, pointers: [0], kind: "slice" }],
  ["interface {}", { size: 16, pointers: [1], kind: "interface" }],
];

/**
 * A registry of type descriptors, pre-filled with Go's basic types.
 *
 * @example
 * ```ts
 * import { TypeRegistry } from "../../mod.ts";
 * const types = new TypeRegistry(0x464000);
 * const node = types.define("main.Node", { size: 16, pointers: [0, 1] });
 * if (node.noscan || types.get("uint8").size !== 1) throw new Error("types");
 * ```
 */
export class TypeRegistry {
  readonly #byName = new Map<string, GoType>();
  readonly #all: GoType[] = [];
  readonly #segmentStart: number;

  /** Makes a registry whose descriptors start at `segmentStart`. */
  constructor(segmentStart: number) {
    this.#segmentStart = segmentStart;
    for (const [name, spec] of BUILTINS) this.define(name, spec);
  }

  /**
   * Defines a type, or returns the existing one when a type of that name
   * with the same layout exists.
   *
   * @throws {RangeError} for a bad size or pointer word, or a redefinition
   *   with another layout.
   */
  define(name: string, spec: TypeSpec): GoType {
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`type name must be a non-empty string, got ${name}`);
    }
    const { size } = spec;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(
        `type ${name}: size must be a non-negative integer, got ${size}`,
      );
    }
    const words = [...(spec.pointers ?? [])].sort((a, b) => a - b);
    for (const w of words) {
      if (!Number.isInteger(w) || w < 0 || (w + 1) * PTR_SIZE > size) {
        throw new RangeError(
          `type ${name}: pointer word ${w} is outside its ${size} bytes`,
        );
      }
    }
    if (words.length > 0 && size % PTR_SIZE !== 0) {
      throw new RangeError(
        `type ${name}: a type with pointers has a size that is a multiple of ${PTR_SIZE}, got ${size}`,
      );
    }
    const kind = spec.kind ?? (words.length > 0 ? "struct" : "uint");
    const existing = this.#byName.get(name);
    if (existing !== undefined) {
      if (
        existing.size === size && existing.kind === kind &&
        existing.ptrWords.join() === words.join()
      ) return existing;
      throw new RangeError(
        `type ${name} is already defined with another layout (size ${existing.size})`,
      );
    }
    const id = this.#all.length;
    const t = new GoType(
      id,
      name,
      size,
      kind,
      Int32Array.from(words),
      this.#segmentStart + id * DESCRIPTOR_STRIDE,
    );
    this.#all.push(t);
    this.#byName.set(name, t);
    return t;
  }

  /**
   * The type of that name; `*T` is made on demand for any known `T`.
   *
   * @throws {TypeError} for an unknown name.
   */
  get(name: string): GoType {
    const t = this.#byName.get(name);
    if (t !== undefined) return t;
    if (name.startsWith("*") && this.#byName.has(name.slice(1))) {
      return this.define(name, { size: PTR_SIZE, pointers: [0], kind: "ptr" });
    }
    throw new TypeError(
      `unknown type ${
        JSON.stringify(name)
      }: define it first with types.define(name, { size, pointers })`,
    );
  }

  /** Every registered type, indexed by id (grows as types are defined). */
  get list(): readonly GoType[] {
    return this.#all;
  }

  /** The type with that registry id. */
  byId(id: number): GoType {
    return this.#all[id];
  }

  /** Number of registered types. */
  get size(): number {
    return this.#all.length;
  }
}
