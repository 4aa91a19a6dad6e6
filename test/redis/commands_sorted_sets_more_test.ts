// Tests of the extra sorted set commands (src/redis/commands/sorted_sets_more.ts) against a real
// redis-server: scores are numbers in RESP2 (bulk text) and RESP3 (doubles) alike.

import assert from "node:assert/strict";
import { eq, isWrongType, prefix, redisModes, sorted } from "../_helpers/redis_modes.ts";
import { waitUntilBlocked } from "../_helpers/redis_blocked.ts";

const { each, observer } = redisModes("sorted sets more");

each("zUnion, zInter, zDiff with weights, aggregate and scores", async ({ client, v }) => {
  const p = prefix();
  await client.zAdd(p + "a", { x: 1, y: 2, z: 3 });
  await client.zAdd(p + "b", { y: 10, z: 0.5 });
  eq(await client.zUnion([p + "a", p + "b"]), [v("x"), v("z"), v("y")]);
  eq(await client.zUnion([p + "a", p + "b"], { withScores: true }), [
    [v("x"), 1],
    [v("z"), 3.5],
    [v("y"), 12],
  ]);
  eq(
    await client.zUnion([p + "a", p + "b"], {
      weights: [2, 1],
      aggregate: "MAX",
      withScores: true,
    }),
    [
      [v("x"), 2],
      [v("z"), 6],
      [v("y"), 10],
    ],
  );
  eq(await client.zInter([p + "a", p + "b"], { aggregate: "MIN", withScores: true }), [
    [v("z"), 0.5],
    [v("y"), 2],
  ]);
  eq(await client.zInter([p + "a", p + "none"]), []);
  eq(await client.zDiff([p + "a", p + "b"]), [v("x")]);
  eq(await client.zDiff([p + "a", p + "b"], { withScores: true }), [[v("x"), 1]]);
  assert.equal(await client.zDiffStore(p + "d", [p + "a", p + "b"]), 1);
  eq(await client.zRange(p + "d", 0, -1, { withScores: true }), [[v("x"), 1]]);
  assert.equal(await client.zInterCard([p + "a", p + "b"]), 2);
  assert.equal(await client.zInterCard([p + "a", p + "b"], { limit: 1 }), 1);
});

each("zmPop and bzmPop, including a wait woken by another client", async ({ client, v, fresh }) => {
  const p = prefix();
  await client.zAdd(p + "z", { a: 1, b: 2, c: 3 });
  eq(await client.zmPop([p + "none", p + "z"], "MIN"), { key: v(p + "z"), members: [[v("a"), 1]] });
  eq(await client.zmPop([p + "z"], "MAX", { count: 5 }), {
    key: v(p + "z"),
    members: [[v("c"), 3], [v("b"), 2]],
  });
  assert.equal(await client.zmPop([p + "z"], "MIN"), null);
  assert.throws(() => client.zmPop([], "MIN"), TypeError);
  const blocker = await fresh();
  try {
    assert.equal(await blocker.bzmPop(0.05, [p + "z"], "MIN"), null);
    const waiting = blocker.bzmPop(5, [p + "w"], "MAX", { count: 2 });
    await waitUntilBlocked(observer(), "bzmpop");
    await client.zAdd(p + "w", { x: 1.5, y: -2, q: 0 });
    eq(await waiting, { key: v(p + "w"), members: [[v("x"), 1.5], [v("q"), 0]] });
  } finally {
    await blocker.close();
  }
});

each("zRandMember with and without count and scores", async ({ client, v }) => {
  const p = prefix();
  await client.zAdd(p + "z", { a: 1, b: 2 });
  const one = await client.zRandMember(p + "z");
  assert.ok([v("a"), v("b")].some((x) => JSON.stringify(x) === JSON.stringify(one)));
  assert.equal(await client.zRandMember(p + "none"), null);
  eq(sorted(await client.zRandMember(p + "z", 5)), [v("a"), v("b")]);
  eq(sorted(await client.zRandMember(p + "z", 2, { withScores: true })), [[v("a"), 1], [
    v("b"),
    2,
  ]]);
  const repeats = await client.zRandMember(p + "z", -5, { withScores: true });
  assert.equal(repeats.length, 5);
  for (const [, score] of repeats) assert.equal(typeof score, "number");
  eq(await client.zRandMember(p + "none", 3), []);
});

each("zRangeStore, zLexCount, zRemRangeByLex, zRevRange, zRevRangeByLex", async ({ client, v }) => {
  const p = prefix();
  await client.zAdd(p + "z", { a: 1, b: 2, c: 3, d: 4 });
  assert.equal(await client.zRangeStore(p + "r", p + "z", 1, 2), 2);
  eq(await client.zRange(p + "r", 0, -1), [v("b"), v("c")]);
  assert.equal(
    await client.zRangeStore(p + "s", p + "z", "+inf", 2, {
      by: "SCORE",
      rev: true,
      limit: { offset: 0, count: 2 },
    }),
    2,
  );
  eq(await client.zRange(p + "s", 0, -1), [v("c"), v("d")]);
  await client.zAdd(p + "l", { a: 0, b: 0, c: 0, d: 0 });
  assert.equal(await client.zRangeStore(p + "t", p + "l", "[b", "+", { by: "LEX" }), 3);
  assert.equal(await client.zLexCount(p + "l", "(a", "[c"), 2);
  eq(await client.zRevRangeByLex(p + "l", "+", "[b"), [v("d"), v("c"), v("b")]);
  eq(await client.zRevRangeByLex(p + "l", "+", "-", { limit: { offset: 1, count: 1 } }), [v("c")]);
  assert.equal(await client.zRemRangeByLex(p + "l", "-", "(c"), 2);
  eq(await client.zRevRange(p + "z", 0, 1), [v("d"), v("c")]);
  eq(await client.zRevRange(p + "z", -1, -1, { withScores: true }), [[v("a"), 1]]);
});

each("WRONGTYPE and pipelines", async ({ client, v }) => {
  const p = prefix();
  await client.set(p + "s", "x");
  await assert.rejects(client.zUnion([p + "s"]), isWrongType);
  await assert.rejects(client.zmPop([p + "s"], "MIN"), isWrongType);
  const results = await client.pipeline()
    .zAdd(p + "z", { a: 1 })
    .zUnion([p + "z"], { withScores: true })
    .zmPop([p + "z"], "MIN")
    .zRandMember(p + "z")
    .exec();
  eq(results, [1, [[v("a"), 1]], { key: v(p + "z"), members: [[v("a"), 1]] }, null]);
});
