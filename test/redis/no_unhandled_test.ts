// No API leaves a rejected promise unobserved (DESIGN.md §5): MULTI/EXEC, transaction(),
// pipelines, scripts, locks, pub/sub, scans and blocking calls under paused servers and cuts.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { KvError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { PipelineError } from "../../src/redis/pipeline_error.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";
import { startRedisProcess } from "./_redis_process.ts";

const server = await startRedisProcess();
const prefix = `unhandled:${crypto.randomUUID()}:`;
const clients: RedisClient<unknown>[] = [];
const proxies: ChaosProxy[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.stop()));
  await server.stop();
});

const observer = await open(server);

async function open(
  address: { host: string; port: number },
  protocol: 2 | 3 = 3,
): Promise<RedisClient<string>> {
  const client = await RedisClient.connect({
    host: address.host,
    port: address.port,
    protocol,
    decode: true,
    reconnect: { initialDelay: 5, maxDelay: 50 },
  });
  clients.push(client as RedisClient<unknown>);
  return client;
}

/** Holds every command of every other client for `ms` (CLIENT PAUSE), from now. */
async function pause(ms: number): Promise<void> {
  await observer.send("CLIENT", "PAUSE", String(ms), "ALL");
}

/** Resolves once the server processes commands again (the pause has ended). */
async function unpaused(): Promise<void> {
  await observer.ping();
}

function isUncertainPipelineError(error: unknown, count: number): boolean {
  assert.ok(error instanceof PipelineError, String(error));
  assert.equal(error.sent, true);
  assert.equal(error.results.length, count);
  for (const r of error.results) assert.ok(r instanceof KvError && r.sent, String(r));
  assert.deepEqual(error.uncertain, [...Array(count).keys()]);
  return true;
}

for (const protocol of [2, 3] as const) {
  test(`redis unhandled RESP${protocol}: MULTI timing out rejects exec() once; EXEC and the queued commands leave nothing unhandled`, async () => {
    const redis = await open(server, protocol);
    const k = `${prefix}multi${protocol}`;
    let error: unknown;
    const leaked = await collectUnhandledRejections(async () => {
      await pause(300);
      const started = performance.now();
      error = await redis.with({ timeout: 50 }).multi().incr(k).incr(k).exec().catch((e) => e);
      assert.ok(performance.now() - started < 50 + 1000, "settled within its deadline");
      await unpaused();
    });
    assert.deepEqual(leaked, []);
    assert.ok(isUncertainPipelineError(error, 2));
    assert.ok(["0", "2", null].includes(await observer.get(k)), "all or nothing ran");
    assert.equal(await redis.incr(`${k}:after`), 1, "the same client goes on");
  });

  test(`redis unhandled RESP${protocol}: transaction() whose EXEC times out rejects once and leaves nothing unhandled`, async () => {
    const redis = await open(server, protocol);
    const k = `${prefix}tx${protocol}`;
    let error: unknown;
    const leaked = await collectUnhandledRejections(async () => {
      error = await redis.with({ timeout: 50 }).transaction(async (conn) => {
        await conn.get(k);
        await pause(300);
        return conn.multi().incr(k);
      }, k).catch((e) => e);
      await unpaused();
    });
    assert.deepEqual(leaked, []);
    assert.ok(isUncertainPipelineError(error, 1));
    assert.deepEqual(
      await redis.transaction((c) => Promise.resolve(c.multi().incr(`${k}:after`))),
      [1],
    );
  });
}

test("redis unhandled: a connection cut anywhere in a transaction settles exec() with the truth", async () => {
  const proxy = await startChaosProxy({ host: server.host, port: server.port });
  proxies.push(proxy);
  const redis = await open(proxy);
  // MULTI's +OK is 5 bytes, each +QUEUED 9, EXEC's reply 12: cut before, inside and after.
  for (const bytes of [1, 5, 9, 14, 23, 30, 40]) {
    const k = `${prefix}cut:${bytes}`;
    let outcome: unknown;
    const leaked = await collectUnhandledRejections(async () => {
      proxy.dropAfter(bytes, "toClient");
      outcome = await redis.with({ timeout: 2000 }).multi().incr(k).incr(k).exec().catch((e) => e);
      proxy.pass();
    });
    assert.deepEqual(leaked, [], `cut after ${bytes} bytes`);
    const value = await observer.get(k);
    if (outcome instanceof PipelineError) {
      assert.equal(outcome.results.length, 2);
      if (!outcome.sent) assert.equal(value, null, "sent: false means nothing ran");
      else assert.ok(value === null || value === "2", `all or nothing ran (got ${value})`);
    } else {
      assert.deepEqual(outcome, [1, 2], `cut after ${bytes} bytes: ${outcome}`);
      assert.equal(value, "2");
    }
    assert.equal(await redis.ping(), "PONG", "the same client recovers");
  }
});

test("redis unhandled: every API caught by a reset, then destroy(), leaves nothing unhandled", async () => {
  const proxy = await startChaosProxy({ host: server.host, port: server.port });
  proxies.push(proxy);
  const redis = await open(proxy);
  const k = `${prefix}all`;
  await observer.send("SADD", `${k}:scan`, ...Array.from({ length: 50 }, (_, i) => `m${i}`));
  const script = redis.registerScript("return redis.call('INCR', KEYS[1])");
  const leaked = await collectUnhandledRejections(async () => {
    const pubsub = redis.pubsub();
    await pubsub.subscribe(`${k}:ch`);
    await pause(500);
    const view = redis.with({ timeout: 200 });
    const calls: Promise<unknown>[] = [
      view.multi().incr(k).exec(),
      view.pipeline().incr(k).get(k).exec(),
      view.transaction((c) => Promise.resolve(c.multi().incr(k)), k),
      view.registerScript("return 1").run(),
      script.run([k]),
      view.lock(`${k}:lock`, { timeout: 5, blockingTimeout: 0.1 }).acquire(),
      (async () => {
        for await (const _ of view.sscanIter(`${k}:scan`)) { /* pages */ }
      })(),
      view.blPop(`${k}:list`, 0.1),
      pubsub.subscribe(`${k}:other`),
      pubsub.getMessage({ timeout: 50 }),
      view.incr(k),
    ];
    proxy.resetAll();
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      if (s.status === "rejected") assert.ok(s.reason instanceof KvError, String(s.reason));
    }
    await unpaused();
    redis.destroy(); // and destroy with the subscriber and pool still around
    await pubsub.close();
  });
  assert.deepEqual(leaked, []);
});
