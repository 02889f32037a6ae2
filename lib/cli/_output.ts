/**
 * Writing output files so that a failure never leaves a half-written file:
 * the bytes go to a temporary name in the same directory, which is then
 * renamed over the target.
 *
 * @module
 */

import { UsageError } from "./_usage.ts";
import {
  encodeHeapProfile,
  folded,
  gzip,
  type HeapSample,
  type HeapSampleType,
} from "../profile/proto.ts";
import { renderReport, type ReportInput } from "../report/html.ts";

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** Checks up front that `path`'s directory exists, so a long run does not fail at its end. */
export function checkOutputPath(path: string, option: string): void {
  const dir = dirOf(path);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `${option} ${path}: directory ${dir} does not exist`,
      );
    }
    if (e instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `${option} ${path}: permission to read ${dir} is missing (run with --allow-read)`,
      );
    }
    throw e;
  }
  if (!info.isDirectory) {
    throw new UsageError(`${option} ${path}: ${dir} is not a directory`);
  }
}

/** Writes `data` to `path` through a temporary file and a rename. */
export async function writeOutput(
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const tmp = `${dirOf(path)}/.${base}.tmp-${Deno.pid}`;
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof Deno.errors.NotCapable) {
      throw new Error(
        `cannot write ${path}: permission missing (run with --allow-write=${
          dirOf(path)
        })`,
      );
    }
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** ANSI colours on stdout: only on a terminal, and not with NO_COLOR. */
export function stdoutColor(): boolean {
  try {
    return Deno.stdout.isTerminal() && Deno.env.get("NO_COLOR") === undefined;
  } catch {
    return false; // no --allow-env for NO_COLOR: plain
  }
}

/**
 * Writes the outputs of a trace analysis that were asked for: `pprof`
 * (gzipped profile.proto of `samples` at MemProfileRate `rate`), `folded`
 * (stacks by `type`) and `html` (the report of `report()`).
 */
export async function writeAnalysisOutputs(
  paths: { pprof?: string; folded?: string; html?: string },
  samples: HeapSample[],
  opts: {
    rate: number;
    type: HeapSampleType;
    report: () => Omit<ReportInput, "samples">;
  },
): Promise<void> {
  if (paths.html) {
    await writeOutput(
      paths.html,
      renderReport({ ...opts.report(), samples }),
    );
  }
  if (paths.pprof) {
    await writeOutput(
      paths.pprof,
      await gzip(encodeHeapProfile(samples, null, { rate: opts.rate })),
    );
  }
  if (paths.folded) await writeOutput(paths.folded, folded(samples, opts.type));
}
