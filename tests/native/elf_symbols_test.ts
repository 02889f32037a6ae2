/** lib/native/elf_symbols.ts's pure helpers, on made-up input (no ELF file needed). */
import fc from "npm:fast-check@4.11.0";
import { assertEquals } from "../_assert.ts";
import { byAddress } from "../../lib/native/elf_symbols.ts";

Deno.test("byAddress orders indices by address, then by index (the 64-bit key sort, and the comparator past 2^44), as a stable sort of the addresses does", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 40 }), // many equal addresses
          fc.integer({ min: 0, max: 2 ** 44 - 1 }),
          fc.integer({ min: 2 ** 44, max: 2 ** 53 - 1 }),
        ),
        { maxLength: 300 },
      ),
      fc.nat(300),
      (xs, cut) => {
        const addr = Float64Array.from(xs);
        const n = Math.min(cut, xs.length);
        const want = [...Array(n).keys()].sort((a, b) => xs[a] - xs[b]);
        assertEquals([...byAddress(addr, n)], want);
      },
    ),
    { numRuns: 500 },
  );
  // Indices past 16 bits (a libc's debug file has ~10^4 symbols; up to 2^20 fit a key).
  const xs = Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 5003);
  const want = [...xs.keys()].sort((a, b) => xs[a] - xs[b]);
  assertEquals([...byAddress(Float64Array.from(xs), xs.length)], want);
});
