/**
 * File and line of native frames after a run, by one batched `addr2line`
 * per module (its `-C` also demangles C++; `-i` gives the functions inlined
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
  for (const [module, fs] of byModule) {
    const addrs = [...fs.keys()];
    const text = await runTool("addr2line", [
      "-a",
      "-f",
      "-i",
      "-C",
      "-e",
      module,
      ...addrs.map((a) => "0x" + Math.max(0, a - 1).toString(16)),
    ]);
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
      out.set(`${module}@${a}`, {
        func: f.name ||
          (own.func !== "??"
            ? own.func
            : `${module.split("/").pop()}+0x${a.toString(16)}`),
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
