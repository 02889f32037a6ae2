/**
 * Moving a hooked function's first instructions into its stub (inject.ts):
 * the entry's first 5+ bytes are overwritten by a `jmp` to the stub, so the
 * whole instructions there are decoded (only the kinds function prologues
 * use), run from the stub instead, re-aimed where they are RIP-relative,
 * and followed by a jump back into the function.
 *
 * @module
 */

import { type Asm, le32 } from "./_asm.ts";

/** Registers' ModRM encodings are not needed: only lengths and RIP-relative fields. */
export interface Decoded {
  len: number;
  /** Offset of a rel32 / disp32 to re-aim, with the instruction's original end. */
  rel?: { at: number; size: 1 | 4; kind: "disp" | "branch" };
  /** A short conditional jump (7x rel8), rewritten as 0f 8x rel32. */
  jcc8?: number;
}

/** The length of the ModRM (+SIB, disp) at b[i]; RIP-relative noted. */
function modrm(b: Uint8Array, i: number): { len: number; ripAt?: number } {
  const m = b[i];
  const mod = m >> 6;
  const rm = m & 7;
  if (mod === 3) return { len: 1 };
  let len = 1;
  if (rm === 4) len++; // SIB
  if (mod === 0 && rm === 5) return { len: 5, ripAt: i + 1 };
  if (mod === 0 && rm === 4 && (b[i + 1] & 7) === 5) return { len: len + 4 };
  if (mod === 1) len += 1;
  if (mod === 2) len += 4;
  return { len };
}

/** Decodes one instruction of the kinds function prologues use; null for others. */
export function decode(b: Uint8Array, i: number): Decoded | null {
  const s = i;
  let rex = 0;
  if (
    b[i] === 0xf3 && b[i + 1] === 0x0f && b[i + 2] === 0x1e && b[i + 3] === 0xfa
  ) {
    return { len: 4 }; // endbr64
  }
  if (b[i] >= 0x40 && b[i] <= 0x4f) rex = b[i++];
  const op = b[i++];
  if (op >= 0x50 && op <= 0x5f) return { len: i - s }; // push/pop reg
  if (rex === 0 && op >= 0x70 && op <= 0x7f) return { len: 2, jcc8: op - 0x70 };
  if (op === 0x0f) {
    const op2 = b[i++];
    if (rex === 0 && op2 >= 0x80 && op2 <= 0x8f) {
      return { len: 6, rel: { at: 2, size: 4, kind: "branch" } };
    }
    return null;
  }
  if (rex === 0 && (op === 0xe8 || op === 0xe9)) {
    return { len: 5, rel: { at: 1, size: 4, kind: "branch" } };
  }
  // ALU/mov/test/lea r, r/m (no immediate).
  const noImm = [
    0x01,
    0x03,
    0x09,
    0x0b,
    0x21,
    0x23,
    0x29,
    0x2b,
    0x31,
    0x33,
    0x39,
    0x3b,
    0x85,
    0x89,
    0x8b,
    0x8d,
  ];
  let imm = -1;
  if (noImm.includes(op)) imm = 0;
  else if (op === 0x83 || op === 0x80 || op === 0xc6 || op === 0xc1) imm = 1;
  else if (op === 0x81 || op === 0xc7) imm = 4;
  else if (op === 0xf7) imm = ((b[i] >> 3) & 7) <= 1 ? 4 : 0;
  if (imm < 0) return null;
  const m = modrm(b, i);
  const len = i - s + m.len + imm;
  if (m.ripAt !== undefined) {
    return { len, rel: { at: m.ripAt - s, size: 4, kind: "disp" } };
  }
  return { len };
}

/**
 * Decodes at least 5 bytes of whole instructions at a function's entry and
 * returns an emitter that writes them (re-aimed where they are relative)
 * and a jump back; null when an instruction is not understood.
 */
export function relocate(
  head: Uint8Array,
  entry: number,
  _a: Asm,
): ((a: Asm) => void) | null {
  const insns: Decoded[] = [];
  let n = 0;
  while (n < 5) {
    const d = decode(head, n);
    if (d === null || n + d.len > head.length) return null;
    insns.push(d);
    n += d.len;
  }
  return (a: Asm) => {
    let off = 0;
    for (const d of insns) {
      const src = entry + off;
      const bytes = head.slice(off, off + d.len);
      if (d.jcc8 !== undefined) {
        const target = src + 2 + ((bytes[1] << 24) >> 24);
        a.b(0x0f, 0x80 + d.jcc8, ...le32(target - (a.pc + 6)));
      } else if (d.rel !== undefined) {
        const dv = new DataView(bytes.buffer);
        const target = src + d.len + dv.getInt32(d.rel.at, true);
        const nd = target - (a.pc + d.len);
        if (nd < -0x80000000 || nd > 0x7fffffff) {
          throw new Error("displaced instruction out of range");
        }
        dv.setInt32(d.rel.at, nd, true);
        a.b(...bytes);
      } else a.b(...bytes);
      off += d.len;
    }
    a.jmpAbs(entry + off);
  };
}
