// Tests of the typed list commands, blocking pops included (src/redis/commands/lists.ts),
// against a real redis-server in RESP2 and RESP3 (https://redis.io/docs/latest/commands/).

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, isWrongType, prefix, redisModes } from "../_helpers/redis_modes.ts";
import { waitUntilBlocked } from "../_helpers/redis_blocked.ts";

const { each, observer } = redisModes("lists");
const te = new TextEncoder();

// ---- tests ----

each("lPush, rPush, lPushX, rPushX, lRange, lLen, lIndex", async ({ client, v, protocol }) => {
  assert.equal(client.protocol, protocol);
  const l = prefix() + "l";
  const missing = prefix() + "missing";
  assert.equal(await client.rPush(l, "b", "c"), 2);
  assert.equal(await client.lPush(l, "a", 0), 4);
  eq(await client.lRange(l, 0, -1), [v("0"), v("a"), v("b"), v("c")]);
  assert.equal(await client.lPushX(l, "x"), 5);
  assert.equal(await client.rPushX(l, te.encode("y")), 6);
  assert.equal(await client.lPushX(missing, "x"), 0);
  assert.equal(await client.rPushX(missing, "x"), 0);
  assert.equal(await client.exists(missing), 0);
  assert.equal(await client.lLen(l), 6);
  assert.equal(await client.lLen(missing), 0);
  eq(await client.lRange(l, 1, 2), [v("0"), v("a")]);
  eq(await client.lRange(l, -2, -1), [v("c"), v("y")]);
  eq(await client.lRange(l, 10, 20), []);
  eq(await client.lRange(missing, 0, -1), []);
  eq(await client.lIndex(l, 0), v("x"));
  eq(await client.lIndex(l, -1), v("y"));
  assert.equal(await client.lIndex(l, 99), null);
});

each("lPop and rPop, with and without a count", async ({ client, v }) => {
  const l = prefix() + "l";
  const missing = prefix() + "missing";
  await client.rPush(l, "a", "b", "c", "d", "e");
  eq(await client.lPop(l), v("a"));
  eq(await client.rPop(l), v("e"));
  eq(await client.lPop(l, 2), [v("b"), v("c")]);
  eq(await client.rPop(l, 5), [v("d")]);
  assert.equal(await client.lPop(l), null);
  assert.equal(await client.rPop(missing), null);
  assert.equal(await client.lPop(missing, 2), null, "a count on a missing list gives null");
  assert.equal(await client.rPop(missing, 2), null);
});

each("lSet, lInsert, lRem, lTrim", async ({ client, v }) => {
  const l = prefix() + "l";
  await client.rPush(l, "a", "x", "b", "x", "c", "x");
  assert.equal(await client.lSet(l, 0, "A"), true);
  await assert.rejects(
    client.lSet(l, 99, "z"),
    (e) => e instanceof RedisError && /range/.test(e.message),
  );
  await assert.rejects(client.lSet(prefix() + "missing", 0, "z"), RedisError);
  assert.equal(await client.lInsert(l, "BEFORE", "b", "b0"), 7);
  assert.equal(await client.lInsert(l, "AFTER", "c", "c1"), 8);
  assert.equal(await client.lInsert(l, "AFTER", "nope", "z"), -1);
  assert.equal(await client.lInsert(prefix() + "missing", "AFTER", "a", "z"), 0);
  eq(await client.lRange(l, 0, -1), ["A", "x", "b0", "b", "x", "c", "c1", "x"].map(v));
  assert.equal(await client.lRem(l, 1, "x"), 1);
  assert.equal(await client.lRem(l, -1, "x"), 1);
  eq(await client.lRange(l, 0, -1), ["A", "b0", "b", "x", "c", "c1"].map(v));
  assert.equal(await client.lRem(l, 0, "x"), 1);
  assert.equal(await client.lRem(l, 0, "nope"), 0);
  assert.equal(await client.lTrim(l, 1, 2), true);
  eq(await client.lRange(l, 0, -1), [v("b0"), v("b")]);
  assert.equal(await client.lTrim(l, 5, 10), true);
  assert.equal(await client.exists(l), 0);
});

each("lPos: first match, rank, maxLen, count, none", async ({ client }) => {
  const l = prefix() + "l";
  await client.rPush(l, "a", "b", "c", "b", "d", "b");
  assert.equal(await client.lPos(l, "b"), 1);
  assert.equal(await client.lPos(l, "b", { rank: 2 }), 3);
  assert.equal(await client.lPos(l, "b", { rank: -1 }), 5);
  assert.equal(await client.lPos(l, "z"), null);
  assert.equal(await client.lPos(l, "d", { maxLen: 3 }), null);
  assert.deepStrictEqual(await client.lPos(l, "b", { count: 0 }), [1, 3, 5]);
  assert.deepStrictEqual(await client.lPos(l, "b", { count: 2, rank: -1 }), [5, 3]);
  assert.deepStrictEqual(await client.lPos(l, "z", { count: 0 }), []);
  assert.equal(await client.lPos(prefix() + "missing", "a"), null);
});

each("lMove, rPopLPush, lmPop", async ({ client, v }) => {
  const p = prefix();
  await client.rPush(p + "src", "a", "b", "c");
  eq(await client.lMove(p + "src", p + "dst", "LEFT", "RIGHT"), v("a"));
  eq(await client.rPopLPush(p + "src", p + "dst"), v("c"));
  eq(await client.lRange(p + "dst", 0, -1), [v("c"), v("a")]);
  assert.equal(await client.lMove(p + "none", p + "dst", "LEFT", "LEFT"), null);
  assert.equal(await client.rPopLPush(p + "none", p + "dst"), null);
  eq(await client.lmPop([p + "none", p + "dst"], "RIGHT", 5), [v(p + "dst"), [v("a"), v("c")]]);
  eq(await client.lmPop(p + "src", "LEFT"), [v(p + "src"), [v("b")]]);
  assert.equal(await client.lmPop([p + "none", p + "src"], "LEFT", 2), null);
});

each("blPop wakes when another client pushes", async ({ client, v, fresh }) => {
  const l = prefix() + "l";
  const blocker = await fresh();
  try {
    const popped = blocker.blPop([prefix() + "other", l], 0);
    await waitUntilBlocked(observer(), "blpop");
    assert.equal(await client.rPush(l, "job1", "job2"), 2);
    eq(await popped, [v(l), v("job1")]);
    eq(await client.lRange(l, 0, -1), [v("job2")]);
  } finally {
    await blocker.close();
  }
});

each("brPop, blMove, brPopLPush and blmPop wake when another client pushes", async (m) => {
  const { client, v, fresh } = m;
  const p = prefix();
  const blocker = await fresh();
  try {
    const wake = async <T>(pending: Promise<T>, key: string, command: string): Promise<T> => {
      await waitUntilBlocked(observer(), command);
      await client.rPush(key, "x", "y");
      return await pending;
    };
    eq(await wake(blocker.brPop(p + "a", 5), p + "a", "brpop"), [v(p + "a"), v("y")]);
    eq(
      await wake(blocker.blMove(p + "b", p + "dst", "LEFT", "LEFT", 5), p + "b", "blmove"),
      v("x"),
    );
    eq(await wake(blocker.brPopLPush(p + "c", p + "dst", 5), p + "c", "brpoplpush"), v("y"));
    eq(await wake(blocker.blmPop([p + "d"], "LEFT", 5, 10), p + "d", "blmpop"), [v(p + "d"), [
      v("x"),
      v("y"),
    ]]);
    eq(await client.lRange(p + "dst", 0, -1), [v("y"), v("x")]);
  } finally {
    await blocker.close();
  }
});

each("blocking pops resolve null when the server timeout expires", async ({ fresh }) => {
  const p = prefix();
  const blocker = await fresh();
  try {
    const started = Date.now();
    assert.equal(await blocker.blPop(p + "empty", 0.1), null);
    assert.ok(Date.now() - started >= 80, "BLPOP waited for its timeout");
    assert.equal(await blocker.brPop([p + "e1", p + "e2"], 0.05), null);
    assert.equal(await blocker.blMove(p + "e", p + "d", "RIGHT", "LEFT", 0.05), null);
    assert.equal(await blocker.brPopLPush(p + "e", p + "d", 0.05), null);
    assert.equal(await blocker.blmPop(p + "e", "RIGHT", 0.05), null);
    assert.equal(await blocker.exists(p + "d"), 0);
  } finally {
    await blocker.close();
  }
});

each("blocking pops return at once when an element is there", async ({ client, v }) => {
  const l = prefix() + "l";
  await client.rPush(l, "a", "b");
  eq(await client.blPop(l, 1), [v(l), v("a")]);
  eq(await client.brPop(l, 1), [v(l), v("b")]);
});

each("WRONGTYPE surfaces as a rejected RedisError", async ({ client }) => {
  const k = prefix() + "str";
  await client.set(k, "x");
  await assert.rejects(client.lPush(k, "a"), isWrongType);
  await assert.rejects(client.lRange(k, 0, -1), isWrongType);
  await assert.rejects(client.blPop(k, 0.01), isWrongType);
});

each("pipeline results are typed like direct calls", async ({ client, v }) => {
  const l = prefix() + "l";
  const results = await client.pipeline()
    .rPush(l, "a", "b", "c", "b")
    .lPop(l)
    .lPop(l, 1)
    .lRange(l, 0, -1)
    .lPos(l, "b", { count: 0 })
    .lIndex(l, 9)
    .blPop(l, 1)
    .lmPop(l, "RIGHT", 2)
    .exec();
  eq(results, [4, v("a"), [v("b")], [v("c"), v("b")], [1], null, [v(l), v("c")], [v(l), [v("b")]]]);
  await client.rPush(l, "z");
  const [range, pos] = await client.pipeline().lRange(l, 0, -1).lPos(l, "z").exec();
  eq(range, await client.lRange(l, 0, -1));
  assert.equal(pos, await client.lPos(l, "z"));
});
