import fc from "npm:fast-check@4.11.0";
import { assertEquals, assertTrue } from "../_assert.ts";
import { grown } from "../../lib/runtime/grow.ts";

Deno.test("grown: the same kind of typed array, the old values first, zeros after", () => {
  const kinds = [Int32Array, Float64Array, Uint8Array] as const;
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
      fc.nat({ max: 40 }),
      (k, values, extra) => {
        const a = new kinds[k](values);
        const b = grown(a, values.length + extra);
        assertTrue(b.constructor === a.constructor);
        assertTrue(b !== a);
        assertEquals(b.length, values.length + extra);
        assertEquals(Array.from(b.subarray(0, values.length)), values);
        assertTrue(b.subarray(values.length).every((x) => x === 0));
      },
    ),
  );
});
