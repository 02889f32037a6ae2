/**
 * lib/cli/_parse_args.ts reads command lines as node:util's parseArgs does
 * in strict mode: the same values and positionals, or the same error
 * (code and message), on random command lines.
 */
import fc from "npm:fast-check@4.11.0";
import { parseArgs as nodeParseArgs } from "node:util";
import { assertEquals } from "../_assert.ts";
import { parseArgs } from "../../lib/cli/_parse_args.ts";

const OPTIONS = {
  top: { type: "string" },
  json: { type: "boolean", default: false },
  "folded-type": { type: "string", default: "alloc_space" },
  quiet: { type: "boolean", short: "q", default: false },
  help: { type: "boolean", short: "h", default: false },
  pid: { type: "string", short: "p" },
  by: { type: "string" },
} as const;

/** What a parse gave, comparable: values (own keys, any order), positionals, or the error. */
function outcome(f: () => { values: object; positionals: string[] }): unknown {
  try {
    const { values, positionals } = f();
    return {
      proto: Object.getPrototypeOf(values),
      values: Object.fromEntries(Object.entries(values)),
      positionals,
    };
  } catch (e) {
    return {
      type: (e as Error).constructor.name,
      code: (e as { code?: string }).code,
      message: (e as Error).message,
    };
  }
}

const WORDS = [
  "--top",
  "--top=",
  "--top=5",
  "5",
  "--json",
  "--json=1",
  "--folded-type",
  "-q",
  "-h",
  "-qh",
  "-hq",
  "-qx",
  "-p",
  "-p7",
  "-qp",
  "-qp7",
  "-pq",
  "-",
  "--",
  "a.trace",
  "-x",
  "--nope",
  "--nope=1",
  "-5",
  "--=x",
  "--=x=y",
  "--top=5=6",
  "--by",
  "x=y",
  "--__proto__",
  "-",
  "--quiet",
  "-q=",
  "--help=",
];

Deno.test("parseArgs reads any command line as node:util's parseArgs does (values, positionals, errors)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...WORDS), { maxLength: 7 }),
      fc.boolean(),
      (args, allowPositionals) => {
        const config = {
          args,
          options: OPTIONS,
          allowPositionals,
          strict: true as const,
        };
        assertEquals(
          outcome(() => parseArgs(config)),
          outcome(() => nodeParseArgs(config)),
          JSON.stringify(args),
        );
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("parseArgs splits --NAME=VALUE at the first '=' as node:util does (--=x=y names '--')", () => {
  // node:util takes an argument for --NAME=VALUE when it holds a '=' from
  // index 3 on, but splits it at its first '=' (index 2 in "--=x=y").
  for (const args of [["--=x=y"], ["--=5="], ["--top=5=6"], ["--=x"]]) {
    const config = { args, options: OPTIONS, strict: true as const };
    assertEquals(
      outcome(() => parseArgs(config)),
      outcome(() => nodeParseArgs(config)),
      JSON.stringify(args),
    );
  }
});

Deno.test("parseArgs: the cases main.ts words in the house style", () => {
  const cases: [string[], string | null][] = [
    [["--top"], "Option '--top <value>' argument missing"],
    [["-qp"], "Option '-p, --pid <value>' argument missing"],
    [["--json=1"], "Option '--json' does not take an argument"],
    [
      ["--nope"],
      "Unknown option '--nope'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--nope\"",
    ],
    [["-pq"], null],
  ];
  for (const [args, message] of cases) {
    const got = outcome(() =>
      parseArgs({ args, options: OPTIONS, allowPositionals: true })
    ) as { message?: string };
    assertEquals(got.message ?? null, message);
  }
});
