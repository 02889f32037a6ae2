/**
 * In-process hooks for native tracing: x86-64 code that the tracer writes
 * into a page it maps in the traced program, so that most malloc and free
 * calls cost no ptrace stop at all.
 *
 * Each hooked function's entry is patched with a `jmp` to its stub. free's
 * stub appends a record (kind, thread, argument) to a ring buffer in the
 * same page. An allocation's stub takes a slot, keeps the call's byte
 * count, arguments and stack pointer in it, and swaps the return address
 * for that slot's trampoline, which appends one record with all of them and
 * the result when the function returns (realloc's and reallocarray's
 * stubs also append a record at entry: calls inside them are theirs). When the sampling countdown runs out (always, with a stack per
 * call), the stub also copies the callee-saved registers and the top of the
 * stack into the slot (a process_vm_readv on itself, which stops short at
 * the end of the stack instead of faulting) and takes the next countdown
 * the tracer drew ahead. The stub then runs the function's displaced first
 * instructions and jumps back. The tracer reads the ring (process_vm_readv)
 * whenever the program stops: when the ring or the slots are full (an
 * `int3` in the stub), at each thread's exit, and at any other stop. Records
 * carry their ring index, so their order is the order in which the calls
 * happened.
 *
 * Nothing here is C: the bytes are assembled below, instruction by
 * instruction (_asm.ts), and only ever run inside the traced program; the
 * functions' displaced first instructions are moved by relocate.ts.
 *
 * @module
 */

import { Asm, CC, le32 } from "./_asm.ts";
import { relocate } from "./relocate.ts";

/**
 * Record kinds (low 6 bits of a record's type word). An allocation's record
 * (kind 1…9) is written when the call returns, with everything about it;
 * realloc and reallocarray also write an {@link REC_ENTER} record when
 * they are entered, so that the calls made inside them are known as such.
 */
export const REC_ENTER = 0x10;
/** A free's record kind. */
export const REC_FREE = 0x20;

/**
 * A record's stamp (the high half of its type word) is the time-stamp
 * counter's bits STAMP_SHIFT … STAMP_SHIFT + 31 when the stub saw the call
 * (an allocation's return, a free's entry; stub_clock.ts reads it).
 */
export const STAMP_SHIFT = 10;

/** Ring records: 64 bytes each. */
export const RECORD_BYTES = 64;
/** Records in the ring (a power of two). */
export const RING_RECORDS = 1 << 17;
/** Return slots (a power of two): calls in progress at once, all threads. */
export const SLOTS = 1 << 12;
/** Flag in a call's record type: its stack was copied (to its slot's snapshot); the record's last word is the copy's hash. */
export const REC_STACK = 0x40;
/** Flag in a call's record type: its stack's hash was in the table; the record's last word is the stack id + 1 found there. */
export const REC_KNOWN = 0x80;
/** Entries of the stack table (hash → stack id + 1), a power of two; probes run past the end by {@link STACK_PROBES}. */
export const STACK_IDS = 1 << 16;
/** Entries a stub looks at for a hash (linear probing). */
export const STACK_PROBES = 8;
/** Entries of the thread table (thread pointer → its stack's [lo, hi)), a power of two. */
export const THREAD_SLOTS = 1 << 12;
/** Most code ranges the stubs tell code addresses by. */
export const MAX_CODE_RANGES = 32;
/** Bytes of a slot's snapshot: 64 of registers (rbp, rbx, r12–r15, -, bytes copied), then the stack. */
export const SNAPSHOT_BYTES = 2048;

/** Pre-drawn sampling countdowns (a power of two), refilled by the tracer. */
export const DRAWS = 1 << 16;

const TRAMPS = 0x1000 + SLOTS * 64 + RING_RECORDS * RECORD_BYTES;
const COMMON = TRAMPS + SLOTS * 16;
const CODE = COMMON + 0x1000;

/**
 * Layout of the injected region. The control words: the ring's head (next
 * record, taken with cmpxchg) and tail (written by the tracer), the
 * sampling budget, the slot cursor, the program's pid, the index of the
 * next pre-drawn countdown. A slot (64 bytes): busy (0 free, 1 in a call,
 * 2 in a call whose stack was copied: the tracer frees it), the saved
 * return address, then the two iovecs of the stack copy, which once the
 * copy is made hold the call's record type, byte count, rdi and rsp at
 * entry; the stack's hash or id + 1; where posix_memalign stores its
 * result. A record (64 bytes): its index + 1 (written last), the type
 * (kind | REC_STACK or REC_KNOWN, slot << 8; in its high 32 bits the
 * stamp, {@link STAMP_SHIFT}), the thread pointer; then for
 * free its argument, and for an allocation its result, its byte count, rdi
 * (realloc's old block) or what posix_memalign stored, rsp at entry, and
 * the stack's hash (REC_STACK) or id + 1 (REC_KNOWN); REC_ENTER records
 * hold only the thread pointer. The code ranges:
 * their count, then [start, end) pairs; codeLo/codeHi bound them all. The
 * stack table: (hash, id + 1) pairs, written by the tracer id first.
 */
export const LAYOUT = {
  head: 0x00,
  tail: 0x08,
  budget: 0x10,
  cursor: 0x18,
  pid: 0x20,
  drawIndex: 0x28,
  hashLimit: 0x30,
  codeLo: 0x40,
  codeHi: 0x48,
  ranges: 0x100,
  slots: 0x1000,
  ring: 0x1000 + SLOTS * 64,
  tramps: TRAMPS,
  common: COMMON,
  code: CODE,
  snapshots: CODE + 0x8000,
  draws: CODE + 0x8000 + SLOTS * SNAPSHOT_BYTES,
  stackIds: CODE + 0x8000 + SLOTS * SNAPSHOT_BYTES + DRAWS * 8,
  threads: CODE + 0x8000 + SLOTS * SNAPSHOT_BYTES + DRAWS * 8 +
    (STACK_IDS + STACK_PROBES) * 16,
} as const;

/**
 * The region's first part, which the tracer may map too (ring_map.ts): the
 * control words, the slots and the ring, everything the stubs write on
 * every call and the tracer reads on every drain; none of it is code.
 */
export const SHARED_BYTES = LAYOUT.tramps;

/** Bytes to map. */
export const REGION_BYTES = LAYOUT.threads +
  (THREAD_SLOTS + STACK_PROBES) * 32;

/**
 * Appends a ring record: on exit rax = the record's address and r11 = its
 * committed marker (index + 1), to be stored last at [rax]. Uses rax, r11,
 * rcx. A full ring traps (int3 at `fullTrap`) and retries after the tracer
 * drained it.
 */
function reserve(a: Asm, region: number, id: string, fullTraps: number[]) {
  const head = region + LAYOUT.head;
  a.label(`${id}.r`);
  a.rip([0x48, 0x8b], 0, head); // mov rax, [head]
  a.label(`${id}.l`);
  a.b(0x49, 0x89, 0xc3); // mov r11, rax
  a.rip([0x4c, 0x2b], 3, region + LAYOUT.tail); // sub r11, [tail]
  a.b(0x49, 0x81, 0xfb, ...le32(RING_RECORDS)); // cmp r11, N
  a.jump(CC.ae, `${id}.full`);
  a.b(0x4c, 0x8d, 0x58, 0x01); // lea r11, [rax+1]
  a.rip([0xf0, 0x4c, 0x0f, 0xb1], 3, head); // lock cmpxchg [head], r11
  a.jump(CC.ne, `${id}.l`);
  a.b(0x25, ...le32(RING_RECORDS - 1)); // and eax, N-1
  a.b(0x48, 0xc1, 0xe0, 0x06); // shl rax, 6
  a.rip([0x48, 0x8d], 1, region + LAYOUT.ring); // lea rcx, [ring]
  a.b(0x48, 0x01, 0xc8); // add rax, rcx
  a.jump(-1, `${id}.ok`);
  a.label(`${id}.full`);
  fullTraps.push(a.pc);
  a.b(0xcc); // int3: the tracer drains the ring
  a.jump(-1, `${id}.r`);
  a.label(`${id}.ok`);
}

/**
 * eax = the stamp: the time-stamp counter's bits from {@link STAMP_SHIFT}
 * (rax's high half zero). Uses rax, rdx. The rdtsc's address goes to
 * `reads` (it faults in a program that turned the counter off for itself).
 */
function stamp(a: Asm, reads: number[]) {
  reads.push(a.pc);
  a.b(0x0f, 0x31); // rdtsc
  a.b(0x0f, 0xac, 0xd0, STAMP_SHIFT); // shrd eax, edx, STAMP_SHIFT
}

/**
 * The record's type word into [rax+8] (`loadType` leaves it in rcx), the
 * thread pointer (fs:0) into [rax+16].
 */
function typeAndThread(a: Asm, loadType: number[]) {
  a.b(...loadType);
  a.b(0x48, 0x89, 0x48, 0x08); // mov [rax+8], rcx
  a.b(0x64, 0x48, 0x8b, 0x0c, 0x25, 0, 0, 0, 0); // mov rcx, fs:[0]
  a.b(0x48, 0x89, 0x48, 0x10); // mov [rax+16], rcx
}

/**
 * After a stack copy (rcx = the slot's snapshot, rax = bytes copied; on
 * the stack: r9 = the type, r11 = the slot, then r10, rsi, rdi, rdx, rcx,
 * the return address, so rsp + 56 is the entry's rsp): hashes what an
 * unwinder can read of the copy and looks the hash up in the stack table.
 * Found: r8 = the stack id + 1, the type says REC_KNOWN and the slot is
 * freed at return like one without a copy (the tracer reads nothing more).
 * Not found: r8 = the hash, the type keeps REC_STACK.
 *
 * The hash is of the entry (`kind`), the bytes copied, and each word of
 * the registers and the copy that could change an unwinding, up to the
 * limit the tracer keeps at `hashLimit` (stored in the snapshot's unused
 * word): the deepest any unwinding has looked so far, so that a shallow
 * stack costs its depth, not the whole ~2 KB copy. A copy cut at the limit
 * hashes apart from any whole one, and the tracer keeps its hash only when
 * its unwinding looked no deeper than the limit. The words hashed: an address
 * in the code ranges (a return address, by value) or in or near the copy
 * (a frame pointer or saved rsp, relative to the entry's rsp), each with
 * its place. Any other word is left out: an unwinder that stops at a
 * return address outside the code ranges (hook_ring.ts) reads such a word
 * only to stop on it, whatever its value, so two copies with one hash
 * unwind to the same PCs. Uses rax, rcx, rdx, rsi, rdi, r8–r11.
 */
function stackHash(a: Asm, region: number, id: string, kind: number) {
  const K = [0x15, 0x7c, 0x4a, 0x7f, 0xb9, 0x79, 0x37, 0x9e]; // 0x9e3779b97f4a7c15
  a.rip([0x4c, 0x8b], 2, region + LAYOUT.hashLimit); // mov r10, [hashLimit]
  a.b(0x4c, 0x89, 0x51, 0x30); // mov [rcx+48], r10 (the limit this hash used)
  // The copy holds the trampoline's address: put the real return address back.
  a.b(0x4c, 0x8b, 0x5c, 0x24, 0x08); // mov r11, [rsp+8] (the slot)
  a.b(0x4d, 0x8b, 0x5b, 0x08); // mov r11, [r11+8] (its saved return address)
  a.b(0x48, 0x83, 0xf8, 0x08); // cmp rax, 8
  a.jump(0xc, `${id}.short`); // jl
  a.b(0x4c, 0x89, 0x59, 0x40); // mov [rcx+64], r11
  a.label(`${id}.short`);
  a.b(0x48, 0x8d, 0x54, 0x24, 0x38); // lea rdx, [rsp+56] (entry rsp)
  a.b(0x49, 0x89, 0xc0); // mov r8, rax
  a.b(0x4d, 0x85, 0xc0); // test r8, r8
  a.jump(CC.g, `${id}.pos`);
  a.b(0x45, 0x31, 0xc0); // xor r8d, r8d
  a.label(`${id}.pos`);
  a.b(0x49, 0x83, 0xe0, 0xf8); // and r8, -8
  a.b(0x45, 0x31, 0xdb); // xor r11d, r11d
  a.b(0x4d, 0x39, 0xd0); // cmp r8, r10
  a.jump(0x6, `${id}.lim`); // jbe: the whole copy is within the limit
  a.b(0x4d, 0x89, 0xd0); // mov r8, r10 (only the limit's bytes are hashed)
  a.b(0x41, 0xbb, 0x00, 0x80, 0, 0); // mov r11d, 0x8000 (and the hash says so)
  a.label(`${id}.lim`);
  a.b(0x49, 0xb9, ...K); // movabs r9, K
  a.b(0x4c, 0x89, 0xc0); // mov rax, r8 (h = bytes)
  a.b(0x4c, 0x09, 0xd8); // or rax, r11
  a.b(0x48, 0x35, ...le32(kind << 16)); // xor rax, kind << 16
  a.b(0x49, 0x0f, 0xaf, 0xc1); // imul rax, r9
  a.b(0x4a, 0x8d, 0x7c, 0x01, 0x40); // lea rdi, [rcx+r8+64] (end)
  a.b(0x48, 0x89, 0xce); // mov rsi, rcx (p: registers first, then the copy)
  a.b(0x45, 0x31, 0xd2); // xor r10d, r10d (p's offset)
  a.b(0x49, 0x81, 0xc0, ...le32(8192)); // add r8, 8192 (the near-stack bound)
  a.label(`${id}.loop`);
  a.b(0x48, 0x39, 0xfe); // cmp rsi, rdi
  a.jump(CC.ae, `${id}.done`);
  a.b(0x4c, 0x8b, 0x1e); // mov r11, [rsi]
  a.b(0x4c, 0x89, 0xd9); // mov rcx, r11
  a.b(0x48, 0x29, 0xd1); // sub rcx, rdx
  a.b(0x48, 0x81, 0xc1, ...le32(4096)); // add rcx, 4096
  a.b(0x4c, 0x39, 0xc1); // cmp rcx, r8
  a.jump(CC.b, `${id}.stk`); // within [rsp - 4096, rsp + bytes + 4096)
  a.rip([0x4c, 0x3b], 3, region + LAYOUT.codeLo); // cmp r11, [codeLo]
  a.jump(CC.b, `${id}.next`);
  a.rip([0x4c, 0x3b], 3, region + LAYOUT.codeHi); // cmp r11, [codeHi]
  a.jump(CC.b, `${id}.code`);
  a.label(`${id}.next`);
  a.b(0x48, 0x83, 0xc6, 0x08); // add rsi, 8
  a.b(0x49, 0x83, 0xc2, 0x08); // add r10, 8
  a.jump(-1, `${id}.loop`);
  a.label(`${id}.stk`);
  a.b(0x49, 0x89, 0xcb); // mov r11, rcx (the offset from rsp, + 4096)
  a.label(`${id}.mix`);
  // h = (h ^ (word | place << 48)) * K, the word in r11.
  a.b(0x4c, 0x89, 0xd1); // mov rcx, r10
  a.b(0x48, 0xc1, 0xe1, 0x30); // shl rcx, 48
  a.b(0x4c, 0x31, 0xd9); // xor rcx, r11
  a.b(0x48, 0x31, 0xc8); // xor rax, rcx
  a.b(0x49, 0x0f, 0xaf, 0xc1); // imul rax, r9
  a.jump(-1, `${id}.next`);
  // Between codeLo and codeHi: in one of the ranges?
  a.label(`${id}.code`);
  a.b(0x56, 0x57); // push rsi; push rdi
  a.rip([0x48, 0x8d], 6, region + LAYOUT.ranges); // lea rsi, [ranges]
  a.b(0x8b, 0x3e); // mov edi, [rsi] (count)
  a.b(0x48, 0x83, 0xc6, 0x08); // add rsi, 8
  a.label(`${id}.rl`);
  a.b(0x85, 0xff); // test edi, edi
  a.jump(CC.e, `${id}.notin`);
  a.b(0x4c, 0x3b, 0x1e); // cmp r11, [rsi]
  a.jump(CC.b, `${id}.nx`);
  a.b(0x4c, 0x3b, 0x5e, 0x08); // cmp r11, [rsi+8]
  a.jump(CC.b, `${id}.in`);
  a.label(`${id}.nx`);
  a.b(0x48, 0x83, 0xc6, 0x10); // add rsi, 16
  a.b(0xff, 0xcf); // dec edi
  a.jump(-1, `${id}.rl`);
  a.label(`${id}.in`);
  a.b(0x5f, 0x5e); // pop rdi; pop rsi
  a.jump(-1, `${id}.mix`); // the return address, by value
  a.label(`${id}.notin`);
  a.b(0x5f, 0x5e); // pop rdi; pop rsi
  a.jump(-1, `${id}.next`);
  a.label(`${id}.done`);
  a.b(0x48, 0x89, 0xc1); // mov rcx, rax
  a.b(0x48, 0xc1, 0xe9, 0x1d); // shr rcx, 29
  a.b(0x48, 0x31, 0xc8); // xor rax, rcx
  a.b(0x49, 0x0f, 0xaf, 0xc1); // imul rax, r9
  a.b(0x48, 0x89, 0xc1); // mov rcx, rax
  a.b(0x48, 0xc1, 0xe9, 0x20); // shr rcx, 32
  a.b(0x48, 0x31, 0xc8); // xor rax, rcx
  a.b(0x48, 0x83, 0xc8, 0x01); // or rax, 1 (never 0: 0 is an empty entry)
  // The table: STACK_PROBES entries from hash & (STACK_IDS - 1).
  a.b(0x48, 0x89, 0xc1); // mov rcx, rax
  a.b(0x81, 0xe1, ...le32(STACK_IDS - 1)); // and ecx, STACK_IDS - 1
  a.b(0x48, 0xc1, 0xe1, 0x04); // shl rcx, 4
  a.rip([0x48, 0x8d], 6, region + LAYOUT.stackIds); // lea rsi, [stackIds]
  a.b(0x48, 0x01, 0xce); // add rsi, rcx
  a.b(0xbf, ...le32(STACK_PROBES)); // mov edi, STACK_PROBES
  a.label(`${id}.probe`);
  a.b(0x48, 0x8b, 0x0e); // mov rcx, [rsi]
  a.b(0x48, 0x39, 0xc1); // cmp rcx, rax
  a.jump(CC.e, `${id}.hit`);
  a.b(0x48, 0x85, 0xc9); // test rcx, rcx
  a.jump(CC.e, `${id}.miss`);
  a.b(0x48, 0x83, 0xc6, 0x10); // add rsi, 16
  a.b(0xff, 0xcf); // dec edi
  a.jump(CC.ne, `${id}.probe`);
  a.jump(-1, `${id}.miss`);
  a.label(`${id}.hit`);
  a.b(0x4c, 0x8b, 0x46, 0x08); // mov r8, [rsi+8] (id + 1)
  // Read the hash again: the id is the one written before it.
  a.b(0x48, 0x3b, 0x06); // cmp rax, [rsi]
  a.jump(CC.ne, `${id}.miss`);
  a.b(0x48, 0x83, 0x24, 0x24, (~REC_STACK) & 0xff); // and qword [rsp], ~REC_STACK
  a.b(0x48, 0x81, 0x0c, 0x24, ...le32(REC_KNOWN)); // or qword [rsp], REC_KNOWN
  a.b(0x48, 0x8b, 0x4c, 0x24, 0x08); // mov rcx, [rsp+8] (the slot)
  a.b(0x48, 0xc7, 0x01, 1, 0, 0, 0); // mov qword [rcx], 1 (freed at return)
  a.jump(-1, `${id}.end`);
  a.label(`${id}.miss`);
  a.b(0x49, 0x89, 0xc0); // mov r8, rax (the hash)
  a.label(`${id}.end`);
}

/**
 * The stack copy without a system call (rax = the slot's snapshot, seven
 * words pushed since the entry): when the thread pointer has an entry in
 * the thread table and the entry's rsp is inside its stack [lo, hi), the
 * words from rsp up to hi (at most a snapshot's room) are all mapped, and
 * are copied with `rep movsq`; then rcx = the snapshot, rax = bytes copied,
 * and on to `.copied`. Otherwise on to `.slow` (process_vm_readv, which
 * stops short at unmapped memory), rax unchanged. Uses rcx, rdx, rsi, rdi.
 */
function threadStackCopy(a: Asm, region: number, id: string) {
  const K = [0x15, 0x7c, 0x4a, 0x7f, 0xb9, 0x79, 0x37, 0x9e]; // 0x9e3779b97f4a7c15
  a.b(0x48, 0x8d, 0x7c, 0x24, 0x38); // lea rdi, [rsp+56] (entry rsp)
  a.b(0x64, 0x48, 0x8b, 0x0c, 0x25, 0, 0, 0, 0); // mov rcx, fs:[0]
  a.b(0x48, 0xba, ...K); // movabs rdx, K
  a.b(0x48, 0x0f, 0xaf, 0xca); // imul rcx, rdx
  a.b(0x48, 0xc1, 0xe9, 64 - Math.log2(THREAD_SLOTS)); // shr rcx, 64 - log2(slots)
  a.b(0x48, 0xc1, 0xe1, 0x05); // shl rcx, 5 (32-byte entries)
  a.rip([0x48, 0x8d], 6, region + LAYOUT.threads); // lea rsi, [threads]
  a.b(0x48, 0x01, 0xce); // add rsi, rcx
  a.b(0x64, 0x48, 0x8b, 0x14, 0x25, 0, 0, 0, 0); // mov rdx, fs:[0]
  a.b(0xb9, ...le32(STACK_PROBES)); // mov ecx, probes
  a.label(`${id}.tp`);
  a.b(0x48, 0x39, 0x16); // cmp [rsi], rdx
  a.jump(CC.e, `${id}.tf`);
  a.b(0x48, 0x83, 0x3e, 0x00); // cmp qword [rsi], 0
  a.jump(CC.e, `${id}.slow`);
  a.b(0x48, 0x83, 0xc6, 0x20); // add rsi, 32
  a.b(0xff, 0xc9); // dec ecx
  a.jump(CC.ne, `${id}.tp`);
  a.jump(-1, `${id}.slow`);
  a.label(`${id}.tf`);
  a.b(0x48, 0x3b, 0x7e, 0x08); // cmp rdi, [rsi+8] (lo)
  a.jump(CC.b, `${id}.slow`);
  a.b(0x48, 0x8b, 0x4e, 0x10); // mov rcx, [rsi+16] (hi)
  a.b(0x48, 0x29, 0xf9); // sub rcx, rdi
  a.jump(0x6, `${id}.slow`); // jbe
  a.b(0x48, 0x81, 0xf9, ...le32(SNAPSHOT_BYTES - 64)); // cmp rcx, room
  a.jump(0x6, `${id}.fits`); // jbe
  a.b(0xb9, ...le32(SNAPSHOT_BYTES - 64)); // mov ecx, room
  a.label(`${id}.fits`);
  a.b(0x48, 0x83, 0xe1, 0xf8); // and rcx, -8
  a.b(0x48, 0x89, 0xfe); // mov rsi, rdi
  a.b(0x48, 0x8d, 0x78, 0x40); // lea rdi, [rax+64]
  a.b(0x48, 0x89, 0xc2); // mov rdx, rax
  a.b(0x48, 0x89, 0xc8); // mov rax, rcx
  a.b(0x48, 0xc1, 0xe9, 0x03); // shr rcx, 3
  a.b(0xf3, 0x48, 0xa5); // rep movsq
  a.b(0x48, 0x89, 0xd1); // mov rcx, rdx
  a.jump(-1, `${id}.copied`);
}

/** What a hooked function's stub needs. */
export interface HookSpec {
  /** Record kind: 1…9 for allocation functions, {@link REC_FREE} for free. */
  kind: number;
  /** Entry address in the program. */
  entry: number;
  /** The function's first bytes (at least 16). */
  head: Uint8Array;
  /** How the byte count is computed, for the sampling budget (allocations). */
  size?: "rdi" | "rsi" | "rdx" | "rdi*rsi" | "rsi*rdx";
  /** Where the result is stored instead of returned (posix_memalign: *rdi). */
  resultAt?: "rdi";
  /** Write a {@link REC_ENTER} record at entry (realloc, reallocarray: they call free and realloc). */
  enter?: boolean;
}

/** The byte count of a call into rcx, by {@link HookSpec.size}. */
const SIZE_TO_RCX: Record<NonNullable<HookSpec["size"]>, number[]> = {
  rdi: [0x48, 0x89, 0xf9], // mov rcx, rdi
  rsi: [0x48, 0x89, 0xf1], // mov rcx, rsi
  rdx: [0x48, 0x89, 0xd1], // mov rcx, rdx
  "rdi*rsi": [0x48, 0x89, 0xf9, 0x48, 0x0f, 0xaf, 0xce], // mov rcx, rdi; imul rcx, rsi
  "rsi*rdx": [0x48, 0x89, 0xf1, 0x48, 0x0f, 0xaf, 0xca], // mov rcx, rsi; imul rcx, rdx
};

/** The code to write and what the tracer must know about it. */
export interface Injection {
  /** Code bytes, written at `region + LAYOUT.tramps`. */
  code: Uint8Array;
  /** Per hook: its entry, the 8 bytes to write there, and the original 8. */
  patches: { entry: number; word: Uint8Array; orig: Uint8Array }[];
  /** Addresses of the int3s taken when the ring is full or every slot is in use. */
  fullTraps: Set<number>;
  /** Addresses of the stubs' rdtsc instructions. */
  tscReads: Set<number>;
}

/**
 * Assembles the trampolines and one stub per hook for a region mapped at
 * `region`. Returns null when an entry's first instructions cannot be moved
 * (the tracer then keeps to plain breakpoints).
 */
export function assemble(region: number, hooks: HookSpec[]): Injection | null {
  const a = new Asm(region + LAYOUT.tramps);
  const fullTraps: number[] = [];
  const tscReads: number[] = [];
  // Trampolines: mov r10d, slot; jmp common (16 bytes each).
  const common = region + LAYOUT.common;
  for (let i = 0; i < SLOTS; i++) {
    a.b(0x41, 0xba, ...le32(i)); // mov r10d, i
    a.jmpTo(common);
    a.b(0xcc, 0xcc, 0xcc, 0xcc, 0xcc);
  }
  // Common return path: the call's one record, from its slot and the
  // result (for posix_memalign, what it stored: the caller's variable may
  // be gone when the tracer reads the ring); free the slot, go back. rcx,
  // rdx, rsi, rdi, r8–r11 are free after a return.
  a.b(0x49, 0x89, 0xc3); // mov r11, rax (the result, for now)
  stamp(a, tscReads); // eax = the stamp
  a.b(0x4c, 0x89, 0xda); // mov rdx, r11 (the result)
  a.b(0x41, 0x89, 0xc3); // mov r11d, eax (the stamp)
  a.b(0x4c, 0x89, 0xd1); // mov rcx, r10
  a.b(0x48, 0xc1, 0xe1, 0x06); // shl rcx, 6
  a.rip([0x4c, 0x8d], 1, region + LAYOUT.slots); // lea r9, [slots]
  a.b(0x4c, 0x01, 0xc9); // add rcx, r9
  a.b(0x4c, 0x8b, 0x49, 0x38); // mov r9, [rcx+56] (where the result was stored, or 0)
  a.b(0x4d, 0x85, 0xc9); // test r9, r9
  a.jump(CC.e, "ret.nod");
  a.b(0x4d, 0x8b, 0x09); // mov r9, [r9]
  a.jump(-1, "ret.have");
  a.label("ret.nod");
  a.b(0x4c, 0x8b, 0x49, 0x20); // mov r9, [rcx+32] (rdi)
  a.label("ret.have");
  a.b(0x4c, 0x8b, 0x51, 0x10); // mov r10, [rcx+16] (the type, slot << 8 in it)
  a.b(0x49, 0xc1, 0xe3, 0x20); // shl r11, 32
  a.b(0x4d, 0x09, 0xda); // or r10, r11 (the stamp in the type's high half)
  a.b(0x48, 0x8b, 0x71, 0x18); // mov rsi, [rcx+24] (bytes)
  a.b(0x48, 0x8b, 0x79, 0x28); // mov rdi, [rcx+40] (rsp at entry)
  a.b(0x4c, 0x8b, 0x41, 0x30); // mov r8, [rcx+48] (hash or stack id + 1)
  reserve(a, region, "ret", fullTraps);
  typeAndThread(a, [0x4c, 0x89, 0xd1]); // mov rcx, r10
  a.b(0x48, 0x89, 0x50, 0x18); // mov [rax+24], rdx
  a.b(0x48, 0x89, 0x70, 0x20); // mov [rax+32], rsi
  a.b(0x4c, 0x89, 0x48, 0x28); // mov [rax+40], r9
  a.b(0x48, 0x89, 0x78, 0x30); // mov [rax+48], rdi
  a.b(0x4c, 0x89, 0x40, 0x38); // mov [rax+56], r8
  a.b(0x4c, 0x89, 0x18); // mov [rax], r11 (committed)
  a.b(0x45, 0x89, 0xd3); // mov r11d, r10d (the type without the stamp)
  a.b(0x49, 0xc1, 0xeb, 0x08); // shr r11, 8 (the slot)
  a.b(0x49, 0xc1, 0xe3, 0x06); // shl r11, 6
  a.rip([0x48, 0x8d], 1, region + LAYOUT.slots); // lea rcx, [slots]
  a.b(0x49, 0x01, 0xcb); // add r11, rcx
  a.b(0x49, 0x8b, 0x4b, 0x08); // mov rcx, [r11+8] (the saved return address)
  // Free the slot, unless it holds a stack copy: the tracer frees that one.
  a.b(0x49, 0x83, 0x3b, 0x01); // cmp qword [r11], 1
  a.jump(CC.ne, "ret.keep");
  a.b(0x49, 0xc7, 0x03, 0, 0, 0, 0); // mov qword [r11], 0 (slot free)
  a.label("ret.keep");
  a.b(0x48, 0x89, 0xd0); // mov rax, rdx
  a.b(0xff, 0xe1); // jmp rcx
  while (a.pc < region + LAYOUT.code) a.b(0xcc);

  const patches: Injection["patches"] = [];
  for (const [n, h] of hooks.entries()) {
    const moved = relocate(h.head, h.entry, a);
    if (moved === null) return null;
    const stub = a.pc;
    const id = `h${n}`;
    if (h.kind === REC_FREE) {
      a.b(0x48, 0x85, 0xff); // test rdi, rdi
      a.jump(CC.e, `${id}.skip`);
      a.b(0x51, 0x52); // push rcx; push rdx
      stamp(a, tscReads); // eax = the stamp
      a.b(0x89, 0xc2); // mov edx, eax
      reserve(a, region, id, fullTraps);
      typeAndThread(a, [
        ...[0x48, 0x89, 0xd1], // mov rcx, rdx
        ...[0x48, 0xc1, 0xe1, 0x20], // shl rcx, 32
        ...[0x48, 0x83, 0xc9, REC_FREE], // or rcx, REC_FREE
      ]);
    } else {
      a.b(0x51, 0x52); // push rcx; push rdx
      // The sampling budget: subtract the size; a stack is wanted at ≤ 0.
      const size = h.size ?? "rdi";
      const mov: Record<string, number[]> = {
        rdi: [0x49, 0x89, 0xfb],
        rsi: [0x49, 0x89, 0xf3],
        rdx: [0x49, 0x89, 0xd3],
        "rdi*rsi": [0x49, 0x89, 0xfb, 0x4c, 0x0f, 0xaf, 0xde],
        "rsi*rdx": [0x49, 0x89, 0xf3, 0x4c, 0x0f, 0xaf, 0xda],
      };
      a.b(...mov[size]);
      a.rip([0xf0, 0x4c, 0x29], 3, region + LAYOUT.budget); // lock sub [budget], r11
      a.b(0xb9, 1, 0, 0, 0); // mov ecx, 1 (slot freed at return)
      a.jump(CC.g, `${id}.slot`);
      a.b(0xb9, 2, 0, 0, 0); // mov ecx, 2 (slot keeps a stack copy)
      // Take the next return slot; a busy one means they are all in use.
      a.label(`${id}.slot`);
      a.b(0x41, 0xba, 1, 0, 0, 0); // mov r10d, 1
      a.rip([0xf0, 0x4c, 0x0f, 0xc1], 2, region + LAYOUT.cursor); // lock xadd [cursor], r10
      a.b(0x41, 0x81, 0xe2, ...le32(SLOTS - 1)); // and r10d, SLOTS-1
      a.b(0x4d, 0x89, 0xd3); // mov r11, r10
      a.b(0x49, 0xc1, 0xe3, 0x06); // shl r11, 6
      a.rip([0x48, 0x8d], 0, region + LAYOUT.slots); // lea rax, [slots]
      a.b(0x49, 0x01, 0xc3); // add r11, rax
      a.b(0x31, 0xc0); // xor eax, eax
      a.b(0xf0, 0x49, 0x0f, 0xb1, 0x0b); // lock cmpxchg [r11], rcx
      a.jump(CC.e, `${id}.got`);
      fullTraps.push(a.pc);
      a.b(0xcc); // int3: the tracer frees slots
      a.jump(-1, `${id}.slot`);
      a.label(`${id}.got`);
      a.b(0x48, 0x8b, 0x44, 0x24, 0x10); // mov rax, [rsp+16] (return address)
      a.b(0x49, 0x89, 0x43, 0x08); // mov [r11+8], rax
      if (h.resultAt === "rdi") a.b(0x49, 0x89, 0x7b, 0x38); // mov [r11+56], rdi
      else a.b(0x49, 0xc7, 0x43, 0x38, 0, 0, 0, 0); // mov qword [r11+56], 0
      a.b(0x4c, 0x89, 0xd0); // mov rax, r10
      a.b(0x48, 0xc1, 0xe0, 0x04); // shl rax, 4
      a.rip([0x4c, 0x8d], 1, region + LAYOUT.tramps); // lea r9, [tramps]
      a.b(0x4c, 0x01, 0xc8); // add rax, r9
      a.b(0x48, 0x89, 0x44, 0x24, 0x10); // mov [rsp+16], rax (return to the trampoline)
      // r9 = the record's type word.
      a.b(0x4d, 0x89, 0xd1); // mov r9, r10
      a.b(0x49, 0xc1, 0xe1, 0x08); // shl r9, 8
      a.b(0x49, 0x83, 0xc9, h.kind); // or r9, kind
      a.b(0x45, 0x31, 0xc0); // xor r8d, r8d (the record's last word)
      a.b(0x83, 0xf9, 0x02); // cmp ecx, 2
      a.jump(CC.ne, `${id}.nostack`);
      a.b(0x49, 0x83, 0xc9, REC_STACK); // or r9, REC_STACK
      a.b(0x57, 0x56, 0x41, 0x52, 0x41, 0x53, 0x41, 0x51); // push rdi, rsi, r10, r11, r9
      // The next countdown, pre-drawn by the tracer: budget = draws[i++].
      a.b(0xbe, 1, 0, 0, 0); // mov esi, 1
      a.rip([0xf0, 0x48, 0x0f, 0xc1], 6, region + LAYOUT.drawIndex); // lock xadd [drawIndex], rsi
      a.b(0x81, 0xe6, ...le32(DRAWS - 1)); // and esi, DRAWS-1
      a.rip([0x48, 0x8d], 7, region + LAYOUT.draws); // lea rdi, [draws]
      a.b(0x48, 0x8b, 0x34, 0xf7); // mov rsi, [rdi+rsi*8]
      a.rip([0x48, 0x89], 6, region + LAYOUT.budget); // mov [budget], rsi
      // rax = this slot's snapshot; the callee-saved registers go first.
      a.b(0x4c, 0x89, 0xd0); // mov rax, r10
      a.b(0x48, 0xc1, 0xe0, Math.log2(SNAPSHOT_BYTES)); // shl rax, log2(SNAPSHOT_BYTES)
      a.rip([0x48, 0x8d], 7, region + LAYOUT.snapshots); // lea rdi, [snapshots]
      a.b(0x48, 0x01, 0xf8); // add rax, rdi
      a.b(0x48, 0x89, 0x28); // mov [rax], rbp
      a.b(0x48, 0x89, 0x58, 0x08); // mov [rax+8], rbx
      a.b(0x4c, 0x89, 0x60, 0x10); // mov [rax+16], r12
      a.b(0x4c, 0x89, 0x68, 0x18); // mov [rax+24], r13
      a.b(0x4c, 0x89, 0x70, 0x20); // mov [rax+32], r14
      a.b(0x4c, 0x89, 0x78, 0x28); // mov [rax+40], r15
      threadStackCopy(a, region, id);
      a.label(`${id}.slow`);
      // iovecs in the slot: ours {snapshot + 64, n}, the stack's {entry rsp, n}.
      a.b(0x48, 0x8d, 0x78, 0x40); // lea rdi, [rax+64]
      a.b(0x49, 0x89, 0x7b, 0x10); // mov [r11+16], rdi
      a.b(0x49, 0xc7, 0x43, 0x18, ...le32(SNAPSHOT_BYTES - 64)); // mov qword [r11+24], n
      a.b(0x48, 0x8d, 0x7c, 0x24, 0x38); // lea rdi, [rsp+56] (rsp at entry: 7 pushes)
      a.b(0x49, 0x89, 0x7b, 0x20); // mov [r11+32], rdi
      a.b(0x49, 0xc7, 0x43, 0x28, ...le32(SNAPSHOT_BYTES - 64)); // mov qword [r11+40], n
      a.b(0x50); // push rax (the snapshot)
      // process_vm_readv(pid, &ours, 1, &stack, 1, 0): a copy that stops
      // short, instead of faulting, at the end of the stack.
      a.rip([0x8b], 7, region + LAYOUT.pid); // mov edi, [pid]
      a.b(0x49, 0x8d, 0x73, 0x10); // lea rsi, [r11+16]
      a.b(0xba, 1, 0, 0, 0); // mov edx, 1
      a.b(0x4d, 0x8d, 0x53, 0x20); // lea r10, [r11+32]
      a.b(0x41, 0xb8, 1, 0, 0, 0); // mov r8d, 1
      a.b(0x45, 0x31, 0xc9); // xor r9d, r9d
      a.b(0xb8, ...le32(310)); // mov eax, SYS_process_vm_readv
      a.b(0x0f, 0x05); // syscall
      a.b(0x59); // pop rcx (the snapshot)
      a.label(`${id}.copied`);
      a.b(0x48, 0x89, 0x41, 0x38); // mov [rcx+56], rax (bytes copied)
      stackHash(a, region, id, h.kind);
      a.b(0x41, 0x59, 0x41, 0x5b, 0x41, 0x5a, 0x5e, 0x5f); // pop r9, r11, r10, rsi, rdi
      a.b(0x48, 0x8b, 0x14, 0x24); // mov rdx, [rsp] (the argument, from its push)
      a.label(`${id}.nostack`);
      // What the return's record needs, kept in the slot (r11): the type,
      // the byte count, rdi, rsp at entry, the hash or stack id + 1.
      a.b(0x4d, 0x89, 0x4b, 0x10); // mov [r11+16], r9
      a.b(...SIZE_TO_RCX[size]);
      a.b(0x49, 0x89, 0x4b, 0x18); // mov [r11+24], rcx
      a.b(0x49, 0x89, 0x7b, 0x20); // mov [r11+32], rdi
      a.b(0x48, 0x8d, 0x4c, 0x24, 0x10); // lea rcx, [rsp+16] (rsp at entry)
      a.b(0x49, 0x89, 0x4b, 0x28); // mov [r11+40], rcx
      a.b(0x4d, 0x89, 0x43, 0x30); // mov [r11+48], r8
      if (h.enter) {
        // Calls made inside this one are its own: say it began.
        reserve(a, region, `${id}.e`, fullTraps);
        typeAndThread(a, [0xb9, ...le32(REC_ENTER)]); // mov ecx, REC_ENTER
        a.b(0x4c, 0x89, 0x18); // mov [rax], r11 (committed)
      }
      a.b(0x5a, 0x59); // pop rdx; pop rcx
    }
    if (h.kind === REC_FREE) {
      a.b(0x48, 0x89, 0x78, 0x18); // mov [rax+24], rdi
      a.b(0x48, 0x8d, 0x4c, 0x24, 0x10); // lea rcx, [rsp+16] (rsp at entry)
      a.b(0x48, 0x89, 0x48, 0x30); // mov [rax+48], rcx
      a.b(0x4c, 0x89, 0x18); // mov [rax], r11 (committed)
      a.b(0x5a, 0x59); // pop rdx; pop rcx
      a.label(`${id}.skip`);
    }
    // The displaced instructions, then back into the function.
    moved(a);
    // The entry: jmp rel32 to the stub.
    const rel = stub - (h.entry + 5);
    if (rel < -0x80000000 || rel > 0x7fffffff) return null;
    const word = h.head.slice(0, 8);
    word.set([0xe9, ...le32(rel)]);
    patches.push({ entry: h.entry, word, orig: h.head.slice(0, 8) });
  }
  if (a.pc > region + LAYOUT.snapshots) {
    throw new Error("stubs overflow their part of the region");
  }
  return {
    code: a.finish(),
    patches,
    fullTraps: new Set(fullTraps),
    tscReads: new Set(tscReads),
  };
}
