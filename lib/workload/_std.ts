/**
 * What the shared programs' standard-library calls allocate beyond their
 * own sites, on the running goroutine, printed with the paths real Go
 * prints (the preset's `std` frames, `lib/stack/frames_std.ts`):
 * `fmt.Printf` (a `sync.Pool` of printers, a fresh `fmt.pp` when the pool
 * is empty, the printer's buffer growing as the line is written), the
 * boxing of its integer arguments (`convT64`) and `a + b + c` of strings
 * (`concatstring3`). Modelled only with the runtime's own allocations
 * (`goStartup` turns them on) and frames for them; else nothing is
 * allocated.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import type { GoType } from "../runtime/types.ts";
import { AllocKind } from "../stack/allockind.ts";
import { nextslicecap } from "../runtime/slice.ts";
import type { RuntimeFrame, StdFrames } from "../stack/runtime_frames.ts";

const hex = (n: number) => "0x" + n.toString(16);

/** The preset's standard-library frames when they are modelled on `rt`, else null. */
function _frames(rt: Runtime): StdFrames | null {
  return rt.runtimeAllocations ? rt.preset.frames.std ?? null : null;
}

/**
 * Allocates `size` bytes of `typ` on the running goroutine, printed with
 * `path` above the goroutine's own frames (`value` for `%v`).
 */
function _alloc(
  rt: Runtime,
  path: readonly RuntimeFrame[],
  size: number,
  typ: GoType | null,
  needzero: boolean,
  value = 0,
): number {
  const [mallocgc, ...rest] = path;
  const g = rt.curg;
  rt.explicitStack = {
    goid: g.id,
    status: "running",
    frames: [
      {
        ...mallocgc,
        args: `${hex(size)}, ${hex(typ?.addr ?? 0)}, ${
          needzero ? "0x1" : "0x0"
        }`,
      },
      ...rest.map((f) =>
        f.args?.includes("%v")
          ? { ...f, args: f.args.replace("%v", hex(value)) }
          : f
      ),
    ],
    createdBy: null,
    onCurg: true,
  };
  try {
    return rt.mallocgc(size, typ, needzero, g.p, AllocKind.startup);
  } finally {
    rt.explicitStack = null;
  }
}

/** The type `name`, defined with `layout` the first time. */
function _type(
  rt: Runtime,
  name: string,
  layout: { size: number; pointers?: readonly number[] },
): GoType {
  return rt.types.list.find((t) => t.name === name) ??
    rt.types.define(name, {
      size: layout.size,
      pointers: [...layout.pointers ?? []],
    });
}

/**
 * `runtime.convT64(v)`: boxes an integer for an interface argument. Values
 * below 256 point into `staticuint64s` and allocate nothing; others are an
 * 8-byte noscan object (the tiny allocator's).
 */
export function convT64(rt: Runtime, v: number): void {
  const f = _frames(rt);
  if (f === null || v < 256) return;
  const t = _type(rt, "runtime.uint64InterfacePtr", { size: 8 });
  _alloc(rt, f.convT64, 8, t, false, v);
}

/** `a + b + c` of strings of `len` bytes in all (`runtime.concatstring3`). */
export function concatstring3(rt: Runtime, len: number): void {
  const f = _frames(rt);
  if (f === null) return;
  _alloc(rt, f.concatstring3, len, null, false, len);
}

/**
 * The word of P `p`'s pooled printer in a `[]poolLocal`: each poolLocal is
 * 128 bytes (16 words, padded), and its first field, `private any`, has
 * the pointer in its second word.
 */
function _privateWord(p: number): number {
  return 16 * p + 1;
}

/**
 * `fmt.Printf` on one goroutine: the printer pool (`fmt.ppFree`, a
 * `sync.Pool`) and the pooled printer's buffer. The pool's locals are
 * dropped at each cycle's start (`poolCleanup`: locals become the victim,
 * the old victim goes), so the first `Printf` after a cycle makes them
 * again (`pinSlow`), and a printer unused for two cycles is made again
 * (`New`) with an empty buffer.
 */
export class Printf {
  readonly #rt: Runtime;
  readonly #f: StdFrames | null;
  /** The pool's per-P locals (`poolLocal` array) and the victim's, in global roots. */
  readonly #local: number;
  readonly #victim: number;
  /** `sync.allPools` and `sync.oldPools`' backing arrays, in global roots. */
  readonly #allPools: number;
  readonly #oldPools: number;
  /** Capacity of the pooled printer's buffer (its array hangs off the printer). */
  #cap = 0;
  /** The victim's printer's buffer capacity. */
  #victimCap = 0;

  /** The printer pool of `rt`'s program (nothing is modelled without the preset's frames). */
  constructor(rt: Runtime) {
    this.#rt = rt;
    this.#f = _frames(rt);
    // Global roots only when modelled: each is scan work for the pacer.
    const root = (name: string) => this.#f === null ? -1 : rt.global(name);
    this.#local = root("fmt.ppFree.local");
    this.#victim = root("fmt.ppFree.victim");
    this.#allPools = root("sync.allPools");
    this.#oldPools = root("sync.oldPools");
    if (this.#f === null) return;
    rt.events.subscribe({
      gc: (e) => {
        if (e.kind !== "start") return;
        // poolCleanup (mgc.go clearpools, at the cycle's start).
        rt.setGlobal(this.#victim, rt.getGlobal(this.#local));
        rt.setGlobal(this.#local, 0);
        rt.setGlobal(this.#oldPools, rt.getGlobal(this.#allPools));
        rt.setGlobal(this.#allPools, 0);
        this.#victimCap = this.#cap;
        this.#cap = 0;
      },
    });
  }

  /**
   * Prints `format` with integer `args` (`%d` only), its call site the
   * goroutine's current frame and line: boxes the arguments, gets a
   * printer, writes the line into its buffer, puts the printer back.
   */
  printf(format: string, args: readonly number[]): void {
    const f = this.#f;
    if (f === null) return;
    const rt = this.#rt;
    for (const a of args) convT64(rt, a);
    // newPrinter → ppFree.Get.
    let local = rt.getGlobal(this.#local);
    if (local === 0) {
      // pin → pinSlow: allPools = append(allPools, p) (a fresh slice since
      // the last cleanup), local = make([]poolLocal, GOMAXPROCS).
      const poolPtr = _type(rt, "*sync.Pool", { size: 8, pointers: [0] });
      rt.setGlobal(
        this.#allPools,
        _alloc(rt, f.printfAllPools, 8, poolPtr, true),
      );
      const procs = rt.gomaxprocs;
      const poolLocal = _type(rt, "sync.poolLocal", {
        size: 128,
        pointers: [0, 1, 2, 3],
      });
      local = _alloc(rt, f.printfPoolLocal, 128 * procs, poolLocal, true);
      rt.setGlobal(this.#local, local);
    }
    const slot = _privateWord(rt.curg.p);
    let pp = rt.load(local, slot);
    if (pp !== 0) rt.store(local, slot, 0);
    else {
      // getSlow: the victim's printer, else New.
      const victim = rt.getGlobal(this.#victim);
      pp = victim === 0 ? 0 : rt.load(victim, slot);
      if (pp !== 0) {
        rt.store(victim, slot, 0);
        this.#cap = this.#victimCap;
      } else {
        const t = _type(rt, "fmt.pp", f.pp);
        pp = _alloc(rt, f.printfNew, t.size, t, true);
        this.#cap = 0;
      }
    }
    // doPrintf: literal parts (writeString) and integers (fmtInteger).
    let len = 0;
    let arg = 0;
    const parts = format.split("%d");
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].length > 0) {
        len = this.#write(pp, len, parts[i].length, f.printfWriteString);
      }
      if (i < parts.length - 1) {
        len = this.#write(
          pp,
          len,
          String(args[arg++]).length,
          f.printfWriteInteger,
        );
      }
    }
    // pp.free → ppFree.Put: back into this P's private slot (a cycle in
    // the middle of the line left the pool without locals: dropped).
    local = rt.getGlobal(this.#local);
    if (local !== 0) rt.store(local, _privateWord(rt.curg.p), pp);
  }

  /** Appends `n` bytes to the printer's buffer of `len`: growslice past its capacity. */
  #write(
    pp: number,
    len: number,
    n: number,
    path: readonly RuntimeFrame[],
  ): number {
    const need = len + n;
    if (need > this.#cap) {
      // growslice of []byte (the same rule in Go 1.19 and 1.22).
      const newcap = nextslicecap(need, this.#cap);
      const rt = this.#rt;
      const size = rt.roundupsize(newcap);
      rt.store(pp, 0, _alloc(rt, path, size, null, false));
      this.#cap = size;
    }
    return need;
  }
}
