/**
 * `alloctrace workloads`: the built-in workloads and their parameters.
 *
 * @module
 */

import { parseArgs } from "./_parse_args.ts";
import { WORKLOADS } from "../workload/registry.ts";
import { formatHelp, HELP_WIDTH, wrapWords } from "./_help.ts";

/** Help text of `alloctrace workloads`. */
export const WORKLOADS_HELP = formatHelp(`Usage: alloctrace workloads [--json]

List the built-in workloads of 'alloctrace run' with their parameters.

Options:
  --json       print the list as JSON
  -h, --help   show this help

Example:
  alloctrace workloads
`);

/** Runs `alloctrace workloads`; returns the exit code. */
export function workloadsCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(WORKLOADS_HELP);
    return 0;
  }
  if (values.json) {
    console.log(JSON.stringify(
      WORKLOADS.map(({ name, summary, mirrors, params }) => ({
        name,
        summary,
        mirrors,
        params,
      })),
      null,
      2,
    ));
    return 0;
  }
  const lines: string[] = [];
  for (const w of WORKLOADS) {
    lines.push(
      w.name,
      ...wrapWords(w.summary, HELP_WIDTH - 2).map((l) => `  ${l}`),
    );
    if (w.mirrors) {
      lines.push(
        `  mirrors tests/testdata/shared/go1.19/programs/${w.mirrors}`,
      );
    }
    for (const p of w.params) {
      const [first, ...rest] = wrapWords(
        `${p.help} (default ${p.default}, ${p.min} to ${p.max})`,
        HELP_WIDTH - 18,
      );
      lines.push(
        `  --${p.name} N`.padEnd(18) + first,
        ...rest.map((l) => " ".repeat(18) + l),
      );
    }
    lines.push("");
  }
  lines.push(
    "A script is a workload too: alloctrace run ./my_workload.ts [ARGS…]",
  );
  console.log(lines.join("\n"));
  return 0;
}
