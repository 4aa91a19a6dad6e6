// The built npm package (dist/, ESM) under plain Node: every entry imports, and a real Redis
// round trip works through the Node transport. Run by scripts/test.ts after the tsup build.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";

const entries = [
  "kvwire",
  "kvwire/redis",
  "kvwire/memcache",
  "kvwire/etcd",
  "kvwire/pegasus",
  "kvwire/tstorage",
  "kvwire/transports/node",
  "kvwire/transports/memory",
  "kvwire/transports/auto",
  "kvwire/otel",
  "kvwire/diagnostics-channel",
];

test("dist esm: every package entry imports", async () => {
  for (const entry of entries) {
    const module = await import(entry);
    assert.ok(Object.keys(module).length > 0, `${entry} exports something`);
  }
});

test("dist esm: error class names survive the build (EtcdV2Error, not _EtcdV2Error)", async () => {
  const { EtcdV2Error, EtcdV2DisabledError, EtcdKeyNotFoundError } = await import("kvwire/etcd");
  assert.equal(new EtcdV2Error("x", 1).name, "EtcdV2Error");
  assert.equal(EtcdV2Error.from({ errorCode: 100 }).name, "EtcdKeyNotFoundError");
  assert.equal(new EtcdKeyNotFoundError("x", 100).name, "EtcdKeyNotFoundError");
  assert.equal(new EtcdV2DisabledError("GET /v2/keys/a").name, "EtcdV2DisabledError");
});

test("dist esm: Redis round trip through the Node transport", async () => {
  const { RedisClient } = await import("kvwire/redis");
  const { connectNode } = await import("kvwire/transports/node");
  const [host, port] = process.env.KVWIRE_REDIS.split(":");
  const redis = await RedisClient.connect({ host, port: Number(port), decode: true, connect: connectNode });
  try {
    const key = `dist:esm:${process.pid}`;
    assert.equal(await redis.set(key, "ok", { ex: 10 }), true);
    assert.equal(await redis.get(key), "ok");
  } finally {
    await redis.close();
  }
});

test("dist esm: the Pegasus entry exports its client and key schema", async () => {
  const pegasus = await import("kvwire/pegasus");
  assert.equal(typeof pegasus.PegasusClient, "function");
  assert.equal(typeof pegasus.crc64, "function");
});

test("dist esm: every protocol's client is on its entry and on the root", async () => {
  const root = await import("kvwire");
  const clients = {
    "kvwire/redis": "RedisClient",
    "kvwire/memcache": "MemcacheClient",
    "kvwire/etcd": "EtcdClient",
    "kvwire/pegasus": "PegasusClient",
    "kvwire/tstorage": "TStorageClient",
  };
  for (const [entry, name] of Object.entries(clients)) {
    const module = await import(entry);
    assert.equal(typeof module[name], "function", `${entry} exports ${name}`);
    assert.equal(root[name], module[name], `the root re-exports the same ${name}`);
  }
});

test("dist esm: memcache round trip through the Node transport", async () => {
  const { MemcacheClient } = await import("kvwire/memcache");
  const mc = await MemcacheClient.connect([process.env.KVWIRE_MEMCACHED]);
  try {
    const key = `dist:esm:${process.pid}`;
    assert.equal(await mc.set(key, "ok", { ttl: 10 }), true);
    assert.equal(await mc.get(key), "ok");
  } finally {
    await mc.close();
  }
});

test("dist esm: errors are the same classes from every entry", async () => {
  const root = await import("kvwire");
  const redis = await import("kvwire/redis");
  assert.equal(root.RedisError, redis.RedisError);
  assert.ok(new redis.RedisError("ERR x") instanceof root.KvError);
});

test("dist esm: every protocol entry re-exports the shared error classes of the root", async () => {
  const root = await import("kvwire");
  const names = ["KvError", "TimeoutError", "ConnectionClosedError", "UnresponsiveError", "AbortedError", "RemoteProtocolError", "LocalProtocolError", "ConnectError", "TlsError", "QueueFullError", "ServerError"];
  for (const entry of ["kvwire/redis", "kvwire/memcache", "kvwire/etcd", "kvwire/pegasus", "kvwire/tstorage", "kvwire/tunnel"]) {
    const module = await import(entry);
    for (const name of names) assert.equal(module[name], root[name], `${entry} exports ${name}`);
  }
});
