/**
 * Regenerates `lib/trace/_scanner_wasm.ts`: the block scanner's WebAssembly
 * module as its assembler (`lib/trace/block_scan.ts`'s `assembleScanner`,
 * from `_scan_func.ts` with its `_scan_*.ts` parts, and `_record_run.ts`)
 * gives it, in base64. A run compiles those bytes instead of assembling
 * them (~6 ms of CPU in cold code at every start);
 * `tests/trace/block_scan_test.ts` fails while they differ from the
 * assembler's, so run this after changing the scanner.
 *
 *   deno run --allow-write=lib/trace/_scanner_wasm.ts scripts/gen_scanner.ts
 *
 * @module
 */

import { assembleScanner } from "../lib/trace/block_scan.ts";
import { type ModuleFile, writeModule } from "./_wasm_module.ts";

/** `lib/trace/_scanner_wasm.ts`. */
export const SCANNER_FILE: ModuleFile = {
  path: "lib/trace/_scanner_wasm.ts",
  assemble: () => assembleScanner(),
  origin: `scripts/gen_scanner.ts from the scanner's assembler
// (block_scan.ts's assembleScanner, _scan_func.ts, _record_run.ts)`,
  whose: "The block scanner's",
  constName: "SCANNER_WASM",
};

if (import.meta.main) await writeModule(SCANNER_FILE);
