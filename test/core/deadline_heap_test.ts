// Tests for src/core/deadline_heap.ts against a sorted-array model.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DeadlineHeap } from "../../src/core/deadline_heap.ts";

test("deadline heap: pops live entries in deadline order and skips settled ones", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ time: fc.nat(1000), dead: fc.boolean() }), { maxLength: 200 }),
      fc.nat(1000),
      (entries, now) => {
        const heap = new DeadlineHeap<{ time: number; dead: boolean }>((e) => !e.dead);
        for (const e of entries) heap.push(e.time, e);
        const live = entries.filter((e) => !e.dead).map((e) => e.time).sort((a, b) => a - b);
        assert.equal(heap.peek(), live[0]);
        const expired = heap.popExpired(now).map((e) => e.time);
        assert.deepEqual(expired, live.filter((t) => t <= now));
        assert.equal(heap.peek(), live.find((t) => t > now));
      },
    ),
  );
});

test("deadline heap: clear empties it", () => {
  const heap = new DeadlineHeap<number>(() => true);
  heap.push(1, 1);
  heap.clear();
  assert.equal(heap.size, 0);
  assert.equal(heap.peek(), undefined);
});
