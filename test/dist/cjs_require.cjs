// The built npm package (dist/, CommonJS) under plain Node: require() works for every entry
// and a real Redis round trip succeeds with the default (auto) transport.
const { test } = require("node:test");
const assert = require("node:assert/strict");

test("dist cjs: every package entry can be required", () => {
  for (const entry of ["kvwire", "kvwire/redis", "kvwire/memcache", "kvwire/etcd", "kvwire/pegasus", "kvwire/tstorage", "kvwire/transports/node", "kvwire/transports/memory", "kvwire/transports/auto"]) {
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
