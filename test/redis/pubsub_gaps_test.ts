// Pub/sub without silent losses: getMessage({ timeout }) polls that time out take nothing, and
// a subscriber whose connection was dropped (output-buffer limit, CLIENT KILL) sees a marker.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import type { PubSubMessage, ResubscribedMessage } from "../../src/redis/pubsub.ts";
import { startRedisProcess } from "./_redis_process.ts";

// A server of its own: these tests kill subscribers and change output-buffer limits.
const server = await startRedisProcess();
const prefix = `gaps:${crypto.randomUUID()}:`;
const clients: RedisClient<unknown>[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await server.stop();
});

async function open(protocol: 2 | 3): Promise<RedisClient<string>> {
  const client = await RedisClient.connect({
    host: server.host,
    port: server.port,
    protocol,
    decode: true,
    reconnect: { initialDelay: 5, maxDelay: 50 },
  });
  clients.push(client as RedisClient<unknown>);
  return client;
}

/** Runs until `check` holds, a round trip at a time; fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > giveUp) throw new Error("Condition not reached in time");
  }
}

const publisher = await open(3);

/** Resolves once the server counts `channels` subscribers of `channel` and `patterns` patterns. */
async function subscribed(channel: string, patterns = 0): Promise<void> {
  await eventually(async () =>
    (await publisher.pubsubNumSub(channel)).get(channel) === 1 &&
    await publisher.send("PUBSUB", "NUMPAT") === patterns
  );
}

for (const protocol of [2, 3] as const) {
  test(`redis pubsub RESP${protocol}: 50 timed-out getMessage polls interleaved with publishes lose nothing`, async () => {
    const redis = await open(protocol);
    await using pubsub = redis.pubsub({ ignoreSubscribeMessages: true });
    const channel = `${prefix}poll${protocol}`;
    await pubsub.subscribe(channel);
    const received: string[] = [];
    for (let i = 0; i < 50; i++) {
      // Two polls that time out (the redis-py loop), then one that gets the next message.
      assert.equal(await pubsub.getMessage({ timeout: 2 }), null);
      assert.equal(await pubsub.getMessage({ timeout: 2 }), null);
      const next = pubsub.getMessage({ timeout: 2000 });
      await publisher.publish(channel, `m${i}`);
      received.push(String((await next)?.data));
    }
    // Published ahead of the polls: each poll takes the next one, in order.
    for (let i = 50; i < 60; i++) await publisher.publish(channel, `m${i}`);
    for (let i = 50; i < 60; i++) {
      received.push(String((await pubsub.getMessage({ timeout: 2000 }))?.data));
    }
    assert.deepEqual(received, Array.from({ length: 60 }, (_, i) => `m${i}`));
    assert.equal(await pubsub.getMessage(), null, "nothing else, nothing twice");
  });

  test(`redis pubsub RESP${protocol}: a subscriber killed by the output-buffer limit is resubscribed and told so`, async () => {
    const redis = await open(protocol);
    const announced: ResubscribedMessage[] = [];
    await using pubsub = redis.pubsub({
      ignoreSubscribeMessages: true,
      onResubscribe: (marker) => announced.push(marker),
    });
    const channel = `${prefix}obl${protocol}`;
    const pattern = `${prefix}obl${protocol}:*`;
    await pubsub.subscribe(channel);
    await pubsub.psubscribe(pattern);
    await publisher.publish(channel, "before");
    assert.equal((await pubsub.getMessage({ timeout: 2000 }))?.data, "before");
    await publisher.send("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1kb 1kb 0");
    try {
      await publisher.publish(channel, "x".repeat(64 * 1024)); // over the limit: killed
      const marker = await pubsub.getMessage({ timeout: 2000 });
      assert.deepEqual(marker, {
        type: "resubscribed",
        channel: "",
        reason: "reconnect",
        data: 2,
        channels: [channel],
        patterns: [pattern],
        shardChannels: [],
      });
      assert.deepEqual(announced, [marker], "onResubscribe got the same marker, once");
    } finally {
      await publisher.send("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60");
    }
    await subscribed(channel, 1);
    await publisher.publish(channel, "after");
    await publisher.publish(`${prefix}obl${protocol}:p`, "by pattern");
    const after = [
      await pubsub.getMessage({ timeout: 2000 }),
      await pubsub.getMessage({ timeout: 2000 }),
    ];
    assert.deepEqual(after.map((m) => [m?.type, m?.data]), [
      ["message", "after"],
      ["pmessage", "by pattern"],
    ]);
  });

  test(`redis pubsub RESP${protocol}: after CLIENT KILL TYPE pubsub the iterator yields the marker before the new confirmations`, async () => {
    const redis = await open(protocol);
    await using pubsub = redis.pubsub();
    const channel = `${prefix}kill${protocol}`;
    const messages = pubsub[Symbol.asyncIterator]();
    const next = async (): Promise<PubSubMessage<string>> => (await messages.next()).value;
    await pubsub.subscribe(channel);
    assert.equal((await next()).type, "subscribe");
    await publisher.publish(channel, "one");
    assert.equal((await next()).data, "one");
    await publisher.send("CLIENT", "KILL", "TYPE", "pubsub");
    const marker = await next();
    assert.equal(marker.type, "resubscribed");
    assert.deepEqual((marker as ResubscribedMessage).channels, [channel]);
    const confirmation = await next();
    assert.deepEqual([confirmation.type, confirmation.channel], ["subscribe", channel]);
    await publisher.publish(channel, "two");
    assert.equal((await next()).data, "two");
  });
}

for (const protocol of [2, 3] as const) {
  test(`redis pubsub RESP${protocol}: a handler that throws loses neither the connection nor later messages`, async () => {
    const client = await open(protocol);
    const channel = `${prefix}throwing:${protocol}`;
    const reported: string[] = [];
    const handled: string[] = [];
    await using pubsub = client.pubsub({
      ignoreSubscribeMessages: true,
      onHandlerError: (error, message) =>
        reported.push(`${(error as Error).message}:${message.data}`),
    });
    await pubsub.subscribe({
      [channel]: (m) => {
        handled.push(String(m.data));
        if (m.data === "bad") throw new Error("handler bug");
      },
    });
    await subscribed(channel);
    for (const data of ["a", "bad", "c"]) await publisher.publish(channel, data);
    await eventually(async () =>
      (await publisher.send("PING")) !== undefined && handled.length === 3
    );
    assert.deepEqual(handled, ["a", "bad", "c"], "the message after the throw still arrives");
    assert.deepEqual(reported, ["handler bug:bad"]);
    assert.equal(await publisher.pubsubNumSub(channel).then((m) => m.get(channel)), 1);
  });
}
