// Every protocol entry re-exports every error class its clients throw, the very classes of
// src/core/errors.ts (one identity, so `instanceof` works across entries of one build).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as core from "../../src/core/errors.ts";
import * as redis from "../../src/redis/mod.ts";
import * as memcache from "../../src/memcache/mod.ts";
import * as etcd from "../../src/etcd/mod.ts";
import * as pegasus from "../../src/pegasus/mod.ts";
import * as tstorage from "../../src/tstorage/mod.ts";
import * as tunnel from "../../src/tunnel/mod.ts";

/** The shared classes every client may throw. */
const shared = [
  "KvError",
  "TimeoutError",
  "ConnectionClosedError",
  "UnresponsiveError",
  "AbortedError",
  "RemoteProtocolError",
  "LocalProtocolError",
  "ConnectError",
  "TlsError",
  "QueueFullError",
  "ServerError",
] as const;

/** Each entry and the error classes of its own protocol. */
const entries: Record<string, [Record<string, unknown>, string[]]> = {
  "kvwire/redis": [redis, ["RedisError", "PipelineError", "WatchError", "LockError"]],
  "kvwire/memcache": [memcache, [
    "MemcacheError",
    "ServerDeadError",
    "PickleError",
    "UnsafePickleError",
  ]],
  "kvwire/etcd": [etcd, [
    "EtcdError",
    "EtcdCompactedError",
    "EtcdLeaseLostError",
    "EtcdV2Error",
    "SrvLookupError",
  ]],
  "kvwire/pegasus": [pegasus, ["PegasusError"]],
  "kvwire/tstorage": [tstorage, ["TStorageError", "UnparseableEntityError", "MemoryLimitError"]],
  "kvwire/tunnel": [tunnel, ["TunnelError"]],
};

for (const [entry, [module, own]] of Object.entries(entries)) {
  test(`${entry} re-exports every shared error class and ErrorCode`, () => {
    for (const name of shared) {
      assert.equal(module[name], core[name], `${entry} exports ${name}`);
    }
    assert.equal(module.ErrorCode, core.ErrorCode, `${entry} exports ErrorCode`);
  });

  test(`${entry} exports its own error classes, each a KvError`, () => {
    for (const name of own) {
      const cls = module[name];
      assert.equal(typeof cls, "function", `${entry} exports ${name}`);
      assert.ok(
        (cls as { prototype: unknown }).prototype instanceof core.KvError,
        `${name} is a KvError`,
      );
    }
  });
}
