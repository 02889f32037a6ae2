/**
 * `alloctrace replay TRACE`: feed a trace's allocations into the simulated
 * runtime under other settings and write the profile Go would have made.
 *
 * @module
 */

import { parseArgs } from "./_parse_args.ts";
import { Runtime } from "../runtime/runtime.ts";
import { PRESET_NAMES, type PresetName } from "../runtime/presets.ts";
import { StackTable } from "../trace/events.ts";
import { Replayer } from "../trace/replay.ts";
import {
  detectGoVersion,
  execRulesWarning,
  rulesWarning,
} from "../trace/goversion.ts";
import { heapSamples } from "../profile/heap.ts";
import { HEAP_SAMPLE_TYPES } from "../profile/proto.ts";
import { openInput } from "./_input.ts";
import { allocsAtLiveWarning, readTrace } from "./_readtrace.ts";
import { streamExecAllocs } from "./_readexec.ts";
import { sniffExecTrace } from "./_exec_sniff.ts";
import { Outputs, writeProfileOutputs } from "./_output.ts";
import { intOption, sampleTypeOption, shown, UsageError } from "./_usage.ts";
import { gogcOption, presetOption } from "./_runtime_options.ts";
import { topTable } from "./_top.ts";
import { renderReport } from "../report/html.ts";
import { SimAnalysis } from "./_sim_analysis.ts";
import { formatHelp } from "./_help.ts";

/** Help text of `alloctrace replay`. */
export const REPLAY_HELP = formatHelp(`Usage: alloctrace replay TRACE [options]

Feed the allocations of an allocfreetrace log into the simulated runtime —
each object allocated with its recorded size, type and stack, reachable
until its recorded free — under other settings, and write the heap profile
Go would have produced: "what would MemProfileRate=4096 have shown?"
TRACE may also be a Go 1.23+ execution trace (GODEBUG=traceallocfree=1).

Options:
  --go PRESET          ${PRESET_NAMES.join(", ")} (default go1.19)
  --memprofilerate N   MemProfileRate of the replay (default 524288)
  --gogc N|off         GOGC of the replay (default 100)
  --seed N             seed of the sampling draws (default 1)
  --memprofile FILE    write the sampled heap profile (gzipped profile.proto)
  --memprofile-text FILE  write it as legacy text
  --folded FILE        write folded stacks
  --folded-type TYPE   ${HEAP_SAMPLE_TYPES.join(", ")} (default alloc_space)
  --html FILE          write a self-contained HTML report of the replay: its
                       sampled profile, the live heap, sites, lifetimes, sizes
  --json               print the summary as JSON
  -q, --quiet          no warnings or progress on stderr
  -h, --help           show this help

Example:
  alloctrace replay prog.trace --memprofilerate 4096 --memprofile at4096.pb.gz
`);

/** Runs `alloctrace replay`; returns the exit code. */
export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      go: { type: "string", default: "go1.19" },
      memprofilerate: { type: "string" },
      gogc: { type: "string", default: "100" },
      seed: { type: "string" },
      memprofile: { type: "string" },
      "memprofile-text": { type: "string" },
      folded: { type: "string" },
      "folded-type": { type: "string", default: "alloc_space" },
      html: { type: "string" },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `replay takes one trace file (or - for stdin), got ${positionals.length}`,
    );
  }
  const preset = presetOption(values.go);
  const type = sampleTypeOption("folded-type", values["folded-type"]);
  const gogc = gogcOption(values.gogc);
  const outs = Outputs.check(
    {
      "--memprofile": values.memprofile,
      "--memprofile-text": values["memprofile-text"],
      "--folded": values.folded,
      "--html": values.html,
    },
    positionals,
    values.json,
  );
  const rt = new Runtime({
    preset,
    gogc,
    memProfileRate: intOption("memprofilerate", values.memprofilerate, 524288),
    seed: intOption("seed", values.seed, 1),
  });
  const input = await openInput(positionals[0]);
  // The report's views of the replayed heap (sites, lifetimes in the
  // replay's GC cycles, its size classes, the live heap over simulated
  // time): the analysis run's report has, of the replay's own events.
  const sim = values.html === undefined ? null : new SimAnalysis(rt);
  sim?.attach();
  const stacks = new StackTable();
  const replayer = new Replayer(rt, stacks);
  // A Go 1.23+ execution trace (traceallocfree): its own reader, the same replay.
  const exec = await sniffExecTrace(input) !== null;
  const read = exec
    ? await streamExecAllocs(input, stacks, (e) => replayer.add(e), {
      quiet: values.quiet,
      asMalloc: true,
    })
    : await readTrace(input, (e) => replayer.add(e), {
      quiet: values.quiet,
      stacks,
    });
  replayer.finish();
  const atLive = allocsAtLiveWarning(
    input.name,
    replayer.allocsAtLive,
    "parser" in read ? read.parser.stats.format : null,
  );
  if (atLive !== null) read.warnings.push(atLive);
  const figures = "the replay's size classes, fragmentation and GC pacing";
  if ("parser" in read) {
    const guess = detectGoVersion(read.parser.stats, stacks);
    const mismatch = rulesWarning(guess, rt.preset.name, figures);
    if (mismatch !== null) {
      const v = guess.version as PresetName;
      read.warnings.push(
        `${mismatch}; ${
          PRESET_NAMES.includes(v) ? `use --go ${v}` : "no preset models it yet"
        }`,
      );
    }
  } else {
    const mismatch = execRulesWarning(
      read.reader.stats.version,
      rt.preset.name,
      figures,
    );
    if (mismatch !== null) read.warnings.push(mismatch);
  }
  for (const w of values.quiet ? [] : read.warnings) {
    console.error(`alloctrace: warning: ${w}`);
  }
  const profile = heapSamples(rt);
  const { samples } = profile;
  await writeProfileOutputs(outs, rt, profile, {
    mappingFile: "/alloctrace/replay",
    type,
  });
  // (finish, then samples: as run reads them.)
  const analysis = sim?.analyzer.finish();
  await outs.write("--html", () =>
    renderReport({
      title: `alloctrace replay ${input.name}`,
      subtitle: `replayed on ${rt.preset.name}, GOGC=${
        rt.gcpercent < 0 ? "off" : rt.gcpercent
      }`,
      note: rt.memProfileRate > 0
        ? `the heap profile sampled at MemProfileRate=${rt.memProfileRate}; the tables and the exact profile: every replayed allocation`
        : "every replayed allocation (profiling off)",
      timeLabel: "simulated time",
      samples: sim!.analyzer.samples(),
      sampled: rt.memProfileRate > 0
        ? { rate: rt.memProfileRate, samples }
        : undefined,
      show: "sampled",
      skippedFrees: replayer.unmatched,
      analysis,
      peak: sim!.peakAt,
    }));
  const m = rt.readMemStats();
  if (outs.toStdout) {
    // An output went to stdout: the summary would be mixed into it.
    outs.finish();
    return 0;
  }
  if (values.json) {
    console.log(JSON.stringify(
      {
        file: input.file,
        preset: rt.preset.name,
        memProfileRate: rt.memProfileRate,
        replayed: {
          allocs: replayer.allocs,
          frees: replayer.frees,
          unmatchedFrees: replayer.unmatched,
        },
        memstats: m,
        samples,
        warnings: read.warnings,
      },
      null,
      2,
    ));
    outs.finish();
    return 0;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  console.log([
    `replayed      ${input.name} on ${rt.preset.name}: ${
      n(replayer.allocs)
    } allocations, ${n(replayer.frees)} frees${
      replayer.unmatched === 0
        ? ""
        : `; ${
          n(replayer.unmatched)
        } frees skipped (their objects were allocated before tracing started)`
    }`,
    `GC cycles     ${m.NumGC} (GOGC=${
      rt.gcpercent < 0 ? "off" : rt.gcpercent
    })`,
    `live at end   ${n(m.HeapAlloc)} bytes in ${n(m.HeapObjects)} objects`,
    "",
    `heap profile at MemProfileRate=${rt.memProfileRate}, by ${type} (un-sampled as pprof does):`,
    ...(rt.memProfileRate === 0
      ? ["  (profiling off)"]
      : topTable(samples, type, 10)),
    ...outs.written.map(([o, path]) => `wrote ${shown(path)} (${o})`),
  ].join("\n"));
  outs.finish();
  return 0;
}
