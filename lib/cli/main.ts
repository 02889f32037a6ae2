/**
 * The command line: parses the subcommand and dispatches. All terminal I/O
 * of the tool lives under `lib/cli`.
 *
 * @module
 */

import { keepIgnoredSignals, SignalExit } from "./_signals.ts";
import {
  errorLine,
  EXIT_FAILURE,
  EXIT_USAGE,
  osReason,
  StdoutWriteError,
  UsageError,
} from "./_usage.ts";
import { formatHelp } from "./_help.ts";

export { stalledText } from "./_stall.ts";

/** The tool's version. */
export const VERSION = "0.1.0";

/** Help text of `alloctrace`. */
export const HELP = formatHelp(
  `alloctrace ${VERSION}: the Go runtime's allocator, sweeper, heap profiler
and GODEBUG=allocfreetrace printer on a workbench; a reader of real Go
allocation traces; a malloc/free tracer for native programs.

Usage: alloctrace <command> [options]

Commands:
  run [WORKLOAD]   simulate a workload on the simulated Go heap (default: binarytrees)
  workloads        list the built-in workloads and their parameters
  analyze TRACE    read a GODEBUG=allocfreetrace=1 log (Go 1.3 to 1.22) or a Go 1.23+
                   execution trace: sites, leaks, lifetimes, profiles, HTML report
  replay TRACE     replay a trace in the simulated runtime under other settings
  diff A B         per-site change between two traces or heap profiles
  native -- CMD    trace a native program's malloc/free with native stacks
                   (native -p PID: a running process)
  help [COMMAND]   show help for a command

Options:
  -h, --help       show this help
  --version        print the version

Run 'alloctrace <command> --help' for a command's options.
`,
);

/** A subcommand: its help and what runs it. */
interface Command {
  help: string;
  run: (a: string[]) => number | Promise<number>;
}

// Each command's module is loaded only when it runs (or its help is
// asked for): loading all of them took ~40 ms of CPU at every start, a
// tenth of `native`'s whole run at a million calls. (`deno install
// --reload` from a URL refreshes them too: the module graph follows an
// import() of a literal. Checked with Deno 2.9.6; ship_test's stale-URL
// failures that once had them reverted came from the shared DENO_DIR.)
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => {
    const m = await import("./run.ts");
    return { help: m.RUN_HELP, run: m.runCommand };
  },
  workloads: async () => {
    const m = await import("./workloads.ts");
    return { help: m.WORKLOADS_HELP, run: m.workloadsCommand };
  },
  analyze: async () => {
    const m = await import("./analyze.ts");
    return { help: m.ANALYZE_HELP, run: m.analyzeCommand };
  },
  replay: async () => {
    const m = await import("./replay.ts");
    return { help: m.REPLAY_HELP, run: m.replayCommand };
  },
  diff: async () => {
    const m = await import("./diff.ts");
    return { help: m.DIFF_HELP, run: m.diffCommand };
  },
  native: async () => {
    const m = await import("./native.ts");
    return { help: m.NATIVE_HELP, run: m.nativeCommand };
  },
};

/** What `alloctrace` alone prints on stderr (exit 2): one line. */
export const SHORT_USAGE = `usage: alloctrace <command> [options] (commands: ${
  Object.keys(COMMANDS).join(", ")
}, help; see alloctrace --help)`;

/**
 * Runs the tool with `args` (without the program name); returns the exit
 * code. Errors become one line on stderr; `ALLOCTRACE_DEBUG=1` rethrows.
 */
export async function main(args: string[], debug = false): Promise<number> {
  keepIgnoredSignals();
  let command = "";
  try {
    const [cmd, ...rest] = negativeValues(args);
    if (cmd === undefined) {
      console.error(SHORT_USAGE);
      return EXIT_USAGE;
    }
    if (cmd === "-h" || cmd === "--help") {
      console.log(HELP);
      return 0;
    }
    if (cmd === "--version") {
      console.log(`alloctrace ${VERSION}`);
      return 0;
    }
    if (cmd === "help") {
      // `help help` (or -h, --help): help's own help is the tool's.
      const topic = ["help", "-h", "--help"].includes(rest[0])
        ? undefined
        : rest[0];
      if (topic !== undefined && !Object.hasOwn(COMMANDS, topic)) {
        throw new UsageError(
          `no help for "${topic}": commands are ${
            Object.keys(COMMANDS).join(", ")
          }`,
        );
      }
      console.log(topic ? (await COMMANDS[topic]()).help : HELP);
      return 0;
    }
    const found = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
    if (found === undefined) {
      throw new UsageError(
        `unknown command "${cmd}": commands are ${
          Object.keys(COMMANDS).join(", ")
        } (see alloctrace --help)`,
      );
    }
    command = cmd;
    return await (await found()).run(rest);
  } catch (err) {
    // The reader closed the pipe (`| head`): it has what it wanted.
    if (err instanceof Deno.errors.BrokenPipe) return 0;
    // A signal stopped the command once it had cleaned up: exit as if it
    // had killed the process, quietly.
    if (err instanceof SignalExit) return err.code;
    if (debug) throw err;
    if (_stdoutWriteError(err) || err instanceof StdoutWriteError) {
      console.error(`alloctrace: cannot write stdout: ${osReason(err)}`);
      return EXIT_FAILURE;
    }
    const unknown = _unknownOption(err);
    if (unknown !== null && command !== "") {
      // Node's own wording is garbled (unbalanced quotes) and its advice
      // to put the word after `--` is wrong for native, where a command
      // follows `--`.
      console.error(
        `alloctrace ${command}: unknown option ${unknown} ` +
          `(see alloctrace ${command} --help)`,
      );
      return EXIT_USAGE;
    }
    const parse = _parseArgsError(err);
    if (parse !== null && command !== "") {
      // Node's message is capitalised and written as two sentences; say it
      // as the other usage errors are, naming the command.
      console.error(
        `alloctrace ${command}: ${parse} (see alloctrace ${command} --help)`,
      );
      return EXIT_USAGE;
    }
    console.error(errorLine(err));
    const usage = err instanceof UsageError ||
      (err instanceof TypeError &&
        (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"));
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/**
 * Whether `err` is the OS error of a report's `console.log` (stdout on a
 * full disk, a device that refuses writes): Deno's message names no file,
 * so the line must say it was stdout. (Outputs named by an option fail
 * with their path already, through openOutput.)
 */
function _stdoutWriteError(err: unknown): boolean {
  return err instanceof Error && /\(os error \d+\)$/.test(err.message) &&
    /\n\s+at console\.(log|info) /.test(err.stack ?? "");
}

/** The option a parseArgs "unknown option" error names, or null. */
function _unknownOption(err: unknown): string | null {
  if (
    !(err instanceof TypeError) ||
    (err as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION"
  ) return null;
  return /^Unknown option '([^']*)'/.exec(err.message)?.[1] ?? null;
}

/**
 * Another parseArgs error (an unexpected argument, a missing value) in the
 * house style: its first sentence, lowercase; null for any other error.
 */
function _parseArgsError(err: unknown): string | null {
  if (
    !(err instanceof TypeError) ||
    !(err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
  ) return null;
  const first = err.message.split("\n")[0].replace(/\. .*$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * `--name -5` becomes `--name=-5` (before any `--`): Node's parseArgs
 * takes a value that starts with a dash for an option ("ambiguous"), and
 * the option's own check then says which range is allowed.
 */
function negativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (
      /^--[^=]+$/.test(a) && next !== undefined &&
      /^-(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
