/**
 * `alloctrace native [options] -- CMD ARGS…`: run a native program traced
 * from its first instruction and report its malloc/calloc/realloc/free with
 * native stacks: a trace in the seed's `MProf_Malloc` format (which
 * `alloctrace analyze` reads back), the summary of `analyze`, pprof, folded
 * and HTML outputs. The program's exit code becomes ours.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { NativeEvent } from "../native/tracer.ts";
import { traceInWorker } from "../native/in_worker.ts";
import { symbolize } from "../native/symbolize.ts";
import { type Frame, StackTable } from "../trace/events.ts";
import { TraceAnalyzer } from "../trace/analyze.ts";
import {
  HEAP_SAMPLE_TYPES,
  type HeapSample,
  scaleHeapSample,
} from "../profile/proto.ts";
import { analysisText } from "./analyze.ts";
import {
  checkOutputPath,
  writeAnalysisOutputs,
  writeOutput,
} from "./_output.ts";
import {
  ANALYSIS_OPTIONS,
  intOption,
  sampleTypeOption,
  UsageError,
} from "./_usage.ts";

/** Help text of `alloctrace native`. */
export const NATIVE_HELP = `Usage: alloctrace native [options] -- CMD [ARGS…]

Run CMD traced with ptrace from its first instruction and record every
malloc, calloc, realloc and free (and the aligned and array variants) with
its native stack. The hooks are x86-64 stubs written into CMD, so no call
stops it: a stub copies the top of the stack, which is unwound afterwards
with the modules' .eh_frame. CMD's stdin, stdout and stderr pass through;
its exit code (or 128+signal) becomes alloctrace's.

Options:
  --trace-out FILE     write the trace (seed MProf_Malloc format; alloctrace analyze reads it)
  --no-stacks          record no stacks (faster)
  --memprofilerate N   unwind only the allocations Go's sampler would pick,
                       one per N bytes on average; counts stay exact, the
                       pprof/folded/HTML profile is sampled and scaled like Go's
  --seed N             seed of that sampler (default 1)
  --breakpoints        stop CMD at every call instead (ptrace breakpoints,
                       stacks by libunwind-ptrace: slower, the reference)
  --top N              rows per table (default 10)
  --json               print the analysis as JSON
  --pprof FILE         write an exact heap profile (alloc and inuse at exit)
  --folded FILE        write folded stacks
  --folded-type TYPE   ${HEAP_SAMPLE_TYPES.join(", ")} (default alloc_space)
  --html FILE          write the HTML report
  -h, --help           show this help

Needs: ptrace permitted (CAP_SYS_PTRACE or Yama
ptrace_scope 0/1 for a child), --allow-all for Deno (FFI, and reading
/proc/PID/maps, which Deno grants only with --allow-all), and for stacks with
--breakpoints libunwind8 (Debian).

Example:
  alloctrace native --pprof heap.pb.gz -- ./myprog input.txt
`;

const LIBS =
  /\/(libc\.so|libc-[\d.]+\.so|ld-linux[^/]*\.so|libstdc\+\+\.so|libgcc_s\.so)/;

/** The stack given to allocations the sampler skipped. */
const UNSAMPLED: Frame[] = [{
  func: "(not sampled)",
  file: "",
  line: 0,
  pc: 0,
  inlined: false,
}];

/** Samples of sampled allocations, un-sampled the way Go's `scaleHeapSample` does. */
function scaled(samples: HeapSample[], rate: number): HeapSample[] {
  return samples.map((s) => {
    const [ao, ab] = scaleHeapSample(s.values[0], s.values[1], rate);
    const [io, ib] = scaleHeapSample(s.values[2], s.values[3], rate);
    return { ...s, values: [ao, ab, io, ib] };
  });
}

/** Runs `alloctrace native`; returns the exit code (the child's). */
export async function nativeCommand(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  const own = dash < 0 ? args : args.slice(0, dash);
  const cmd = dash < 0 ? [] : args.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    strict: true,
    options: {
      "trace-out": { type: "string" },
      "no-stacks": { type: "boolean", default: false },
      breakpoints: { type: "boolean", default: false },
      memprofilerate: { type: "string" },
      seed: { type: "string" },
      ...ANALYSIS_OPTIONS,
    },
  });
  if (values.help) {
    console.log(NATIVE_HELP);
    return 0;
  }
  const argv = [...positionals, ...cmd];
  if (argv.length === 0) {
    throw new UsageError(
      "native needs a command: alloctrace native [options] -- CMD ARGS…",
    );
  }
  const type = sampleTypeOption("folded-type", values["folded-type"]);
  const top = intOption("top", values.top, 10, 1, 1_000_000);
  const rate = intOption(
    "memprofilerate",
    values.memprofilerate,
    0,
    0,
    2 ** 31,
  );
  const seed = intOption("seed", values.seed, 1, 0, 2 ** 31);
  for (const o of ["trace-out", "pprof", "folded", "html"] as const) {
    if (values[o]) checkOutputPath(values[o], `--${o}`);
  }
  const stacks = new StackTable();
  // libc's own frames are not the allocation site, in tables or profiles.
  const siteOpts = {
    skipFrame: (f: Frame) => LIBS.test(f.file) || f.func === "",
  };
  const analyzer = new TraceAnalyzer(stacks, siteOpts);
  // With a sampling rate, a second analyzer sees only the sampled
  // allocations (and their frees): its per-stack totals, scaled, are the profile.
  const sampledAnalyzer = rate > 0 ? new TraceAnalyzer(stacks, siteOpts) : null;
  const sizes = new Map<
    number,
    { size: number; stack: number; sampled: boolean }
  >();
  const traceParts: string[] = [];
  const hex = (n: number) => "0x" + n.toString(16);
  // Events are kept until the run ends, then symbolized (file:line, C++ names) and analysed.
  let events: NativeEvent[];
  let code: number;
  try {
    const r = await traceInWorker(argv, {
      stacks: !values["no-stacks"],
      memProfileRate: rate,
      seed,
      mode: values.breakpoints ? "breakpoints" : "inject",
    });
    events = r.events;
    code = r.code;
    if (!r.started && !r.interrupted) {
      // The shell said why (not found, permission denied) on stderr.
      console.error(
        `alloctrace: ${argv[0]} could not be started (exit code ${code})`,
      );
      return code === 0 ? 1 : code;
    }
    if (r.interrupted) {
      console.error(
        `alloctrace: interrupted: ${
          argv[0]
        } was killed; reporting what it did until then`,
      );
    }
  } catch (e) {
    const err = e as Error;
    if (err.name === "NotCapable") {
      throw new Error(
        `${
          err.message.split("\n")[0]
        } (native tracing needs --allow-all: FFI, /proc/PID/maps, addr2line)`,
      );
    }
    throw err;
  }
  const resolved = await symbolize(events.flatMap((e) => e.frames));
  const toFrames = (e: NativeEvent): Frame[] =>
    e.frames.map((f) => {
      const r = resolved.get(`${f.module}@${f.rel}`);
      const lib = LIBS.test(f.module);
      return {
        func: r?.func ?? f.name,
        file: lib ? f.module : r?.file ?? f.module,
        line: r?.line ?? 0,
        pc: f.pc,
        inlined: false,
      };
    });
  // The traceback text of each interned stack, made once.
  const tracebacks = new Map<number, string>();
  const traceback = (stack: number): string => {
    let t = tracebacks.get(stack);
    if (t === undefined) {
      t = stacks.get(stack).map((f, i) =>
        `\t#${i} ${hex(f.pc)} ${
          f.func.replaceAll(" ", "") || "?"
        } ${f.file}:${f.line}\n`
      ).join("");
      tracebacks.set(stack, t);
    }
    return t;
  };
  let line = 0;
  for (const e of events) {
    line++;
    if (e.kind === "free") {
      const a = sizes.get(e.addr);
      if (a === undefined) continue; // allocated before libc was hooked
      sizes.delete(e.addr);
      const free = {
        kind: "free" as const,
        addr: e.addr,
        size: a.size,
        goroutine: e.tid,
        stack: a.stack,
        lineNo: line,
      };
      analyzer.add(free);
      if (a.sampled) sampledAnalyzer?.add(free);
      if (values["trace-out"]) {
        traceParts.push(
          `MProf_Free(p=${hex(e.addr)}, size=${hex(a.size)})\n${
            traceback(a.stack)
          }`,
        );
      }
      continue;
    }
    const frames = e.sampled ? toFrames(e) : UNSAMPLED;
    const stack = stacks.intern(frames);
    sizes.set(e.addr, { size: e.size, stack, sampled: e.sampled });
    const alloc = {
      kind: "alloc" as const,
      addr: e.addr,
      size: e.size,
      type: null,
      requested: e.size,
      goroutine: e.tid,
      stack,
      lineNo: line,
    };
    analyzer.add(alloc);
    if (e.sampled) sampledAnalyzer?.add(alloc);
    if (values["trace-out"]) {
      traceParts.push(
        `MProf_Malloc(p=${hex(e.addr)}, size=${
          hex(e.size)
        }, type=0x0 <single object>)\n${traceback(stack)}`,
      );
    }
  }
  const result = analyzer.finish();
  if (values["trace-out"]) {
    await writeOutput(values["trace-out"], traceParts.join(""));
  }
  const samples = sampledAnalyzer === null
    ? analyzer.samples()
    : scaled(sampledAnalyzer.samples(), rate);
  await writeAnalysisOutputs(values, samples, {
    rate: rate || 1,
    type,
    report: () => ({
      title: `alloctrace native ${argv.join(" ")}`,
      subtitle: `exit code ${code}`,
      note: rate > 0
        ? `every call traced; stacks sampled, one per ${rate} bytes on average, and scaled`
        : "every call traced",
      analysis: result,
    }),
  });
  if (result.allocs === 0 && result.frees === 0) {
    console.error(
      `alloctrace: warning: ${
        argv[0]
      } made no malloc call that could be traced (a static or pure Go binary never calls libc's malloc)`,
    );
  }
  if (values.json) {
    console.log(
      JSON.stringify({ command: argv, exitCode: code, ...result }, null, 2),
    );
  } else console.error(analysisText(argv.join(" "), result, top));
  return code;
}
