/**
 * Go 1.3–1.22's allocfreetrace format (go1.19): `tracealloc(p, size[, type])`,
 * `tracefree(p, size)` and `tracegc()` … `end tracegc`, each with goroutine
 * headers and tracebacks as Go 1.19 prints them (frames with
 * `+0xoff fp= sp= pc=`, inlined frames, `created by`), a blank line after
 * each record. The runtime frames come from the preset's frame tables
 * (`lib/stack/frames_*.ts`); everything else from the events.
 *
 * @module
 */

import type { GoType } from "../runtime/types.ts";
import type { FrameSnapshot, Goroutine } from "../runtime/goroutine.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { COSTS } from "../runtime/clock.ts";
import type { FreeWho, GCEvent } from "../runtime/events.ts";
import { AllocKind } from "../stack/allockind.ts";
import type {
  ExplicitStack,
  PresetFrames,
  RuntimeFrame,
  SystemGoroutineFrames,
} from "../stack/runtime_frames.ts";
import {
  captureJsFrames,
  captureJsFramesOnce,
  type JsFrame,
} from "../stack/js_stack.ts";
import { type ByteWriter, cached } from "./byte_writer.ts";

/** Where the user frames of a record come from. */
export type StackSource = "go" | "js";

const hex = (n: number) => "0x" + n.toString(16);

const ascii = (t: string) => new TextEncoder().encode(t);
const TRACEALLOC = ascii("tracealloc(");
const TRACEFREE = ascii("tracefree(");
const COMMA = ascii(", ");
const CLOSE = ascii(")\n");
const EMPTY = new Uint8Array(0);
/** What {@link TraceallocPrinter} rendered of an explicit stack, by preset and PCs. */
const _explicitBodies = new WeakMap<
  ExplicitStack,
  { preset: unknown; pcs: readonly number[]; bytes: Uint8Array }[]
>();
/** Top of g0's stack (the system stack of m0), where runtime-only stacks print their fp/sp. */
const G0_STACK_TOP = 0x7fffcbd6b000;

/**
 * The Go 1.3+ printer: a consumer of one runtime's allocation, free and GC
 * events, writing to a {@link ByteWriter}.
 *
 * @example
 * ```ts
 * import { ByteWriter, Runtime, TraceallocPrinter } from "../../mod.ts";
 * import { ok } from "node:assert/strict";
 * const rt = new Runtime();
 * let out = "";
 * const w = new ByteWriter((b) => (out += new TextDecoder().decode(b)));
 * new TraceallocPrinter(rt, w).attach();
 * const t = rt.types.define("main.T", { size: 56, pointers: [0] });
 * rt.call("main.main", "main.go", 19, () => rt.newobject(t));
 * w.flush();
 * ok(out.startsWith("tracealloc(0xc000000000, 0x40, main.T)\ngoroutine 1 [running]:\nruntime.mallocgc(0x38, "));
 * ```
 */
export class TraceallocPrinter {
  readonly #rt: Runtime;
  readonly #out: ByteWriter;
  readonly #stacks: StackSource;
  readonly #rtFrames: PresetFrames;
  readonly #topCache = new Map<string, Uint8Array>();
  /** Records printed, by kind. */
  readonly counts: { allocs: number; frees: number; gcs: number } = {
    allocs: 0,
    frees: 0,
    gcs: 0,
  };

  /** Makes a printer of `rt`'s events (user frames from `stacks`) writing to `out`. */
  constructor(rt: Runtime, out: ByteWriter, stacks: StackSource = "go") {
    this.#rt = rt;
    this.#out = out;
    this.#stacks = stacks;
    this.#rtFrames = rt.preset.frames;
  }

  /** Subscribes to the runtime's events; returns the function that unsubscribes. */
  attach(): () => void {
    return this.#rt.events.subscribe({
      alloc: (addr, size, typ, kind, requested, g) =>
        this.#tracealloc(addr, size, typ, kind, requested, g),
      free: (addr, size, who, g, kind) =>
        this.#tracefree(addr, size, who, g, kind),
      gc: (ev) => {
        if (ev.kind === "marktermination") this.#tracegc(ev);
      },
    });
  }

  #cacheTop(key: string, make: () => string): Uint8Array {
    let b = this.#topCache.get(key);
    if (b === undefined) {
      b = this.#out.encode(make());
      if (this.#topCache.size > 10_000) this.#topCache.clear();
      this.#topCache.set(key, b);
    }
    return b;
  }

  readonly #typeTails = new Map<GoType | null, Uint8Array>();

  /** `, type)\n` (or `)\n` without a type), encoded once per type. */
  #typeTail(typ: GoType | null): Uint8Array {
    return cached(
      this.#typeTails,
      typ,
      () => this.#out.encode(typ ? `, ${typ.name})\n` : ")\n"),
    );
  }

  readonly #goHeaders = new Map<number, Uint8Array>();

  /** `goroutine N [running]:\n`, encoded once per goroutine id. */
  #goroutineHeader(id: number): Uint8Array {
    return cached(
      this.#goHeaders,
      id,
      () => this.#out.encode(this.#header(id, "running", true)),
    );
  }

  /**
   * A goroutine header: `goroutine N [status]:`, or from Go 1.21 (the
   * preset's `traceback.gpHeader`) `goroutine N gp=0x… m=0 mp=0x… [status]:`
   * for a goroutine on the M and `m=nil` for a parked one. g0 and m0 are at
   * the preset's static addresses; a goroutine's g is synthetic, in the
   * `runtime.g` span where Go 1.22 puts the first ones (goroutine 1 at
   * 0xc0000081c0, 2 at 0xc000008700, 3 at 0xc000008c40).
   */
  #header(id: number, status: string, onM: boolean): string {
    const tb = this.#rt.preset.traceback;
    if (!tb.gpHeader) return `goroutine ${id} [${status}]:\n`;
    const gp = id === 0 ? tb.g0 : 0xc000008000 + (3 * id - 2) * 0x1c0;
    return `goroutine ${id} gp=${hex(gp)} m=${
      onM ? `0 mp=${hex(tb.m0)}` : "nil"
    } [${status}]:\n`;
  }

  /** `created by F`, and from Go 1.21 ` in goroutine N`. */
  #createdByLine(fn: string, parent: number): string {
    return `created by ${fn}${
      this.#rt.preset.traceback.createdByGoroutine
        ? ` in goroutine ${parent}`
        : ""
    }\n`;
  }

  /** Below a goroutine's own frames: runtime.main (main only) and goexit. */
  #bottom(g: Goroutine): readonly RuntimeFrame[] {
    return g.id === 1 ? this.#rtFrames.mainBottom : [this.#rtFrames.goexit];
  }

  #tracealloc(
    addr: number,
    size: number,
    typ: GoType | null,
    kind: AllocKind,
    requested: number,
    g: Goroutine,
  ): void {
    const explicit = this.#rt.explicitStack;
    if (kind === AllocKind.startup && explicit !== null) {
      this.counts.allocs++;
      const { goid, status, frames } = explicit;
      const head = `tracealloc(${hex(addr)}, ${hex(size)}${
        typ ? `, ${typ.name}` : ""
      })\n${
        this.#header(goid, status, goid === 0 || status.startsWith("running"))
      }`;
      let body: string | Uint8Array;
      if (explicit.onCurg) {
        const base = this.#userPart(g);
        body = this.#framesFrom(frames, base.innerSp) + base.text +
          this.#explicitCreatedBy(explicit);
      } else {
        body = this.#explicitBody(explicit);
      }
      this.#charged(() => this.#out.record(head, body, "\n"));
      return;
    }
    // Between two records the trace lock is free: sysmon's preemption
    // lands there (go1.22: the goroutine resumes on another P).
    if (g === this.#rt.curg) this.#rt.tracedPreempt();
    const noscan = typ === null || typ.noscan;
    const chanNoBuf = kind === AllocKind.makechan && requested === 96;
    const typAddr = typ?.addr ?? 0;
    const makeTop = () =>
      this.#allocTop(kind, noscan, chanNoBuf, requested, typAddr);
    this.counts.allocs++;
    if (this.#stacks === "js") {
      const header = `tracealloc(${hex(addr)}, ${hex(size)}${
        typ ? `, ${typ.name}` : ""
      })\n${this.#header(g.id, "running", true)}`;
      this.#charged(() =>
        this.#out.record(
          header,
          // Numbered by the allocation count: run's event forwarder of the
          // same runtime shares this capture.
          this.#traceback(
            g,
            makeTop(),
            captureJsFramesOnce(this.#rt, this.#rt.stats.nMalloc),
          ),
          "\n",
        )
      );
      return;
    }
    const base = this.#userPart(g);
    // kind < 64, two flags: requested × 256 stays an exact double.
    const key = requested * 256 + kind * 4 + (chanNoBuf ? 2 : 0) +
      (noscan ? 1 : 0);
    const top = cached(
      cached(base.allocTops, typ, () => new Map()),
      key,
      () => this.#out.encode(this.#framesFrom(makeTop(), base.innerSp)),
    );
    this.#record(
      TRACEALLOC,
      addr,
      size,
      this.#typeTail(typ),
      this.#goroutineHeader(g.id),
      top,
      base.bytes,
    );
  }

  #tracefree(
    addr: number,
    size: number,
    who: FreeWho,
    g: Goroutine,
    kind: AllocKind,
  ): void {
    this.counts.frees++;
    if (
      who === "uncacheSpan" || who === "acquirep" || who === "gcstopm" ||
      who === "reclaim"
    ) {
      // A preset without the acquirep paths prints the procresize one.
      const frames = this.#rtFrames.sweepers[who] ??
        this.#rtFrames.sweepers.uncacheSpan;
      this.#freeRecord(
        addr,
        size,
        this.#cacheTop(who, () =>
          this.#header(0, "idle", true) +
          this.#frames(frames, G0_STACK_TOP)),
        EMPTY,
      );
      return;
    }
    if (who === "bgsweep") {
      const id = g.kind === "bgsweep" ? g.id : 3;
      this.#freeRecord(
        addr,
        size,
        this.#cacheTop(`bgsweep${id}`, () => {
          const [fn, file, line, off] = this.#rtFrames.system.bgsweep.createdBy;
          return this.#header(id, "running", true) +
            this.#frames(
              [...this.#rtFrames.sweepers.bgsweep, this.#rtFrames.goexit],
              this.#stackTop(id),
            ) +
            this.#createdByLine(fn, 1) + `\t${file}:${line} +${hex(off)}\n`;
        }),
        EMPTY,
      );
      return;
    }
    const sweepers = this.#rtFrames.sweepers;
    const makeTop = (): readonly RuntimeFrame[] => {
      if (who === "GC") return sweepers.GC;
      if (who === "free") return [];
      const { requested, typ } = this.#rt.allocInProgress;
      // A large object's proportional sweep: its own path where the
      // preset has it, else the one before an mcache's span.
      const path = who === "allocLarge" && sweepers.allocLarge === undefined
        ? "deductSweepCredit"
        : who;
      const alloc = this.#allocTop(
        kind,
        typ === null || typ.noscan,
        false,
        requested,
        typ?.addr ?? 0,
        path === "allocLarge"
          ? this.#rtFrames.mallocgcLarge
          : path === "cacheSpan" || path === "deductSweepCredit"
          ? this.#rtFrames.mallocgcRefill
          : undefined,
      );
      return [...(sweepers[path] ?? sweepers.gcStart), ...alloc];
    };
    if (this.#stacks === "js") {
      const gh = this.#header(g.id, "running", true);
      this.#charged(() =>
        this.#out.record(
          `tracefree(${hex(addr)}, ${hex(size)})\n`,
          gh,
          this.#traceback(g, makeTop()),
          "\n",
        )
      );
      return;
    }
    const base = this.#userPart(g);
    const top = cached(
      cached(base.freeTops, who, () => new Map()),
      who === "GC" || who === "free" ? -1 : kind,
      () => this.#out.encode(this.#framesFrom(makeTop(), base.innerSp)),
    );
    this.#freeRecord(addr, size, this.#goroutineHeader(g.id), top, base.bytes);
  }

  /** `tracefree(addr, size)`, then `a`, `b`, `c` and the blank line. */
  #freeRecord(
    addr: number,
    size: number,
    a: Uint8Array,
    b: Uint8Array,
    c: Uint8Array = EMPTY,
  ): void {
    this.#record(TRACEFREE, addr, size, CLOSE, a, b, c);
  }

  /** One record: `head` `0xaddr`, `, 0xsize`, then `p1`…`p4` and the blank line. */
  #record(
    head: Uint8Array,
    addr: number,
    size: number,
    p1: Uint8Array,
    p2: Uint8Array,
    p3: Uint8Array,
    p4: Uint8Array,
  ): void {
    const out = this.#out;
    out.reserve(
      head.length + 48 + p1.length + p2.length + p3.length + p4.length,
    );
    const before = out.written;
    out.putBytes(head);
    out.putHex(addr);
    out.putBytes(COMMA);
    out.putHex(size);
    out.putBytes(p1);
    out.putBytes(p2);
    out.putBytes(p3);
    out.putBytes(p4);
    out.putByte(0x0a);
    this.#charge(out.written - before);
    out.endRecord();
  }

  /** Runs `write` and charges the simulated clock for the bytes it printed ({@link COSTS.tracePrintByte}). */
  #charged(write: () => void): void {
    const before = this.#out.written;
    write();
    this.#charge(this.#out.written - before);
  }

  /** Charges the clock for `bytes` printed while holding the trace lock. */
  #charge(bytes: number): void {
    const ns = bytes * COSTS.tracePrintByte;
    this.#rt.clock += ns;
    this.#rt.tracelockNs += ns;
  }

  #tracegc(ev: GCEvent): void {
    let s = "tracegc()\n";
    const workers = ev.goroutines.filter((g) => g.kind === "markworker");
    const marking = workers[0];
    if (marking !== undefined) {
      s += `\n${this.#header(marking.id, "garbage collection", true)}`;
      s += this.#system(marking, this.#rtFrames.system.marking);
    }
    for (const g of ev.goroutines) {
      if (g === marking || g.status === "dead") continue;
      if (g.kind === "user") {
        const waiting = ev.forced && g === ev.curg;
        s += `\n${
          this.#header(
            g.id,
            waiting ? "wait for GC cycle" : "runnable",
            false,
          )
        }`;
        s += this.#traceback(g, waiting ? this.#rtFrames.waitGC : []);
      } else {
        s += `\n${this.#header(g.id, g.waitReason || g.status, false)}`;
        s += this.#system(g, this.#rtFrames.system[g.kind]);
      }
    }
    this.counts.gcs++;
    this.#charged(() => this.#out.record(s + "end tracegc\n\n"));
  }

  #system(g: Goroutine, spec: SystemGoroutineFrames): string {
    const [fn, file, line, off] = spec.createdBy;
    return this.#frames(
      [...spec.frames, this.#rtFrames.goexit],
      this.#stackTop(g.id),
    ) +
      this.#createdByLine(fn, 1) + `\t${file}:${line} +${hex(off)}\n`;
  }

  /** An allocation path's frame with the arguments of this allocation. */
  /**
   * The runtime frames of an allocation of `kind`, with their arguments:
   * mallocgc's are the allocation's (size, type, needzero), the others'
   * come from the preset's table (`%t` = the type's address). `refill`: the
   * mallocgc frame is the one calling nextFree (a free swept by the refill).
   */
  #allocTop(
    kind: AllocKind,
    noscan: boolean,
    chanNoBuf: boolean,
    requested: number,
    typAddr: number,
    at?: RuntimeFrame,
  ): RuntimeFrame[] {
    const t = hex(typAddr);
    return this.#rtFrames.alloc(kind, noscan, chanNoBuf).map((f, i) => {
      if (i > 0) {
        return this.#rtFrame(f, f.args?.replaceAll("%t", t) ?? `${t}?`);
      }
      // mallocgc where it called into a sweeper, when the free came from one.
      const g = at ?? f;
      return this.#rtFrame(
        g,
        `${hex(requested)}, ${t}, ${
          kind === AllocKind.concatstring ? "0x0" : "0x1"
        }`,
      );
    });
  }

  #rtFrame(f: RuntimeFrame, args: string): RuntimeFrame {
    return {
      func: f.func,
      file: f.file,
      line: f.line,
      off: f.off,
      inlined: f.inlined ?? false,
      size: f.size ?? 0x30,
      args: f.inlined ? "..." : args,
    };
  }

  /** The goroutine's own frames, innermost first: simulated Go frames or the JS stack. */
  #userFrames(g: Goroutine, js?: readonly JsFrame[]): RuntimeFrame[] {
    const rt = this.#rt;
    if (this.#stacks === "js") {
      return (js ?? captureJsFrames()).map((f) => ({
        func: f.func,
        file: f.file,
        line: f.line,
        off: 0x20,
        inlined: false,
        size: 0x38,
        args: "",
      }));
    }
    const out: RuntimeFrame[] = [];
    for (let d = g.depth - 1; d >= 0; d--) {
      const fn = rt.symtab.info(g.frameFunc[d]);
      const pc = rt.symtab.pc(g.frameFunc[d], g.frameLine[d]);
      out.push({
        func: fn.name,
        file: fn.file,
        line: g.frameLine[d],
        off: pc - fn.entry,
        inlined: false,
        size: fn.name === "main.main" ? 0x558 : 0x38,
        args: fn.args,
      });
    }
    return out;
  }

  /**
   * A user goroutine's traceback: `top` (runtime frames, innermost first),
   * then the goroutine's own frames, then runtime.main/goexit or goexit and
   * `created by`. The part below `top` depends only on the goroutine's
   * frames, so it is rendered once per distinct stack and reused.
   */
  #traceback(
    g: Goroutine,
    top: readonly RuntimeFrame[],
    js?: readonly JsFrame[],
  ): string {
    if (this.#stacks === "js") {
      const bottom = this.#bottom(g);
      return this.#frames(
        [...top, ...this.#userFrames(g, js), ...bottom],
        this.#stackTop(g.id),
      ) +
        this.#createdBy(g);
    }
    const base = this.#userPart(g);
    return this.#framesFrom(top, base.innerSp) + base.text;
  }

  #createdBy(g: Goroutine): string {
    if (g.id === 1 || g.createdByFunc < 0) return "";
    const rt = this.#rt;
    const fn = rt.symtab.info(g.createdByFunc);
    const pc = rt.symtab.pc(g.createdByFunc, g.createdByLine);
    return this.#createdByLine(fn.name, g.parentId) +
      `\t${fn.file}:${g.createdByLine} +${hex(pc - fn.entry)}\n`;
  }

  #userCache = new Map<
    number,
    {
      g: Goroutine;
      frames: FrameSnapshot;
      text: string;
      bytes: Uint8Array;
      innerSp: number;
      allocTops: Map<GoType | null, Map<number, Uint8Array>>;
      freeTops: Map<string, Map<number, Uint8Array>>;
    }
  >();

  /**
   * The rendered frames below the runtime part for `g`'s current stack, with
   * the runtime parts above them rendered so far (they depend on this
   * stack's depth through fp/sp), by type and by sweeper.
   */
  #userPart(g: Goroutine): {
    text: string;
    bytes: Uint8Array;
    innerSp: number;
    allocTops: Map<GoType | null, Map<number, Uint8Array>>;
    freeTops: Map<string, Map<number, Uint8Array>>;
  } {
    const h = g.frameHash() ^ Math.imul(g.id, 0x27d4eb2f);
    const hit = this.#userCache.get(h);
    if (hit !== undefined && hit.g === g && g.sameFrames(hit.frames)) {
      return hit;
    }
    const frames = [...this.#userFrames(g), ...this.#bottom(g)];
    const stackTop = this.#stackTop(g.id);
    let fp = stackTop - 0x18;
    for (let i = frames.length - 1; i >= 0; i--) {
      if (!frames[i].inlined) fp -= frames[i].size ?? 0x30;
    }
    const text = this.#frames(frames, stackTop) + this.#createdBy(g);
    const entry = {
      g,
      frames: g.snapshotFrames(),
      text,
      bytes: this.#out.encode(text),
      innerSp: fp,
      allocTops: new Map(),
      freeTops: new Map(),
    };
    if (this.#userCache.size > 100_000) this.#userCache.clear();
    this.#userCache.set(h, entry);
    return entry;
  }

  /** Renders `frames` (innermost first) whose outermost frame's fp is `fp`. */
  #framesFrom(frames: readonly RuntimeFrame[], fp: number): string {
    // #frames starts from a stack top 0x18 above the outermost fp.
    return this.#frames(frames, fp + 0x18);
  }

  /** Goroutine stacks: 2 KiB-aligned tops at Go-like addresses (main at 0xc000063000). */
  #stackTop(goid: number): number {
    return goid === 1 ? 0xc000063000 : 0xc000036800 + goid * 0x800;
  }

  /** An explicit stack's `created by` lines, or "". */
  #explicitCreatedBy(explicit: ExplicitStack): string {
    if (explicit.createdBy === null) return "";
    const [fn, file, line, off] = explicit.createdBy;
    return this.#createdByLine(fn, 1) + `\t${file}:${line} +${hex(off)}\n`;
  }

  /**
   * The frames and `created by` of an explicit stack that does not run on
   * into the goroutine's own frames, encoded. Fresh runtimes print the
   * same start-up stacks again and again (`goStartup` shares them between
   * runtimes): the bytes are kept per stack and reused while this runtime's
   * symbol table gives the same PCs (registered here as {@link #frames}
   * registers them) and the preset is the same.
   */
  #explicitBody(explicit: ExplicitStack): Uint8Array {
    const rt = this.#rt;
    const symtab = rt.symtab;
    const pcs: number[] = [];
    for (const f of explicit.frames) {
      if (!f.inlined) {
        pcs.push(symtab.pcAt(symtab.func(f.func, f.file), f.off, f.line));
      }
    }
    let kept = _explicitBodies.get(explicit);
    if (kept === undefined) {
      kept = [];
      _explicitBodies.set(explicit, kept);
    }
    const hit = kept.find((k) =>
      k.preset === rt.preset && k.pcs.every((pc, i) => pc === pcs[i])
    );
    if (hit !== undefined) return hit.bytes;
    const { goid, frames } = explicit;
    const bytes = this.#out.encode(
      this.#frames(frames, goid === 0 ? G0_STACK_TOP : this.#stackTop(goid)) +
        this.#explicitCreatedBy(explicit),
    );
    // A few layouts at most (runtimes that ran other code first differ).
    if (kept.length >= 4) kept.shift();
    kept.push({ preset: rt.preset, pcs, bytes });
    return bytes;
  }

  /** Prints frames innermost first; fp/sp derived from the frame sizes, top of stack at `top`. */
  #frames(frames: readonly RuntimeFrame[], top: number): string {
    const rt = this.#rt;
    // Walk from the outermost frame up to compute each frame's sp.
    const sps: number[] = new Array(frames.length);
    let fp = top - 0x18;
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      if (f.inlined) {
        sps[i] = -1;
        continue;
      }
      sps[i] = fp - (f.size ?? 0x30);
      fp = sps[i];
    }
    let s = "";
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      if (f.inlined) {
        s += `${f.func}(...)\n\t${f.file}:${f.line}\n`;
        continue;
      }
      const fid = rt.symtab.func(f.func, f.file);
      const pc = rt.symtab.pcAt(fid, f.off, f.line);
      const sp = sps[i];
      s += `${f.func}(${f.args ?? "0x0?"})\n\t${f.file}:${f.line}${
        f.off > 0 ? ` +${hex(f.off)}` : ""
      } fp=${hex(sp + (f.size ?? 0x30))} sp=${hex(sp)} pc=${hex(pc)}\n`;
    }
    return s;
  }
}
