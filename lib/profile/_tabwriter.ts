/**
 * The subset of Go's `text/tabwriter` the legacy heap profile uses
 * (`NewWriter(w, 1, 8, 1, '\t', 0)`): cells end at tabs, the text after a
 * line's last tab is not a cell, column blocks are runs of consecutive lines
 * that have a cell in that column (nested in the block of the column to
 * their left), a column is as wide as its widest cell plus the padding,
 * rounded up to the tab width, and padding is written as tabs.
 *
 * @module
 */

const MIN_WIDTH = 1;
const TAB_WIDTH = 8;
const PADDING = 1;

/**
 * Aligns `text` as Go's tabwriter with those settings would.
 *
 * @example
 * ```ts
 * import { tabwrite } from "./_tabwriter.ts";
 * const out = tabwrite("#\t0x1\tmain.a+0x27\tf.go:1\n#\t0x2\tmain.bb+0x11d\tf.go:2\n");
 * if (out !== "#\t0x1\tmain.a+0x27\tf.go:1\n#\t0x2\tmain.bb+0x11d\tf.go:2\n") throw new Error(JSON.stringify(out));
 * ```
 */
export function tabwrite(text: string): string {
  const lines = text.split("\n");
  const last = lines.pop(); // text after the final newline
  const cells = lines.map((l) => l.split("\t"));
  const widths: number[] = [];
  let out = "";
  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const line = cells[i];
      for (let j = 0; j < line.length; j++) {
        const c = line[j];
        out += c;
        if (j < widths.length && j < line.length - 1) {
          const cellw = Math.ceil(widths[j] / TAB_WIDTH) * TAB_WIDTH;
          const n = cellw - c.length;
          out += "\t".repeat(Math.ceil(n / TAB_WIDTH));
        }
      }
      out += "\n";
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= cells[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = MIN_WIDTH;
      for (; t < line1; t++) {
        const line = cells[t];
        if (column >= line.length - 1) break;
        const w = line[column].length + PADDING;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out + (last ?? "");
}
