/**
 * How an executable is linked, read from its ELF program headers: a
 * dynamic one names an interpreter (`PT_INTERP`, ld.so), which maps libc,
 * whose allocator the tracer hooks; a static one has none, and its
 * malloc (if any: a pure Go binary has its own allocator) is its own copy,
 * which cannot be hooked. Used to say what is known when a trace saw no call.
 *
 * @module
 */

import { isElf64, readAt } from "./_elf.ts";

/** What an executable file is, as far as the tracer cares. */
export type Linkage = "dynamic" | "static" | "not ELF" | "unreadable";

const PT_INTERP = 3;

/**
 * The linkage of the 64-bit little-endian ELF file whose first bytes are
 * `head` (the program headers must lie within them).
 *
 * @example
 * ```ts
 * import { linkageOfBytes } from "./elf_linkage.ts";
 * const head = new Uint8Array(64);
 * head.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]); // ELF, 64-bit, little-endian
 * console.assert(linkageOfBytes(head) === "static"); // no program header at all
 * console.assert(linkageOfBytes(new TextEncoder().encode("#!/bin/sh\n")) === "not ELF");
 * ```
 */
export function linkageOfBytes(head: Uint8Array): Linkage {
  if (!isElf64(head)) return "not ELF";
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const phoff = Number(dv.getBigUint64(0x20, true));
  const phentsize = dv.getUint16(0x36, true);
  const phnum = dv.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 4 > head.length) return "unreadable";
    if (dv.getUint32(o, true) === PT_INTERP) return "dynamic";
  }
  return "static";
}

/** The linkage of the executable at `path` (its first 64 KiB are read). */
export function linkageOf(path: string): Linkage {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path);
  } catch {
    return "unreadable";
  }
  try {
    return linkageOfBytes(readAt(f, 0, 65536));
  } catch {
    return "unreadable";
  } finally {
    f.close();
  }
}
