// kvwire/otel with a real RedisClient against a real redis-server (its own process, with a
// password): span names and attributes of commands, batches and a transaction, error spans for
// a server error and a timeout, the duration histogram, and no secret, key or value anywhere.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SpanStatusCode } from "@opentelemetry/api";
import { TimeoutError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { type RedisProcess, startRedisProcess } from "../redis/_redis_process.ts";
import { setUpTelemetry, type Telemetry } from "./_helpers.ts";

const secret = `pw-${crypto.randomUUID()}`;
const value = `value-${crypto.randomUUID()}`;
const key = `otel:${crypto.randomUUID()}`;
let server: RedisProcess;
let otel: Telemetry;
let redis: RedisClient<string>;

before(async () => {
  server = await startRedisProcess();
  const admin = await RedisClient.connect({ host: server.host, port: server.port });
  try {
    await admin.send("CONFIG", "SET", "requirepass", secret);
  } finally {
    await admin.close();
  }
  otel = setUpTelemetry();
  redis = await RedisClient.connect({
    host: server.host,
    port: server.port,
    password: secret,
    decode: true,
  });
});

after(async () => {
  await redis?.close();
  await otel?.close();
  await server?.stop();
});

test("otel + RedisClient: commands, a pipeline and a transaction are spans with the conventions' attributes", async () => {
  await redis.set(key, value);
  assert.equal(await redis.get(key), value);
  await redis.pipeline().set(key, value).get(key).exec();
  await redis.multi().set(key, value).get(key).exec();
  const spans = otel.spans();
  const target = `${server.host}:${server.port}`;
  const get = spans.find((s) => s.attributes["db.operation.name"] === "GET")!;
  assert.ok(get, `a GET span among ${spans.map((s) => s.name)}`);
  assert.equal(get.name, `GET ${target}`);
  assert.equal(get.attributes["db.system.name"], "redis");
  assert.equal(get.attributes["db.namespace"], "0");
  assert.equal(get.attributes["server.address"], server.host);
  assert.equal(get.attributes["server.port"], server.port);
  assert.equal(get.status.code, SpanStatusCode.UNSET);
  const pipeline = spans.find((s) => s.attributes["db.operation.name"] === "PIPELINE")!;
  assert.equal(pipeline.name, `PIPELINE ${target}`);
  assert.equal(pipeline.attributes["db.operation.batch.size"], 2);
  const multi = spans.find((s) => s.attributes["db.operation.name"] === "MULTI")!;
  assert.ok(multi, `a MULTI span among ${spans.map((s) => s.name)}`);
  assert.equal(multi.attributes["db.operation.batch.size"], 2);
});

test("otel + RedisClient: a server error and a timeout are ERROR spans with error.type", async () => {
  await redis.set(key, value);
  await assert.rejects(redis.incr(key), /not an integer/);
  await assert.rejects(redis.with({ timeout: 50 }).send("DEBUG", "SLEEP", "0.3"), TimeoutError);
  const spans = otel.spans();
  const incr = spans.find((s) => s.attributes["db.operation.name"] === "INCR")!;
  assert.equal(incr.status.code, SpanStatusCode.ERROR);
  assert.equal(incr.attributes["error.type"], "ERR");
  assert.equal(incr.attributes["db.response.status_code"], "ERR");
  assert.match(incr.status.message!, /not an integer/);
  const sleep = spans.find((s) => s.attributes["db.operation.name"] === "DEBUG")!;
  assert.equal(sleep.status.code, SpanStatusCode.ERROR);
  assert.equal(sleep.attributes["error.type"], "TIMEOUT");
});

test("otel + RedisClient: the duration histogram counts the commands, failures apart", async () => {
  const before = await otel.histogram();
  const count = (h: typeof before, error?: string): number =>
    h?.dataPoints.filter((p) =>
      p.attributes["db.operation.name"] === "GET" && p.attributes["error.type"] === error
    ).reduce((n, p) => n + p.value.count, 0) ?? 0;
  const start = count(before);
  for (let i = 0; i < 5; i++) await redis.get(key);
  const histogram = await otel.histogram();
  assert.equal(count(histogram) - start, 5);
  const point = histogram!.dataPoints.find((p) => p.attributes["db.operation.name"] === "GET")!;
  assert.equal(point.attributes["db.system.name"], "redis");
  assert.equal(point.attributes["server.port"], server.port);
  assert.equal(histogram!.descriptor.unit, "s");
});

test("otel + RedisClient: no password, key or value in any span, event, status or data point", async () => {
  await redis.set(key, value);
  await redis.get(key);
  await redis.pipeline().set(key, value).exec();
  const spans = otel.spans();
  assert.ok(spans.length > 0);
  const text = JSON.stringify([
    spans.map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events,
      status: s.status,
      links: s.links,
    })),
    (await otel.histogram())!.dataPoints.map((p) => p.attributes),
  ]);
  for (const secretText of [secret, value, key]) {
    assert.equal(text.includes(secretText), false, `${secretText} leaked`);
  }
});

test("otel + RedisClient: a subscription is a span that ends when the subscriber closes", async () => {
  const pubsub = redis.pubsub();
  try {
    await pubsub.subscribe("otel-news");
    assert.equal(otel.spans().some((s) => s.name.startsWith("SUBSCRIBE")), false, "still open");
  } finally {
    await pubsub.close();
  }
  const span = otel.spans().find((s) => s.attributes["db.operation.name"] === "SUBSCRIBE");
  assert.ok(span, "the stream's span ended with it");
  assert.equal(span.attributes["server.port"], server.port);
  assert.equal(span.status.code, SpanStatusCode.UNSET);
});
