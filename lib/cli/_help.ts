/**
 * The one layout of every help page: lines of at most {@link HELP_WIDTH}
 * columns, and in the item sections (`Options:`, `Commands:`,
 * `Workloads…:`) every description starting in one column for the whole
 * page, wrapped with a hanging indent at that column. The pages are written
 * loosely (a term, two or more spaces, its description; a deeper-indented
 * line continues the description above) and laid out here, so no page
 * counts columns by hand.
 *
 * @module
 */

/** Columns of a help page (and of the `workloads` listing). */
export const HELP_WIDTH = 80;

/** The widest term that keeps its description on its own line. */
const _MAX_TERM = 24;

/** A section heading whose lines are terms with descriptions. */
const _ITEMS = /^(Options|Commands|Workloads)\b.*:$/;

/**
 * Words of `text` in lines of at most `width` columns (a longer word stands
 * alone on its line).
 *
 * @example
 * ```ts
 * import { wrapWords } from "./_help.ts";
 * const lines = wrapWords("one two three", 8);
 * if (lines.join("|") !== "one two|three") throw new Error(lines.join("|"));
 * ```
 */
export function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const w of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = w;
    else if ([...line].length + 1 + [...w].length <= width) line += " " + w;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line !== "") out.push(line);
  return out;
}

/**
 * Lays out a help page written loosely: item sections aligned in one
 * column and wrapped at {@link HELP_WIDTH}; other lines kept as written.
 *
 * @example
 * ```ts
 * import { formatHelp } from "./_help.ts";
 * const page = formatHelp("Options:\n  --a N  the a\n  --bee FILE  the\n     bee\n");
 * if (page !== "Options:\n  --a N       the a\n  --bee FILE  the bee\n") throw new Error(page);
 * ```
 */
export function formatHelp(raw: string): string {
  type Item = { term: string; desc: string };
  const parts: (string | Item)[] = [];
  let inItems = false;
  for (const line of raw.split("\n")) {
    if (_ITEMS.test(line)) {
      inItems = true;
      parts.push(line);
      continue;
    }
    if (!line.startsWith("  ")) inItems = false;
    if (!inItems) {
      parts.push(line);
      continue;
    }
    const last = parts.at(-1);
    if (line[2] === " " && typeof last === "object") {
      last.desc += " " + line.trim();
      continue;
    }
    const m = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/.exec(line)!;
    parts.push({ term: m[1], desc: m[2] ?? "" });
  }
  const terms = parts.filter((p): p is Item => typeof p === "object")
    .map((p) => [...p.term].length).filter((n) => n <= _MAX_TERM);
  const col = 2 + Math.max(0, ...terms) + 2;
  const hang = " ".repeat(col);
  const out: string[] = [];
  for (const p of parts) {
    if (typeof p === "string") {
      out.push(p);
      continue;
    }
    const desc = wrapWords(p.desc, HELP_WIDTH - col);
    const head = `  ${p.term}`;
    if ([...head].length + 2 > col) {
      out.push(head, ...desc.map((d) => hang + d));
    } else {
      out.push(
        (head.padEnd(col) + (desc[0] ?? "")).trimEnd(),
        ...desc.slice(1).map((d) => hang + d),
      );
    }
  }
  return out.join("\n");
}
