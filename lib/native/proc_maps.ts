/**
 * A traced process's memory map (`/proc/PID/maps`): which mapped file holds
 * an address and where the address is in that file, and where libc and
 * ld.so are. Read again when an address is not in the copy.
 *
 * @module
 */

import { imageCopy, isUnreadableImage } from "./image_copy.ts";

/** One mapping. */
export interface Mapping {
  /** First address. */
  start: number;
  /** Past the last address. */
  end: number;
  /** Offset in the file. */
  offset: number;
  /** The file's path ("" or "[heap]", "[stack]"… for anonymous memory). */
  path: string;
  /** Executable. */
  exec: boolean;
}

/** Parses the text of `/proc/PID/maps`. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$/
      .exec(line);
    if (m) {
      out.push({
        start: parseInt(m[1], 16),
        end: parseInt(m[2], 16),
        offset: parseInt(m[4], 16),
        path: m[5],
        exec: m[3][2] === "x",
      });
    }
  }
  return out;
}

const LIBC = /\/libc\.so\.6$|\/libc-[\d.]+\.so$/;
const LD = /ld-linux[^/]*\.so/;

/** The maps of one process. */
/** Where a PC is: the mapped file as the maps name it and the address in it. */
export interface ModuleAt {
  /** The mapping's path, as shown ("?" when unmapped). */
  path: string;
  /** The address to look up in the file. */
  rel: number;
  /** A readable copy to read instead of `path` (a memfd, a deleted file). */
  file?: string;
}

export class ProcMaps {
  #pid: number;
  #maps: Mapping[] = [];
  /** moduleOf's answers by address (every stack asks for the same few). */
  readonly #cache = new Map<number, { path: string; rel: number }>();

  /** The maps of `pid` (read on first use). */
  constructor(pid: number) {
    this.#pid = pid;
  }

  /** Reads them through thread `tid` from now on (see RemoteMemory.through). */
  through(tid: number): void {
    this.#pid = tid;
  }

  /** Reads the maps again (after an exec, a dlopen, ld.so's mapping of libc). */
  refresh(): void {
    this.#cache.clear();
    try {
      this.#maps = parseMaps(Deno.readTextFileSync(`/proc/${this.#pid}/maps`));
    } catch {
      this.#maps = []; // the process is gone
    }
  }

  /** The mapped file holding `pc` and the address to look up in it. */
  moduleOf(pc: number): ModuleAt {
    let hit = this.#cache.get(pc);
    if (hit === undefined) {
      hit = this.#lookup(pc);
      if (hit.path !== "?") this.#cache.set(pc, hit);
    }
    return hit;
  }

  #lookup(pc: number): ModuleAt {
    let m = this.#find(pc);
    if (m === undefined) {
      this.refresh();
      m = this.#find(pc);
    }
    if (m === undefined) return { path: "?", rel: pc };
    // Non-PIE executables are linked at their load address; PIE and
    // shared objects are looked up relative to their first mapping.
    const path = m.path;
    const first = this.#maps.find((x) => x.path === path && x.offset === 0);
    const rel = first !== undefined && first.start >= 0x1000000
      ? pc - first.start
      : pc;
    // An image run from memory (fexecve of a memfd) or from a deleted file:
    // a copy made while the process lives is read in its place; the path
    // shown stays the map's (the copy's differs each run, and goes).
    const copy = isUnreadableImage(path)
      ? imageCopy(this.#pid, m.start, m.end, path)
      : null;
    return copy === null ? { path, rel } : { path, rel, file: copy };
  }

  /**
   * The code of mapped files (and the vdso), as at most `max` sorted
   * [start, end) ranges: adjacent ones merged, then the closest merged
   * across their gaps until few enough (a range may then hold more than
   * code, never less).
   */
  codeRanges(max = 32): [number, number][] {
    const r: [number, number][] = this.#maps
      .filter((m) => m.exec && (m.path.startsWith("/") || m.path === "[vdso]"))
      .map((m): [number, number] => [m.start, m.end])
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < r.length; i++) {
      if (r[i][0] <= r[i - 1][1]) {
        r[i - 1][1] = Math.max(r[i - 1][1], r[i][1]);
        r.splice(i--, 1);
      }
    }
    while (r.length > max) {
      let best = 1;
      for (let i = 2; i < r.length; i++) {
        if (r[i][0] - r[i - 1][1] < r[best][0] - r[best - 1][1]) best = i;
      }
      r[best - 1][1] = r[best][1];
      r.splice(best, 1);
    }
    return r;
  }

  /**
   * The stack holding `rsp` as [lo, hi), read fresh (a thread's stack may
   * be new): anonymous memory, or the main thread's `[stack]`, whose lo is
   * put 8 MiB below its top (it grows down; nothing else is mapped there);
   * null when `rsp` is in no such mapping.
   */
  stackAt(rsp: number): [number, number] | null {
    this.refresh();
    const m = this.#find(rsp);
    if (m === undefined || (m.path !== "" && m.path !== "[stack]")) {
      return null;
    }
    return m.path === "[stack]"
      ? [Math.min(m.start, m.end - (8 << 20)), m.end]
      : [m.start, m.end];
  }

  /** Where libc's first mapping starts (undefined before ld.so maps it). */
  libcStart(): number | undefined {
    return this.#maps.find((m) => LIBC.test(m.path) && m.offset === 0)?.start;
  }

  /** Where ld.so's first mapping starts (undefined for a static program). */
  ldStart(): number | undefined {
    return this.#maps.find((m) => LD.test(m.path) && m.offset === 0)?.start;
  }

  #find(pc: number): Mapping | undefined {
    return this.#maps.find((x) => pc >= x.start && pc < x.end);
  }
}
