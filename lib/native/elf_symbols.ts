/**
 * The function symbols of an ELF file with their extents, read in-process
 * (instead of two `nm -S` runs per module: four process starts after each
 * new stack, ~0.1 s of CPU in a sampled run), and the separate debug file
 * that holds a stripped library's full symbol table (`.build-id` or
 * `.gnu_debuglink`, where addr2line looks for it).
 *
 * A symbol is kept as `nm -S --defined-only` would print it with a size and
 * a type among T, t, W, w and i: defined, with a non-zero size, and in
 * code, weak and not an object, or an IFUNC. Names lose their `@version`.
 *
 * Symbols are kept in typed arrays and their names as bytes, read only
 * when asked for: libc's debug file has 6,500 of them, and as strings and
 * a map they grew the old generation enough for a full garbage collection
 * (~0.1 s of CPU on V8's helper threads) in every sampled run.
 *
 * @module
 */

import { isElf64, readAt } from "./_elf.ts";

/** Function symbols of one file, by address. */
export interface ElfSymbols {
  /** Start addresses, ascending. */
  addr: Float64Array;
  /** Sizes (same order). */
  size: Float64Array;
  /** Where each name starts in {@link ElfSymbols.strings} (same order). */
  nameAt: Uint32Array;
  /** The string tables, one after another. */
  strings: Uint8Array;
  /** The build id (hex), or "" when the file has none. */
  buildId: string;
  /** `.gnu_debuglink`'s file name, or "". */
  debugLink: string;
}

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const SHF_EXECINSTR = 0x4;
const STT_OBJECT = 1;
const STT_SECTION = 3;
const STT_FILE = 4;
const STT_GNU_IFUNC = 10;
const STB_WEAK = 2;
const NT_GNU_BUILD_ID = 3;
const AT = 0x40; // "@": a version follows

const u64 = (dv: DataView, o: number) =>
  dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;

/** The string at `o` of `b` (up to a NUL, or an `@` with `cutAt`). */
function cstrAt(b: Uint8Array, o: number, cutAt = false): string {
  let s = "";
  // Each byte loaded and compared to '@' whatever `cutAt`: a load or a
  // compare made only with it (symbol names, read after the section
  // names) had no type feedback, and the first name threw the optimized
  // loop away.
  for (let i = o; i < b.length; i++) {
    const c = b[i];
    if (c === 0 || (c === AT && cutAt)) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * The function symbols of the ELF file at `path` (its `.symtab` and
 * `.dynsym`), only the parts of the file they are in read; null when it
 * is not a readable 64-bit ELF file.
 */
export function readElfSymbols(path: string): ElfSymbols | null {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path);
  } catch {
    return null;
  }
  try {
    const eh = readAt(f, 0, 64);
    if (!isElf64(eh)) return null;
    const hv = new DataView(eh.buffer);
    const shoff = u64(hv, 0x28);
    const shentsize = hv.getUint16(0x3a, true);
    const shnum = hv.getUint16(0x3c, true);
    const shstrndx = hv.getUint16(0x3e, true);
    if (shoff === 0 || shentsize < 64) return null;
    const sh = readAt(f, shoff, shnum * shentsize);
    const sv = new DataView(sh.buffer);
    const secs = [];
    for (let i = 0; i * shentsize + 64 <= sh.length; i++) {
      const o = i * shentsize;
      secs.push({
        name: sv.getUint32(o, true),
        type: sv.getUint32(o + 4, true),
        flags: u64(sv, o + 8),
        off: u64(sv, o + 24),
        size: u64(sv, o + 32),
        link: sv.getUint32(o + 40, true),
      });
    }
    const strs = secs[shstrndx];
    const shnames = strs === undefined
      ? new Uint8Array()
      : readAt(f, strs.off, strs.size);
    const fileSize = f.statSync().size;
    const inFile = (x: { off: number; size: number }) =>
      x.off + x.size <= fileSize;
    let buildId = "";
    let debugLink = "";
    // Whether each section holds code, and the symbol tables to read.
    const code = new Uint8Array(secs.length);
    const symtabs: Uint8Array[] = [];
    const strtabs: Uint8Array[] = [];
    let entries = 0;
    for (const [i, s] of secs.entries()) {
      if ((s.flags & SHF_EXECINSTR) !== 0) code[i] = 1;
      if (s.type === SHT_NOTE && buildId === "") {
        buildId = _buildId(readAt(f, s.off, s.size));
      } else if (cstrAt(shnames, s.name) === ".gnu_debuglink") {
        debugLink = cstrAt(readAt(f, s.off, s.size), 0);
      }
      if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
      const str = secs[s.link];
      // A table (or its strings) said to run past the file's end is damaged:
      // read on, it would turn the next sections' bytes into symbols.
      if (str === undefined || !inFile(s) || !inFile(str)) continue;
      const tab = readAt(f, s.off, s.size);
      symtabs.push(tab);
      strtabs.push(readAt(f, str.off, str.size));
      entries += Math.floor(tab.length / 24);
    }
    // Kept symbols: address, size, name (offset in `strings`).
    const addr = new Float64Array(entries);
    const size = new Float64Array(entries);
    const nameAt = new Uint32Array(entries);
    const tables: Uint8Array[] = [];
    let n = 0;
    let base = 0;
    for (const [t, tab] of symtabs.entries()) {
      const first = n;
      n = _keptSymbols(tab, code, base, n, addr, size, nameAt);
      if (n > first) {
        tables.push(strtabs[t]);
        base += strtabs[t].length;
      }
    }
    // By address; of one address, in table order (.symtab's first).
    const order = byAddress(addr, n);
    const strings = new Uint8Array(base);
    let at = 0;
    for (const t of tables) {
      strings.set(t, at);
      at += t.length;
    }
    const sorted = {
      addr: new Float64Array(n),
      size: new Float64Array(n),
      nameAt: new Uint32Array(n),
    };
    for (let i = 0; i < n; i++) {
      const j = order[i];
      sorted.addr[i] = addr[j];
      sorted.size[i] = size[j];
      sorted.nameAt[i] = nameAt[j];
    }
    return { ...sorted, strings, buildId, debugLink };
  } catch {
    return null;
  } finally {
    f.close();
  }
}

/**
 * Appends the symbols of table `tab` that name code (see readElfSymbols) to
 * `addr`, `size` and `nameAt` from index `n` (names offset by `base`);
 * returns the new count. An entry is six 32-bit words (the file's byte
 * order is the machine's, x86-64): name, info | other << 8 | shndx << 16,
 * value, size. Read as words, not by DataView calls: run before any of
 * this is compiled, this loop over libc's debug file's 10,000 entries was
 * ~20 ms of a sampled run's first stack. A function of its own: V8
 * compiles the loop while it runs (OSR), and in readElfSymbols that
 * compiled all of it, twice a run (it left the loop with no type feedback
 * for what follows).
 */
function _keptSymbols(
  tab: Uint8Array,
  code: Uint8Array,
  base: number,
  n: number,
  addr: Float64Array,
  size: Float64Array,
  nameAt: Uint32Array,
): number {
  const w = new Uint32Array(tab.buffer, 0, Math.floor(tab.length / 24) * 6);
  for (let k = 0; k < w.length; k += 6) {
    const x = w[k + 1];
    const shndx = x >>> 16;
    const sz = w[k + 4] + w[k + 5] * 4294967296;
    if (shndx === 0 || shndx >= 0xff00 || sz === 0) continue;
    const type = x & 0xf;
    if (type === STT_SECTION || type === STT_FILE) continue;
    if (
      code[shndx] !== 1 && type !== STT_GNU_IFUNC &&
      !(((x >>> 4) & 0xf) === STB_WEAK && type !== STT_OBJECT)
    ) continue;
    addr[n] = w[k + 2] + w[k + 3] * 4294967296;
    size[n] = sz;
    nameAt[n] = base + w[k];
    n++;
  }
  return n;
}

/**
 * The indices of the first `n` of `addr` by address, then by index: one
 * native sort of 64-bit keys (address · 2^20 + index), where a comparator
 * ran ~10^5 times before V8 compiled it (libc's debug file: ~20 ms of a
 * sampled run's first stack); a comparator when a key would not fit.
 * (Also the unwinder's symbol order, eh_unwind.ts.)
 */
export function byAddress(addr: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  if (n > 1 << 20 || _maxOf(addr, n) >= 2 ** 44) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((a, b) => addr[a] - addr[b] || a - b);
  }
  const keys = _keysOf(addr, n);
  keys.sort();
  _indicesOf(keys, order);
  return order;
}

// byAddress's loops, each a function of its own with nothing after it:
// V8 compiles a long loop while it runs (OSR), and the code after it then
// had no type feedback (the sort, a compare: two deopts, libc's symbols).

function _maxOf(addr: Float64Array, n: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) if (addr[i] > max) max = addr[i];
  return max;
}

// Each key as two 32-bit words, low first (x86-64): the address's low 12
// bits and the index, then the address's high 32.
function _keysOf(addr: Float64Array, n: number): BigUint64Array {
  const keys = new BigUint64Array(n);
  const w = new Uint32Array(keys.buffer);
  for (let i = 0; i < n; i++) {
    const hi = Math.floor(addr[i] / 4096);
    w[2 * i] = (addr[i] - hi * 4096) * 1048576 + i;
    w[2 * i + 1] = hi;
  }
  return keys;
}

function _indicesOf(keys: BigUint64Array, order: Uint32Array): void {
  const w = new Uint32Array(keys.buffer);
  for (let i = 0; i < order.length; i++) order[i] = w[2 * i] & 0xfffff;
}

/** The build id (hex) in a note section's bytes, or "". */
function _buildId(b: Uint8Array): string {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let o = 0; o + 12 <= b.length;) {
    const namesz = dv.getUint32(o, true);
    const descsz = dv.getUint32(o + 4, true);
    const type = dv.getUint32(o + 8, true);
    const desc = o + 12 + ((namesz + 3) & ~3);
    if (type === NT_GNU_BUILD_ID && namesz === 4 && desc + descsz <= b.length) {
      let hex = "";
      for (let i = desc; i < desc + descsz; i++) {
        hex += b[i].toString(16).padStart(2, "0");
      }
      return hex;
    }
    o = desc + ((descsz + 3) & ~3);
  }
  return "";
}

/** The name of symbol `i` (its version cut off). */
export function symbolName(syms: ElfSymbols, i: number): string {
  return cstrAt(syms.strings, syms.nameAt[i], true);
}

/** Whether symbol `i` is named `name` (compared byte by byte, nothing decoded). */
function _named(syms: ElfSymbols, i: number, name: string): boolean {
  const b = syms.strings;
  const o = syms.nameAt[i];
  for (let k = 0; k < name.length; k++) {
    if (b[o + k] !== name.charCodeAt(k)) return false;
  }
  const end = b[o + name.length];
  return end === 0 || end === AT || end === undefined;
}

/** The index of the last symbol starting at or before `addr`, or -1. */
function _lastAtOrBelow(syms: ElfSymbols, addr: number): number {
  const a = syms.addr;
  let lo = 0;
  let hi = a.length - 1;
  let last = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= addr) {
      last = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return last;
}

/**
 * The extent of the symbol named `name` that starts at `start`, as
 * [start, size], or null when the tables have none there.
 */
export function extentAt(
  syms: ElfSymbols,
  start: number,
  name: string,
): [number, number] | null {
  for (let i = _lastAtOrBelow(syms, start); i >= 0; i--) {
    if (syms.addr[i] !== start) break;
    if (_named(syms, i, name)) return [start, syms.size[i]];
  }
  return null;
}

/** Whether a symbol named `name` holds `addr` (of those that start a little before it). */
export function nameCovers(
  syms: ElfSymbols,
  addr: number,
  name: string,
): boolean {
  const last = _lastAtOrBelow(syms, addr);
  for (let j = last; j >= 0 && last - j < 64; j--) {
    if (addr < syms.addr[j] + syms.size[j] && _named(syms, j, name)) {
      return true;
    }
  }
  return false;
}

/**
 * The symbol of `syms` whose extent holds `addr` (of several, the one that
 * starts last; of aliases there, the one with the fewest leading
 * underscores, as debuggers name libc's `__clone3` `clone3`, then the
 * first), or null.
 */
export function symbolAt(syms: ElfSymbols, addr: number): string | null {
  const a = syms.addr;
  const last = _lastAtOrBelow(syms, addr);
  // Walking back from it, the first that covers addr starts last (a
  // symbol starting earlier rarely reaches over a later one: a few looks).
  for (let j = last; j >= 0 && last - j < 64; j--) {
    if (addr >= a[j] + syms.size[j]) continue;
    let k = j;
    while (k > 0 && a[k - 1] === a[j]) k--;
    let best = "";
    let bestRank = Infinity;
    for (; k < a.length && a[k] === a[j]; k++) {
      if (addr >= a[k] + syms.size[k]) continue;
      const name = symbolName(syms, k);
      let rank = 0;
      while (name[rank] === "_") rank++;
      if (rank < bestRank) {
        best = name;
        bestRank = rank;
      }
    }
    return best;
  }
  return null;
}

/**
 * Where the separate debug file of `path` is (as GDB and addr2line find
 * it: by build id under /usr/lib/debug/.build-id, else by
 * `.gnu_debuglink` beside the file, in its `.debug` folder or under
 * /usr/lib/debug), or null when there is none.
 */
export function debugFileOf(path: string, syms: ElfSymbols): string | null {
  const tries: string[] = [];
  if (syms.buildId.length > 2) {
    tries.push(
      `/usr/lib/debug/.build-id/${syms.buildId.slice(0, 2)}/${
        syms.buildId.slice(2)
      }.debug`,
    );
  }
  if (syms.debugLink !== "") {
    const dir = path.slice(0, path.lastIndexOf("/") + 1);
    tries.push(
      `${dir}${syms.debugLink}`,
      `${dir}.debug/${syms.debugLink}`,
      `/usr/lib/debug${dir}${syms.debugLink}`,
    );
  }
  for (const t of tries) {
    if (t === path) continue;
    try {
      if (Deno.statSync(t).isFile) return t;
    } catch {
      // not there
    }
  }
  return null;
}
