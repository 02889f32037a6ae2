/**
 * Unwinding a copy of a thread's stack with the call frame information of
 * `.eh_frame` (found through `.eh_frame_hdr`'s sorted table), in
 * TypeScript: what the reference suggests to replace libunwind with when
 * every allocation wants a stack, because the copy is made inside the
 * program without stopping it. Names come from `.symtab` (else `.dynsym`).
 *
 * Supported: the CFA as register + offset (x86-64 code from GCC and Clang),
 * registers saved at CFA + offset, remember/restore state. A frame whose
 * rule is a DWARF expression (PLT stubs, signal trampolines) ends the walk.
 *
 * @module
 */

import { isElf64, readAt } from "./_elf.ts";
import { byAddress } from "./elf_symbols.ts";

/** DWARF register numbers used on x86-64: rbx 3, rbp 6, rsp 7, r12–r15, return address 16. */
const RA = 16;
const RSP = 7;
const TRACKED = [3, 6, 12, 13, 14, 15, RA];

/** A row of the CFI table: how to find the caller's frame at a PC. */
interface Row {
  cfaReg: number;
  cfaOff: number;
  /** Per tracked register: its save slot's offset from the CFA, null = unchanged, undefined = cannot be recovered. */
  saved: Map<number, number | null | "undefined">;
}

class Reader {
  pos: number;
  constructor(readonly dv: DataView, pos: number) {
    this.pos = pos;
  }
  u8() {
    return this.dv.getUint8(this.pos++);
  }
  u16() {
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32() {
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32() {
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64() {
    const v = Number(this.dv.getBigUint64(this.pos, true));
    this.pos += 8;
    return v;
  }
  uleb() {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return v;
    }
  }
  sleb() {
    let v = 0;
    let mul = 1;
    let b: number;
    do {
      b = this.u8();
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    if (b & 0x40) v -= mul;
    return v;
  }
  cstr() {
    let s = "";
    for (let c = this.u8(); c !== 0; c = this.u8()) s += String.fromCharCode(c);
    return s;
  }
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  ra: number;
  fdeEnc: number;
  initial: [number, number];
}

/** The last index in [0, n) whose key (ascending) is at most `x`, or -1. */
function lastAtOrBelow(
  n: number,
  keyAt: (i: number) => number,
  x: number,
): number {
  let lo = 0;
  let hi = n - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyAt(mid) <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The unwind tables and symbols of one ELF file, addressed by link-time virtual address. */
export class ElfUnwindInfo {
  readonly #dv: DataView;
  /** Section vaddr → file offset, for .eh_frame and .eh_frame_hdr. */
  readonly #hdr: { addr: number; off: number } | null;
  readonly #eh: { addr: number; off: number; size: number } | null;
  readonly #table: { enc: number; at: number; count: number } | null;
  readonly #cies = new Map<number, Cie>();
  readonly #rows = new Map<number, Row | null>();
  /** Function symbols by address, and where each one's name starts in the file. */
  readonly #symAddr: Float64Array;
  readonly #symName: Uint32Array;

  // `bytes`: the file's size, holding (at their offsets) the ELF header,
  // the section headers and names, .eh_frame_hdr, .eh_frame, the symbol
  // table and its strings; zeros elsewhere.
  private constructor(f: Deno.FsFile, size: number) {
    const bytes = new Uint8Array(size);
    const dv = new DataView(bytes.buffer);
    this.#dv = dv;
    const fill = (off: number, n: number) => {
      if (off < 0 || n <= 0 || off + n > size) return;
      bytes.set(readAt(f, off, n), off);
    };
    fill(0, 64);
    const shoff = Number(dv.getBigUint64(0x28, true));
    const shentsize = dv.getUint16(0x3a, true);
    const shnum = dv.getUint16(0x3c, true);
    const shstrndx = dv.getUint16(0x3e, true);
    fill(shoff, shnum * shentsize);
    const sec = (i: number) => {
      const o = shoff + i * shentsize;
      return {
        name: dv.getUint32(o, true),
        type: dv.getUint32(o + 4, true),
        addr: Number(dv.getBigUint64(o + 16, true)),
        off: Number(dv.getBigUint64(o + 24, true)),
        size: Number(dv.getBigUint64(o + 32, true)),
        link: dv.getUint32(o + 40, true),
        entsize: Number(dv.getBigUint64(o + 56, true)),
      };
    };
    const names = sec(shstrndx);
    fill(names.off, names.size);
    const nameOf = (n: number) => {
      let s = "";
      for (let i = names.off + n; i < size && bytes[i] !== 0; i++) {
        s += String.fromCharCode(bytes[i]);
      }
      return s;
    };
    let hdr = null;
    let eh = null;
    let symtab = null;
    let dynsym = null;
    for (let i = 0; i < shnum; i++) {
      const s = sec(i);
      const n = nameOf(s.name);
      if (n === ".eh_frame_hdr") hdr = s;
      else if (n === ".eh_frame") eh = s;
      else if (s.type === 2) symtab = s;
      else if (s.type === 11) dynsym = s;
    }
    this.#hdr = hdr;
    this.#eh = eh;
    this.#table = null;
    if (eh !== null && eh.type !== 8 /* NOBITS */) fill(eh.off, eh.size);
    if (hdr !== null && hdr.type !== 8) {
      fill(hdr.off, hdr.size);
      const r = new Reader(dv, hdr.off);
      if (r.u8() === 1) {
        const ptrEnc = r.u8();
        const countEnc = r.u8();
        const tableEnc = r.u8();
        this.#ptr(r, ptrEnc, hdr);
        const count = this.#ptr(r, countEnc, hdr);
        if (tableEnc === 0x3b) {
          this.#table = { enc: tableEnc, at: r.pos, count };
        }
      }
    }
    // Function symbols, sorted, for names.
    const st = symtab ?? dynsym;
    let n = 0;
    let addr = new Float64Array(0);
    let name = new Uint32Array(0);
    if (st !== null && st.off + st.size <= size) {
      const strs = sec(st.link);
      fill(strs.off, strs.size);
      const tab = readAt(f, st.off, st.size);
      // An entry is six 32-bit words (x86-64's byte order): name, info |
      // other << 8 | shndx << 16, value, size. As words, and sorted by one
      // native sort (no DataView calls, no comparator, no BigInt): run
      // before V8 compiled anything, libc's ~3,000 symbols were ~4 ms of a
      // sampled run's first stack, and their objects most of its garbage.
      const w = new Uint32Array(tab.buffer, 0, Math.floor(tab.length / 24) * 6);
      addr = new Float64Array(w.length / 6);
      name = new Uint32Array(w.length / 6);
      for (let k = 0; k < w.length; k += 6) {
        if ((w[k + 1] & 0xf) !== 2) continue; // STT_FUNC
        const a = w[k + 2] + w[k + 3] * 4294967296;
        if (a === 0) continue;
        addr[n] = a;
        name[n] = strs.off + w[k];
        n++;
      }
    }
    // By address; of one address, in table order.
    const order = byAddress(addr, n);
    this.#symAddr = new Float64Array(n);
    this.#symName = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.#symAddr[i] = addr[order[i]];
      this.#symName[i] = name[order[i]];
    }
  }

  /**
   * Reads an ELF file's tables (only their sections: libc is ~2 MB, its
   * tables ~300 KB); null when it cannot be read or has no `.eh_frame_hdr`.
   */
  static load(path: string): ElfUnwindInfo | null {
    let f: Deno.FsFile;
    try {
      f = Deno.openSync(path);
    } catch {
      return null;
    }
    try {
      if (!isElf64(readAt(f, 0, 64))) return null;
      const u = new ElfUnwindInfo(f, f.statSync().size);
      return u.#table === null ? null : u;
    } catch {
      return null;
    } finally {
      f.close();
    }
  }

  /** A pointer in `enc` encoding at `r` (pcrel/datarel against `base` section). */
  #ptr(r: Reader, enc: number, base: { addr: number; off: number }): number {
    if (enc === 0xff) return 0;
    const fieldVaddr = base.addr + (r.pos - base.off);
    let v: number;
    switch (enc & 0x0f) {
      case 0x00:
        v = r.u64();
        break;
      case 0x01:
        v = r.uleb();
        break;
      case 0x02:
        v = r.u16();
        break;
      case 0x03:
        v = r.u32();
        break;
      case 0x04:
        v = r.u64();
        break;
      case 0x09:
        v = r.sleb();
        break;
      case 0x0b:
        v = r.i32();
        break;
      case 0x0c:
        v = r.u64();
        break;
      default:
        throw new Error(`pointer encoding 0x${enc.toString(16)}`);
    }
    if ((enc & 0x70) === 0x10) v += fieldVaddr;
    else if ((enc & 0x70) === 0x30 && this.#hdr !== null) v += this.#hdr.addr;
    return v;
  }

  /** The function symbol containing `addr`, with the offset into it. */
  symbol(addr: number): { name: string; off: number } | null {
    const s = this.#symAddr;
    let best = lastAtOrBelow(s.length, (i) => s[i], addr);
    if (best < 0) return null;
    // Like libunwind's names: the nearest symbol at or before the address,
    // even past its size (static functions missing from .dynsym).
    // Of aliases (malloc, __libc_malloc), the first in the table, as libunwind.
    while (best > 0 && s[best - 1] === s[best]) best--;
    const bytes = this.#dv;
    let name = "";
    for (
      let i = this.#symName[best];
      i < bytes.byteLength && bytes.getUint8(i) !== 0;
      i++
    ) {
      name += String.fromCharCode(bytes.getUint8(i));
    }
    return { name, off: addr - s[best] };
  }

  /** The CFI row at `addr` (cached), or null. */
  row(addr: number): Row | null {
    let r = this.#rows.get(addr);
    if (r === undefined) {
      try {
        r = this.#findRow(addr);
      } catch {
        r = null;
      }
      this.#rows.set(addr, r);
    }
    return r;
  }

  #findRow(addr: number): Row | null {
    const t = this.#table!;
    const hdr = this.#hdr!;
    const eh = this.#eh!;
    const dv = this.#dv;
    // The table: (initial location, FDE address) pairs, datarel sdata4.
    const found = lastAtOrBelow(
      t.count,
      (i) => hdr.addr + dv.getInt32(t.at + i * 8, true),
      addr,
    );
    if (found < 0) return null;
    const fdeAddr = hdr.addr + dv.getInt32(t.at + found * 8 + 4, true);
    const fdeOff = eh.off + (fdeAddr - eh.addr);
    const r = new Reader(dv, fdeOff);
    const len = r.u32();
    if (len === 0 || len === 0xffffffff) return null;
    const end = r.pos + len;
    const ciePtrPos = r.pos;
    const cieOff = ciePtrPos - r.u32();
    const cie = this.#cie(cieOff);
    const begin = this.#ptr(r, cie.fdeEnc, eh);
    const range = this.#ptr(r, cie.fdeEnc & 0x0f, eh);
    if (addr < begin || addr >= begin + range) return null;
    if (cie.fdeEnc !== -1) {
      const augLen = r.uleb();
      r.pos += augLen;
    }
    const row: Row = { cfaReg: RSP, cfaOff: 8, saved: new Map() };
    this.#run(cie, cie.initial[0], cie.initial[1], row, begin, Infinity);
    const init = new Map(row.saved);
    this.#run(cie, r.pos, end, row, begin, addr, init);
    return row;
  }

  #cie(off: number): Cie {
    let c = this.#cies.get(off);
    if (c !== undefined) return c;
    const r = new Reader(this.#dv, off);
    const len = r.u32();
    const end = r.pos + len;
    r.u32(); // CIE id
    const version = r.u8();
    const aug = r.cstr();
    if (version >= 4) r.pos += 2;
    const codeAlign = r.uleb();
    const dataAlign = r.sleb();
    const ra = version === 1 ? r.u8() : r.uleb();
    let fdeEnc = 0;
    if (aug.startsWith("z")) {
      const augLen = r.uleb();
      const augEnd = r.pos + augLen;
      for (const ch of aug.slice(1)) {
        if (ch === "R") fdeEnc = r.u8();
        else if (ch === "P") {
          const e = r.u8();
          this.#ptr(r, e & 0x7f, this.#eh!);
        } else if (ch === "L") r.u8();
      }
      r.pos = augEnd;
    } else fdeEnc = -1;
    c = { codeAlign, dataAlign, ra, fdeEnc, initial: [r.pos, end] };
    this.#cies.set(off, c);
    return c;
  }

  /** Runs CFI instructions [pos, end) from location `loc` until past `target`. */
  #run(
    cie: Cie,
    pos: number,
    end: number,
    row: Row,
    loc: number,
    target: number,
    init?: Map<number, number | null | "undefined">,
  ): void {
    const r = new Reader(this.#dv, pos);
    const stack: {
      cfaReg: number;
      cfaOff: number;
      saved: Map<number, number | null | "undefined">;
    }[] = [];
    const set = (reg: number, v: number | null | "undefined") => {
      if (TRACKED.includes(reg)) row.saved.set(reg, v);
    };
    while (r.pos < end) {
      const op = r.u8();
      const hi = op & 0xc0;
      const low = op & 0x3f;
      if (hi === 0x40) {
        loc += low * cie.codeAlign;
        if (loc > target) return;
        continue;
      }
      if (hi === 0x80) {
        set(low, r.uleb() * cie.dataAlign);
        continue;
      }
      if (hi === 0xc0) {
        set(low, init?.get(low) ?? null);
        continue;
      }
      switch (op) {
        case 0x00:
          break;
        case 0x01:
          loc = this.#ptr(r, cie.fdeEnc, this.#eh!);
          if (loc > target) return;
          break;
        case 0x02:
          loc += r.u8() * cie.codeAlign;
          if (loc > target) return;
          break;
        case 0x03:
          loc += r.u16() * cie.codeAlign;
          if (loc > target) return;
          break;
        case 0x04:
          loc += r.u32() * cie.codeAlign;
          if (loc > target) return;
          break;
        case 0x05:
          set(r.uleb(), r.uleb() * cie.dataAlign);
          break;
        case 0x06: {
          const reg = r.uleb();
          set(reg, init?.get(reg) ?? null);
          break;
        }
        case 0x07:
          set(r.uleb(), "undefined");
          break;
        case 0x08:
          set(r.uleb(), null);
          break;
        case 0x09: {
          const reg = r.uleb();
          r.uleb();
          set(reg, "undefined"); // in another register: not followed
          break;
        }
        case 0x0a:
          stack.push({
            cfaReg: row.cfaReg,
            cfaOff: row.cfaOff,
            saved: new Map(row.saved),
          });
          break;
        case 0x0b: {
          const s = stack.pop();
          if (s !== undefined) {
            row.cfaReg = s.cfaReg;
            row.cfaOff = s.cfaOff;
            row.saved = s.saved;
          }
          break;
        }
        case 0x0c:
          row.cfaReg = r.uleb();
          row.cfaOff = r.uleb();
          break;
        case 0x0d:
          row.cfaReg = r.uleb();
          break;
        case 0x0e:
          row.cfaOff = r.uleb();
          break;
        case 0x0f: // def_cfa_expression
          r.pos += r.uleb();
          row.cfaReg = -1;
          break;
        case 0x10: {
          const reg = r.uleb();
          r.pos += r.uleb();
          set(reg, "undefined");
          break;
        }
        case 0x11:
          set(r.uleb(), r.sleb() * cie.dataAlign);
          break;
        case 0x12:
          row.cfaReg = r.uleb();
          row.cfaOff = r.sleb() * cie.dataAlign;
          break;
        case 0x13:
          row.cfaOff = r.sleb() * cie.dataAlign;
          break;
        case 0x14:
        case 0x15:
          set(r.uleb(), "undefined");
          r.uleb();
          break;
        case 0x16: {
          const reg = r.uleb();
          r.pos += r.uleb();
          set(reg, "undefined");
          break;
        }
        case 0x2e: // GNU_args_size
          r.uleb();
          break;
        case 0x2f: // GNU_negative_offset_extended
          set(r.uleb(), -r.uleb() * cie.dataAlign);
          break;
        default:
          throw new Error(`CFA op 0x${op.toString(16)}`);
      }
    }
  }
}

/** A module mapped in the program: its unwind info and the bias from link-time addresses. */
export interface UnwindModule {
  info: ElfUnwindInfo;
  /** Runtime address − link-time address. */
  bias: number;
}

/**
 * Walks a copy of the stack: `stack` holds the bytes from `rsp` up, `regs`
 * the DWARF registers known at `pc` (at least rsp; rbp and others when
 * known). Returns the PCs, innermost first: `pc`, then return addresses.
 * `reach.bytes` is raised to the end of the deepest word it tried to read
 * (from `rsp`, in the copy or past it).
 */
export function unwindCopy(
  pc: number,
  regs: Map<number, number>,
  stack: Uint8Array,
  moduleOf: (pc: number) => UnwindModule | null,
  isCode: (pc: number) => boolean = () => true,
  maxFrames = 64,
  reach?: { bytes: number },
): number[] {
  const rsp0 = regs.get(RSP)!;
  const dv = new DataView(stack.buffer, stack.byteOffset, stack.byteLength);
  const read = (addr: number): number | undefined => {
    const o = addr - rsp0;
    // How deep the walk looked, whether or not the copy reaches that far.
    if (reach !== undefined && o >= 0 && o + 8 > reach.bytes) {
      reach.bytes = o + 8;
    }
    if (o < 0 || o + 8 > stack.length) return undefined;
    return Number(dv.getBigUint64(o, true));
  };
  const out = [pc];
  let first = true;
  while (out.length < maxFrames) {
    const m = moduleOf(pc);
    if (m === null) break;
    // A return address is after the call: look up the call itself.
    const row = m.info.row(pc - m.bias - (first ? 0 : 1));
    if (row === null || row.cfaReg < 0) break;
    const base = regs.get(row.cfaReg);
    if (base === undefined) break;
    const cfa = base + row.cfaOff;
    const raRule = row.saved.get(RA);
    if (raRule === "undefined") break; // the outermost frame
    if (typeof raRule !== "number") break;
    const ra = read(cfa + raRule);
    if (ra === undefined || ra === 0 || !isCode(ra)) break;
    const next = new Map<number, number>();
    for (const reg of TRACKED) {
      if (reg === RA) continue;
      const rule = row.saved.get(reg);
      if (typeof rule === "number") {
        const v = read(cfa + rule);
        if (v !== undefined) next.set(reg, v);
      } else if (rule !== "undefined") {
        const v = regs.get(reg);
        if (v !== undefined) next.set(reg, v);
      }
    }
    // The caller's frame is above this one.
    if (cfa <= (regs.get(RSP) ?? 0)) break;
    next.set(RSP, cfa);
    regs = next;
    out.push(ra);
    pc = ra;
    first = false;
  }
  return out;
}
