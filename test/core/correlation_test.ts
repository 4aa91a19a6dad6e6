// Tests for src/core/correlation.ts: the FIFO ring buffer and the keyed table's id allocation.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FifoTable, KeyedTable } from "../../src/core/correlation.ts";

test("correlation: FifoTable behaves like an array queue under any push/shift sequence", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 300 }), (ops) => {
      const table = new FifoTable<number>();
      const model: number[] = [];
      for (const op of ops) {
        if (op === null) assert.equal(table.shift(), model.shift());
        else {
          table.push(op);
          model.push(op);
        }
        assert.equal(table.size, model.length);
        assert.equal(table.peek(), model[0]);
      }
      assert.deepEqual([...table], model);
      assert.equal(table.at(model.length), undefined);
      assert.deepEqual(table.drain(), model);
      assert.equal(table.size, 0);
    }),
  );
});

test("correlation: KeyedTable ids are unique among live entries and wrap around", () => {
  const table = new KeyedTable<string>(1, 4);
  const a = table.add("a");
  const b = table.add("b");
  const c = table.add("c");
  assert.deepEqual([a, b, c], [1, 2, 3]);
  assert.throws(() => table.add("d"), RangeError, "full when every id is live");
  assert.equal(table.take(b), "b");
  assert.equal(table.add("d"), 2, "wraps and skips ids still in use");
  assert.equal(table.get(a), "a");
  assert.equal(table.take(99), undefined);
  assert.deepEqual([...table.entries()].map(([id]) => id), [1, 3, 2]);
  assert.deepEqual(table.drain(), ["a", "c", "d"]);
  assert.equal(table.size, 0);
});
