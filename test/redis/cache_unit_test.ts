// Client-side caching without a server: RESP2 invalidation messages and RESP3 invalidate
// pushes as the machine reports them, and the cache's rule that a read in flight when its key
// is invalidated (or the cache cleared) stores nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisConnection } from "../../src/redis/connection.ts";
import { ClientCache } from "../../src/redis/client_cache.ts";
import { cacheableRead } from "../../src/redis/cache_commands.ts";
import { invalidationOf } from "../../src/redis/cache_tracking.ts";
import type { RedisPush } from "../../src/redis/pubsub_frames.ts";
import type { RespValue } from "../../src/redis/resp_types.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const bulk = (s: string): string => `$${enc(s).length}\r\n${s}\r\n`;

function pushes(conn: RedisConnection): RedisPush[] {
  const out: RedisPush[] = [];
  for (let e = conn.nextEvent(); e; e = conn.nextEvent()) if (e.type === "push") out.push(e.value);
  return out;
}

test("cache frames: RESP2 messages on __redis__:invalidate become invalidate pushes", () => {
  const conn = new RedisConnection({ protocol: 2 });
  conn.send(["SUBSCRIBE", "__redis__:invalidate"]);
  conn.pollTransmit();
  conn.receive(enc(`*3\r\n${bulk("subscribe")}${bulk("__redis__:invalidate")}:1\r\n`));
  pushes(conn);
  const message = `*3\r\n${bulk("message")}${bulk("__redis__:invalidate")}`;
  conn.receive(enc(`${message}*2\r\n${bulk("a")}${bulk("b")}${message}*-1\r\n`));
  const [keys, flush] = pushes(conn);
  assert.deepEqual(invalidationOf(keys), [enc("a"), enc("b")]);
  assert.equal(invalidationOf(flush), null);
  // An ordinary message on that channel (someone's PUBLISH) is not an invalidation.
  conn.receive(enc(`${message}${bulk("hi")}`));
  const [published] = pushes(conn);
  assert.equal(published.type, "message");
  assert.equal(invalidationOf(published), undefined);
});

test("cache frames: RESP3 invalidate pushes, with keys and after a flush", () => {
  const conn = new RedisConnection();
  conn.pollTransmit();
  conn.receive(enc("%1\r\n+proto\r\n:3\r\n"));
  conn.receive(
    enc(`>2\r\n${bulk("invalidate")}*1\r\n${bulk("k")}>2\r\n${bulk("invalidate")}_\r\n`),
  );
  const [keys, flush] = pushes(conn);
  assert.deepEqual(invalidationOf(keys), [enc("k")]);
  assert.equal(invalidationOf(flush), null);
});

test("cache commands: the cacheable reads and the keys that invalidate them", () => {
  assert.deepEqual(cacheableRead(["GET", "k"])?.keys, ["k"]);
  assert.deepEqual(cacheableRead(["hget", "h", "f"])?.keys, ["h"]);
  assert.deepEqual(cacheableRead(["MGET", "a", "b"])?.keys, ["a", "b"]);
  assert.notEqual(cacheableRead(["HGET", "h", "f"])?.id, cacheableRead(["HGET", "h", "g"])?.id);
  assert.equal(cacheableRead(["SET", "k", "v"]), undefined);
  assert.equal(cacheableRead(["GETDEL", "k"]), undefined);
  assert.equal(cacheableRead(["GET", new Uint8Array([0xff])]), undefined);
});

/** Sends `args` through the cache and returns what the caller got and whether it was sent. */
function route(cache: ClientCache, args: string[]): {
  got: RespValue[];
  sent: { reply(value: RespValue): void }[];
} {
  const got: RespValue[] = [];
  const sent: { reply(value: RespValue): void }[] = [];
  cache.route(args, { reply: (v) => got.push(v), fail: assert.fail }, (_, handler) => {
    sent.push(handler);
  });
  return { got, sent };
}

test("cache: a read in flight when its key is invalidated stores nothing", () => {
  const cache = new ClientCache({});
  const first = route(cache, ["GET", "k"]);
  cache.invalidate([enc("k")]); // the invalidation comes before the reply
  first.sent[0].reply("old");
  assert.deepEqual(first.got, ["old"]);
  assert.equal(cache.stats().entries, 0);
  const second = route(cache, ["GET", "k"]);
  assert.equal(second.sent.length, 1, "sent again: nothing was stored");
  second.sent[0].reply("new");
  const third = route(cache, ["GET", "k"]);
  assert.deepEqual([third.sent.length, third.got], [0, ["new"]]);
  assert.deepEqual([cache.stats().hits, cache.stats().misses], [1, 2]);
});

test("cache: a clear (lost connection) or a flush while a read is in flight stores nothing", () => {
  const cache = new ClientCache({});
  const a = route(cache, ["GET", "a"]);
  cache.clear();
  a.sent[0].reply("v");
  const b = route(cache, ["GET", "b"]);
  cache.invalidate(null);
  b.sent[0].reply("v");
  assert.equal(cache.stats().entries, 0);
});

test("cache: the client's own write poisons its keys' reads in flight", () => {
  const cache = new ClientCache({});
  const read = route(cache, ["HGET", "h", "f"]);
  route(cache, ["HSET", "h", "f", "2"]);
  read.sent[0].reply("1");
  assert.equal(cache.stats().entries, 0);
});

test("cache: deactivated (RESP2 invalidation connection lost), nothing is served or stored", () => {
  const cache = new ClientCache({});
  route(cache, ["GET", "k"]).sent[0].reply("v");
  const inFlight = route(cache, ["GET", "j"]);
  cache.deactivate();
  inFlight.sent[0].reply("v");
  assert.equal(route(cache, ["GET", "k"]).sent.length, 1);
  assert.equal(cache.stats().entries, 0);
  cache.activate();
  route(cache, ["GET", "k"]).sent[0].reply("v");
  assert.equal(route(cache, ["GET", "k"]).sent.length, 0);
});

test("cache: SELECT clears; RESET and a raw CLIENT TRACKING turn it off; MULTI pauses it", () => {
  const cache = new ClientCache({});
  const stored = (): number => cache.stats().entries;
  route(cache, ["GET", "k"]).sent[0].reply("v");
  route(cache, ["SELECT", "1"]);
  assert.equal(stored(), 0);
  route(cache, ["GET", "k"]).sent[0].reply("v");
  route(cache, ["MULTI"]);
  assert.equal(route(cache, ["GET", "k"]).sent.length, 1, "inside MULTI: sent, not served");
  route(cache, ["EXEC"]);
  assert.equal(route(cache, ["GET", "k"]).sent.length, 0);
  for (const command of [["RESET"], ["CLIENT", "TRACKING", "OFF"], ["HELLO", "2"]]) {
    cache.activate();
    route(cache, ["GET", "k"]).sent[0]?.reply("v");
    route(cache, command);
    assert.equal(stored(), 0, command.join(" "));
    assert.equal(route(cache, ["GET", "k"]).sent.length, 1, `${command.join(" ")}: off`);
  }
});
