// Tests for src/core/backoff.ts: exponential growth, the cap and full jitter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, backoffDelay } from "../../src/core/backoff.ts";

test("backoff: the ceiling doubles per attempt up to the cap", () => {
  const top = (attempt: number): number =>
    backoffDelay(attempt, { initialDelay: 100, maxDelay: 1000, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(top), [99, 199, 399, 799, 999, 999]);
});

test("backoff: full jitter spreads delays between zero and the ceiling", () => {
  const delays = Array.from({ length: 2000 }, () => backoffDelay(3, { initialDelay: 10 }));
  assert.ok(delays.every((d) => d >= 0 && d < 80));
  assert.ok(Math.min(...delays) < 10, "some delays are near zero");
  assert.ok(Math.max(...delays) > 70, "some delays are near the ceiling");
});

test("backoff: the stateful schedule counts attempts and resets", () => {
  const b = new Backoff({ initialDelay: 8, maxDelay: 64, random: () => 0.5 });
  assert.deepEqual([b.next(), b.next(), b.next()], [4, 8, 16]);
  assert.equal(b.attempts, 3);
  b.reset();
  assert.equal(b.next(), 4);
});
