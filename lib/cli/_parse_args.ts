/**
 * The command line's options and arguments, read as `node:util`'s
 * `parseArgs` reads them in strict mode (the same values, the same errors:
 * a `TypeError` with Node's `code` and message, which `main.ts` words in
 * the house style). Ours because importing `node:util` starts Deno's Node
 * compatibility layer, ~17 ms or more before a command can begin; no
 * command needs anything else from it. A property test holds this to
 * Node's on random command lines.
 *
 * @module
 */

/** One option: its type, one-letter form and default. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  default?: string | boolean;
}

/** What {@link parseArgs} reads: the arguments, the options, whether positionals are allowed. */
export interface ParseArgsConfig<O extends Record<string, OptionSpec>> {
  args: string[];
  options: O;
  allowPositionals?: boolean;
  /** Always strict, as every command asks; kept for Node's signature. */
  strict?: true;
}

/** An option's value type: a string for `type: "string"`, a boolean else. */
type ValueOf<S extends OptionSpec> = S["type"] extends "string" ? string
  : boolean;

/** The values read: options given a default are always there. */
export type ParsedValues<O extends Record<string, OptionSpec>> =
  & {
    [K in keyof O as O[K] extends { default: unknown } ? K : never]: ValueOf<
      O[K]
    >;
  }
  & {
    [K in keyof O as O[K] extends { default: unknown } ? never : K]?: ValueOf<
      O[K]
    >;
  };

/** Node's `TypeError` with its `code`. */
function _error(code: string, message: string): TypeError {
  const e = new TypeError(message);
  (e as TypeError & { code: string }).code = code;
  return e;
}

/**
 * Reads `config.args` against `config.options`: `--name value`,
 * `--name=value`, `-n value`, `-nvalue`, groups of one-letter booleans
 * (`-qh`), `--` before arguments that start with a dash. Throws a
 * `TypeError` with Node's code (`ERR_PARSE_ARGS_UNKNOWN_OPTION`,
 * `ERR_PARSE_ARGS_INVALID_OPTION_VALUE`,
 * `ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL`) and message.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./_parse_args.ts";
 * const { values, positionals } = parseArgs({
 *   args: ["a.trace", "-q", "--top", "5"],
 *   options: { top: { type: "string" }, quiet: { type: "boolean", short: "q", default: false } },
 *   allowPositionals: true,
 * });
 * if (values.top !== "5" || values.quiet !== true || positionals[0] !== "a.trace") throw new Error();
 * ```
 */
export function parseArgs<const O extends Record<string, OptionSpec>>(
  config: ParseArgsConfig<O>,
): { values: ParsedValues<O>; positionals: string[] } {
  const options: Record<string, OptionSpec> = config.options;
  const has = (name: string) => Object.hasOwn(options, name);
  const typeOf = (name: string) => has(name) ? options[name].type : undefined;
  const longOf = (short: string) => {
    for (const name of Object.keys(options)) {
      if (options[name].short === short) return name;
    }
    return short;
  };
  const values: Record<string, string | boolean> = Object.create(null);
  const positionals: string[] = [];
  const rest = [...config.args];
  const option = (
    name: string,
    rawName: string,
    value: string | undefined,
    inline: boolean,
  ) => {
    if (
      !inline && value !== undefined && value.length > 1 && value[0] === "-"
    ) {
      const example = rawName.startsWith("--")
        ? `'${rawName}=-XYZ'`
        : `'--${name}=-XYZ' or '${rawName}-XYZ'`;
      throw _error(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${rawName}' argument is ambiguous.\nDid you forget to specify the option argument for '${rawName}'?\nTo specify an option argument starting with a dash use ${example}.`,
      );
    }
    if (!has(name)) {
      throw _error(
        "ERR_PARSE_ARGS_UNKNOWN_OPTION",
        `Unknown option '${rawName}'${
          config.allowPositionals
            ? `. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- ${
              JSON.stringify(rawName)
            }`
            : ""
        }`,
      );
    }
    const short = options[name].short;
    const both = `${short ? `-${short}, ` : ""}--${name}`;
    if (options[name].type === "string" && value === undefined) {
      throw _error(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${both} <value>' argument missing`,
      );
    }
    if (options[name].type === "boolean" && value !== undefined) {
      throw _error(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${both}' does not take an argument`,
      );
    }
    if (name !== "__proto__") values[name] = value ?? true;
  };
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--") {
      for (const a of rest.splice(0)) {
        if (!config.allowPositionals) {
          throw _error(
            "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
            `Unexpected argument '${a}'. This command does not take positional arguments`,
          );
        }
        positionals.push(a);
      }
      break;
    }
    if (arg.length === 2 && arg[0] === "-" && arg[1] !== "-") {
      // -f, and its value next when it takes one.
      const name = longOf(arg[1]);
      const value = typeOf(name) === "string" && rest.length > 0
        ? rest.shift()
        : undefined;
      option(name, arg, value, false);
    } else if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
      if (typeOf(longOf(arg[1])) !== "string") {
        // -abc: a group; a string option in it takes the rest as its value.
        const expanded: string[] = [];
        for (let i = 1; i < arg.length; i++) {
          if (typeOf(longOf(arg[i])) !== "string" || i === arg.length - 1) {
            expanded.push(`-${arg[i]}`);
          } else {
            expanded.push(`-${arg.slice(i)}`);
            break;
          }
        }
        rest.unshift(...expanded);
      } else option(longOf(arg[1]), `-${arg[1]}`, arg.slice(2), true);
    } else if (arg.length > 2 && arg.startsWith("--")) {
      // As node:util: a value when a '=' comes from index 3 on, split at
      // the first '=' (so "--=x=y" names the option '--', as Node does).
      const eq = arg.includes("=", 3) ? arg.indexOf("=") : -1;
      if (eq < 0) {
        const name = arg.slice(2);
        const value = typeOf(name) === "string" && rest.length > 0
          ? rest.shift()
          : undefined;
        option(name, arg, value, false);
      } else {
        const name = arg.slice(2, eq);
        option(name, `--${name}`, arg.slice(eq + 1), true);
      }
    } else if (config.allowPositionals) {
      positionals.push(arg);
    } else {
      throw _error(
        "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
        `Unexpected argument '${arg}'. This command does not take positional arguments`,
      );
    }
  }
  for (const name of Object.keys(options)) {
    const d = options[name].default;
    if (d !== undefined && values[name] === undefined) values[name] = d;
  }
  return { values: values as ParsedValues<O>, positionals };
}
