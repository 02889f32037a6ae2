/**
 * Which Go version printed a trace, from what the trace itself shows: the
 * record format (the Dec 2013 seed's `MProf_Malloc`), the runtime's own
 * file:line where it calls `tracealloc` and `tracefree` (they move between
 * releases), the goroutine creator lines (Go 1.21 added `in goroutine N`,
 * runtime/traceback.go), a Go version in the runtime's source path, and
 * sizes only Go 1.22's allocation headers print (class − 8). Figures that
 * depend on a version's rules (size classes, fragmentation) are then
 * checked against the rules they were computed under.
 *
 * @module
 */

import { type Frame, headerBytes, type StackTable } from "./events.ts";
import type { ParseStats } from "./parse_stats.ts";
import {
  getPreset,
  PRESET_NAMES,
  type PresetName,
} from "../runtime/presets.ts";
import { AllocKind } from "../stack/allockind.ts";

/**
 * The runtime's call sites of `tracealloc` (in `runtime.mallocgc`) and
 * `tracefree` (in the sweeper), from each preset's frame table (which
 * holds them as that release's real traces print them).
 */
const CALL_SITES: readonly {
  call: "tracealloc" | "tracefree";
  version: string;
  release: string;
  file: string;
  line: number;
}[] = PRESET_NAMES.map(getPreset)
  .filter((p) => p.traceFormat === "tracealloc")
  .flatMap((p) => {
    const alloc = p.frames.alloc(AllocKind.mallocgc, false, false)[0];
    const free = p.frames.sweepers.GC[0];
    const at = { version: p.name, release: p.goVersion };
    return [
      { call: "tracealloc", ...at, file: alloc.file, line: alloc.line },
      { call: "tracefree", ...at, file: free.file, line: free.line },
    ] as const;
  });

/** What a trace shows about the Go version that printed it. */
export interface GoVersionGuess {
  /**
   * `go1.22`, `go1.19`, `go1.2-seed` when the trace names one release
   * line; `go1.21+` / `go1.20 or older` when only the traceback format
   * says; null when the trace shows nothing (or contradicts itself).
   */
  version: string | null;
  /** What pointed there, one phrase each. */
  evidence: string[];
}

/**
 * Guesses the Go version from a parsed trace's statistics and stacks, and
 * the sizes its records printed when the caller has them.
 *
 * @example
 * ```ts
 * import { detectGoVersion, TraceParser } from "../../mod.ts";
 * const p = new TraceParser(() => {});
 * p.feed("tracealloc(0xc000100008, 0x238, main.P520)\ngoroutine 1 gp=0xc0000061c0 m=0 mp=0x549740 [running]:\n");
 * p.feed("runtime.mallocgc(0x208, 0x4a3b20, 0x1)\n\truntime/malloc.go:1288 +0x7a6 fp=0xc00008ee40 sp=0xc00008edb8 pc=0x40dae6\n\n");
 * p.end();
 * const g = detectGoVersion(p.stats, p.stacks);
 * if (g.version !== "go1.22") throw new Error(g.evidence.join("; "));
 * ```
 */
export function detectGoVersion(
  stats: ParseStats,
  stacks: StackTable,
  sizes: Iterable<number> = [],
): GoVersionGuess {
  if (stats.format === "seed") {
    return {
      version: "go1.2-seed",
      evidence: ["MProf_Malloc/MProf_Free records (Dec 2013 seed format)"],
    };
  }
  const evidence: string[] = [];
  const named = new Set<string>();
  const seenSites = new Set<string>();
  const paths = new Set<string>();
  // (Thousands of stacks share a few top frames: each is looked at once.)
  const tops = new Set<Frame>();
  for (let id = 1; id < stacks.size; id++) {
    const top = stacks.get(id)[0];
    if (top === undefined || tops.has(top)) continue;
    tops.add(top);
    for (const s of CALL_SITES) {
      if (top.line === s.line && top.file.endsWith(s.file)) {
        const at = `${s.file}:${s.line}`;
        if (!seenSites.has(at)) {
          seenSites.add(at);
          named.add(s.version);
          evidence.push(`${s.call} called at ${at}, as ${s.release} prints it`);
        }
      }
    }
    // An untrimmed path may carry the version: /usr/lib/go-1.22/src/runtime/…
    const m = /go-?(1\.\d+)[^/]*\/src\/runtime\//.exec(top.file);
    if (m !== null && !paths.has(m[1])) {
      paths.add(m[1]);
      named.add(`go${m[1]}`);
      evidence.push(
        `runtime sources under ${top.file.slice(0, m.index + m[0].length - 9)}`,
      );
    }
  }
  for (const size of sizes) {
    if (headerBytes(size) > 0) {
      named.add("go1.22");
      evidence.push(
        `printed size 0x${
          size.toString(16)
        } = class − 8 (Go 1.22 allocation headers)`,
      );
      break;
    }
  }
  let newCreators = 0;
  let oldCreators = 0;
  for (const g of stats.goroutines.values()) {
    if (g.parent >= 0) newCreators++;
    else oldCreators++;
  }
  if (newCreators > 0) {
    evidence.push("`created by F in goroutine N` (Go 1.21+ tracebacks)");
  }
  if (oldCreators > 0) {
    evidence.push("`created by F` without its goroutine (Go 1.20 or older)");
  }
  let version: string | null = null;
  if (named.size === 1) version = [...named][0];
  else if (named.size === 0 && newCreators > 0 && oldCreators === 0) {
    version = "go1.21+";
  } else if (named.size === 0 && oldCreators > 0 && newCreators === 0) {
    version = "go1.20 or older";
  }
  // The named version must agree with the traceback format.
  if (version !== null && /^go1\.\d+$/.test(version)) {
    const minor = Number(version.slice(4));
    if ((minor >= 21 && oldCreators > 0) || (minor < 21 && newCreators > 0)) {
      version = null;
    }
  }
  return { version, evidence };
}

/**
 * Whether `version` (as {@link detectGoVersion} names it) gives pointerful
 * objects over 512 B an allocation header, from its preset; null when no
 * preset models it.
 */
export function hasAllocHeaders(version: string | null): boolean | null {
  if (!PRESET_NAMES.includes(version as PresetName)) return null;
  return getPreset(version!).allocHeaders;
}

/**
 * The warning to print when figures that follow one Go version's rules
 * (`figures`, e.g. "size classes and fragmentation") were computed under
 * `rules` for a trace that shows `guess`; null when they agree or the
 * trace does not say.
 *
 * @example
 * ```ts
 * import { rulesWarning } from "../../mod.ts";
 * const w = rulesWarning({ version: "go1.22", evidence: ["runtime.mallocgc at runtime/malloc.go:1288"] }, "go1.19", "size classes");
 * if (w === null || !w.includes("go1.22")) throw new Error();
 * if (rulesWarning({ version: "go1.19", evidence: [] }, "go1.19", "size classes") !== null) throw new Error();
 * ```
 */
export function rulesWarning(
  guess: GoVersionGuess,
  rules: string,
  figures: string,
): string | null {
  const v = guess.version;
  if (v === null || v === rules) return null;
  // A format-only guess agrees with any release of its range.
  if (v === "go1.21+" && Number(rules.slice(4)) >= 21) return null;
  if (v === "go1.20 or older" && Number(rules.slice(4)) <= 20) return null;
  return `${figures} follow ${rules}'s rules, but the trace comes from ${v} (${
    guess.evidence[0] ?? "its format"
  })`;
}

/**
 * The warning for `figures` computed under preset `rules` from a Go
 * 1.`minor` execution trace, or null when `rules` is the newest release
 * preset at or before that Go: no preset may be that release, and the
 * newest one before it has its size classes and allocation headers
 * (go1.23's sizeclasses.go only adds minHeapAlign to go1.22's).
 *
 * @example
 * ```ts
 * import { execRulesWarning } from "../../mod.ts";
 * if (execRulesWarning(23, "go1.22", "sizes") !== null) throw new Error();
 * const w = execRulesWarning(23, "go1.19", "sizes")!;
 * if (!w.endsWith("use --go go1.22 (the nearest preset)")) throw new Error(w);
 * ```
 */
export function execRulesWarning(
  minor: number,
  rules: string,
  figures: string,
): string | null {
  // The newest release preset not newer than the trace (the first of equals).
  let nearest: string | null = null;
  let nearestMinor = -1;
  for (const p of PRESET_NAMES) {
    const m = /^go1\.(\d+)$/.exec(p);
    if (m === null) continue;
    const v = Number(m[1]);
    if (v > minor || v <= nearestMinor) continue;
    nearest = p;
    nearestMinor = v;
  }
  if (nearest === null || rules === nearest) return null;
  return `${figures} follow ${rules}'s rules, but the trace comes from go1.${minor} (its execution trace's header); use --go ${nearest}${
    nearest === `go1.${minor}` ? "" : " (the nearest preset)"
  }`;
}

/** One row of a size table: a printed size, its count and requested bytes. */
export interface SizeRow {
  /** Rounded size as printed. */
  size: number;
  /** Allocations. */
  count: number;
  /** Requested bytes, summed over the `known` allocations. */
  requested: number;
  /** Allocations whose requested size is known. */
  known: number;
  /** Internal fragmentation: 1 − requested / rounded, over the known ones. */
  fragmentation: number;
}

/**
 * A size table under a version's rules: with allocation headers (Go 1.22)
 * a printed size of class − 8 is the class's slot, header included (the
 * runtime accounts the header as internal fragmentation, malloc.go's
 * `fullSize`), so such rows are folded into the slot's size; without
 * headers the printed sizes are the classes already.
 *
 * @example
 * ```ts
 * import { sizesUnderRules } from "../../mod.ts";
 * const rows = [{ size: 568, count: 1, requested: 520, known: 1, fragmentation: 48 / 568 }];
 * const [r] = sizesUnderRules(rows, true);
 * if (r.size !== 576 || r.fragmentation !== 56 / 576) throw new Error();
 * ```
 */
export function sizesUnderRules(
  rows: readonly SizeRow[],
  allocHeaders: boolean,
): SizeRow[] {
  if (!allocHeaders) return rows.map((r) => ({ ...r }));
  const by = new Map<number, SizeRow>();
  for (const r of rows) {
    const size = r.size + headerBytes(r.size);
    const t = by.get(size) ??
      { size, count: 0, requested: 0, known: 0, fragmentation: 0 };
    t.count += r.count;
    t.requested += r.requested;
    t.known += r.known;
    by.set(size, t);
  }
  return [...by.values()].sort((a, b) => a.size - b.size).map((t) => ({
    ...t,
    fragmentation: t.known === 0
      ? 0
      : (t.size * t.known - t.requested) / (t.size * t.known),
  }));
}
