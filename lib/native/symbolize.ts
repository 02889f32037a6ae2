/**
 * File and line of native frames after a run, by one batched `addr2line`
 * per module (the allocator's libraries: names only, from their symbol
 * tables), all modules' at once (its `-C` also demangles C++; `-i` gives the functions inlined
 * at an address, from DWARF's DW_TAG_inlined_subroutine), and C++ names
 * from libunwind demangled by one batched `c++filt`. Missing tools leave
 * frames as they are.
 *
 * @module
 */

import type { NativeFrame } from "./event.ts";
import { removeImageCopies } from "./image_copy.ts";
import {
  debugFileOf,
  type ElfSymbols,
  extentAt,
  nameCovers,
  readElfSymbols,
  symbolAt,
} from "./elf_symbols.ts";

/** File, line and (demangled) function of a frame. */
export interface Resolved {
  /** Function (demangled). */
  func: string;
  /** Source file, or the module when unknown. */
  file: string;
  /** Line, 0 when unknown. */
  line: number;
  /**
   * The functions inlined at this address, innermost first, each with its
   * own file:line (the outer function's line is {@link Resolved.line}: where
   * they were inlined); empty when none.
   */
  inlined: { func: string; file: string; line: number }[];
}

/** `file:line` of addr2line (`??:0` or `??:?` when unknown). */
function _loc(text: string): { file: string; line: number } {
  const colon = text.lastIndexOf(":");
  return colon > 0
    ? {
      file: text.slice(0, colon),
      line: Number(text.slice(colon + 1).split(" ")[0]) || 0,
    }
    : { file: "??", line: 0 };
}

async function runTool(
  cmd: string,
  args: string[],
  input?: string,
): Promise<string | null> {
  try {
    return await _output(
      new Deno.Command(cmd, {
        args,
        stdin: input === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn(),
      input,
    );
  } catch {
    return null;
  }
}

/** What `p` writes once given `input` on its stdin (null when it fails). */
async function _output(
  p: Deno.ChildProcess,
  input?: string,
): Promise<string | null> {
  try {
    if (input !== undefined) {
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(input));
      await w.close();
    }
    const out = await p.output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** The addr2line arguments for a module; addresses follow, or come on stdin. */
const _addr2line = (module: string) => ["-a", "-f", "-i", "-C", "-e", module];

/**
 * addr2line processes started ahead (see {@link prepareSymbolize}), by the
 * module's path as the kernel maps it, each waiting for the addresses of
 * its first {@link symbolize} on stdin.
 */
const _ready = new Map<string, Deno.ChildProcess>();

/**
 * Gets ready, before the first stack comes, what symbolizing its frames
 * will need and takes longest: `program`'s addr2line started (it waits
 * for its addresses on stdin), and the symbol tables of this process's C
 * library and of its debug file read (the program's C library as a rule;
 * they are kept by file, not by path). Called while the tracer starts the
 * program, when this thread has nothing else to do: when the first stack
 * came, these were ~50–150 ms of a sampled run's critical path (a process
 * start, and ~13,000 symbols). Quiet when anything is missing.
 */
export function prepareSymbolize(program: string): void {
  try {
    const maps = Deno.readTextFileSync("/proc/self/maps");
    const libc = /\s(\/\S*\/libc(?:\.so\.\d+|-[\d.]+\.so))$/m.exec(maps)?.[1];
    const syms = libc === undefined ? null : _symbolsOf(libc);
    const debug = syms === null ? null : debugFileOf(libc!, syms);
    if (debug !== null) _symbolsOf(debug);
  } catch {
    // no /proc: read when the first stack comes
  }
  let path: string;
  try {
    path = Deno.realPathSync(program);
  } catch {
    return;
  }
  if (_ready.has(path)) return;
  try {
    const p = new Deno.Command("addr2line", {
      args: _addr2line(path),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    // It does not keep this process alive (endSymbolize ends it; at this
    // process's exit, it reads the end of its input and exits too).
    p.unref();
    _ready.set(path, p);
  } catch {
    // no addr2line: symbolize does without it
  }
}

/** Ends the addr2line processes {@link prepareSymbolize} started and no stack used. */
export async function endSymbolize(): Promise<void> {
  // The stacks are symbolized: the copies of images run from memory go.
  removeImageCopies();
  const left = [..._ready.values()];
  _ready.clear();
  await Promise.all(left.map(async (p) => {
    p.ref();
    try {
      p.kill();
    } catch {
      // already gone
    }
    await Promise.allSettled([p.stdin.close(), p.stdout.cancel(), p.status]);
  }));
}

/**
 * Each module's symbols, read once per run (by file, size and mtime: one
 * file under two paths is read once).
 */
const _symbolCache = new Map<string, ElfSymbols | null>();

function _symbolsOf(path: string): ElfSymbols | null {
  let key = path;
  try {
    const st = Deno.statSync(path);
    key = `${st.dev}:${st.ino}:${st.size}:${st.mtime?.getTime()}`;
  } catch {
    return null;
  }
  let s = _symbolCache.get(key);
  if (s === undefined) {
    s = readElfSymbols(path);
    _symbolCache.set(key, s);
  }
  return s;
}

/**
 * Resolves every distinct frame of `frames` (keyed by module and address).
 * Frames of the modules `namesOnly` picks (the allocator's libraries, whose
 * frames are shown by module, not by source line) get only their function's
 * name, from the symbol tables (the module's, and its separate debug
 * file's): no addr2line, which for a libc with its debug file installed
 * inflates all its DWARF (~40 ms).
 */
export async function symbolize(
  frames: Iterable<NativeFrame>,
  namesOnly: (module: string) => boolean = () => false,
): Promise<Map<string, Resolved>> {
  const byModule = new Map<string, Map<number, NativeFrame>>();
  // The file read for a module shown by its path (a memfd's copy).
  const fileOf = new Map<string, string>();
  for (const f of frames) {
    if (f.module === "?" || f.module.startsWith("[")) continue;
    let m = byModule.get(f.module);
    if (m === undefined) {
      m = new Map();
      byModule.set(f.module, m);
    }
    if (f.file !== undefined) fileOf.set(f.module, f.file);
    m.set(f.rel, f);
  }
  // Return addresses point after the call: look up the call itself. The
  // innermost frame is the hooked function's entry (named, offset 0: a
  // return address is never a symbol's first byte plus one), looked up
  // where it is: its byte before is another function's.
  const lookup = (f: NativeFrame) =>
    f.off === 0 && f.name !== "" ? f.rel : Math.max(0, f.rel - 1);
  const out = new Map<string, Resolved>();
  // Every module's addr2line runs at once, not one after another.
  const tools = [...byModule].map(([module, fs]) => {
    if (namesOnly(module)) return Promise.resolve(null);
    const addrs = [...fs.values()].map((f) => "0x" + lookup(f).toString(16));
    // One started ahead reads them on stdin, as one per line.
    const ready = _ready.get(module);
    if (ready === undefined) {
      const file = fileOf.get(module) ?? module;
      return runTool("addr2line", [..._addr2line(file), ...addrs]);
    }
    _ready.delete(module);
    ready.ref();
    return _output(ready, addrs.join("\n") + "\n");
  });
  for (const [i, [module, fs]] of [...byModule].entries()) {
    const addrs = [...fs.keys()];
    const file = fileOf.get(module) ?? module;
    const syms = _symbolsOf(file);
    const names = namesOnly(module);
    // The symbol holding an address, by the tables (the debug file's
    // first: it lists the static functions a stripped library lacks).
    let debug: ElfSymbols | null | undefined;
    const tableName = (addr: number): string | null => {
      if (debug === undefined) {
        const path = syms === null ? null : debugFileOf(file, syms);
        debug = path === null ? null : _symbolsOf(path);
      }
      return (debug === null ? null : symbolAt(debug, addr)) ??
        (syms === null ? null : symbolAt(syms, addr));
    };
    const text = await tools[i];
    // Per address: its line (-a), then a function and file:line for each
    // function inlined there, innermost first, and last for the function
    // that holds the address.
    const blocks: string[][] = [];
    for (const line of text?.split("\n") ?? []) {
      if (/^0x[0-9a-f]+$/.test(line)) blocks.push([]);
      else if (blocks.length > 0 && line !== "") blocks.at(-1)!.push(line);
    }
    addrs.forEach((a, i) => {
      const f = fs.get(a)!;
      const at = lookup(f);
      const b = blocks[i] ?? [];
      const levels: { func: string; file: string; line: number }[] = [];
      for (let j = 0; j + 1 < b.length; j += 2) {
        levels.push({ func: b[j], ..._loc(b[j + 1]) });
      }
      const unknown = `${module.split("/").pop()}+0x${a.toString(16)}`;
      // The unwinder's name is the nearest symbol at or before the address,
      // even past its end: a static function missing from .dynsym (libc's
      // __libc_start_call_main) takes the exported one before it
      // (__libc_init_first). Past the named symbol's extent, the name
      // addr2line finds (.symtab locals, DWARF, separate debug files) is
      // the function's; without one, the module and address.
      const covers = (name: string) =>
        syms !== null && nameCovers(syms, at, name);
      // (The named symbol starts `off` before the address looked up; one
      // byte later for libunwind's offsets, taken from the return address.)
      const named = (start: number) =>
        syms !== null && extentAt(syms, start, f.name) !== null;
      const outside = f.name !== "" && !covers(f.name) &&
        (named(at - f.off) || named(at + 1 - f.off));
      let own = levels.pop() ?? { func: "??", file: "??", line: 0 };
      // Names only: the symbol whose extent holds the address, when the
      // unwinder's name does not do.
      let ownCovers = false;
      if (names && (outside || f.name === "")) {
        const name = tableName(at);
        own = { func: name ?? "??", file: "??", line: 0 };
        ownCovers = name !== null;
      }
      // (addr2line also guesses from the nearest symbol when it has neither
      // DWARF nor a symbol table: its name counts with a line or an extent.)
      const found = own.func !== "??" && own.func !== f.name &&
        (own.file !== "??" || ownCovers || covers(own.func));
      out.set(`${module}@${a}`, {
        func: outside
          ? (found ? own.func : unknown)
          : f.name || (own.func !== "??" ? own.func : unknown),
        file: own.file !== "??" ? own.file : module,
        line: own.line,
        inlined: levels.map((l) => ({
          ...l,
          file: l.file !== "??" ? l.file : module,
        })),
      });
    });
  }
  // Demangle what libunwind named in C++ (addr2line's names are not used when libunwind has one).
  const mangled = [
    ...new Set(
      [...out.values()].map((r) => r.func).filter((n) => n.startsWith("_Z")),
    ),
  ];
  if (mangled.length > 0) {
    const text = await runTool("c++filt", [], mangled.join("\n") + "\n");
    if (text !== null) {
      const dem = new Map(mangled.map((m, i) => [m, text.split("\n")[i] || m]));
      for (const r of out.values()) r.func = dem.get(r.func) ?? r.func;
    }
  }
  return out;
}
