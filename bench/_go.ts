/**
 * Finding and building the shared real-Go test programs for side-by-side
 * benchmarks.
 *
 * @module
 */

import { GO119 } from "../scripts/_traces.ts";

/** The Go programs shipped beside the repository in shared/testdata. */
export const GO_PROGRAMS = new URL("programs/", GO119);

/** Path of a usable `go` binary (PATH, then Debian's go 1.19), or null. */
export async function findGo(): Promise<string | null> {
  for (const cand of ["go", "/usr/lib/go-1.19/bin/go"]) {
    try {
      const out = await new Deno.Command(cand, { args: ["version"] }).output();
      if (out.success) return cand;
    } catch {
      // not there
    }
  }
  return null;
}

/** Builds `program` (a folder of GO_PROGRAMS) with -trimpath into `outDir`; returns the binary. */
export async function buildGoProgram(
  go: string,
  program: string,
  outDir: string,
): Promise<string> {
  const bin = `${outDir}/${program}`;
  const out = await new Deno.Command(go, {
    args: ["build", "-trimpath", "-o", bin, `./${program}`],
    cwd: GO_PROGRAMS,
    env: { GOPROXY: "off", GOFLAGS: "", GO111MODULE: "on" },
  }).output();
  if (!out.success) {
    throw new Error(
      `go build ${program} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return bin;
}

/**
 * Runs a built program with `GODEBUG=allocfreetrace=1` (and `env`, e.g.
 * `GOGC`), its stderr (the trace) written to `path`; returns the seconds it
 * took.
 */
export async function writeRealTrace(
  bin: string,
  args: string[],
  path: string,
  env: Record<string, string> = {},
): Promise<number> {
  const out = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const t0 = performance.now();
  const child = new Deno.Command(bin, {
    args,
    env: { ...env, GODEBUG: "allocfreetrace=1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await child.stderr.pipeTo(out.writable);
  await child.status;
  return (performance.now() - t0) / 1000;
}
