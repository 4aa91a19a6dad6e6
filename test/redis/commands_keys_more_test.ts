// Tests of the extra key commands (src/redis/commands/keys_more.ts) against a real redis-server,
// in RESP2 and RESP3: SORT/SORT_RO, OBJECT, DUMP/RESTORE, MOVE, PEXPIRETIME.

import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { eq, isWrongType, prefix, redisModes } from "../_helpers/redis_modes.ts";
import { redisAddress } from "../_helpers/servers.ts";

const { each } = redisModes("keys more");

each("sort, sortRo and sortStore with by, get, limit, order, alpha", async ({ client, v }) => {
  const p = prefix();
  await client.rPush(p + "l", "3", "1", "2");
  eq(await client.sort(p + "l"), ["1", "2", "3"].map(v));
  eq(await client.sort(p + "l", { order: "DESC", limit: { offset: 0, count: 2 } }), [
    v("3"),
    v("2"),
  ]);
  await client.mSet({
    [p + "w_1"]: "30",
    [p + "w_2"]: "10",
    [p + "w_3"]: "20",
    [p + "o_2"]: "two",
  });
  eq(await client.sortRo(p + "l", { by: p + "w_*" }), ["2", "3", "1"].map(v));
  eq(await client.sort(p + "l", { by: p + "w_*", get: ["#", p + "o_*"] }), [
    v("2"),
    v("two"),
    v("3"),
    null,
    v("1"),
    null,
  ]);
  await client.rPush(p + "t", "b", "c", "a");
  await assert.rejects(client.sort(p + "t"), RedisError, "non-numbers need alpha");
  eq(await client.sortRo(p + "t", { alpha: true }), ["a", "b", "c"].map(v));
  assert.equal(await client.sortStore(p + "t", p + "dst", { alpha: true, order: "DESC" }), 3);
  eq(await client.lRange(p + "dst", 0, -1), ["c", "b", "a"].map(v));
  eq(await client.sort(p + "none"), []);
});

each("objectIdleTime, objectRefCount, objectFreq", async ({ client }) => {
  const k = prefix() + "k";
  await client.set(k, "value");
  const idle = await client.objectIdleTime(k);
  assert.ok(typeof idle === "number" && idle >= 0);
  assert.equal(await client.objectRefCount(k), 1);
  assert.equal(await client.objectIdleTime(prefix() + "none"), null);
  assert.equal(await client.objectRefCount(prefix() + "none"), null);
  await assert.rejects(
    client.objectFreq(k),
    (e) => e instanceof RedisError && /LFU/.test(e.message),
  );
});

each(
  "dump and restore, replace, ttl, absTtl; dump refuses decoded text",
  async ({ client, v, protocol }) => {
    const p = prefix();
    await client.rPush(p + "l", "a", "b");
    const bytesClient = await RedisClient.connect({ ...(await redisAddress()), protocol });
    let payload: Uint8Array;
    try {
      payload = (await bytesClient.dump(p + "l"))!;
      if (v("x") instanceof Uint8Array) eq(await client.dump(p + "l"), payload);
      else {await assert.rejects(
          client.dump(p + "l"),
          (e) => e instanceof RemoteProtocolError && e.sent,
        );}
    } finally {
      await bytesClient.close();
    }
    assert.ok(payload instanceof Uint8Array);
    assert.equal(await client.dump(p + "none"), null);
    assert.equal(await client.restore(p + "copy", 0, payload), true);
    eq(await client.lRange(p + "copy", 0, -1), [v("a"), v("b")]);
    await assert.rejects(
      client.restore(p + "copy", 0, payload),
      (e) => e instanceof RedisError && e.serverCode === "BUSYKEY",
    );
    assert.equal(
      await client.restore(p + "copy", 60_000, payload, { replace: true, idleTime: 5 }),
      true,
    );
    const ttl = await client.pTtl(p + "copy");
    assert.ok(ttl > 0 && ttl <= 60_000);
    const at = Date.now() + 120_000;
    assert.equal(await client.restore(p + "abs", at, payload, { absTtl: true }), true);
    assert.equal(await client.restoreAsking(p + "asked", 0, payload), true);
    eq(await client.lRange(p + "asked", 0, -1), [v("a"), v("b")]);
    await assert.rejects(client.restoreAsking(p + "asked", 0, payload), /BUSYKEY/);
    assert.equal(await client.restoreAsking(p + "asked", 0, payload, { replace: true }), true);
    assert.equal(await client.pExpireTime(p + "abs"), at);
    assert.equal(await client.pExpireTime(p + "l"), -1);
    assert.equal(await client.pExpireTime(p + "none"), -2);
  },
);

each("move to another database", async ({ client }) => {
  const k = prefix() + "k";
  await client.set(k, "x");
  const other = await RedisClient.connect({ ...(await redisAddress()), db: 1 });
  try {
    assert.equal(await client.move(k, 1), true);
    assert.equal(await client.exists(k), 0);
    assert.equal(await other.exists(k), 1);
    assert.equal(await client.move(k, 1), false, "missing here");
    await client.set(k, "y");
    assert.equal(await client.move(k, 1), false, "already there");
  } finally {
    await other.del(k);
    await client.del(k);
    await other.close();
  }
});

each("WRONGTYPE and pipelines", async ({ client, v }) => {
  const p = prefix();
  await client.hSet(p + "h", { f: "1" });
  await assert.rejects(client.sort(p + "h"), isWrongType);
  const [pushed, sortedItems, freqless] = await client.pipeline()
    .rPush(p + "l", "2", "1")
    .sort(p + "l")
    .objectRefCount(p + "none")
    .exec();
  assert.equal(pushed, 2);
  eq(sortedItems, [v("1"), v("2")]);
  assert.equal(freqless, null);
});
