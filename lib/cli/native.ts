/**
 * `alloctrace native [options] -- CMD ARGS…`: run a native program traced
 * from its first instruction and report its malloc/calloc/realloc/free with
 * native stacks: a trace in the seed's `MProf_Malloc` format (which
 * `alloctrace analyze` reads back), the summary of `analyze`, pprof, folded
 * and HTML outputs. The program's exit code becomes ours.
 *
 * @module
 */

import { parseArgs } from "./_parse_args.ts";
import { traceInWorker } from "../native/in_worker.ts";
import { ignoredAtStart } from "./_signals.ts";
import { endOf } from "./_program_end.ts";
import { linkageOf } from "../native/elf_linkage.ts";
import { findCommand } from "../native/runnable.ts";
import { commandOf, tgidOf } from "../native/proc_status.ts";
import type { NativeSink } from "./_native_sink.ts";
import { SITE_HELP, SITE_OPTIONS, siteOptions } from "./_site_options.ts";
import { fmtBytes } from "../report/units.ts";
import { Progress } from "./_progress.ts";
import type { HeapSample } from "../profile/proto.ts";
import { HEAP_SAMPLE_TYPES } from "../profile/sample_types.ts";
import {
  ANALYSIS_OPTIONS,
  intOption,
  sampleTypeOption,
  shown,
  UsageError,
} from "./_usage.ts";
import { formatHelp } from "./_help.ts";

/** Help text of `alloctrace native`. */
export const NATIVE_HELP = formatHelp(
  `Usage: alloctrace native [options] -- CMD [ARGS…]
       alloctrace native [options] -p PID

Run CMD traced with ptrace from its first instruction and record every
malloc, calloc, realloc and free (and the aligned and array variants) with
its native stack. The hooks are x86-64 stubs written into CMD, so no call
stops it: a stub copies the top of the stack, which is unwound afterwards
with the modules' .eh_frame. CMD's stdin, stdout and stderr pass through;
its exit code (or 128+signal) becomes alloctrace's. No output goes to
stdout, which stays the program's own.

Options:
  --trace-out FILE     write the trace (seed MProf_Malloc format; alloctrace
                       analyze reads it), one file per process: the one
                       started (or attached to) at FILE, each child's beside
                       it at FILE.PID (never over a file: FILE.PID.1 then),
                       named on stderr
  --no-stacks          record no stacks (faster)
  --memprofilerate N   unwind only the allocations Go's sampler would pick,
                       one per N bytes on average; counts stay exact, the
                       pprof/folded/HTML profile is sampled and scaled like Go's
  --seed N             seed of that sampler (default 1)
  --no-follow-forks    let fork children run untraced (by default they are
                       traced too; exec'd programs always are)
  --pid PID            a filter: report only the calls of PID, one of the
                       processes traced (see the processes table); to trace a
                       process that is already running, use -p
  -p, --attach PID     attach to PID, a process already running, and trace it
                       from now on instead of CMD (hooks injected into it);
                       Ctrl-C, or --duration, detaches: its code is restored
                       and it runs on
  --duration SECONDS   with -p: detach after this long
  --breakpoints        stop CMD at every call instead (ptrace breakpoints,
                       stacks by libunwind-ptrace: slower, the reference)
  --top N              rows per table (default 10)
${SITE_HELP}
  --json FILE          write the report as JSON to FILE (never to stdout,
                       which stays the program's own)
  -q, --quiet          no progress line, report or warnings on stderr
  --pprof FILE         write an exact heap profile (alloc and inuse at exit)
  --folded FILE        write folded stacks
  --folded-type TYPE   ${HEAP_SAMPLE_TYPES.join(", ")} (default alloc_space)
  --html FILE          write the HTML report
  -h, --help           show this help

Needs: ptrace permitted (CAP_SYS_PTRACE, or Yama ptrace_scope 0 or 1 for a
child; -p needs the same user and ptrace_scope 0, or CAP_SYS_PTRACE);
--allow-all for Deno with no --deny-* flag (FFI, and reading /proc/PID/maps,
which Deno grants only then); and, for --breakpoints' stacks, libunwind8.

Example:
  alloctrace native --pprof heap.pb.gz -- ./myprog input.txt
`,
);

/**
 * What is known of the images of a run that made no traced call: each
 * one's linkage, read from its ELF.
 */
function _whyNoCall(images: string[]): string {
  if (images.length === 0) return "no program image was traced";
  return [...new Set(images)].map((image) => {
    const path = shown(image);
    switch (linkageOf(image)) {
      case "dynamic":
        return `${path} is dynamically linked (libc's allocator hooked) and made none`;
      case "static":
        return `${path} is statically linked: its allocator, if any, is its own copy (as a pure Go binary's is), not libc's, and cannot be hooked`;
      default:
        return `${path} could not be read as an ELF executable`;
    }
  }).join("; ");
}

/** Samples of sampled allocations, un-sampled the way Go's `scaleHeapSample` does. */
async function scaled(
  samples: HeapSample[],
  rate: number,
): Promise<HeapSample[]> {
  const { scaleHeapSample } = await import("../profile/proto.ts");
  return samples.map((s) => {
    const [ao, ab] = scaleHeapSample(s.values[0], s.values[1], rate);
    const [io, ib] = scaleHeapSample(s.values[2], s.values[3], rate);
    return { ...s, values: [ao, ab, io, ib] };
  });
}

/**
 * Fails with one line unless every permission is granted: the tracer
 * worker loads libc through FFI, runs the program and reads
 * `/proc/PID/maps` (which Deno grants only with `--allow-all`). Checked
 * before the worker starts, whose own failure would print an uncaught
 * error first and name only the first missing flag.
 */
function _needAllowAll(): void {
  const names = [
    "read",
    "write",
    "net",
    "env",
    "sys",
    "run",
    "ffi",
    "import",
  ] as const;
  const missing = names.filter((name) =>
    Deno.permissions.querySync({ name }).state !== "granted"
  );
  if (missing.length > 0) {
    throw new Error(
      `native needs --allow-all (FFI, running the program, /proc/PID/maps; ` +
        `missing: ${missing.join(", ")}): run deno with -A`,
    );
  }
  // Every query says "granted" under -A with a --deny-* flag too, but Deno
  // then refuses /proc/PID/maps (it wants all access), and the tracer would
  // see no image: "0 allocations", exit 0. Asked of the maps themselves.
  try {
    Deno.readTextFileSync("/proc/self/maps");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) return;
    throw new Error(
      "native needs --allow-all with no --deny-* flag (Deno reads " +
        "/proc/PID/maps only then): run deno with -A",
    );
  }
}

/**
 * Fails with one line when `id` is this process or one of its ancestors, or
 * a thread of one. An ancestor (the shell that started alloctrace) waits for
 * alloctrace to end, and an attached alloctrace traces until the process
 * ends: neither would, and only a signal from elsewhere ended it. `-p` takes
 * a thread's id too (the attach seizes the thread's whole process), so the
 * id is first mapped to its process (its thread group).
 */
function _notOwnLine(id: number): void {
  const pid = tgidOf(id); // the id itself when there is none: the attach says so
  if (pid === Deno.pid) {
    throw new Error(
      `${
        id === pid ? "process" : `thread ${id} of process`
      } ${pid} is alloctrace itself: it cannot trace itself`,
    );
  }
  const kin = ["its parent", "its parent's parent"];
  // Pid 1 is walked too: in a container it may be the shell that started
  // alloctrace. Its parent is 0, which ends the walk.
  for (let p = Deno.ppid, up = 0; p >= 1; up++) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${p}/stat`);
    } catch {
      return; // gone meanwhile
    }
    if (p === pid) {
      // (comm is inside the first "(" and the last ")".)
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      throw new Error(
        `${id === pid ? "process" : `thread ${id} of process`} ${pid} (${
          shown(comm)
        }) is an ancestor of alloctrace (${
          kin[up] ?? `${up + 1} generations up`
        }), which waits for alloctrace to end: traced until it ends, neither would; attach from another shell`,
      );
    }
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  }
}

/** Runs `alloctrace native`; returns the exit code (the child's). */
export async function nativeCommand(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  // `-p -1` becomes `-p-1`, as main does for `--attach -1`: parseArgs takes
  // a value that starts with a dash for an option ("ambiguous"), and -p's
  // own check then says the range.
  const own = (dash < 0 ? args : args.slice(0, dash)).flatMap((a, i, all) =>
    a === "-p" && /^-\d/.test(all[i + 1] ?? "")
      ? []
      : all[i - 1] === "-p" && /^-\d/.test(a)
      ? [`-p${a}`]
      : [a]
  );
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
      "no-follow-forks": { type: "boolean", default: false },
      attach: { type: "string", short: "p" },
      duration: { type: "string" },
      pid: { type: "string" },
      ...ANALYSIS_OPTIONS,
      ...SITE_OPTIONS,
      // JSON goes to a file only: stdout belongs to the traced program.
      json: { type: "string" },
      quiet: { type: "boolean", short: "q", default: false },
    },
  });
  if (values.help) {
    console.log(NATIVE_HELP);
    return 0;
  }
  const argv = [...positionals, ...cmd];
  const attachPid = values.attach === undefined
    ? undefined
    : intOption("attach", values.attach, 0, 1, 2 ** 22);
  const duration = intOption("duration", values.duration, 0, 0, 10 ** 7);
  if (attachPid !== undefined && argv.length > 0) {
    throw new UsageError(
      "native -p PID attaches to a running process: give no command",
    );
  }
  if (duration > 0 && attachPid === undefined) {
    throw new UsageError("--duration goes with -p PID");
  }
  // Attached, the report names the process by its executable and
  // arguments, as it names a command it starts (its pid if it has none).
  const name = attachPid === undefined
    ? argv
    : commandOf(attachPid) ?? [`pid ${attachPid}`];
  if (argv.length > 0 && argv[0] === "") {
    throw new UsageError("native needs a command: the command name is empty");
  }
  if (argv.length === 0 && attachPid === undefined) {
    throw new UsageError(
      "native needs a command: alloctrace native [options] -- CMD ARGS…" +
        (values.pid === undefined
          ? ""
          : `; --pid only filters the processes of a trace: to trace running process ${values.pid}, use -p ${values.pid}`),
    );
  }
  _needAllowAll();
  if (attachPid !== undefined) _notOwnLine(attachPid);
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
  const site = siteOptions(values);
  const onlyPid = intOption("pid", values.pid, 0, 1, 2 ** 22);
  // The output writers (pprof, HTML, JSON) and the text report are loaded
  // only when wanted: a quiet run with no output file starts ~20 ms sooner.
  const outputs = values.pprof !== undefined ||
    values.folded !== undefined || values.html !== undefined;
  const jsonPath = values.json;
  if (jsonPath === "" || jsonPath === "-") {
    throw new UsageError(
      "--json needs a FILE: the program's stdout is its own, the JSON never shares it",
    );
  }
  const output = outputs || jsonPath !== undefined ||
      values["trace-out"] !== undefined
    ? await import("./_output.ts")
    : null;
  // The file the command runs (the shell's way), or why it cannot run;
  // `cmd` itself when no file was found (nothing to protect then).
  const found = attachPid === undefined
    ? findCommand(argv[0], Deno.env.get("PATH"))
    : null;
  const program = attachPid === undefined
    ? (found !== null && "file" in found ? found.file : argv[0])
    : null;
  // Every output checked before the program runs, as analyze's are: no two
  // on one file, none on the program itself (a trace written over the
  // binary destroyed it).
  const outs = output?.Outputs.check({
    "--trace-out": values["trace-out"],
    "--html": values.html,
    "--pprof": values.pprof,
    "--folded": values.folded,
    "--json": jsonPath,
  }, program === null ? [] : [program]) ?? null;
  // (--pid: the one process is written at FILE, no child file is made.)
  if (values["trace-out"] !== undefined && onlyPid === 0) {
    (await import("./_native_trace_out.ts")).checkChildFiles(
      values["trace-out"],
    );
  }
  // A command that cannot run: one line of ours and the shell's exit code,
  // before anything is written (the start-up shell would say it too: two
  // lines, the second one ours).
  const cannot = found === null || "file" in found ? null : found;
  if (cannot !== null) {
    console.error(
      `alloctrace: cannot run ${
        shown(argv[0])
      }: ${cannot.reason} (exit code ${cannot.code})`,
    );
    return cannot.code;
  }
  // Nothing of ours goes to stdout: it is the program's (see --json).
  for (
    const [option, path] of [
      ["--trace-out", values["trace-out"]],
      ["--html", values.html],
      ["--pprof", values.pprof],
      ["--folded", values.folded],
      ["--json", jsonPath],
    ]
  ) {
    if (path !== undefined && output!.onStdout(path)) {
      throw new UsageError(
        `${option} ${
          shown(path)
        } is stdout, which is the program's own: write it to a file`,
      );
    }
  }
  const quiet = values.quiet;
  // The trace is written as it goes, as every output is (an exclusive
  // temporary under an unpredictable name, renamed over the target, a
  // symlink's target, at the end; a device or FIFO directly).
  const traceOutPath = values["trace-out"];
  // One file per process (see _native_trace_out.ts): the children's beside
  // the first's, unless FILE is a device or FIFO, or --pid keeps one.
  const traceOut = traceOutPath === undefined
    ? null
    : new (await import("./_native_trace_out.ts")).NativeTraceOut(
      traceOutPath,
      output!.openOutput(traceOutPath),
      onlyPid !== 0,
    );
  // The analysis modules load on this thread while the tracer's worker
  // boots and starts the program (its first events wait for them), and
  // with stacks, what symbolizing the first one needs gets ready.
  const stacks = !values["no-stacks"];
  const sinkReady = Promise.all([
    import("./_native_sink.ts"),
    stacks ? import("../native/symbolize.ts") : null,
  ]).then(([{ NativeSink }, symbolize]) => {
    symbolize?.prepareSymbolize(program ?? `/proc/${attachPid}/exe`);
    return new NativeSink({
      sampled: rate > 0,
      traceOut,
      by: site.by,
      pid: onlyPid,
    });
  });
  let sink: NativeSink | null = null;
  // On a terminal: events so far, their rate, the live bytes.
  // The program writes to the same terminal: a status line on the last row.
  const progress = new Progress(quiet, { shared: true });
  const t0 = performance.now();
  // With --pid: every pid seen, to say so when PID is not among them.
  const seenPids = new Set<number>();
  // The program images run (image 0 of a started run is the start-up shell).
  const images: string[] = [];
  // A sink that fails to load fails the run where it is awaited, inside
  // the try below or after it: either way the --trace-out temporary goes.
  sinkReady.catch(() => traceOut?.abort());
  let code: number;
  let signal = 0;
  try {
    const r = await traceInWorker(
      argv,
      {
        stacks,
        memProfileRate: rate,
        seed,
        mode: values.breakpoints ? "breakpoints" : "inject",
        followForks: !values["no-follow-forks"],
        attach: attachPid,
      },
      async (batch) => {
        for (const [id, path] of batch.images) {
          if (id > 0 || attachPid !== undefined) images.push(path);
        }
        if (onlyPid !== 0) {
          for (let i = 0, last = -1; i < batch.n; i++) {
            if (batch.pid[i] !== last) seenPids.add(last = batch.pid[i]);
          }
        }
        sink ??= await sinkReady;
        await sink.add(batch);
        const s = sink;
        progress.update(() =>
          `${s.events.toLocaleString("en-US")} events, ${
            Math.round(s.events / ((performance.now() - t0) / 1000))
              .toLocaleString("en-US")
          }/s, ${fmtBytes(s.liveBytes)} live`
        );
      },
      duration * 1000,
      ignoredAtStart(),
      (pid) => {
        // (-p takes a thread's id too: the events carry its process's.)
        if (traceOut !== null) {
          traceOut.root = attachPid !== undefined ? tgidOf(pid) : pid;
        }
      },
    );
    progress.done();
    code = r.code;
    signal = r.signal;
    if (!r.started && !r.interrupted) {
      // Checked above, it changed since: the shell said why on stderr.
      console.error(
        `alloctrace: ${argv[0]} could not be started (exit code ${code})`,
      );
      traceOut?.abort();
      return code === 0 ? 1 : code;
    }
    if (r.interrupted && !quiet) {
      console.error(
        attachPid !== undefined
          ? `alloctrace: detached from ${attachPid}, which runs on; reporting what it did until then`
          : `alloctrace: interrupted: ${
            argv[0]
          } was killed; reporting what it did until then`,
      );
    }
  } catch (e) {
    progress.done();
    traceOut?.abort();
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
  const seconds = (performance.now() - t0) / 1000;
  sink ??= await sinkReady;
  // (Not awaited: they exit as their input ends.)
  if (stacks) import("../native/symbolize.ts").then((s) => s.endSymbolize());
  if (onlyPid !== 0 && !seenPids.has(onlyPid)) {
    traceOut?.abort();
    const pids = [...seenPids].sort((a, b) => a - b);
    throw new UsageError(
      `--pid ${onlyPid}: no call of process ${onlyPid} in this trace (${
        pids.length === 0
          ? "no call was traced"
          : `the processes with calls: ${pids.join(", ")}`
      }); --pid filters the processes traced, -p PID attaches to a running one`,
    );
  }
  if (traceOut !== null) {
    let placed: string[];
    try {
      sink.flush();
      placed = traceOut.commit();
    } catch (e) {
      // No temporary is left (abort drops only what is not in place).
      traceOut.abort();
      throw e;
    }
    const note = traceOut.note(placed);
    if (note !== null && !quiet) console.error(note);
  }
  const result = sink.analyzer.finish();
  const processes = sink.processes();
  const peakAt = sink.peakAt;
  if (outputs) {
    // The page's lifetimes are the sink's, as the text's and JSON's.
    const { BETWEEN_BUCKETS } = await import("./_native_buckets.ts");
    const lifetimeBytes = {
      buckets: BETWEEN_BUCKETS,
      sites: new Map(sink.lifetimes().map((l) => [l.site, l.between])),
    };
    const samples = sink.sampledAnalyzer === null
      ? sink.analyzer.samples()
      : await scaled(sink.sampledAnalyzer.samples(), rate);
    await output!.writeAnalysisOutputs(outs!, samples, {
      rate: rate || 1,
      mappingFile: name[0],
      type,
      report: () => ({
        title: `alloctrace native ${name.join(" ")}`,
        subtitle: endOf(code, signal),
        note: rate > 0
          ? `every call traced; stacks sampled, one per ${rate} bytes on average, and scaled`
          : "every call traced",
        analysis: result,
        gc: false,
        timeLabel: "wall time",
        peak: peakAt,
        processes,
        lifetimeBytes,
      }),
    });
  }
  if (result.allocs === 0 && result.frees === 0 && !quiet) {
    console.error(
      `alloctrace: warning: no malloc, calloc, realloc or free call was seen: ${
        _whyNoCall(images)
      }`,
    );
  }
  const report = {
    command: name,
    exitCode: code,
    signal,
    seconds,
    analysis: result,
    lifetimes: sink.lifetimes(),
    sizes: sink.sizeHistogram(),
    processes,
    droppedAtExec: sink.droppedAtExec,
    inheritedFrees: sink.inheritedFrees,
    attached: attachPid !== undefined,
  };
  const text = jsonPath !== undefined || !quiet
    ? await import("./_native_text.ts")
    : null;
  await outs?.write(
    "--json",
    () => JSON.stringify(text!.nativeJson(report, top), null, 2) + "\n",
  );
  outs?.finish();
  if (!quiet) console.error(text!.nativeText(report, top, site.frames));
  return code;
}
