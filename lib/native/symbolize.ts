/**
 * File and line of native frames after a run, by one batched `addr2line`
 * per module, all modules' at once (its `-C` also demangles C++; `-i` gives the functions inlined
 * at an address, from DWARF's DW_TAG_inlined_subroutine), and C++ names
 * from libunwind demangled by one batched `c++filt`. Missing tools leave
 * frames as they are.
 *
 * @module
 */

import type { NativeFrame } from "./event.ts";

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
    const p = new Deno.Command(cmd, {
      args,
      stdin: input === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
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

/**
 * Where each function symbol of `module` starts and how long it is, by
 * name (the static table's and the dynamic one's, versions cut off), from
 * `nm -S`; empty when nm is missing.
 */
async function _symbolExtents(
  module: string,
): Promise<Map<string, [number, number][]>> {
  const out = new Map<string, [number, number][]>();
  // Both tables at once (each nm is a process start and a read of the file).
  const texts = await Promise.all(
    [false, true].map((dyn) =>
      runTool("nm", [...(dyn ? ["-D"] : []), "-S", "--defined-only", module])
    ),
  );
  for (const text of texts) {
    for (const line of text?.split("\n") ?? []) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) [TtWwi] (\S+)$/.exec(line);
      if (m === null) continue;
      const name = m[3].replace(/@.*$/, "");
      const e: [number, number] = [parseInt(m[1], 16), parseInt(m[2], 16)];
      const list = out.get(name);
      if (list === undefined) out.set(name, [e]);
      else list.push(e);
    }
  }
  return out;
}

/** Resolves every distinct frame of `frames` (keyed by module and address). */
export async function symbolize(
  frames: Iterable<NativeFrame>,
): Promise<Map<string, Resolved>> {
  const byModule = new Map<string, Map<number, NativeFrame>>();
  for (const f of frames) {
    if (f.module === "?" || f.module.startsWith("[")) continue;
    let m = byModule.get(f.module);
    if (m === undefined) {
      m = new Map();
      byModule.set(f.module, m);
    }
    // Return addresses point after the call: look up the call itself.
    m.set(f.rel, f);
  }
  const out = new Map<string, Resolved>();
  // Every module's addr2line and nm run at once, not one after another:
  // the sampled mode's stacks touch the program and libc, and these five
  // process starts, in series, were most of its cost after the run.
  const tools = [...byModule].map(([module, fs]) =>
    Promise.all([
      runTool("addr2line", [
        "-a",
        "-f",
        "-i",
        "-C",
        "-e",
        module,
        ...[...fs.keys()].map((a) => "0x" + Math.max(0, a - 1).toString(16)),
      ]),
      [...fs.values()].some((f) => f.name !== "")
        ? _symbolExtents(module)
        : new Map<string, [number, number][]>(),
    ])
  );
  for (const [i, [module, fs]] of [...byModule].entries()) {
    const addrs = [...fs.keys()];
    const [text, sizes] = await tools[i];
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
      const b = blocks[i] ?? [];
      const levels: { func: string; file: string; line: number }[] = [];
      for (let j = 0; j + 1 < b.length; j += 2) {
        levels.push({ func: b[j], ..._loc(b[j + 1]) });
      }
      const own = levels.pop() ?? { func: "??", file: "??", line: 0 };
      const unknown = `${module.split("/").pop()}+0x${a.toString(16)}`;
      // The unwinder's name is the nearest symbol at or before the address,
      // even past its end: a static function missing from .dynsym (libc's
      // __libc_start_call_main) takes the exported one before it
      // (__libc_init_first). Past the named symbol's extent, the name
      // addr2line finds (.symtab locals, DWARF, separate debug files) is
      // the function's; without one, the module and address.
      const covers = (name: string) =>
        sizes.get(name)?.some(([at, size]) =>
          size === 0 || (a - 1 >= at && a - 1 < at + size)
        );
      const outside = sizes.has(f.name) && !covers(f.name);
      // (addr2line also guesses from the nearest symbol when it has neither
      // DWARF nor a symbol table: its name counts with a line or an extent.)
      const found = own.func !== "??" && own.func !== f.name &&
        (own.file !== "??" || covers(own.func) === true);
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
