/**
 * A small x86-64 assembler for the injected hooks (inject.ts): bytes
 * appended as they are written, labels, jumps to labels fixed up at the
 * end, and RIP-relative operands to absolute addresses.
 *
 * @module
 */

/** Assembled code: bytes, labels, and jumps to labels fixed up at the end. */
export class Asm {
  /** The bytes so far. */
  readonly out: number[] = [];
  readonly #labels = new Map<string, number>();
  readonly #fixups: { at: number; label: string; end: number }[] = [];
  /** Code to be placed at `base`. */
  constructor(readonly base: number) {}
  /** The address of the next byte. */
  get pc(): number {
    return this.base + this.out.length;
  }
  /** Appends bytes. */
  b(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  /** Names the next byte's address. */
  label(name: string): this {
    this.#labels.set(name, this.pc);
    return this;
  }
  /** An instruction with a RIP-relative disp32 to an absolute address, then `imm`. */
  rip(opcode: number[], modrmReg: number, target: number, imm: number[] = []) {
    const end = this.pc + opcode.length + 1 + 4 + imm.length;
    const disp = target - end;
    if (disp < -0x80000000 || disp > 0x7fffffff) {
      throw new Error("RIP-relative target out of range");
    }
    return this.b(...opcode, ((modrmReg & 7) << 3) | 5, ...le32(disp), ...imm);
  }
  /** jmp/jcc rel32 to a label (cc < 0: jmp). */
  jump(cc: number, label: string): this {
    if (cc < 0) this.b(0xe9);
    else this.b(0x0f, 0x80 + cc);
    this.#fixups.push({ at: this.out.length, label, end: this.pc + 4 });
    return this.b(0, 0, 0, 0);
  }
  /** jmp rel32 to an absolute address. */
  jmpTo(target: number): this {
    return this.b(0xe9, ...le32(target - (this.pc + 5)));
  }
  /** jmp *0(%rip) with the absolute address after it (any distance). */
  jmpAbs(target: number): this {
    return this.b(0xff, 0x25, 0, 0, 0, 0, ...le64(target));
  }
  /** The code, every jump to a label fixed up. */
  finish(): Uint8Array {
    for (const f of this.#fixups) {
      const t = this.#labels.get(f.label);
      if (t === undefined) throw new Error(`no label ${f.label}`);
      this.out.splice(f.at, 4, ...le32(t - f.end));
    }
    return new Uint8Array(this.out);
  }
}

/** `v`'s 4 bytes, little-endian. */
export const le32 = (
  v: number,
) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
/** `v`'s 8 bytes, little-endian. */
export const le64 = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return [...b];
};

/** Condition codes of jcc (the low nibble of 0x70+cc / 0x0f 0x80+cc). */
export const CC = { b: 0x2, e: 0x4, ne: 0x5, ae: 0x3, g: 0xf } as const;
