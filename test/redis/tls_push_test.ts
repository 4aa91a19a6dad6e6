// RedisClient over TLS to a real redis-server (rediss://, verification on by default), RESP3
// pushes on the main connection (client-side caching invalidations), sharded pub/sub.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TlsError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import type { RedisPush } from "../../src/redis/pubsub_frames.ts";
import { createTlsFiles, startRedis } from "../../scripts/servers.ts";
import { redisAddress } from "../_helpers/servers.ts";

test("redis tls: rediss:// with the server's CA works; without it verification fails", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvwire-tls-"));
  const files = await createTlsFiles(dir);
  const server = await startRedis({ tls: files });
  try {
    const ca = readFileSync(files.caFile, "utf8");
    const redis = await RedisClient.connect(`rediss://127.0.0.1:${server.tlsPort}`, {
      tls: { ca },
      decode: true,
    });
    assert.equal(await redis.set("tls:k", "secret value"), true);
    assert.equal(await redis.get("tls:k"), "secret value");
    await redis.close();
    await assert.rejects(
      RedisClient.connect(`rediss://127.0.0.1:${server.tlsPort}`, {
        reconnect: { enabled: false },
      }),
      (e: unknown) => e instanceof TlsError && e.message.includes(`127.0.0.1:${server.tlsPort}`),
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("redis push: RESP3 invalidation pushes reach onPush on the main connection", async () => {
  const addr = await redisAddress();
  const key = `push:${crypto.randomUUID()}`;
  let resolvePush!: (push: RedisPush) => void;
  const pushed = new Promise<RedisPush>((resolve) => (resolvePush = resolve));
  const tracked = await RedisClient.connect({ ...addr, onPush: (p) => resolvePush(p) });
  const writer = await RedisClient.connect(addr);
  try {
    await tracked.send("CLIENT", "TRACKING", "ON");
    await tracked.get(key); // now tracked
    await writer.set(key, "changed");
    const push = await pushed;
    assert.equal(push.type, "push");
    assert.equal(push.type === "push" && push.kind, "invalidate");
    const keys = push.type === "push" ? push.items[1] : undefined;
    assert.deepEqual(keys, [new TextEncoder().encode(key)]);
    assert.equal(await tracked.ping(), "PONG", "replies still line up after the push");
  } finally {
    await tracked.close();
    await writer.close();
  }
});

for (const protocol of [2, 3] as const) {
  test(`redis sharded pub/sub RESP${protocol}: ssubscribe receives smessage`, async () => {
    const addr = await redisAddress();
    const channel = `shard:${crypto.randomUUID()}`;
    const redis = await RedisClient.connect({ ...addr, protocol, decode: true });
    const pubsub = redis.pubsub({ ignoreSubscribeMessages: true });
    try {
      await pubsub.ssubscribe(channel);
      assert.deepEqual(pubsub.shardChannels, [channel]);
      assert.equal(await redis.sPublish(channel, "sharded hello"), 1);
      const message = await pubsub.getMessage({ timeout: 2000 });
      assert.deepEqual(message, { type: "smessage", channel, data: "sharded hello" });
      await pubsub.sunsubscribe();
      assert.equal(await redis.sPublish(channel, "nobody"), 0);
    } finally {
      await pubsub.close();
      await redis.close();
    }
  });
}
