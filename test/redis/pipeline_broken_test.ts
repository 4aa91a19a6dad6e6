// A pipeline broken by a lost connection or a deadline reports per command (PipelineError):
// the results that arrived, and whether each other one may have run; MULTI/EXEC all or nothing.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KvError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { PipelineError } from "../../src/redis/pipeline_error.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";
import { startRedisProcess } from "./_redis_process.ts";

// A server of its own: the deadline test pauses it.
const server = await startRedisProcess();
const addr = { host: server.host, port: server.port };
const prefix = `broken:${crypto.randomUUID()}:`;
const clients: RedisClient<unknown>[] = [];
const proxies: ChaosProxy[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.stop()));
  await server.stop();
});

const direct = await RedisClient.connect({ ...addr, decode: true });
clients.push(direct as RedisClient<unknown>);

async function throughProxy(protocol: 2 | 3): Promise<[RedisClient<string>, ChaosProxy]> {
  const proxy = await startChaosProxy(addr);
  proxies.push(proxy);
  const redis = await RedisClient.connect({
    host: proxy.host,
    port: proxy.port,
    protocol,
    decode: true,
    reconnect: { initialDelay: 5, maxDelay: 50 },
  });
  clients.push(redis as RedisClient<unknown>);
  return [redis, proxy];
}

for (const protocol of [2, 3] as const) {
  test(`redis broken pipeline RESP${protocol}: a cut mid-pipeline reports each INCR's result or whether it may have run`, async () => {
    const [redis, proxy] = await throughProxy(protocol);
    const count = 2000;
    for (const cut of [1, 3000, 9000]) {
      const k = `${prefix}${protocol}:${cut}`;
      const pipe = redis.pipeline();
      for (let i = 0; i < count; i++) pipe.incr(k);
      proxy.dropAfter(cut, "toClient");
      const error = await pipe.exec().then(() => undefined, (e) => e);
      proxy.pass();
      assert.ok(error instanceof PipelineError, `cut after ${cut} bytes: ${error}`);
      assert.equal(error.sent, true);
      assert.equal(error.code, "CONNECTION_CLOSED");
      assert.equal(error.results.length, count);
      const answered = error.results.filter((r) => typeof r === "number");
      answered.forEach((r, i) => assert.equal(r, i + 1, "the answered ones come first, in order"));
      for (const r of error.results.slice(answered.length)) {
        assert.ok(r instanceof KvError && r.sent, `may have run: ${r}`);
      }
      assert.equal(error.uncertain.length, count - answered.length);
      assert.equal(error.uncertain[0], answered.length);
      const executed = Number(await direct.get(k));
      assert.ok(
        answered.length <= executed && executed <= answered.length + error.uncertain.length,
        `answered ${answered.length} ≤ executed ${executed} ≤ + uncertain ${error.uncertain.length}`,
      );
      assert.equal(await redis.incr(`${k}:after`), 1, "the same client recovers");
    }
  });
}

test("redis broken pipeline: a pipeline whose deadline passes reports every command as sent; refusals stay values", async () => {
  const [redis] = await throughProxy(3);
  const observer = await RedisClient.connect({ ...addr, decode: true });
  clients.push(observer as RedisClient<unknown>);
  const k = `${prefix}deadline`;
  // A refused command in an answered pipeline stays a value: no PipelineError.
  const refused = await redis.pipeline().incr(k).send("NOPE").exec();
  assert.equal(refused[0], 1);
  assert.ok(refused[1] instanceof RedisError);
  await direct.del(k);
  // CLIENT PAUSE WRITE holds INCR (a write) but lets the observer's GET through.
  await observer.send("CLIENT", "PAUSE", "300", "WRITE");
  const pipe = redis.with({ timeout: 50 }).pipeline();
  for (let i = 0; i < 5; i++) pipe.incr(k);
  const started = performance.now();
  const error = await pipe.exec().then(() => undefined, (e) => e);
  assert.ok(performance.now() - started < 50 + 1000, "settled within its deadline");
  assert.ok(error instanceof PipelineError, String(error));
  assert.equal(error.sent, true);
  assert.deepEqual(error.uncertain, [0, 1, 2, 3, 4]);
  for (const r of error.results) assert.ok(r instanceof KvError && r.sent, String(r));
  await observer.send("CLIENT", "UNPAUSE");
  const executed = Number(await direct.get(k));
  assert.ok(executed >= 0 && executed <= 5, `executed ${executed}`);
  assert.equal(await redis.incr(`${k}:after`), 1, "the same client goes on");
});

test("redis broken pipeline: property — a cut at any offset, either direction, in a pipeline or a transaction tells the truth", async () => {
  const [redis, proxy] = await throughProxy(3);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.constantFrom("toClient" as const, "toServer" as const),
      fc.boolean(),
      async (count, cut, direction, atomic) => {
        const k = `${prefix}prop:${run++}`;
        const view = redis.with({ timeout: 2000 });
        const batch = atomic ? view.multi() : view.pipeline();
        for (let i = 0; i < count; i++) batch.incr(k);
        let outcome: unknown;
        const leaked = await collectUnhandledRejections(async () => {
          proxy.dropAfter(cut, direction);
          outcome = await batch.exec().catch((e) => e);
          proxy.pass();
        });
        assert.deepEqual(leaked, []);
        const executed = Number(await direct.get(k));
        const expected = Array.from({ length: count }, (_, i) => i + 1);
        if (!(outcome instanceof PipelineError)) {
          assert.deepEqual(outcome, expected, "answered in full: every result is its own");
          assert.equal(executed, count);
        } else if (atomic) {
          assert.equal(outcome.results.length, count);
          if (!outcome.sent) assert.equal(executed, 0, "sent: false means nothing ran");
          else assert.ok(executed === 0 || executed === count, `all or nothing (${executed})`);
        } else {
          const answered = outcome.results.filter((r) => typeof r === "number");
          assert.deepEqual(answered, expected.slice(0, answered.length), "no foreign data");
          assert.ok(
            answered.length <= executed && executed <= answered.length + outcome.uncertain.length,
            `answered ${answered.length} ≤ executed ${executed} ≤ + ${outcome.uncertain.length}`,
          );
        }
        assert.equal(await redis.ping(), "PONG", "the same client recovers");
      },
    ),
    { numRuns: 20 },
  );
});
