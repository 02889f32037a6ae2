/**
 * `alloctrace diff A B`: per-site change in alloc and inuse between two
 * traces or two pprof heap profiles (or one of each).
 *
 * @module
 */

import { parseArgs } from "./_parse_args.ts";
import { TraceAnalyzer } from "../trace/analyze.ts";
import { type Frame, StackTable } from "../trace/events.ts";
import { type SiteBy, siteOf } from "../trace/sites.ts";
import { SITE_HELP, SITE_OPTIONS, siteOptions } from "./_site_options.ts";
import {
  HEAP_SAMPLE_TYPES,
  type HeapSample,
  readPprof,
} from "../profile/proto.ts";
import { renderReport } from "../report/html.ts";
import { Outputs } from "./_output.ts";
import { looksLikePprof, openInput, peekStream } from "./_input.ts";
import { alignColumns } from "./_top.ts";
import { allocsAtLiveWarning, readTrace } from "./_readtrace.ts";
import { streamExecAllocs } from "./_readexec.ts";
import { readHeader } from "../trace/exectrace/format.ts";
import { intOption, sampleTypeOption, UsageError } from "./_usage.ts";
import { formatHelp } from "./_help.ts";

/** Help text of `alloctrace diff`. */
export const DIFF_HELP = formatHelp(`Usage: alloctrace diff A B [options]

Per-site change in alloc_objects, alloc_space, inuse_objects and inuse_space
from A to B. Each of A and B is an allocfreetrace log (plain or gzipped), a
Go 1.23+ execution trace (GODEBUG=traceallocfree=1) or a pprof heap profile
(ours or Go's); a site is the first frame outside the allocator (Go's
runtime, libc's malloc family), with its file:line.

Options:
  --type TYPE          sort by the change of ${
  HEAP_SAMPLE_TYPES.join(", ")
} (default alloc_space)
  --top N              rows (default 20)
  --json               print every site's values as JSON
  --html FILE          write the change per site (both directions) and a
                       differential flame graph (widths: the larger of A and
                       B; colour: the change)
${SITE_HELP.split("\n").slice(0, 3).join("\n")}
  -q, --quiet          no warnings or progress on stderr
  -h, --help           show this help

Examples:
  alloctrace diff before.trace after.trace
  alloctrace diff old.pb.gz new.pb.gz --type inuse_space
`);

type Values = [number, number, number, number];

async function load(
  path: string,
  quiet: boolean,
  by: SiteBy,
): Promise<{ sites: Map<string, Values>; samples: HeapSample[] }> {
  const input = await openInput(path);
  const out = new Map<string, Values>();
  const samples: HeapSample[] = [];
  const add = (site: string, v: readonly number[]) => {
    const a = out.get(site) ?? [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) a[i] += v[i];
    out.set(site, a);
  };
  // A profile is binary and a trace is text: sniff the (gunzipped) start.
  const peeked = await peekStream(input.stream);
  const stream = peeked.stream;
  if (looksLikePprof(peeked.head)) {
    const damaged = (e: unknown) =>
      new Error(
        `${input.name}: a pprof profile, but damaged: ${
          (e as Error).message.split("\n")[0].replace(`${input.name}: `, "")
            .replace(/^not a pprof profile: /, "")
        }`,
      );
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (e) {
      throw damaged(e);
    }
    let p: Awaited<ReturnType<typeof readPprof>>;
    try {
      p = await readPprof(bytes, input.name);
    } catch (e) {
      throw damaged(e);
    }
    if (p.sampleTypes.some((t) => t === "")) {
      throw damaged(
        new Error("sample types without names: its string table is cut short"),
      );
    }
    const idx = HEAP_SAMPLE_TYPES.map((t) => p.sampleTypes.indexOf(t));
    if (!idx.every((i) => i >= 0)) {
      throw new Error(
        `${input.name}: a pprof profile, but not a heap profile: its sample types are ${
          p.sampleTypes.join(", ") || "none"
        }`,
      );
    }
    for (const s of p.samples) {
      const site = siteOf(
        s.frames.map((f): Frame => ({ ...f, pc: 0, inlined: false })),
        by,
      ).key;
      const v = idx.map((i) => s.values[i]) as Values;
      add(site, v);
      samples.push({ values: v, frames: s.frames });
    }
    return { sites: out, samples };
  }
  const stacks = new StackTable();
  const a = new TraceAnalyzer(stacks, { by });
  // The stream was peeked at: read from it, not straight from the file.
  const peekedInput = { ...input, stream, readInto: undefined };
  // A Go 1.23+ execution trace: its own reader; sites are then its types.
  const read = readHeader(peeked.head).kind === "exec"
    ? await streamExecAllocs(peekedInput, stacks, (e) => a.add(e), {
      quiet,
      asMalloc: false,
    })
    : await readTrace(peekedInput, (e) => a.add(e), { quiet, stacks });
  const result = a.finish();
  const atLive = allocsAtLiveWarning(
    input.name,
    result.allocsAtLive,
    "parser" in read ? read.parser.stats.format : null,
  );
  if (atLive !== null) read.warnings.push(atLive);
  for (const w of quiet ? [] : read.warnings) {
    console.error(`alloctrace: warning: ${w}`);
  }
  for (const s of result.sites) {
    add(s.site, [s.allocs, s.allocBytes, s.live, s.liveBytes]);
  }
  return { sites: out, samples: a.samples() };
}

/** Runs `alloctrace diff`; returns the exit code. */
export async function diffCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      type: { type: "string", default: "alloc_space" },
      top: { type: "string" },
      json: { type: "boolean", default: false },
      html: { type: "string" },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...SITE_OPTIONS,
    },
  });
  if (values.help) {
    console.log(DIFF_HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(`diff takes two files, got ${positionals.length}`);
  }
  const type = sampleTypeOption("type", values.type);
  const k = HEAP_SAMPLE_TYPES.indexOf(type);
  const top = intOption("top", values.top, 20, 1, 1_000_000);
  if (positionals[0] === "-" && positionals[1] === "-") {
    throw new UsageError("diff can read only one of A and B from stdin (-)");
  }
  const outs = Outputs.check(
    { "--html": values.html },
    positionals,
    values.json,
  );
  const { by } = siteOptions(values);
  const la = await load(positionals[0], values.quiet, by);
  const lb = await load(positionals[1], values.quiet, by);
  const [a, b] = [la.sites, lb.sites];
  await outs.write("--html", () =>
    renderReport({
      title: "alloctrace diff",
      subtitle: `A ${positionals[0]} → B ${positionals[1]}`,
      note:
        "widths: the larger of A and B, so stacks only in A show; colour: red grew, blue shrank",
      samples: lb.samples,
      base: la.samples,
      by,
      diffSites: [...new Set([...a.keys(), ...b.keys()])].map((site) => ({
        site,
        a: a.get(site) ?? [0, 0, 0, 0],
        b: b.get(site) ?? [0, 0, 0, 0],
      })),
    }));
  // The report went to stdout: no table after it.
  if (outs.toStdout) {
    outs.finish();
    return 0;
  }
  const sites = [...new Set([...a.keys(), ...b.keys()])].map((site) => {
    const va = a.get(site) ?? [0, 0, 0, 0];
    const vb = b.get(site) ?? [0, 0, 0, 0];
    return { site, a: va, b: vb, delta: vb.map((v, i) => v - va[i]) };
  }).sort((x, y) =>
    Math.abs(y.delta[k]) - Math.abs(x.delta[k]) || x.site.localeCompare(y.site)
  );
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          a: positionals[0],
          b: positionals[1],
          types: HEAP_SAMPLE_TYPES,
          sites,
        },
        null,
        2,
      ),
    );
    outs.finish();
    return 0;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  const sign = (x: number) => (x > 0 ? `+${n(x)}` : n(x));
  const rows = sites.slice(0, top).map((
    s,
  ) => [sign(s.delta[k]), n(s.a[k]), n(s.b[k]), s.site]);
  const head = [`Δ ${type}`, "A", "B", "site"];
  const total = (m: Map<string, Values>) =>
    [...m.values()].reduce((s, v) => s + v[k], 0);
  console.log([
    `A  ${positionals[0]}: ${type} ${n(total(a))}`,
    `B  ${positionals[1]}: ${type} ${n(total(b))} (${
      sign(total(b) - total(a))
    })`,
    "",
    ...alignColumns(head, rows),
  ].join("\n"));
  outs.finish();
  return 0;
}
