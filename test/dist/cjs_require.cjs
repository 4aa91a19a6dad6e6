// The built npm package (dist/, CommonJS) under plain Node: require() works for every entry
// and a real Redis round trip succeeds with the default (auto) transport.
const { test } = require("node:test");
const assert = require("node:assert/strict");

test("dist cjs: every package entry can be required", () => {
  for (const entry of ["kvwire", "kvwire/redis", "kvwire/memcache", "kvwire/etcd", "kvwire/pegasus", "kvwire/tstorage", "kvwire/transports/node", "kvwire/transports/memory", "kvwire/transports/auto", "kvwire/otel", "kvwire/diagnostics-channel"]) {
    const module = require(entry);
    assert.ok(Object.keys(module).length > 0, `${entry} exports something`);
  }
});

test("dist cjs: Redis round trip with the default transport", async () => {
  const { RedisClient } = require("kvwire/redis");
  const [host, port] = process.env.KVWIRE_REDIS.split(":");
  const redis = await RedisClient.connect({ host, port: Number(port) });
  try {
    const key = `dist:cjs:${process.pid}`;
    await redis.set(key, new Uint8Array([0, 255]), { ex: 10 });
    assert.deepEqual(await redis.get(key), new Uint8Array([0, 255]));
  } finally {
    await redis.close();
  }
});

test("dist cjs: every protocol entry re-exports the shared error classes of the root", () => {
  const root = require("kvwire");
  const names = ["KvError", "TimeoutError", "ConnectionClosedError", "UnresponsiveError", "AbortedError", "RemoteProtocolError", "LocalProtocolError", "ConnectError", "TlsError", "QueueFullError", "ServerError"];
  for (const entry of ["kvwire/redis", "kvwire/memcache", "kvwire/etcd", "kvwire/pegasus", "kvwire/tstorage", "kvwire/tunnel"]) {
    const module = require(entry);
    for (const name of names) assert.equal(module[name], root[name], `${entry} exports ${name}`);
  }
});

test("dist cjs: the ESM and CJS builds are distinct classes; `code` is the portable test", async () => {
  const cjs = require("kvwire");
  const esm = await import("kvwire");
  const error = new esm.TimeoutError("late");
  assert.equal(error instanceof cjs.KvError, false);
  assert.equal(error.code, cjs.ErrorCode.Timeout);
});

test("dist cjs: kvwire/otel required from CJS sees the operations of the ESM build", async () => {
  const { instrumentKvwire } = require("kvwire/otel");
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const uninstall = instrumentKvwire({ tracerProvider });
  try {
    const esm = await import("kvwire");
    const inst = new esm.Instrumenter();
    inst.end(inst.start({ protocol: "redis", operation: "GET" }));
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ["GET"]);
  } finally {
    uninstall();
    await tracerProvider.shutdown();
  }
});

test("dist cjs: publishing from the ESM and the CJS build publishes each operation once", async () => {
  const { tracingChannel } = require("node:diagnostics_channel");
  const cjs = require("kvwire/diagnostics-channel");
  const esm = await import("kvwire/diagnostics-channel");
  const starts = [];
  const handlers = { start: (op) => starts.push(op.operation), end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  tracingChannel(cjs.CHANNELS.request).subscribe(handlers);
  const stops = [cjs.publishDiagnostics(), esm.publishDiagnostics()];
  try {
    const inst = new (require("kvwire").Instrumenter)();
    inst.end(inst.start({ protocol: "memcache", operation: "get" }));
    assert.deepEqual(starts, ["get"]);
  } finally {
    for (const stop of stops) stop();
    tracingChannel(cjs.CHANNELS.request).unsubscribe(handlers);
  }
});
