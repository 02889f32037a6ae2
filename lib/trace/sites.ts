/**
 * Allocation sites a user can act on. A site is the first frame of an
 * allocation stack that is not the allocator's own: not the Go runtime
 * (`runtime.*`, and `panic` — Go prints `runtime.gopanic` that way), not the
 * C library's allocation functions (`malloc`, `calloc`, `realloc`, `free`,
 * their `__libc_*` aliases and internal callees such as `_int_malloc`,
 * C++'s `operator new`/`new[]`, mangled `_Znwm`/`_Znam` or demangled), and
 * no frame of the C/C++ runtime libraries themselves (libc, ld.so,
 * libstdc++, libgcc_s: `strdup`'s caller is the site, as heaptrack shows).
 * So a trace written by `native --trace-out` and read back by `analyze`
 * names the same sites as `native` does.
 *
 * A stack made only of runtime frames (Go's start-up allocations) is named
 * by its first meaningful runtime function — `runtime.procresize`,
 * `runtime.malg` — never by the allocation entry points
 * (`runtime.mallocgc`, `runtime.newobject`, …) or the stack switches
 * (`runtime.systemstack_switch`) that every such stack starts with.
 *
 * The key of a site ({@link SiteBy}): `func` (its function), `line` (its
 * function and file:line, the default) or `stack` (the whole stack from the
 * site outward). Every report — terminal tables, JSON, folded stacks, pprof
 * and HTML — groups by {@link siteOf}, so they agree.
 *
 * @module
 */

import type { Frame } from "./events.ts";

/** What identifies a site: its function, its function and line, or its whole stack. */
export type SiteBy = "func" | "line" | "stack";

/** The choices of {@link SiteBy}, for option parsing. */
export const SITE_BY: readonly SiteBy[] = ["func", "line", "stack"];

/** One frame as reports show it (JSON's `stack: [{func, file, line, inlined}]`). */
export interface SiteFrame {
  /** Function name. */
  func: string;
  /** Source file ("" when unknown; a shared library's path for its frames). */
  file: string;
  /** Line (0 when unknown). */
  line: number;
  /** Inlined into its caller (Go prints it without an offset). */
  inlined: boolean;
}

// glibc's allocation functions, their public aliases and internal callees.
const C_ALLOC = new Set([
  "malloc",
  "calloc",
  "realloc",
  "reallocarray",
  "free",
  "cfree",
  "memalign",
  "posix_memalign",
  "aligned_alloc",
  "valloc",
  "pvalloc",
  "malloc_usable_size",
  "sysmalloc",
  "malloc_consolidate",
  "malloc_hook_ini",
  "realloc_hook_ini",
  "memalign_hook_ini",
  "tcache_init",
  "tcache_get",
  "tcache_put",
  "_mid_memalign",
]);
// __libc_malloc, __GI___libc_malloc, _int_malloc, _int_free, __malloc_hook…
const C_ALLOC_PREFIX =
  /^(__GI_)?(__libc_|_int_|__malloc_|__posix_memalign|__libc_memalign|__default_morecore)/;
// C++ operator new / new[] / delete / delete[], mangled or demangled (with or without the space).
const CXX_NEW = /^(_Zn[wa]|_Zd[la]|operator ?(new|delete)\b)/;
// Frames of the C and C++ runtime libraries (by the shared object's path).
const C_RUNTIME_LIBS =
  /(^|\/)(libc\.so|libc-[\d.]+\.so|ld-linux[^/]*\.so|libstdc\+\+\.so|libgcc_s\.so)/;

/**
 * Whether a frame belongs to the allocator (Go's runtime or the C
 * library's allocation functions), so it is never the site.
 *
 * @example
 * ```ts
 * import { isAllocatorFrame } from "../../mod.ts";
 * const f = (func: string, file = "") => ({ func, file, line: 0, pc: 0, inlined: false });
 * if (!isAllocatorFrame(f("runtime.mallocgc")) || !isAllocatorFrame(f("_int_malloc"))) throw new Error();
 * if (!isAllocatorFrame(f("_Znwm")) || !isAllocatorFrame(f("operator new(unsigned long)"))) throw new Error();
 * if (!isAllocatorFrame(f("strdup", "/lib/x86_64-linux-gnu/libc.so.6"))) throw new Error();
 * if (isAllocatorFrame(f("main.newRecord", "leak/main.go")) || isAllocatorFrame(f("dup_name", "leak.c"))) throw new Error();
 * ```
 */
export function isAllocatorFrame(f: Frame | SiteFrame): boolean {
  const fn = f.func;
  if (fn.startsWith("runtime.")) return true;
  if (fn === "panic" && /(^|\/)runtime\/panic\.go$/.test(f.file)) return true;
  if (fn === "" || fn === "?") return true;
  if (C_ALLOC.has(fn) || C_ALLOC_PREFIX.test(fn) || CXX_NEW.test(fn)) {
    return true;
  }
  return C_RUNTIME_LIBS.test(f.file);
}

// Runtime functions that only allocate on behalf of their caller, and the
// stack switches: never the name of a runtime-only stack.
const RUNTIME_PLUMBING = new Set([
  "mallocgc",
  "newobject",
  "newarray",
  "makeslice",
  "makeslicecopy",
  "growslice",
  "makechan",
  "makemap",
  "makemap_small",
  "makeBucketArray",
  "hashGrow",
  "newoverflow",
  "mapassign",
  "mapassign_fast32",
  "mapassign_fast64",
  "mapassign_faststr",
  "mapassign_fast32ptr",
  "mapassign_fast64ptr",
  "rawstring",
  "rawstringtmp",
  "rawbyteslice",
  "rawruneslice",
  "concatstrings",
  "concatstring2",
  "concatstring3",
  "concatstring4",
  "concatstring5",
  "slicebytetostring",
  "slicerunetostring",
  "stringtoslicebyte",
  "stringtoslicerune",
  "intstring",
  "convT",
  "convTnoptr",
  "convT16",
  "convT32",
  "convT64",
  "convTstring",
  "convTslice",
  "convT2E",
  "convT2I",
  "systemstack",
  "systemstack_switch",
  "mcall",
  "morestack",
  "newstack",
  "goexit",
  "goexit1",
  // The Dec 2013 seed's C entry points.
  "cnew",
  "cnewarray",
  "new",
  "makeslice1",
  "growslice1",
  "mallocgc_m",
  "largealloc",
]);

function _isPlumbing(f: Frame | SiteFrame): boolean {
  return f.func.startsWith("runtime.") &&
    RUNTIME_PLUMBING.has(f.func.slice(8));
}

/**
 * Index of the site frame of `frames` (innermost first): the first frame
 * `skip` does not reject; for a stack of allocator frames only, the first
 * that is not an allocation entry point or stack switch; else 0 (-1 for an
 * empty stack).
 *
 * @example
 * ```ts
 * import { siteIndex } from "../../mod.ts";
 * const f = (func: string) => ({ func, file: "", line: 0, pc: 0, inlined: false });
 * const boot = ["runtime.mallocgc", "runtime.newobject", "runtime.malg", "runtime.mpreinit"].map(f);
 * if (siteIndex(boot) !== 2) throw new Error();
 * if (siteIndex(["runtime.mallocgc", "main.f", "main.main"].map(f)) !== 1) throw new Error();
 * ```
 */
export function siteIndex(
  frames: readonly (Frame | SiteFrame)[],
  skip: (f: Frame) => boolean = isAllocatorFrame,
): number {
  for (let i = 0; i < frames.length; i++) {
    if (!skip(frames[i] as Frame)) return i;
  }
  for (let i = 0; i < frames.length; i++) {
    if (!_isPlumbing(frames[i]) && frames[i].func !== "") return i;
  }
  return frames.length > 0 ? 0 : -1;
}

/** A frame as reports show it. */
export function siteFrameOf(f: Frame | SiteFrame): SiteFrame {
  return { func: f.func, file: f.file, line: f.line, inlined: f.inlined };
}

/**
 * `func file:line`; `func file` for a frame without a line (a shared
 * library's, which native traces print as `libc.so.6:0`: a line 0 points
 * nowhere); just `func` when neither is known.
 */
export function frameText(f: Frame | SiteFrame): string {
  return f.line > 0
    ? `${f.func || "?"} ${f.file}:${f.line}`
    : f.file !== ""
    ? `${f.func || "?"} ${f.file}`
    : f.func || "?";
}

/** A site: its key (the name reports show) and the frames that make it. */
export interface Site {
  /** The site's name: `func`, `func file:line`, or the stack's frames joined by ` ← `. */
  key: string;
  /** The site frame and its callers, innermost first (runtime.goexit dropped). */
  frames: SiteFrame[];
  /** Frames of the key: the site frame alone, or all of `frames` with `stack`. */
  keyFrames: number;
}

/**
 * The site of an allocation stack under `by` (default `line`).
 *
 * @example
 * ```ts
 * import { siteOf } from "../../mod.ts";
 * const st = [
 *   { func: "runtime.mallocgc", file: "runtime/malloc.go", line: 1131, pc: 0, inlined: false },
 *   { func: "main.newRecord", file: "leak/main.go", line: 38, pc: 0, inlined: false },
 *   { func: "main.main", file: "leak/main.go", line: 52, pc: 0, inlined: false },
 * ];
 * if (siteOf(st).key !== "main.newRecord leak/main.go:38") throw new Error(siteOf(st).key);
 * if (siteOf(st, "func").key !== "main.newRecord") throw new Error();
 * if (siteOf(st, "stack").key !== "main.newRecord leak/main.go:38 ← main.main leak/main.go:52") throw new Error();
 * if (siteOf(st).frames.length !== 2) throw new Error();
 * ```
 */
export function siteOf(
  stack: readonly Frame[],
  by: SiteBy = "line",
  skip: (f: Frame) => boolean = isAllocatorFrame,
): Site {
  const i = siteIndex(stack, skip);
  if (i < 0) return { key: "?", frames: [], keyFrames: 0 };
  const frames: SiteFrame[] = [];
  for (let j = i; j < stack.length; j++) {
    if (stack[j].func !== "runtime.goexit") frames.push(siteFrameOf(stack[j]));
  }
  if (frames.length === 0) frames.push(siteFrameOf(stack[i]));
  if (by === "func") {
    return { key: frames[0].func || "?", frames, keyFrames: 1 };
  }
  if (by === "line") return { key: frameText(frames[0]), frames, keyFrames: 1 };
  return {
    key: frames.map(frameText).join(" ← "),
    frames,
    keyFrames: frames.length,
  };
}

/**
 * Samples (leaf-first frames) whose frame names carry the site key, for
 * outputs that have only names (folded stacks): with `line`, the leaf (the
 * site) becomes `func file:line`, so two sites of one function stay apart;
 * with `stack`, every frame does; with `func`, nothing changes.
 *
 * @example
 * ```ts
 * import { labelSites } from "./sites.ts";
 * const s = [{ values: [1, 8, 1, 8], frames: [{ func: "main.f", file: "m.go", line: 7 }, { func: "main.main", file: "m.go", line: 3 }] }];
 * const l = labelSites(s, "line");
 * if (l[0].frames[0].func !== "main.f m.go:7" || l[0].frames[1].func !== "main.main") throw new Error();
 * ```
 */
export function labelSites<
  S extends {
    values: readonly number[];
    frames: readonly { func: string; file: string; line: number }[];
  },
>(samples: readonly S[], by: SiteBy): S[] {
  if (by === "func") return [...samples];
  return samples.map((s) => ({
    ...s,
    frames: s.frames.map((f, i) =>
      by === "stack" || i === 0
        ? { ...f, func: frameText({ ...f, inlined: false }) }
        : f
    ),
  }));
}
