// Every failure a reply causes is a KvError, and one on a written command says `sent: true`:
// a scripted peer (the hostile kit's RESP parser over the memory transport) sends odd replies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KvError, RemoteProtocolError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import type { Transport } from "../../src/core/transport.ts";
import { memoryConnector } from "../../transports/memory.ts";
import { parseRequest } from "./_hostile.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A peer answering ECHO with its argument and everything else with `reply(command)`. */
function scripted(reply: (command: string[]) => string) {
  return memoryConnector((server: Transport) => {
    (async () => {
      let buffer = new Uint8Array(0);
      for (let chunk = await server.read(); chunk; chunk = await server.read()) {
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        buffer = joined;
        for (let next = parseRequest(buffer); next; next = parseRequest(buffer)) {
          buffer = buffer.subarray(next.length);
          const [name, ...args] = next.request;
          const text = name === "HELLO"
            ? "%1\r\n+proto\r\n:3\r\n"
            : name === "ECHO"
            ? `$${args[0].length}\r\n${args[0]}\r\n`
            : reply(next.request);
          server.write(enc(text));
        }
      }
    })().catch(() => {});
  });
}

test("redis reply errors: a reply a transform cannot use is a RemoteProtocolError with sent", async () => {
  const redis = await RedisClient.connect({
    connect: scripted((
      c,
    ) => (c[0] === "PUBSUB"
      ? "$-1\r\n"
      : c[0] === "TTL"
      ? "+x\r\n"
      : c[0] === "HGETALL"
      ? ":5\r\n"
      : "*0\r\n")
    ),
  });
  try {
    for (const call of [redis.pubsubNumSub("c"), redis.ttl("k"), redis.hGetAll("k")]) {
      await assert.rejects(call, (e: unknown) => {
        assert.ok(e instanceof RemoteProtocolError, `got ${String(e)}`);
        assert.equal(e.sent, true);
        return true;
      });
    }
    assert.deepEqual(await redis.send("ANY"), [], "the connection is still usable");
  } finally {
    redis.destroy();
  }
});

test("redis reply errors: a malformed reply fails the command with a KvError that may have run", async () => {
  const redis = await RedisClient.connect({
    connect: scripted(() => "$3\r\nabcXY"),
    reconnect: { enabled: false },
  });
  await assert.rejects(redis.get("k"), (e: unknown) => {
    assert.ok(e instanceof KvError, `got ${String(e)}`);
    assert.equal(e.sent, true);
    assert.ok(e.cause instanceof RemoteProtocolError, "the cause names the protocol violation");
    return true;
  });
  redis.destroy();
});

test("redis reply errors: maxAggregateLength and maxBulkLength reach the connection", async () => {
  const connect = scripted((
    c,
  ) => (c[0] === "LIST" ? "*3\r\n:1\r\n:2\r\n:3\r\n" : `$40\r\n${"x".repeat(40)}\r\n`));
  for (
    const [options, command, limit] of [
      [{ maxAggregateLength: 2 }, "LIST", /aggregate length 3 exceeds the limit 2/],
      [{ maxBulkLength: 39 }, "BULK", /bulk length 40 exceeds the limit 39/],
    ] as const
  ) {
    const redis = await RedisClient.connect({ connect, reconnect: { enabled: false }, ...options });
    await assert.rejects(
      redis.send(command),
      (e: unknown) =>
        e instanceof KvError && e.cause instanceof RemoteProtocolError &&
        limit.test(e.cause.message),
    );
    redis.destroy();
  }
});
