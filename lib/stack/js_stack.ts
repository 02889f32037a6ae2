/**
 * The caller's own JavaScript/TypeScript stack, from V8's structured call
 * sites, as frames: a library user can have their own functions and lines
 * in the trace instead of simulated Go frames.
 *
 * @module
 */

/** A frame of the JS stack. */
export interface JsFrame {
  /** Function name (`<anonymous>` when it has none). */
  func: string;
  /** File path (or URL for remote modules). */
  file: string;
  /** Line. */
  line: number;
}

interface CallSite {
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
}

/** This library's own folder: frames inside it are not the user's. */
const LIB_URL = new URL("../", import.meta.url);
const LIB_PREFIXES = [LIB_URL.href, decodeURIComponent(LIB_URL.pathname)];
/**
 * The tool's entry points beside lib/ (main.ts's `Deno.exit(await main(…))`
 * is on every stack of `run SCRIPT.ts`): not the user's either.
 */
const ROOT_FILES = ["main.ts", "mod.ts"].flatMap((f) => {
  const u = new URL(`../../${f}`, import.meta.url);
  return [u.href, decodeURIComponent(u.pathname)];
});

/**
 * The JS frames of the current call, innermost first, leaving out this
 * library's own frames and the runtime's internals (32 at most).
 *
 * @example
 * ```ts
 * import { captureJsFrames } from "../../mod.ts";
 * // From user code, the innermost frame is the caller's own function.
 * const frames = captureJsFrames();
 * if (!frames.every((f) => typeof f.line === "number")) throw new Error();
 * ```
 */
export function captureJsFrames(max = 32): JsFrame[] {
  const E = Error as unknown as {
    prepareStackTrace?: (e: Error, s: CallSite[]) => unknown;
    stackTraceLimit: number;
  };
  const prevPrepare = E.prepareStackTrace;
  const prevLimit = E.stackTraceLimit;
  let sites: CallSite[] = [];
  E.prepareStackTrace = (_e, s) => s;
  E.stackTraceLimit = max + 32;
  try {
    const holder = {} as { stack?: unknown };
    (Error as unknown as { captureStackTrace(o: object): void })
      .captureStackTrace(holder);
    sites = holder.stack as CallSite[];
  } finally {
    E.prepareStackTrace = prevPrepare;
    E.stackTraceLimit = prevLimit;
  }
  const out: JsFrame[] = [];
  for (const s of sites) {
    const file = s.getFileName() ?? "";
    // This library's modules are not the user's (a doc-test snippet, `file.ts#12-20.ts`, is).
    const ours = (LIB_PREFIXES.some((p) => file.startsWith(p)) &&
      !file.includes("#")) || ROOT_FILES.includes(file);
    if (
      file === "" || ours || file.startsWith("ext:") || file.startsWith("node:")
    ) continue;
    const type = s.getTypeName();
    const fn = s.getFunctionName() ?? s.getMethodName() ?? "<anonymous>";
    out.push({
      func: type && s.getMethodName() && !fn.includes(".")
        ? `${type}.${fn}`
        : fn,
      file: file.startsWith("file://")
        ? decodeURIComponent(new URL(file).pathname)
        : file,
      line: s.getLineNumber() ?? 0,
    });
    if (out.length === max) break;
  }
  return out;
}

const _captured = new WeakMap<
  object,
  { seq: number; frames: readonly JsFrame[] }
>();

/**
 * {@link captureJsFrames} once per event: the frames of event `seq` of
 * `owner` (a runtime and its allocation count), captured by the first
 * consumer of that event that asks and returned to the others (the trace
 * printer and `run`'s event forwarder both want an allocation's stack).
 * Call it only while the event is being delivered.
 *
 * @example
 * ```ts
 * import { captureJsFramesOnce } from "../../mod.ts";
 * const owner = {};
 * const a = captureJsFramesOnce(owner, 1);
 * if (captureJsFramesOnce(owner, 1) !== a) throw new Error("one capture");
 * if (captureJsFramesOnce(owner, 2) === a) throw new Error("a new event");
 * ```
 */
export function captureJsFramesOnce(
  owner: object,
  seq: number,
): readonly JsFrame[] {
  const known = _captured.get(owner);
  if (known !== undefined && known.seq === seq) return known.frames;
  const frames = captureJsFrames();
  _captured.set(owner, { seq, frames });
  return frames;
}
