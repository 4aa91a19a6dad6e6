// kvwire/diagnostics-channel inside real workerd (miniflare) with the `nodejs_compat` flag: the
// Worker subscribes to the tracing channels and reports the events of real operations.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { bundleForWorkerd } from "../../scripts/workerd_bundle.ts";
import { redisAddress } from "../_helpers/servers.ts";

let mf: Miniflare;

before(async () => {
  const redis = await redisAddress();
  const { code, externals } = await bundleForWorkerd("test/e2e/worker/diagnostics_worker.ts", {
    external: ["node:diagnostics_channel"],
  });
  assert.deepEqual(externals, ["cloudflare:sockets", "node:diagnostics_channel"]);
  mf = new Miniflare({
    modules: [{ type: "ESModule", path: "worker.js", contents: code }],
    compatibilityDate: "2025-01-01",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { REDIS_HOST: redis.host, REDIS_PORT: String(redis.port) },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

test("workerd (nodejs_compat): operations are published on the kvwire tracing channels", async () => {
  const response = await mf.dispatchFetch("http://worker.test/");
  const body = await response.json() as { seen?: string[]; error?: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.deepEqual(body.seen!.filter((line) => line.startsWith("etcd")), [
    "etcd Range start",
    "etcd Range end",
    "etcd Range asyncStart",
    "etcd Range asyncEnd",
    "etcd Put start",
    "etcd Put end",
    "etcd Put error SERVER",
    "etcd Put asyncStart SERVER",
    "etcd Put asyncEnd SERVER",
  ]);
  assert.deepEqual(body.seen!.filter((line) => line.startsWith("redis")), [
    "redis PING start",
    "redis PING end",
    "redis PING asyncStart",
    "redis PING asyncEnd",
  ], "the real Redis client's command, through cloudflare:sockets");
});
