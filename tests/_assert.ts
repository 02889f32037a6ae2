/**
 * The few assertions the tests use, from `node:assert/strict` (JSR's
 * `@std/assert` is unreachable here; swapping back is this one file).
 *
 * @module
 */

import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** A truthy condition. */
export function assertTrue(cond: unknown, msg?: string): asserts cond {
  assert.ok(cond, msg);
}

/** `fn` throws an error of class `cls` whose message matches `re`. */
export function assertThrows(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  re: RegExp,
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught}`);
  assert.match((caught as Error).message, re);
  return caught as Error;
}

/** `s` contains `part`. */
export function assertIncludes(s: string, part: string, msg?: string): void {
  assert.ok(
    s.includes(part),
    msg ?? `expected to find ${JSON.stringify(part)} in:\n${s}`,
  );
}
