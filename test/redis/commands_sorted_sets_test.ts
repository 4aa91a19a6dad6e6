// Tests of the typed sorted set commands (src/redis/commands/sorted_sets.ts) against a real
// redis-server: RESP2 sends scores as bulk text, RESP3 as doubles; both must give numbers.

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, isWrongType, norm, prefix, redisModes, sorted } from "../_helpers/redis_modes.ts";
import { waitUntilBlocked } from "../_helpers/redis_blocked.ts";

const { each, observer } = redisModes("sorted sets");
const te = new TextEncoder();

// ---- tests ----

each(
  "zAdd from an object, a Map and pairs; options nx, xx, gt, lt, ch",
  async ({ client, protocol }) => {
    assert.equal(client.protocol, protocol);
    const z = prefix() + "z";
    assert.equal(await client.zAdd(z, { a: 1, b: 2.5 }), 2);
    assert.equal(
      await client.zAdd(z, new Map<string | Uint8Array, number>([["c", 3], [te.encode("d"), -4]])),
      2,
    );
    assert.equal(await client.zAdd(z, [["e", Infinity], ["a", 10]]), 1);
    assert.equal(await client.zScore(z, "a"), 10);
    assert.equal(await client.zScore(z, "e"), Infinity);
    assert.equal(await client.zScore(z, "d"), -4);
    assert.equal(await client.zAdd(z, { a: 0, f: 6 }, { nx: true }), 1);
    assert.equal(await client.zScore(z, "a"), 10, "nx does not update");
    assert.equal(await client.zAdd(z, { a: 11, g: 7 }, { xx: true }), 0);
    assert.equal(await client.zScore(z, "a"), 11, "xx updates");
    assert.equal(await client.zScore(z, "g"), null, "xx does not add");
    assert.equal(await client.zAdd(z, { a: 5, b: 9 }, { gt: true, ch: true }), 1);
    assert.deepStrictEqual(await client.zmScore(z, "a", "b"), [11, 9]);
    assert.equal(await client.zAdd(z, { a: 5, b: 10 }, { lt: true, ch: true }), 1);
    assert.deepStrictEqual(await client.zmScore(z, "a", "b", "nope"), [5, 9, null]);
    assert.equal(await client.zAdd(z, { a: 5 }, { ch: true }), 0);
    await assert.rejects(client.zAdd(z, { a: 1 }, { nx: true, xx: true }), RedisError);
    assert.throws(() => client.zAdd(z, {}), TypeError);
  },
);

each("zAddIncr and zIncrBy return the new score", async ({ client }) => {
  const z = prefix() + "z";
  assert.equal(await client.zAddIncr(z, "a", 1.5), 1.5);
  assert.equal(await client.zAddIncr(z, "a", 2), 3.5);
  assert.equal(await client.zAddIncr(z, "a", 1, { nx: true }), null);
  assert.equal(await client.zAddIncr(z, "b", 1, { xx: true }), null);
  assert.equal(await client.zAddIncr(z, "a", -10, { gt: true }), null);
  assert.equal(await client.zIncrBy(z, 0.25, "a"), 3.75);
  assert.equal(await client.zIncrBy(z, -1, "new"), -1);
  assert.equal(await client.zIncrBy(z, -Infinity, "new"), -Infinity);
});

each("zScore, zmScore, zRank, zRevRank, zCard, zCount, zRem", async ({ client }) => {
  const z = prefix() + "z";
  const missing = prefix() + "missing";
  await client.zAdd(z, { a: 1, b: 2, c: 3, d: 4 });
  assert.equal(await client.zScore(missing, "a"), null);
  assert.deepStrictEqual(await client.zmScore(missing, "a", "b"), [null, null]);
  assert.equal(await client.zRank(z, "a"), 0);
  assert.equal(await client.zRank(z, "d"), 3);
  assert.equal(await client.zRevRank(z, "a"), 3);
  assert.equal(await client.zRank(z, "nope"), null);
  assert.equal(await client.zRevRank(missing, "a"), null);
  assert.equal(await client.zCard(z), 4);
  assert.equal(await client.zCard(missing), 0);
  assert.equal(await client.zCount(z, "-inf", "+inf"), 4);
  assert.equal(await client.zCount(z, 2, 3), 2);
  assert.equal(await client.zCount(z, "(2", 3), 1);
  assert.equal(await client.zCount(z, -Infinity, "(4"), 3);
  assert.equal(await client.zRem(z, "a", "nope"), 1);
  assert.equal(await client.zCard(z), 3);
});

each("zRange by index, reversed, with scores", async ({ client, v }) => {
  const z = prefix() + "z";
  await client.zAdd(z, { a: 1, b: 2.5, c: -3, d: Infinity });
  eq(await client.zRange(z, 0, -1), ["c", "a", "b", "d"].map(v));
  eq(await client.zRange(z, 0, 1, { rev: true }), [v("d"), v("b")]);
  eq(await client.zRange(z, 0, -1, { withScores: true }), [
    [v("c"), -3],
    [v("a"), 1],
    [v("b"), 2.5],
    [v("d"), Infinity],
  ]);
  eq(await client.zRange(z, 0, 0, { withScores: true, rev: true }), [[v("d"), Infinity]]);
  eq(await client.zRange(z, 1, 1, { withScores: false }), [v("a")]);
  eq(await client.zRange(z, 10, 20), []);
  eq(await client.zRange(prefix() + "missing", 0, -1, { withScores: true }), []);
});

each("zRangeByScore, zRevRangeByScore, zRangeByLex with limits", async ({ client, v }) => {
  const z = prefix() + "z";
  await client.zAdd(z, { a: 1, b: 2, c: 3, d: 4, e: 5 });
  eq(await client.zRangeByScore(z, 2, 4), ["b", "c", "d"].map(v));
  eq(await client.zRangeByScore(z, "(2", "+inf"), ["c", "d", "e"].map(v));
  eq(await client.zRangeByScore(z, "-inf", "(2", { withScores: true }), [[v("a"), 1]]);
  eq(
    await client.zRangeByScore(z, -Infinity, Infinity, {
      withScores: true,
      limit: { offset: 1, count: 2 },
    }),
    [[v("b"), 2], [v("c"), 3]],
  );
  eq(await client.zRangeByScore(z, 6, 9), []);
  eq(await client.zRevRangeByScore(z, 4, 2), ["d", "c", "b"].map(v));
  eq(await client.zRevRangeByScore(z, "+inf", "(4", { withScores: true }), [[v("e"), 5]]);
  eq(await client.zRevRangeByScore(z, "+inf", "-inf", { limit: { offset: 0, count: 1 } }), [
    v("e"),
  ]);
  const lex = prefix() + "lex";
  await client.zAdd(lex, { apple: 0, banana: 0, cherry: 0, date: 0 });
  eq(await client.zRangeByLex(lex, "-", "+"), ["apple", "banana", "cherry", "date"].map(v));
  eq(await client.zRangeByLex(lex, "[b", "(d"), [v("banana"), v("cherry")]);
  eq(await client.zRangeByLex(lex, "(banana", "+", { limit: { offset: 1, count: 5 } }), [
    v("date"),
  ]);
});

each("zRemRangeByRank and zRemRangeByScore", async ({ client, v }) => {
  const z = prefix() + "z";
  await client.zAdd(z, { a: 1, b: 2, c: 3, d: 4, e: 5 });
  assert.equal(await client.zRemRangeByRank(z, 0, 1), 2);
  assert.equal(await client.zRemRangeByScore(z, "(3", 4), 1);
  assert.equal(await client.zRemRangeByScore(z, 10, "+inf"), 0);
  eq(await client.zRange(z, 0, -1), [v("c"), v("e")]);
  assert.equal(await client.zRemRangeByRank(prefix() + "missing", 0, -1), 0);
});

each("zPopMin and zPopMax, with and without a count", async ({ client, v }) => {
  const z = prefix() + "z";
  await client.zAdd(z, { a: 1, b: 2.5, c: 3, d: 4 });
  eq(await client.zPopMin(z), [v("a"), 1]);
  eq(await client.zPopMax(z), [v("d"), 4]);
  eq(await client.zPopMin(z, 1), [[v("b"), 2.5]]);
  eq(await client.zPopMax(z, 5), [[v("c"), 3]]);
  assert.equal(await client.zPopMin(z), null);
  assert.equal(await client.zPopMax(z), null);
  eq(await client.zPopMin(z, 2), []);
  eq(await client.zPopMax(z, 2), []);
});

each(
  "bzPopMin and bzPopMax wake when another client adds; null on timeout",
  async ({ client, v, fresh }) => {
    const p = prefix();
    const blocker = await fresh();
    try {
      const min = blocker.bzPopMin([p + "none", p + "z"], 5);
      await waitUntilBlocked(observer(), "bzpopmin");
      await client.zAdd(p + "z", { b: 2, a: 1.5 });
      eq(await min, [v(p + "z"), v("a"), 1.5]);
      const max = blocker.bzPopMax(p + "y", 0);
      await waitUntilBlocked(observer(), "bzpopmax");
      await client.zAdd(p + "y", { x: -2, y: 7 });
      eq(await max, [v(p + "y"), v("y"), 7]);
      eq(await blocker.bzPopMax(p + "z", 0.05), [v(p + "z"), v("b"), 2]);
      assert.equal(await blocker.bzPopMin(p + "z", 0.1), null);
      assert.equal(await blocker.bzPopMax([p + "z", p + "none"], 0.05), null);
    } finally {
      await blocker.close();
    }
  },
);

each("zUnionStore and zInterStore with weights and aggregate", async ({ client, v }) => {
  const p = prefix();
  await client.zAdd(p + "a", { x: 1, y: 2 });
  await client.zAdd(p + "b", { y: 10, z: 20 });
  assert.equal(await client.zUnionStore(p + "u", [p + "a", p + "b"]), 3);
  eq(await client.zRange(p + "u", 0, -1, { withScores: true }), [[v("x"), 1], [v("y"), 12], [
    v("z"),
    20,
  ]]);
  assert.equal(
    await client.zUnionStore(p + "u", [p + "a", p + "b"], { weights: [2, 0.5], aggregate: "MAX" }),
    3,
  );
  eq(await client.zRange(p + "u", 0, -1, { withScores: true }), [[v("x"), 2], [v("y"), 5], [
    v("z"),
    10,
  ]]);
  assert.equal(await client.zInterStore(p + "i", [p + "a", p + "b"]), 1);
  eq(await client.zRange(p + "i", 0, -1, { withScores: true }), [[v("y"), 12]]);
  assert.equal(await client.zInterStore(p + "i", [p + "a", p + "b"], { aggregate: "MIN" }), 1);
  assert.equal(await client.zScore(p + "i", "y"), 2);
  assert.equal(await client.zInterStore(p + "i", [p + "a", p + "none"]), 0);
  assert.equal(await client.exists(p + "i"), 0);
});

each("zScan walks every member with its score", async ({ client, v }) => {
  const z = prefix() + "z";
  const members: Record<string, number> = {};
  for (let i = 0; i < 300; i++) members[`m${i}`] = i / 2;
  await client.zAdd(z, members);
  const seen = new Map<string, number>();
  let cursor: string = "0";
  do {
    const page = await client.zScan(z, cursor, { count: 40 });
    for (const [m, score] of page.items) seen.set(JSON.stringify(norm(m)), score);
    cursor = page.cursor;
  } while (cursor !== "0");
  assert.equal(seen.size, 300);
  assert.equal(seen.get(JSON.stringify(norm(v("m7")))), 3.5);
  const small = prefix() + "small";
  await client.zAdd(small, { a: 1.5, b: -Infinity });
  const page = await client.zScan(small, 0, { match: "*" });
  assert.equal(page.cursor, "0");
  eq(sorted(page.items), [[v("a"), 1.5], [v("b"), -Infinity]]);
  eq(await client.zScan(prefix() + "missing", 0), { cursor: "0", items: [] });
});

each("WRONGTYPE surfaces as a rejected RedisError", async ({ client }) => {
  const k = prefix() + "str";
  await client.set(k, "x");
  await assert.rejects(client.zAdd(k, { a: 1 }), isWrongType);
  await assert.rejects(client.zRange(k, 0, -1, { withScores: true }), isWrongType);
  await assert.rejects(client.zScore(k, "a"), isWrongType);
});

each("pipeline results are typed like direct calls", async ({ client, v }) => {
  const z = prefix() + "z";
  const results = await client.pipeline()
    .zAdd(z, { a: 1, b: 2.5, c: 3 })
    .zAddIncr(z, "a", 0.5)
    .zIncrBy(z, 1, "c")
    .zScore(z, "b")
    .zmScore(z, "a", "nope")
    .zRange(z, 0, -1, { withScores: true })
    .zRangeByScore(z, "(1.5", "+inf")
    .zRank(z, "nope")
    .zPopMax(z)
    .bzPopMin(z, 1)
    .exec();
  eq(results, [
    3,
    1.5,
    4,
    2.5,
    [1.5, null],
    [[v("a"), 1.5], [v("b"), 2.5], [v("c"), 4]],
    [v("b"), v("c")],
    null,
    [v("c"), 4],
    [v(z), v("a"), 1.5],
  ]);
  const [range, popped] = await client.pipeline().zRange(z, 0, -1, { withScores: true }).zPopMin(
    z,
    1,
  ).exec();
  eq(range, [[v("b"), 2.5]]);
  eq(popped, [[v("b"), 2.5]]);
  await client.zAdd(z, { q: 1 });
  const [byScore] = await client.pipeline().zRangeByScore(z, 0, 1, { withScores: true }).exec();
  eq(byScore, await client.zRangeByScore(z, 0, 1, { withScores: true }));
});
