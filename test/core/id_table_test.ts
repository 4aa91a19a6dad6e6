// Tests for src/core/id_table.ts: the id-indexed window behaves like a Map under any sequence,
// and memory stays bounded when a long-lived entry blocks the window.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IdTable } from "../../src/core/id_table.ts";

type Op = { kind: "add" } | { kind: "jump"; by: number } | { kind: "delete"; pick: number } | {
  kind: "clear";
};

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "add" as const }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: -3000, max: 3000 }).map((by) => ({ kind: "jump" as const, by })),
  },
  { weight: 6, arbitrary: fc.nat().map((pick) => ({ kind: "delete" as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
);

test("IdTable: agrees with a Map under any sequence of set, delete and clear", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const table = new IdTable<string>();
      const model = new Map<number, string>();
      let next = 1;
      for (const o of ops) {
        if (o.kind === "add") {
          table.set(next, `v${next}`);
          model.set(next, `v${next}`);
          next++;
        } else if (o.kind === "jump") next = Math.max(0, next + o.by);
        else if (o.kind === "clear") {
          table.clear();
          model.clear();
        } else {
          const ids = [...model.keys()];
          const id = ids.length ? ids[o.pick % ids.length] : o.pick;
          assert.equal(table.delete(id), model.delete(id));
        }
        assert.equal(table.size, model.size);
      }
      for (const [id, value] of model) assert.equal(table.get(id), value);
      const unused = Math.max(next, ...model.keys()) + 1000; // never set
      assert.equal(table.get(unused), undefined);
      assert.equal(table.get(-1), undefined);
      const seen = new Map(table.entries());
      assert.deepEqual(
        [...seen].sort((a, b) => a[0] - b[0]),
        [...model].sort((a, b) => a[0] - b[0]),
      );
      assert.equal([...table.values()].length, model.size);
    }),
  );
});

test("IdTable: replacing an entry keeps the count", () => {
  const table = new IdTable<string>();
  table.set(7, "a").set(7, "b");
  assert.equal(table.size, 1);
  assert.equal(table.get(7), "b");
  assert.equal(table.delete(7), true);
  assert.equal(table.delete(7), false);
  assert.equal(table.size, 0);
});

test("IdTable: a long-lived first entry does not make the window grow without bound", () => {
  const table = new IdTable<number>();
  table.set(0, 0); // e.g. a watch that stays open
  for (let id = 1; id < 200_000; id++) {
    table.set(id, id);
    table.delete(id);
  }
  assert.equal(table.size, 1);
  assert.equal(table.get(0), 0);
  assert.deepEqual([...table.entries()], [[0, 0]]);
  // Retired slots are dropped: a few thousand at most are held, not 200,000.
  assert.ok(table.slots <= 4096, `${table.slots} slots held`);
  table.set(200_000, 1);
  assert.equal(table.delete(0), true);
  assert.equal(table.get(200_000), 1);
  assert.equal(table.size, 1);
});

test("IdTable: an id moved aside and set again is stored once", () => {
  const table = new IdTable<string>();
  table.set(5, "old"); // live while a whole turn of the ring goes by
  for (let id = 6; id < 300; id++) {
    table.set(id, "x");
    table.delete(id);
  }
  table.set(5 + 64 * 8, "collides"); // takes a slot; 5 is aside by now or soon
  table.set(5, "new");
  assert.equal(table.get(5), "new");
  assert.equal(table.size, 2);
  assert.equal(table.delete(5), true);
  assert.equal(table.get(5), undefined);
  assert.equal(table.size, 1);
});
