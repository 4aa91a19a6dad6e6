// Observability of RedisClient against real redis-servers: one Operation per command, pipeline,
// transaction, script and blocking command; events in order across a kill and restart; stats()
// figures that move; throwing listeners and hooks change nothing; no secret or value escapes.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ServerError, TimeoutError } from "../../src/core/errors.ts";
import type { Operation } from "../../src/core/instrument.ts";
import { RedisClient } from "../../src/redis/client.ts";
import type { RedisEvents } from "../../src/redis/observe.ts";
import { redisAddress } from "../_helpers/servers.ts";
import { type RedisProcess, startRedisProcess } from "./_redis_process.ts";

const addr = await redisAddress();
const prefix = `observe:${crypto.randomUUID()}:`;
const key = (name: string): string => prefix + name;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A hook that keeps every ended operation. */
function recorder(): { ops: Operation[]; onEnd: (op: Operation) => void } {
  const ops: Operation[] = [];
  return { ops, onEnd: (op) => ops.push(op) };
}

const EVENT_NAMES: (keyof RedisEvents)[] = [
  "connect",
  "ready",
  "disconnect",
  "reconnecting",
  "error",
  "resubscribe",
  "switchMaster",
];

/** Every event of `client`, in order, as `[name, payload]`. */
function allEvents(
  client: { on: RedisClient["on"] },
): { seen: [string, unknown][]; next: (name: string) => Promise<unknown> } {
  const seen: [string, unknown][] = [];
  const waiters: { name: string; resolve: (e: unknown) => void }[] = [];
  for (const name of EVENT_NAMES) {
    client.on(name, (event) => {
      seen.push([name, event]);
      for (const w of waiters.filter((w) => w.name === name)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    });
  }
  return {
    seen,
    next: (name) => new Promise((resolve) => waiters.push({ name, resolve })),
  };
}

async function started(args: string[] = []): Promise<RedisProcess> {
  const server = await startRedisProcess(args);
  cleanups.push(() => server.stop());
  return server;
}

test("redis observe: each command, pipeline, transaction, script and blocking call is one Operation", async () => {
  const hook = recorder();
  const redis = await RedisClient.connect({ ...addr, db: 3, decode: true, instrumentation: hook });
  cleanups.push(() => redis.close());
  hook.ops.length = 0; // nothing of the handshake is an operation, but be exact from here on

  await redis.set(key("a"), "1");
  assert.equal(await redis.send("get", key("a")), "1");
  await assert.rejects(redis.hGet(key("a"), "f"), ServerError); // WRONGTYPE
  await redis.pipeline().incr(key("n")).incr(key("n")).get(key("a")).exec();
  await redis.multi().incr(key("m")).incr(key("m")).exec();
  await redis.registerScript(`return ${Math.random()}`).run();
  assert.equal(await redis.blPop(key("empty"), 0.05), null);

  const names = hook.ops.map((op) => op.operation);
  assert.deepEqual(names, [
    "SET",
    "GET",
    "HGET",
    "PIPELINE",
    "MULTI",
    "EVALSHA",
    "EVAL",
    "BLPOP",
  ]);
  for (const op of hook.ops) {
    assert.equal(op.protocol, "redis");
    assert.equal(op.kind, "request");
    assert.equal(op.serverAddress, addr.host);
    assert.equal(op.serverPort, addr.port);
    assert.equal(op.namespace, "3");
    assert.ok(op.duration! >= 0 && op.endTime! >= op.startTime);
  }
  const [, , hget, pipeline, multi, evalsha] = hook.ops;
  assert.equal(hget.errorCode, "SERVER");
  assert.equal(hook.ops[0].errorCode, undefined);
  assert.equal(pipeline.batchSize, 3);
  assert.equal(multi.batchSize, 2);
  assert.equal(evalsha.errorCode, "SERVER"); // NOSCRIPT, then EVAL ran it
});

test("redis observe: a timeout is the operation's errorCode", async () => {
  const hook = recorder();
  const redis = await RedisClient.connect({ ...addr, instrumentation: [hook] });
  cleanups.push(() => redis.close());
  // A blocking command on the shared connection, with a deadline shorter than its block.
  await assert.rejects(redis.with({ timeout: 30 }).send("BLPOP", key("never"), "2"), TimeoutError);
  const op = hook.ops.find((o) => o.operation === "BLPOP")!;
  assert.equal(op.errorCode, new TimeoutError("x").code);
  assert.ok(op.error instanceof TimeoutError);
});

test("redis observe: on() and stats() of a client, with bytes, inFlight and pool members", async () => {
  const redis = await RedisClient.connect({ ...addr, decode: true });
  cleanups.push(() => redis.close());
  const before = redis.stats();
  assert.equal(before.state, "ready");
  assert.equal(before.members.length, 1);
  assert.equal(before.members[0].address, `${addr.host}:${addr.port}`);
  await redis.set(key("s"), "x".repeat(1000));
  const after = redis.stats();
  assert.ok(after.bytesOut >= before.bytesOut + 1000, `${after.bytesOut}`);
  assert.ok(after.bytesIn > before.bytesIn);
  // A command that waits shows in flight; a blocking one adds a pool member.
  const waiting = redis.send("BLPOP", key("wait"), "0.3");
  const blocking = redis.blPop(key("wait2"), 0.3);
  assert.ok(redis.stats().inFlight >= 1);
  await Promise.all([waiting, blocking]);
  const stats = redis.stats();
  assert.equal(stats.members.length, 2);
  assert.equal(stats.inFlight, 0);
  await redis.close();
  assert.equal(redis.stats().state, "closed");
});

test("redis observe: lifecycle events in order across a kill and restart; stats count the reconnect", async () => {
  const server = await started();
  const hook = recorder();
  const redis = await RedisClient.connect({
    host: server.host,
    port: server.port,
    instrumentation: hook,
    reconnect: { initialDelay: 10, maxDelay: 50 },
  });
  cleanups.push(() => redis.close());
  const pubsub = redis.pubsub();
  cleanups.push(() => pubsub.close());
  const events = allEvents(redis);
  await pubsub.subscribe("news");
  const address = `${server.host}:${server.port}`;

  const lost = events.next("disconnect");
  server.signal("SIGKILL");
  await lost;
  const resubscribed = events.next("resubscribe");
  const ready = new Promise<void>((resolve) => {
    let count = 0; // the client's connection and the subscriber's
    redis.on("ready", () => ++count === 2 && resolve());
  });
  await server.restart();
  await redis.ping(); // the offline queue carries it to the new connection
  await ready;
  assert.deepEqual(await resubscribed, { address, channels: 1, patterns: 0, shardChannels: 0 });

  const main = events.seen.filter(([, e]) => (e as { address?: string }).address === address);
  const names = main.map(([name]) => name);
  const firstLoss = names.indexOf("disconnect");
  assert.ok(firstLoss >= 0, names.join());
  const disconnect = main[firstLoss][1] as RedisEvents["disconnect"];
  assert.equal(disconnect.willReconnect, true);
  assert.ok(disconnect.error instanceof Error);
  assert.equal(names[firstLoss + 1], "reconnecting");
  const lastReady = main.findLast(([name]) => name === "ready")![1] as RedisEvents["ready"];
  assert.equal(lastReady.reconnect, true);
  assert.ok(names.lastIndexOf("connect") < names.lastIndexOf("ready"));

  const stats = redis.stats();
  assert.equal(stats.members.length, 2); // the client and its subscriber
  assert.equal(stats.reconnects, 2);
  assert.ok(stats.members.every((m) => m.state === "ready" && m.reconnects === 1));
  await pubsub.close();
  const stream = hook.ops.find((op) => op.operation === "SUBSCRIBE")!;
  assert.equal(stream.kind, "stream");
  assert.equal(stream.retries, 1); // subscribed again once
  assert.equal(stream.serverPort, server.port);
  assert.equal(redis.stats().members.length, 1); // a closed subscriber is no member
});

test("redis observe: a throwing listener or hook changes nothing for the caller", async () => {
  const reported: RedisEvents["error"][] = [];
  const redis = new RedisClient({
    ...addr,
    decode: true,
    instrumentation: {
      onStart: () => {
        throw new Error("hook start");
      },
      onEnd: () => {
        throw new Error("hook end");
      },
    },
  });
  cleanups.push(() => redis.close());
  redis.on("ready", () => {
    throw new Error("listener");
  });
  redis.on("error", (e) => reported.push(e));
  await redis.set(key("t"), "v");
  assert.equal(await redis.get(key("t")), "v");
  assert.deepEqual(await redis.pipeline().get(key("t")).exec(), ["v"]);
  assert.equal(reported.length, 1);
  assert.equal(reported[0].source, "listener");
  assert.equal(reported[0].error.message, "listener");
});

/** JSON of anything, errors spelled out with their cause chain. */
function dump(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v instanceof Error
        ? { ...v, name: v.name, message: v.message, cause: v.cause, stack: v.stack }
        : v instanceof Uint8Array
        ? new TextDecoder().decode(v)
        : v,
  );
}

test("redis observe: no password, key or value in any event, operation or log line", async () => {
  const secret = `pw-${crypto.randomUUID()}`;
  const value = `value-${crypto.randomUUID()}`;
  const server = await started();
  const admin = await RedisClient.connect({ host: server.host, port: server.port });
  await admin.send("CONFIG", "SET", "requirepass", secret);
  admin.destroy();
  const lines: unknown[] = [];
  const log = (message: string, fields?: Record<string, unknown>): void => {
    lines.push([message, fields]);
  };
  const ops: Operation[] = [];
  const options = {
    host: server.host,
    port: server.port,
    password: secret,
    decode: true as const,
    logger: { debug: log, info: log, warn: log, error: log },
    instrumentation: { onStart: (op: Operation) => ops.push(op), onEnd: () => {} },
    reconnect: { initialDelay: 10, maxDelay: 50 },
  };
  const redis = await RedisClient.connect(options);
  cleanups.push(() => redis.close());
  const events = allEvents(redis);
  const secretKey = key(`k-${value}`);
  await redis.set(secretKey, value);
  assert.equal(await redis.get(secretKey), value);
  await redis.pipeline().set(secretKey, value).get(secretKey).exec();
  await redis.multi().set(secretKey, value).exec();
  await redis.blPop(secretKey + "list", 0.01);
  const sub = redis.pubsub();
  cleanups.push(() => sub.close());
  await sub.subscribe(`chan-${value}`);
  // A lost connection (killed by the server) and a refused one (a wrong password).
  const lost = events.next("disconnect");
  await redis.send("CLIENT", "KILL", "TYPE", "normal").catch(() => {});
  await lost;
  assert.equal(await redis.get(secretKey), value);
  const wrong = new RedisClient({ ...options, password: `${secret}-wrong` });
  const refused = allEvents(wrong);
  await assert.rejects(wrong.get(secretKey));
  wrong.destroy();

  assert.ok(events.seen.length >= 4 && refused.seen.length >= 1);
  assert.ok(lines.length >= 4 && ops.length >= 6);
  for (const text of [dump(events.seen), dump(refused.seen), dump(ops), dump(lines)]) {
    assert.ok(!text.includes(secret.slice(3)), text);
    assert.ok(!text.includes(value.slice(6)), text);
  }
  assert.ok(!dump(redis.stats()).includes(secret.slice(3)));
});
