/**
 * `alloctrace analyze TRACE`: read a real (or simulated) allocfreetrace log
 * and report what it says: totals, peak live heap, top sites, leak
 * candidates, lifetimes, size classes; as text, JSON, pprof, folded stacks.
 *
 * @module
 */

import { parseArgs } from "./_parse_args.ts";
import { TraceAnalyzer } from "../trace/analyze.ts";
import { SITE_HELP, SITE_OPTIONS, siteOptions } from "./_site_options.ts";
import { formatHelp } from "./_help.ts";
import { labelSites } from "../trace/sites.ts";
import { StackTable } from "../trace/events.ts";
import {
  detectGoVersion,
  type GoVersionGuess,
  hasAllocHeaders,
  rulesWarning,
  sizesUnderRules,
} from "../trace/goversion.ts";
import { HEAP_SAMPLE_TYPES } from "../profile/sample_types.ts";
import { openInput } from "./_input.ts";
import { allocsAtLiveWarning, readTrace } from "./_readtrace.ts";
import {
  Outputs,
  printLine,
  stdoutColor,
  writeAnalysisOutputs,
} from "./_output.ts";
import {
  ANALYSIS_OPTIONS,
  intOption,
  sampleTypeOption,
  shown,
  UsageError,
} from "./_usage.ts";
import { presetOption } from "./_runtime_options.ts";
import { sniffExecTrace } from "./_exec_sniff.ts";

/** Help text of `alloctrace analyze`. */
export const ANALYZE_HELP = formatHelp(
  `Usage: alloctrace analyze TRACE [options]

Read an allocation trace printed by GODEBUG=allocfreetrace=1 (Go 1.3 to 1.22,
or the Dec 2013 seed's MProf_Malloc format), or a Go 1.23+ execution trace
taken with GODEBUG=traceallocfree=1 (runtime/trace, go test -trace),
plain or gzipped, from a file or from stdin (-), and report totals, the
peak live heap, top allocation sites (types, for an execution trace),
leak candidates, lifetimes and size classes.

Options:
${SITE_HELP}
  --go PRESET          size classes and fragmentation under this Go version's
                       rules (default: the version the trace shows, else go1.19)
  --top N              rows per table (default 10)
  --json               print the analysis as JSON
  --pprof FILE         write an exact (unsampled) heap profile for go tool pprof
  --folded FILE        write folded stacks (the site frame as "func file:line" unless --by func)
  --folded-type TYPE   ${HEAP_SAMPLE_TYPES.join(", ")} (default alloc_space)
  --html FILE          write a self-contained HTML report
  --strict             fail on lines that belong to no record and on a cut record
  -q, --quiet          no warnings or progress on stderr
  -h, --help           show this help

Examples:
  alloctrace analyze prog.trace
  GODEBUG=allocfreetrace=1 ./prog 2>&1 | alloctrace analyze - --pprof heap.pb.gz
  alloctrace analyze big.trace.gz --json > analysis.json
  GODEBUG=traceallocfree=1 go test -trace exec.trace &&
    alloctrace analyze exec.trace
`,
);

/** Runs `alloctrace analyze`; returns the exit code. */
export async function analyzeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      ...ANALYSIS_OPTIONS,
      ...SITE_OPTIONS,
      go: { type: "string" },
      strict: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
    },
  });
  if (values.help) {
    console.log(ANALYZE_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `analyze takes one trace file (or - for stdin), got ${positionals.length}`,
    );
  }
  const type = sampleTypeOption("folded-type", values["folded-type"]);
  const top = intOption("top", values.top, 10, 1, 1_000_000);
  const outs = Outputs.check(
    {
      "--html": values.html,
      "--pprof": values.pprof,
      "--folded": values.folded,
    },
    positionals,
    values.json,
  );
  const { by, frames } = siteOptions(values);
  const goRules = values.go === undefined ? undefined : presetOption(values.go);
  const input = await openInput(positionals[0]);
  // A Go 1.23+ execution trace (GODEBUG=traceallocfree=1): its own reader.
  if (await sniffExecTrace(input) !== null) {
    // (Its reader loads only now: an allocfreetrace log's read does not.)
    const { analyzeExecTrace } = await import("./exec_analyze.ts");
    return await analyzeExecTrace(input, { ...values, top, type });
  }
  const stacks = new StackTable();
  const analyzer = new TraceAnalyzer(stacks, { by });
  const read = await readTrace(input, (e) => analyzer.add(e), {
    quiet: values.quiet,
    stacks,
    sink: analyzer,
  });
  const result = analyzer.finish();
  const atLive = allocsAtLiveWarning(
    input.name,
    result.allocsAtLive,
    read.parser.stats.format,
  );
  if (atLive !== null) read.warnings.push(atLive);
  // The Go version the trace shows, and size classes under its rules.
  const guess = detectGoVersion(
    read.parser.stats,
    stacks,
    result.sizes.map((s) => s.size),
  );
  const rules = goRules ??
    (hasAllocHeaders(guess.version) === null ? "go1.19" : guess.version!);
  result.sizes = sizesUnderRules(result.sizes, hasAllocHeaders(rules)!);
  const mismatch = rulesWarning(
    guess,
    rules,
    "size classes and fragmentation",
  );
  // Not a problem of the input: --strict does not fail on it.
  const warnings = [...read.warnings, ...(mismatch === null ? [] : [mismatch])];
  for (const w of values.quiet && !values.strict ? [] : warnings) {
    console.error(`alloctrace: warning: ${w}`);
  }
  if (values.strict && read.warnings.length > 0) {
    console.error(
      `alloctrace: --strict: ${read.warnings.length} problem(s) in ${input.name}`,
    );
    return 1;
  }
  // The exact profile's samples serve the file outputs and the text's call
  // tree; `--json` alone needs neither (building them is a tenth of its
  // time on a real trace with thousands of stacks).
  const needSamples = !values.json || outs.has("--html") ||
    outs.has("--pprof") || outs.has("--folded");
  const samples = needSamples ? analyzer.samples() : [];
  await writeAnalysisOutputs(outs, samples, {
    rate: 1,
    mappingFile: input.name,
    type,
    folded: outs.has("--folded") ? labelSites(samples, by) : undefined,
    report: () => ({
      title: `alloctrace analyze ${input.name}`,
      subtitle: `${read.parser.stats.format ?? "?"} format, ${
        read.parser.stats.lines.toLocaleString("en-US")
      } lines`,
      note: "exact: every traced allocation",
      analysis: result,
      by,
    }),
  });
  if (outs.toStdout) {
    // An output went to stdout: the summary would be mixed into it.
  } else if (values.json) {
    printLine(JSON.stringify(
      {
        file: input.file,
        format: read.parser.stats.format,
        bytes: read.bytes,
        seconds: read.seconds,
        lines: read.parser.stats.lines,
        stacks: stacks.size - 1,
        warnings,
        go: { ...guess, sizeRules: rules },
        goroutines: [...read.parser.stats.goroutines].map(([id, g]) => ({
          id,
          ...g,
        })),
        ...result,
      },
      null,
      2,
    ));
  } else {
    // A trace in the seed's MProf_* format without any tracegc is what
    // `native --trace-out` writes: a C program has no GC cycles to count.
    const seedFormat = read.parser.stats.format === "seed";
    // (Loaded only here: `--json` needs neither.)
    const [{ analysisText }, { callTree }] = await Promise.all([
      import("../report/text.ts"),
      import("../report/tree.ts"),
    ]);
    const gc = !(seedFormat && result.gcs === 0);
    const text = analysisText(input.name, result, { top, frames, gc }).split(
      "\n",
    );
    // The version line goes under the trace line and its continuations
    // (indented), so they read as one block.
    let at = 1;
    while (text[at]?.startsWith("              ")) at++;
    text.splice(at, 0, _versionLine(guess, seedFormat));
    console.log(text.join("\n"));
    console.log(
      `\ncall tree by ${type}:\n${
        callTree(samples, { type, color: stdoutColor() }).join("\n")
      }`,
    );
    const note: Record<string, string> = {
      "--pprof": "exact: MemProfileRate 1",
      "--folded": type,
    };
    if (outs.written.length > 0) console.log("");
    for (const [option, path] of outs.written) {
      console.log(
        `wrote ${shown(path)} (${option}${
          note[option] ? `, ${note[option]}` : ""
        })`,
      );
    }
  }
  outs.finish();
  return 0;
}

/**
 * The text report's line naming where the trace comes from: the Go
 * version and its first clue, short (all clues are in `--json`), or the
 * seed's MProf_* format, which is also what `native --trace-out` writes.
 */
function _versionLine(guess: GoVersionGuess, seedFormat: boolean): string {
  if (seedFormat) {
    return "format        MProf_* records (Go's Dec 2013 seed format, which native --trace-out writes)";
  }
  const first = guess.evidence[0];
  const site = first === undefined
    ? null
    : /^(\S+) called at (\S+), as /.exec(first);
  const clue = site !== null
    ? ` (from ${site[1]}'s call site ${site[2]})`
    : first !== undefined
    ? ` (${first})`
    : "";
  return `go version    ${guess.version ?? "not shown by the trace"}${clue}`;
}
