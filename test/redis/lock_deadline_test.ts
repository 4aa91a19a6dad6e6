// A blocking lock keeps trying until its blockingTimeout has passed (it used to give up one
// sleep interval early: at 0.4 s of 0.5 s with the default 0.1 s sleep), against a real server.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { redisAddress } from "../_helpers/servers.ts";

const redis = await RedisClient.connect({ ...(await redisAddress()), decode: true });
after(() => redis.close());
const name = `lock-deadline:${crypto.randomUUID()}`;

test("redis lock: a failed blocking acquire returns only once the whole blockingTimeout passed", async () => {
  const holder = redis.lock(`${name}:held`, { timeout: 10 });
  assert.equal(await holder.acquire(), true);
  const rival = redis.lock(`${name}:held`, { timeout: 10 });
  const started = performance.now();
  assert.equal(await rival.acquire({ blockingTimeout: 0.5 }), false);
  const waited = performance.now() - started;
  assert.ok(waited >= 495, `gave up after ${waited.toFixed(0)} ms of 500`);
  await holder.release();
});

test("redis lock: a lock freed just before the deadline is taken by the try at the deadline", async () => {
  const holder = redis.lock(`${name}:expiring`, { timeout: 10 });
  assert.equal(await holder.acquire(), true);
  await redis.pExpire(`${name}:expiring`, 430); // freed after the 0.4 s try, before 0.5 s
  const rival = redis.lock(`${name}:expiring`, { timeout: 10 });
  assert.equal(await rival.acquire({ blockingTimeout: 0.5 }), true);
  await rival.release();
});
