/**
 * The bad-input suite's command line: usage errors, option ranges, native's
 * -p and --pid, native's outputs checked before the run, unknown options.
 * The assertions each row gets are in `_bad_input.ts`.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT } from "../_run.ts";
import {
  badInputSuite,
  cgroupOk,
  hasTool,
  inCgroup,
  LEAK,
  LEAK_COUNTS,
  rootOnly,
  type Row,
} from "./_bad_input.ts";

const ROWS: Row[] = [
  // --- the command line ----------------------------------------------------
  {
    name: "run --gogc off",
    args: ["run", "leak", "--n", "100", "--gogc", "off", "--json"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) => assertEquals(JSON.parse(stdout).gogc, -1),
  },
  {
    name: "run with GOGC=off",
    args: ["run", "leak", "--n", "100", "--json"],
    env: { GOGC: "off" },
    code: 0,
    stderr: "",
    check: (_, { stdout }) => assertEquals(JSON.parse(stdout).gogc, -1),
  },
  {
    name: "replay --gogc off: every record replayed",
    args: ["replay", LEAK, "--gogc", "off", "--json"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).replayed.allocs, LEAK_COUNTS.allocs),
  },
  {
    name: "a negative --gogc gets the allowed range",
    args: ["run", "--gogc", "-5"],
    code: 2,
    stderr: /GOGC must be a non-negative integer percentage or "off", got "-5"/,
  },
  {
    name: "a negative --memprofilerate gets the allowed range",
    args: ["run", "--memprofilerate", "-1"],
    code: 2,
    stderr: /--memprofilerate must be from 0 to/,
  },
  {
    name: "a negative --top gets the allowed range",
    args: ["analyze", LEAK, "--top", "-1"],
    code: 2,
    stderr: /--top must be from 1 to 1000000, got -1/,
  },
  // Found trying it as a new user: heapprofile --small 100000000 --large
  // 10000000 is within the options' ranges and had no heap limit (2.6 GB
  // of RSS in 40 s, heading for ~45 GB). The simulated heap lives in the
  // process: by default it may take half of the memory the process may
  // use (here a 600 MiB cgroup: the 400 MB keptSmall slice is refused).
  {
    name:
      "run heapprofile too large for the machine: one line naming the default heap limit and how to set another",
    shell: inCgroup(
      600 << 20,
      "$AT run heapprofile --small 100000000 --large 10000000",
    ),
    needs: cgroupOk,
    code: 1,
    stderr:
      /^alloctrace: out of memory: allocating 400000000 bytes .* the hard limit is 314572800 \(the default --heap-limit: half of the 600MB this process may use \(its cgroup's limit\), as the simulated heap lives in this process's memory; --heap-limit BYTES sets another, 0 none\)$/,
  },
  // review2: the simulated heap costs this process 2.4-5.3 bytes of RSS a
  // heap byte (binarytrees' nodes are JS objects too), so a heap growing
  // gradually under half of the cgroup's limit got the run killed
  // ("Killed", 137) before the heap limit spoke: the default limit also
  // watches the process's real memory.
  {
    name:
      "run binarytrees growing past the memory it may use: one line before the OS kills it",
    shell: inCgroup(
      600 << 20,
      "$AT run binarytrees --depth 16 --gogc off -q",
    ),
    needs: cgroupOk,
    code: 1,
    stderr:
      /^alloctrace: out of memory: this process holds \S+ of memory, past 80% of the 600MB this process may use \(its cgroup's limit\), with a heap of \S+, as the simulated heap lives in this process's memory; --heap-limit BYTES sets a heap limit instead, 0 none$/,
  },
  {
    name: "run past an explicit --heap-limit: one line, no word of the default",
    args: [
      "run",
      "heapprofile",
      "--small",
      "100000000",
      "--heap-limit",
      "1000000",
    ],
    code: 1,
    stderr:
      /^alloctrace: out of memory: allocating 400000000 bytes .* the hard limit is 1000000$/,
  },
  // review2: heap word indices are offset >>> 3, which wraps past 4 GiB,
  // while Go's arena (and the simulator's) went to 256 GiB: the arena now
  // stops at 4 GiB, with --heap-limit 0 (none) too.
  {
    name:
      "run of a script allocating 5 GiB with no heap limit: one out-of-memory line, the simulator holds at most 4 GiB",
    setup: ({ dir }) =>
      Deno.writeTextFileSync(
        `${dir}/big.ts`,
        `export default function (rt) {
  const t = rt.types.define("main.B", { size: 8, pointers: [] });
  rt.call("main.main", "main.go", 10, () => { rt.makeslice(t, 5 * 2 ** 30 / 8); });
}
`,
      ),
    args: ["run", "./big.ts", "--heap-limit", "0", "-q"],
    code: 1,
    stderr:
      /^alloctrace: out of memory: allocating 5368709120 bytes needs 655360 more page\(s\), past the 4294967296-byte address space of the heap \(the simulator holds at most 4 GiB\); 0 bytes are in use$/,
  },
  {
    name:
      "run --trace-max without --trace-out: a usage error, as it limits nothing",
    args: ["run", "leak", "--trace-max", "1000"],
    code: 2,
    stderr: /^alloctrace: --trace-max goes with --trace-out FILE$/,
  },
  // Found as a new user: on a terminal, with the permissions the README
  // lists as minimal (analyze: --allow-read=TRACE), Deno stopped at a
  // prompt for ALLOCTRACE_DEBUG, then NO_COLOR and TERM: reading a variable
  // without --allow-env prompts there rather than failing. (script(1) gives
  // the command a terminal; a prompt waits until the timeout, exit 124.)
  ...[
    ["analyze", LEAK, "--top", "1"],
    ["run", "leak", "--n", "10"],
    ["workloads"],
  ].map((args): Row => ({
    name: `on a terminal, ${
      args[0]
    } with the README's minimal permissions asks for nothing`,
    needs: () => hasTool("script"),
    shell: `timeout 30 script -qec '"${Deno.execPath()}" run ${
      args[0] === "analyze" ? `--allow-read="${LEAK}"` : ""
    } "${ROOT}main.ts" ${args.map((a) => `"${a}"`).join(" ")}' /dev/null`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) => {
      assertTrue(!stdout.includes("Deno requests"), stdout);
      assertTrue(
        stdout.includes(args[0] === "workloads" ? "binarytrees" : "top sites"),
        stdout,
      );
    },
  })),
  {
    name: "no command: one line of usage, exit 2 (not the demo)",
    args: [],
    code: 2,
    stderr:
      /^usage: alloctrace <command> \[options\] \(commands: run, workloads, analyze, replay, diff, native, help; see alloctrace --help\)$/,
    check: (_c, out) => assertEquals(out.stdout, ""),
  },
  // Found trying it as a new user: the help lists `help [COMMAND]`, and
  // `help help` said there was no help for "help".
  ...[["help", "help"], ["help", "--help"], ["help", "-h"]].map((
    args,
  ): Row => ({
    name: `${args.join(" ")} shows the help, as --help does`,
    args,
    code: 0,
    stderr: "",
    check: (_c, out) =>
      assertTrue(out.stdout.includes("\nCommands:\n"), out.stdout),
  })),
  {
    name: "help for an unknown command exits 2",
    args: ["help", "nosuch"],
    code: 2,
    stderr: /no help for "nosuch"/,
  },
  {
    name: "native: an empty output path is a usage error",
    args: ["native", "--html", "", "--", "true"],
    code: 2,
    stderr: /--html needs a file name/,
  },
  {
    name: "native takes -q",
    args: ["native", "-q"],
    code: 2,
    stderr: /native needs a command/,
  },
  // review2: with --allow-write but no --allow-read, the output's lstat
  // made Deno prompt on a terminal (multi-line, waiting for an answer).
  {
    name:
      "on a terminal, run --html with --allow-write but no --allow-read: one line, no prompt",
    needs: () => hasTool("script"),
    shell:
      `timeout 30 script -qec '"${Deno.execPath()}" run --allow-write=. "${ROOT}main.ts" run leak --n 10 -q --html x.html' /dev/null < /dev/null`,
    code: 2,
    stderr: "",
    check: (_, { stdout }) => {
      assertTrue(!stdout.includes("Deno requests"), stdout);
      assertEquals(
        stdout.trim(),
        "alloctrace: --html x.html: permission to read . is missing (run with --allow-read=.)",
      );
    },
  },
  {
    // Found trying it as a new user: it said "Cannot read properties of
    // undefined (reading 'split')", the tool's own error.
    name:
      "run of a script that throws a non-Error as it loads: one line naming the script and the value",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/top.ts`, "throw 5;\n"),
    args: ["run", "./top.ts"],
    code: 1,
    stderr: /^alloctrace: cannot load workload script \.\/top\.ts: 5$/,
  },
  // Found trying it as a new user: these two named the script by its
  // file:// URL where every other line names it as given.
  ...[["export const x = 1;\n", "no default export"], [
    "export default 5;\n",
    "a default export that is no function",
  ]].map(([src, what]): Row => ({
    name: `run of a script with ${what}: the line names the script as given`,
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/w.ts`, src),
    args: ["run", "./w.ts"],
    code: 1,
    stderr:
      /^alloctrace: workload script \.\/w\.ts has no default export function \(export default function \(rt, args\) \{ … \}\)$/,
  })),
  // Found as a new user: Deno's own "error: Top-level await promise never
  // resolved", the tool's main.ts line under it and a caret: four lines.
  ...[
    ["export default function () { return new Promise(() => {}); }\n", ""],
    [
      "export default async function (rt) { await new Promise(() => {}); }\n",
      " (an async function)",
    ],
  ].map(([src, what]): Row => ({
    name:
      `run of a script whose promise never settles${what}: one line naming the script`,
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/w.ts`, src),
    args: ["run", "./w.ts", "-q"],
    code: 1,
    stderr:
      /^alloctrace: workload script \.\/w\.ts returned a promise that never settles: nothing is left for it to wait on$/,
  })),
  // --- native: -p (attach) and --pid (a filter) are told apart ------------
  {
    name: "native --pid without a command: --pid only filters, -p attaches",
    args: ["native", "--pid", "4242"],
    code: 2,
    stderr:
      /native needs a command: .*--pid only filters the processes of a trace: to trace running process 4242, use -p 4242$/,
  },
  {
    name:
      "native --pid of a process not in the trace says so (not an empty report and a warning), writes nothing",
    args: ["native", "--pid", "1", "--json", "out.json", "--", "/bin/true"],
    code: 2,
    stderr:
      /^alloctrace: --pid 1: no call of process 1 in this trace \(.*\); --pid filters the processes traced, -p PID attaches to a running one$/,
  },
  // --- native of a command that cannot run: one line of ours, the shell's
  // exit codes (127 not found, 126 found but not runnable), nothing written -
  {
    name:
      "native of a path that does not exist: one line (not the shell's and ours), exit 127, no output",
    args: ["native", "--trace-out", "t.trace", "--", "./nonexist", "arg"],
    code: 127,
    stderr:
      /^alloctrace: cannot run \.\/nonexist: no such file \(exit code 127\)$/,
  },
  {
    name:
      "native of a name on no directory of PATH: one line, exit 127, no output",
    shell: `PATH="$PWD" $AT native --json j.json -- alloctrace-no-such-command`,
    code: 127,
    stderr:
      /^alloctrace: cannot run alloctrace-no-such-command: not found in any directory of PATH \(exit code 127\)$/,
  },
  {
    name: "native of a directory: one line, exit 126, no output",
    setup: ({ dir }) => Deno.mkdirSync(`${dir}/sub`),
    args: ["native", "--html", "h.html", "--", "./sub"],
    code: 126,
    stderr:
      /^alloctrace: cannot run \.\/sub: it is a directory \(exit code 126\)$/,
  },
  {
    name:
      "native of a file with no execute permission (root too needs one x bit): one line, exit 126",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/data`, "echo ran > ran\n");
      Deno.chmodSync(`${dir}/data`, 0o644);
    },
    args: ["native", "--", "./data"],
    code: 126,
    stderr:
      /^alloctrace: cannot run \.\/data: permission denied \(not executable here\) \(exit code 126\)$/,
  },
  // --- native's outputs: checked like the other commands', before the run --
  {
    name:
      "native --trace-out naming the program itself is refused: the binary stays",
    setup: ({ dir }) => {
      Deno.copyFileSync("/bin/true", `${dir}/prog`);
      Deno.chmodSync(`${dir}/prog`, 0o755);
    },
    args: ["native", "--trace-out", "prog", "--", "./prog"],
    code: 2,
    stderr:
      /^alloctrace: --trace-out prog is the input \.\/prog: writing it would destroy it; choose another file$/,
  },
  {
    name:
      "native --html naming the program found through PATH is refused: the binary stays",
    setup: ({ dir }) => {
      Deno.copyFileSync("/bin/true", `${dir}/prog`);
      Deno.chmodSync(`${dir}/prog`, 0o755);
    },
    shell: `PATH="$PWD:$PATH" $AT native --html prog -- prog`,
    code: 2,
    stderr:
      /^alloctrace: --html prog is the input .*\/prog: writing it would destroy it/,
  },
  {
    name:
      "native --trace-out and --folded on one path are refused (the trace was lost under the folded stacks)",
    args: ["native", "--trace-out", "x", "--folded", "x", "--", "/bin/true"],
    code: 2,
    stderr: /^alloctrace: --trace-out and --folded name one file \(x\)/,
  },
  {
    name:
      "native --json and --folded on one path are refused (the JSON replaced the folded stacks)",
    args: ["native", "--folded", "x", "--json", "./x", "--", "/bin/true"],
    code: 2,
    stderr: /^alloctrace: --folded and --json name one file \(\.\/x\)/,
  },
  {
    name:
      "native --html and --pprof on one path are refused before the program runs, not after",
    args: ["native", "--html", "x", "--pprof", "x", "--", "touch", "ran"],
    code: 2,
    stderr: /^alloctrace: --html and --pprof name one file \(x\)/,
  },
  // native --trace-out is an output like the others (README, Output files).
  {
    name:
      "native --trace-out through a symlink: the target is replaced, the link stays",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/real.trace`, "old\n");
      Deno.symlinkSync("real.trace", `${dir}/link.trace`);
    },
    args: ["native", "-q", "--trace-out", "link.trace", "--", "/bin/true"],
    code: 0,
    stderr: "",
    changes: ["real.trace"],
    check: ({ dir }) =>
      assertEquals(Deno.readTextFileSync(`${dir}/real.trace`), ""),
  },
  {
    name: "native --trace-out replacing a file keeps its mode",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/t.trace`, "old\n");
      Deno.chmodSync(`${dir}/t.trace`, 0o640);
    },
    args: ["native", "-q", "--trace-out", "t.trace", "--", "/bin/true"],
    code: 0,
    stderr: "",
    changes: ["t.trace"],
    check: ({ dir }) =>
      assertEquals(Deno.statSync(`${dir}/t.trace`).mode! & 0o777, 0o640),
  },
  {
    name:
      "native --trace-out with symlinks planted at every .NAME.tmp-PID: traced, nothing planted followed",
    needs: rootOnly,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
      Deno.chmodSync(`${dir}/victim`, 0o600);
      const last = Number(
        Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim(),
      );
      for (let pid = last + 1; pid < last + 4000; pid++) {
        Deno.symlinkSync(`${dir}/victim`, `${dir}/.t.trace.tmp-${pid}`);
      }
    },
    args: ["native", "-q", "--trace-out", "t.trace", "--", "/bin/true"],
    code: 0,
    stderr: "",
    changes: ["t.trace"],
  },
  // Found as a new user: --json - is refused (the program's stdout is its
  // own), but any other output on stdout went into it, mixed with the
  // program's output.
  ...[
    ["--trace-out", "-"],
    ["--html", "/dev/stdout"],
    ["--folded", "/proc/self/fd/1"],
    ["--pprof", "/dev/fd/1"],
    ["--json", "/dev/stdout"],
  ].map(([opt, path]): Row => ({
    name: `native ${opt} ${path}: refused, stdout is the program's own`,
    args: ["native", "-q", opt, path, "--", "/bin/echo", "hi"],
    code: 2,
    stderr: new RegExp(
      `^alloctrace: ${opt} ${
        path.replaceAll("/", "\\/")
      } is stdout, which is the program's own: write it to a file$`,
    ),
  })),
  {
    name:
      "native with stdout redirected to a file: an output naming that file is refused too",
    shell: `$AT native -q --folded out.txt -- /bin/echo hi > out.txt`,
    code: 2,
    stderr:
      /^alloctrace: --folded out\.txt is stdout, which is the program's own: write it to a file$/,
    changes: ["out.txt"],
  },
  {
    name: "native with an empty command name is a usage error",
    args: ["native", "--", ""],
    code: 2,
    stderr: /^alloctrace: native needs a command: the command name is empty$/,
  },
  {
    name: "native -p with a command: attach takes none",
    args: ["native", "-p", "4242", "--", "/bin/true"],
    code: 2,
    stderr: /native -p PID attaches to a running process: give no command$/,
  },
  {
    name: "native --duration without -p",
    args: ["native", "--duration", "1", "--", "/bin/true"],
    code: 2,
    stderr: /--duration goes with -p PID$/,
  },
  // review2: -p -1 said "option '-p' argument is ambiguous" (parseArgs took
  // the value for an option), where 0 and 4194305 say the range.
  ...["0", "-1", "4194305"].map((v): Row => ({
    name: `native -p ${v}: the range of -p`,
    args: ["native", "-p", v],
    code: 2,
    stderr: new RegExp(
      `^alloctrace: --attach must be from 1 to 4194304, got ${v}$`,
    ),
  })),
  {
    name: "native -p of a process that does not exist",
    args: ["native", "-p", "4194303"],
    code: 1,
    stderr: /^alloctrace: no process 4194303$/,
  },
  {
    // Found as a new user: the shell waits for alloctrace, which traces
    // the shell until it ends: neither ever did. (The timeout's SIGINT
    // would end it: a run that gets that far fails the row, exit 130.)
    name:
      "native -p of its own parent shell (an ancestor): one line, not a wait without end",
    shell: `timeout -s INT 20 $AT native -p $$; exit $?`,
    code: 1,
    stderr:
      /^alloctrace: process \d+ \(bash\) is an ancestor of alloctrace \(its parent's parent\), which waits for alloctrace to end: traced until it ends, neither would; attach from another shell$/,
  },
  {
    // review2: -p takes a thread's id too (the attach seizes its whole
    // process), and a thread of the parent escaped the ancestor check, which
    // compared process ids only: the parent waited, traced, for ever.
    name:
      "native -p of a thread (not the main one) of its parent: one line, not a wait without end",
    needs: () => hasTool("python3"),
    setup: ({ dir }) =>
      Deno.writeTextFileSync(
        `${dir}/par.py`,
        `import subprocess, sys, threading
ev = threading.Event(); tid = []; up = threading.Event()
def t():
    tid.append(threading.get_native_id()); up.set(); ev.wait()
threading.Thread(target=t, daemon=True).start(); up.wait()
sys.exit(subprocess.call(sys.argv[1:] + [str(tid[0])]))
`,
      ),
    shell: `timeout -s INT 20 python3 par.py $AT native -p; exit $?`,
    code: 1,
    stderr:
      /^alloctrace: thread \d+ of process \d+ \(python3\) is an ancestor of alloctrace \(its parent\), which waits for alloctrace to end: traced until it ends, neither would; attach from another shell$/,
  },
  {
    // review2: the walk up stopped before pid 1, which in a container may
    // be the shell that started alloctrace (and is always an ancestor).
    name: "native -p 1 (pid 1 is an ancestor of every process): one line",
    args: ["native", "-p", "1"],
    code: 1,
    stderr:
      /^alloctrace: process 1 \(.+\) is an ancestor of alloctrace \(.+\), which waits for alloctrace to end: traced until it ends, neither would; attach from another shell$/,
  },
  {
    name: "native -p of itself: one line",
    shell: `exec $AT native -p $$`,
    code: 1,
    stderr:
      /^alloctrace: process \d+ is alloctrace itself: it cannot trace itself$/,
  },
  {
    // Found trying it as a new user: it said "ptrace is not permitted here
    // (… Yama ptrace_scope …)", blaming the machine's settings.
    name:
      "native -p of a process whose main thread has ended (its threads run on): one line saying so",
    needs: () => hasTool("cc"),
    setup: ({ dir }) =>
      Deno.writeTextFileSync(
        `${dir}/zl.c`,
        `#include <pthread.h>
#include <unistd.h>
static void *w(void *a) { for (;;) pause(); }
int main() { pthread_t t; pthread_create(&t, 0, w, 0); pthread_exit(0); }
`,
      ),
    shell: `cc -pthread -o zl zl.c || exit 99
./zl & p=$!
while [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ]; do sleep 0.01; done
$AT native -p $p --duration 1; c=$?
kill $p; exit $c`,
    code: 1,
    stderr:
      /^alloctrace: process \d+'s main thread has ended \(pthread_exit\) while its other threads run on: ptrace cannot attach to such a process$/,
    changes: ["zl"],
  },
  {
    name: "native without --allow-all says so, before starting the tracer",
    args: ["native", "--", "/bin/true"],
    perms: ["--no-prompt", `--allow-read=${ROOT}`],
    code: 1,
    stderr: /^alloctrace: native needs --allow-all \(.*\): run deno with -A$/,
  },
  {
    name: "native with only some permissions says it needs --allow-all",
    args: ["native", "--", "/bin/true"],
    perms: ["--no-prompt", "--allow-read", "--allow-run", "--allow-ffi"],
    code: 1,
    stderr: /^alloctrace: native needs --allow-all/,
  },
  {
    // Deno reads /proc/PID/maps only under --allow-all with no --deny-*;
    // every query said "granted", so the run went on: "0 allocations", exit 0.
    name:
      "native under -A with a --deny-* flag says it needs --allow-all, not 0 allocations",
    args: ["native", "--", "/bin/true"],
    perms: ["--no-prompt", "-A", "--deny-env=TMPDIR"],
    code: 1,
    stderr:
      /^alloctrace: native needs --allow-all with no --deny-\* flag \(.*\): run deno with -A$/,
  },
  {
    name: "workloads takes no argument: the house style, exit 2",
    args: ["workloads", "extra"],
    code: 2,
    stderr:
      /^alloctrace workloads: unexpected argument 'extra' \(see alloctrace workloads --help\)$/,
  },
  // --- unknown options: one clear line naming the command ------------------
  ...([
    ["run", "--bogus"],
    ["run", "-z"],
    ["replay", LEAK, "--bogus"],
    ["analyze", LEAK, "--bogus"],
    ["diff", LEAK, LEAK, "--bogus"],
    ["workloads", "--bogus"],
    ["native", "--bogus", "--", "/bin/true"],
  ].map((args): Row => {
    const opt = args.find((a) => a.startsWith("-"))!;
    return {
      name: `${args[0]} ${opt}: unknown option`,
      args,
      code: 2,
      stderr: new RegExp(
        `^alloctrace ${args[0]}: unknown option ${opt} ` +
          `\\(see alloctrace ${args[0]} --help\\)$`,
      ),
    };
  })),
];

badInputSuite(ROWS);
