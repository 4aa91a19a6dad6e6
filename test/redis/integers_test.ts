// Integer replies beyond ±(2^53−1) reach the caller exactly (bigint), against a real
// redis-server in RESP2 and RESP3: counters never apply-then-throw.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { asInteger, asNumber } from "../../src/redis/commands/transforms.ts";
import { redisAddress } from "../_helpers/servers.ts";

const addr = await redisAddress();
const prefix = `integers:${crypto.randomUUID()}:`;
const clients: RedisClient<unknown>[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

for (const protocol of [2, 3] as const) {
  test(`redis integers RESP${protocol}: INCR past 2^53 resolves with the exact bigint`, async () => {
    const redis = await RedisClient.connect({ ...addr, protocol, decode: true });
    clients.push(redis as RedisClient<unknown>);
    const k = `${prefix}incr${protocol}`;
    await redis.set(k, "9007199254740993");
    assert.equal(await redis.incr(k), 9007199254740994n);
    assert.equal(await redis.incrBy(k, 10n), 9007199254741004n);
    assert.equal(await redis.decr(k), 9007199254741003n);
    assert.equal(await redis.decrBy(k, 9007199254741000n), 3, "safe again: a number");
    await redis.set(k, "-9223372036854775807");
    assert.equal(await redis.decr(k), -9223372036854775808n);
    const h = `${prefix}hash${protocol}`;
    await redis.hSet(h, "f", "9223372036854775800");
    assert.equal(await redis.hIncrBy(h, "f", 7), 9223372036854775807n);
    assert.equal(await redis.hIncrBy(h, "g", 5), 5);
    assert.equal(await redis.get(k), "-9223372036854775808", "applied exactly once");
  });

  test(`redis integers RESP${protocol}: untyped send() carries bigint beyond the safe range`, async () => {
    const redis = await RedisClient.connect({ ...addr, protocol });
    clients.push(redis as RedisClient<unknown>);
    const k = `${prefix}send${protocol}`;
    await redis.set(k, "9007199254740992");
    assert.equal(await redis.send("INCR", k), 9007199254740993n);
    assert.equal(await redis.send("INCRBY", k, -1), 9007199254740992n);
    assert.equal(await redis.send("INCRBY", k, -2), 9007199254740990);
  });
}

test("redis integers: a count beyond 2^53 is a RemoteProtocolError with sent, never a RangeError", () => {
  assert.throws(
    () => asNumber(2n ** 60n, { decode: false }),
    (e: unknown) => e instanceof RemoteProtocolError && e.sent === true,
  );
  assert.equal(
    asInteger(new TextEncoder().encode("-9223372036854775808"), { decode: false }),
    -(2n ** 63n),
  );
  assert.equal(asInteger("12", { decode: true }), 12);
});
