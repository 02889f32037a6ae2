/**
 * Regenerates the start-up data of the go1.19 and go1.22 presets
 * (`lib/runtime/startup_go119.ts`, `lib/runtime/startup_go122.ts`) from
 * fresh real runs: the shared programs (`leak`, `binarytrees`,
 * `temporaries`) and an empty `func main() {}`, built with the real Go of
 * each version (-trimpath, as `scripts/fidelity_compare.ts` builds them) and
 * run with `GODEBUG=allocfreetrace=1`. It keeps every allocation record
 * before the program's first own allocation (the first record whose
 * innermost non-runtime frame is a `main.` function: what the workloads
 * model): the runtime's start-up (schedinit, the main goroutine, sysmon,
 * gcenable), the packages' init functions and main's `flag` calls. For each
 * record: the goroutine and its status, requested and printed size, type,
 * the whole stack (function, file, line, PC offset, frame size, arguments
 * as printed), `created by`, and whether the real run freed it (garbage at
 * the first GC). Also the sizes of the objects freed without a tracealloc
 * (allocated before GODEBUG was read).
 *
 * Which P made each record decides which mcache caches its span, and so
 * which M's flush frees it after the first cycle (real Go flushes the P of
 * the M that ends the mark in procresize, every other P when its M takes
 * it back in acquirep). A trace does not say, so the programs are built
 * with a runtime whose `tracealloc` also prints its P
 * (`tracealloc-p N`, N -1 without a P: schedinit's allocations, which use
 * mcache0, P 0's), through `go build -overlay` on a copy of `mprof.go`; the
 * line is dropped from everything else. The data lists, per program, the
 * records made on another P than the one the program's own first
 * allocation is made on (the main goroutine's P after `gcenable`, usually
 * not P 0): the model replays those on its second P.
 *
 * Real runs get `GODEBUG` as their only environment variable, as
 * `scripts/fidelity_compare.ts` runs them: `goenvs` copies every variable
 * onto the heap, which moves the tiny blocks and size classes of what
 * follows.
 *
 * The start-up differs a little from run to run (a preemption, a handoff,
 * a sudog, a map overflow bucket, a tiny block, which arguments print with
 * `?`). Each program runs several times. A record is rare when one of its
 * lines, as a shape (hex numbers → 0xX, decimal runs → N), is printed by
 * fewer than half of the runs; the data comes from a run with the fewest
 * rare records (the median record count among those) and leaves them out,
 * so that the model prints as few start-up lines as it can that a fresh
 * real run may not (records that every run makes
 * on a path that varies, like the M started for sysmon's handoff, stay on
 * the chosen run's path). It also writes every line shape of those runs
 * with the number of runs that print it (`tests/testdata/fidelity/
 * shapes-go1.19.txt`, `shapes-go1.22.txt`), which the fidelity test holds
 * the model's shapes to.
 *
 * Usage:
 *
 *     deno run -A scripts/gen_startup.ts [--preset go1.19]
 *
 * @module
 */

import { GO_PROGRAMS } from "../bench/_go.ts";
import { slotAddr } from "../lib/trace/events.ts";
import { shapeOf } from "./_traces.ts";
import { fileURLToPath } from "node:url";
import { fileUrl } from "./_file_url.ts";

const VERSIONS = [
  {
    preset: "go1.19",
    go: "/usr/lib/go-1.19/bin/go",
    out: "startup_go119.ts",
  },
  {
    preset: "go1.22",
    go: "/usr/lib/go-1.22/bin/go",
    out: "startup_go122.ts",
  },
];

/** Programs and the arguments they run with (the shared traces' sizes). */
const PROGRAMS: [string, string[]][] = [
  ["leak", ["-n", "300"]],
  ["binarytrees", ["-depth", "6"]],
  ["temporaries", ["-n", "40"]],
  ["minimal", []],
];

type Frame = [string, string, number, number, number, string, boolean];

interface Rec {
  goid: number;
  status: string;
  requested: number;
  size: number;
  type: string | null;
  frames: Frame[];
  createdBy: [string, string, number, number] | null;
  addr: number;
  dead: boolean;
  /** The shapes of the lines it prints. */
  shapes: string[];
  /** The P that made it (-1: none, schedinit's mcache0, P 0's). */
  p: number;
}

/** The line the instrumented `tracealloc` prints before each record. */
const P_LINE = /^tracealloc-p (-?\d+)$/;

/**
 * A copy of `GOROOT/src/runtime/mprof.go` whose `tracealloc` first prints
 * the allocating P (`tracealloc-p N`), and the `-overlay` file that builds
 * it in: only mprof.go changes, so no frame, line or offset a trace prints
 * moves (tracealloc's own frame is never printed).
 */
async function overlay(go: string, dir: string): Promise<string> {
  const src = fileURLToPath(
    new URL("../src/runtime/mprof.go", fileUrl(`${go}/../`)),
  );
  const text = await Deno.readTextFile(src);
  const at = "\tgp.m.traceback = 2\n\tif typ == nil {";
  const i = text.indexOf("func tracealloc(");
  const j = text.indexOf(at, i);
  if (i < 0 || j < 0) throw new Error(`${src}: no tracealloc to instrument`);
  const patched = text.slice(0, j) +
    "\tgp.m.traceback = 2\n" +
    "\tif pp := gp.m.p.ptr(); pp != nil {\n" +
    '\t\tprint("tracealloc-p ", pp.id, "\\n")\n' +
    "\t} else {\n" +
    '\t\tprint("tracealloc-p -1\\n")\n' +
    "\t}\n" +
    text.slice(j + "\tgp.m.traceback = 2\n".length);
  const copy = `${dir}/mprof-${go.replaceAll("/", "_")}.go`;
  await Deno.writeTextFile(copy, patched);
  const json = `${copy}.json`;
  await Deno.writeTextFile(json, JSON.stringify({ Replace: { [src]: copy } }));
  return json;
}

async function build(go: string, program: string, dir: string) {
  const bin = `${dir}/${program}-${go.replaceAll("/", "_")}`;
  let cwd = fileURLToPath(GO_PROGRAMS);
  if (program === "minimal") {
    cwd = `${dir}/minimal-src`;
    await Deno.mkdir(cwd, { recursive: true });
    await Deno.writeTextFile(`${cwd}/go.mod`, "module minimal\n\ngo 1.19\n");
    await Deno.writeTextFile(
      `${cwd}/main.go`,
      "package main\n\nfunc main() {}\n",
    );
  }
  const out = await new Deno.Command(go, {
    args: [
      "build",
      "-trimpath",
      "-overlay",
      await overlay(go, dir),
      "-o",
      bin,
      program === "minimal" ? "." : `./${program}`,
    ],
    cwd,
    env: { GOPROXY: "off", GOFLAGS: "", GO111MODULE: "on" },
  }).output();
  if (!out.success) {
    throw new Error(
      `go build ${program}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return bin;
}

const HEADER = /^goroutine (\d+) (?:gp=\S+ m=\S+ (?:mp=\S+ )?)?\[(.*)\]:$/;
const FILELINE =
  /^\t(.*):(\d+)(?: \+0x([0-9a-f]+))?(?: fp=0x([0-9a-f]+) sp=0x([0-9a-f]+))?/;

/** Parses the records of a trace (tracegc blocks skipped). */
function parse(text: string): { recs: Rec[]; orphanFrees: number[] } {
  const lines = text.split("\n");
  const recs: Rec[] = [];
  const byAddr = new Map<number, Rec>();
  const orphanFrees: number[] = [];
  let i = 0;
  let p = -1;
  while (i < lines.length) {
    const l = lines[i];
    const pm = P_LINE.exec(l);
    if (pm !== null) {
      p = +pm[1];
      i++;
      continue;
    }
    if (l === "tracegc()") {
      while (i < lines.length && lines[i] !== "end tracegc") i++;
      i++;
      continue;
    }
    const m = /^trace(alloc|free)\((0x[0-9a-f]+), (0x[0-9a-f]+)(?:, (.*))?\)$/
      .exec(l);
    if (m === null) {
      i++;
      continue;
    }
    const addr = parseInt(m[2], 16);
    const size = parseInt(m[3], 16);
    if (m[1] === "free") {
      const r = byAddr.get(addr);
      if (r === undefined) orphanFrees.push(size);
      else {
        r.dead = true;
        byAddr.delete(addr);
      }
      i++;
      continue;
    }
    const h = HEADER.exec(lines[i + 1]);
    if (h === null) throw new Error(`no goroutine header after ${l}`);
    const first = i;
    i += 2;
    const frames: Frame[] = [];
    let createdBy: Rec["createdBy"] = null;
    while (i < lines.length && lines[i] !== "") {
      const fl = lines[i];
      const fm = FILELINE.exec(lines[i + 1] ?? "");
      if (fm === null) throw new Error(`bad frame at ${fl}`);
      if (fl.startsWith("created by ")) {
        const fn = fl.slice("created by ".length).replace(
          / in goroutine \d+$/,
          "",
        );
        createdBy = [fn, fm[1], +fm[2], parseInt(fm[3] ?? "0", 16)];
      } else {
        const open = fl.lastIndexOf("(");
        const func = fl.slice(0, open);
        const args = fl.slice(open + 1, -1);
        const inlined = fm[4] === undefined;
        const size = inlined ? 0 : parseInt(fm[4], 16) - parseInt(fm[5], 16);
        frames.push([
          func,
          fm[1],
          +fm[2],
          parseInt(fm[3] ?? "0", 16),
          size,
          inlined ? "..." : args,
          inlined,
        ]);
      }
      i += 2;
    }
    const mg = frames.find((f) => f[0] === "runtime.mallocgc");
    const requested = mg !== undefined
      ? parseInt(mg[5].split(",")[0], 16)
      : size;
    const rec: Rec = {
      goid: +h[1],
      status: h[2],
      requested,
      size,
      type: m[4] ?? null,
      frames,
      createdBy,
      addr,
      dead: false,
      shapes: lines.slice(first, i).map(shapeOf),
      p,
    };
    recs.push(rec);
    // Go 1.22's allocation header: tracealloc prints the object 8 bytes
    // into its slot, tracefree the slot (lib/trace/events.ts slotAddr).
    byAddr.set(slotAddr(addr, size), rec);
  }
  return { recs, orphanFrees };
}

/** The records before the program's first own allocation. */
function prologue(recs: Rec[]): Rec[] {
  const out: Rec[] = [];
  for (const r of recs) {
    const own = r.frames.find((f) => !f[0].startsWith("runtime."));
    if (own !== undefined && own[0].startsWith("main.")) break;
    out.push(r);
  }
  return out;
}

async function run(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, {
    args,
    clearEnv: true,
    env: { GODEBUG: "allocfreetrace=1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stderr);
}

const q = (s: string) => JSON.stringify(s);

/** Runs per program. */
const RUNS = 7;

/**
 * Several runs of a program, and the run the records come from. A line
 * shape's frequency is the share of the runs whose trace prints it
 * anywhere; a record's, its rarest line's. The chosen run is one with the
 * fewest start-up records that fewer than half of the runs print (a sudog,
 * a map overflow bucket, a preemption); among those, the one with the
 * median record count. Those rare records are left out; records every run
 * makes on a path that varies (an M started by a handoff, a preemption or
 * a wakeup) stay, on the chosen run's path.
 */
async function runs(bin: string, args: string[]) {
  const full: ReturnType<typeof parse>[] = [];
  const count = new Map<string, number>();
  for (let i = 0; i < RUNS; i++) {
    const text = await run(bin, args);
    full.push(parse(text));
    // The instrumented runtime's P lines are no line of a real trace.
    const real = text.split("\n").filter((l) => !P_LINE.test(l));
    for (const sh of new Set(real.map(shapeOf))) {
      count.set(sh, (count.get(sh) ?? 0) + 1);
    }
  }
  const kept = (r: Rec) =>
    r.shapes.every((sh) => (count.get(sh) ?? 0) * 2 >= RUNS);
  const rare = (p: ReturnType<typeof parse>) =>
    prologue(p.recs).filter((r) => !kept(r)).length;
  const best = Math.min(...full.map(rare));
  const cands = full.filter((p) => rare(p) === best)
    .sort((a, b) => prologue(a.recs).length - prologue(b.recs).length);
  return { chosen: cands[cands.length >> 1], kept, count };
}

async function generate(v: typeof VERSIONS[number], dir: string) {
  const frameIds = new Map<string, number>();
  const frameList: Frame[] = [];
  const frameId = (f: Frame) => {
    const k = JSON.stringify(f);
    let id = frameIds.get(k);
    if (id === undefined) {
      id = frameList.length;
      frameList.push(f);
      frameIds.set(k, id);
    }
    return id;
  };
  const programs: string[] = [];
  // Programs share most of their start-up (the runtime's, common packages'):
  // each record is stored once.
  const recordIds = new Map<string, number>();
  const recordList: string[] = [];
  const recordId = (text: string) => {
    let id = recordIds.get(text);
    if (id === undefined) {
      id = recordList.length;
      recordList.push(text);
      recordIds.set(text, id);
    }
    return id;
  };
  const summary: string[] = [];
  let shapes = "";
  for (const [program, args] of PROGRAMS) {
    const { chosen, kept, count } = await runs(
      await build(v.go, program, dir),
      args,
    );
    shapes += `# ${program} ${args.join(" ")}: ${RUNS} runs\n` +
      [...count].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
        .map(([sh, n]) => `${n} ${sh}\n`).join("");
    const { recs, orphanFrees } = chosen;
    const all = prologue(recs);
    const pro = all.filter(kept);
    const bytes = pro.reduce((a, r) => a + r.size, 0);
    // The main goroutine's P when the program's own work starts (the
    // record after the prologue; a program with none: its last record).
    const pOf = (r: Rec) => Math.max(r.p, 0);
    const mainP = pOf(recs[all.length] ?? all[all.length - 1]);
    const other = pro.flatMap((r, i) => pOf(r) === mainP ? [] : [i]);
    summary.push(
      `${program} ${args.join(" ")}: ${pro.length} records (${bytes} B), ${
        pro.filter((r) => r.dead).length
      } freed, ${other.length} on the other P, untraced frees ${
        orphanFrees.join("/")
      }; left out ${
        all.length - pro.length
      } printed by fewer than half of ${RUNS} runs`,
    );
    const ids = pro.map((r) =>
      recordId(
        `[${r.goid}, ${q(r.status)}, ${r.requested}, ${r.size}, ${
          r.type === null ? "null" : q(r.type)
        }, ${r.dead}, [${r.frames.map(frameId).join(", ")}]${
          r.createdBy === null
            ? ""
            : `, [${q(r.createdBy[0])}, ${q(r.createdBy[1])}, ${
              r.createdBy[2]
            }, 0x${r.createdBy[3].toString(16)}]`
        }]`,
      )
    );
    const rows: string[] = [];
    for (let i = 0; i < ids.length; i += 20) {
      rows.push(`      ${ids.slice(i, i + 20).join(", ")},`);
    }
    programs.push(
      `  ${program}: {\n    untraced: [${
        orphanFrees.join(", ")
      }],\n    records: [\n${rows.join("\n")}\n    ],\n    otherP: [${
        other.join(", ")
      }],\n  },`,
    );
  }
  const frames = frameList.map((f) =>
    `  [${q(f[0])}, ${q(f[1])}, ${f[2]}, 0x${f[3].toString(16)}, 0x${
      f[4].toString(16)
    }, ${q(f[5])}${f[6] ? ", true" : ""}],`
  );
  const text = `// deno-fmt-ignore-file
// Generated by scripts/gen_startup.ts from fresh real ${v.preset} runs: do not edit.
// ${summary.join("\n// ")}

import type { StartupData } from "./startup_data.ts";

/** Frames of the start-up records: function, file, line, PC offset, frame size, arguments (inlined). */
const FRAMES: StartupData["frames"] = [
${frames.join("\n")}
];

/** The records (see StartupRecord), each once. */
const RECORDS: StartupData["records"] = [
${recordList.map((r) => `  ${r},`).join("\n")}
];

/** The start-up of real ${v.preset} programs, by program: records by index. */
export const STARTUP: StartupData = {
  frames: FRAMES,
  records: RECORDS,
  programs: {
${programs.join("\n")}
  },
};
`;
  const path = new URL(`../lib/runtime/${v.out}`, import.meta.url);
  await Deno.writeTextFile(path, text);
  // The line shapes of the runs, with how many runs print each (the
  // fidelity test holds the model's to those most runs print).
  await Deno.writeTextFile(
    new URL(
      `../tests/testdata/fidelity/shapes-${v.preset}.txt`,
      import.meta.url,
    ),
    shapes,
  );
  console.log(`${v.out}:\n  ${summary.join("\n  ")}`);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--preset");
  const only = i >= 0 ? Deno.args[i + 1] : "";
  const dir = await Deno.makeTempDir({ prefix: "startup-" });
  try {
    for (const v of VERSIONS) {
      if (only === "" || v.preset === only) await generate(v, dir);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
