/**
 * What both ELF readers (`elf_symbols.ts`, `elf_linkage.ts`) need of a
 * file: bytes at an offset, and whether a header is one they can read.
 *
 * @module
 */

/** Reads `n` bytes at `off` of an open file (fewer at its end). */
export function readAt(f: Deno.FsFile, off: number, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  f.seekSync(off, Deno.SeekMode.Start);
  let got = 0;
  while (got < n) {
    const r = f.readSync(buf.subarray(got));
    if (r === null || r === 0) break;
    got += r;
  }
  return got === n ? buf : buf.subarray(0, got);
}

/**
 * True when `head` starts a whole 64-bit little-endian ELF header
 * (`\x7fELF`, ELFCLASS64, ELFDATA2LSB): the only files the readers parse.
 */
export function isElf64(head: Uint8Array): boolean {
  return head.length >= 64 && head[0] === 0x7f && head[1] === 0x45 &&
    head[2] === 0x4c && head[3] === 0x46 && head[4] === 2 && head[5] === 1;
}
