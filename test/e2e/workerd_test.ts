// End to end in real workerd (miniflare from npm): a Worker using kvwire's Redis client
// against the real redis-server through `cloudflare:sockets` and through the WebSocket tunnel
// (relay started here), the per-request socket lifecycle, TLS and connect errors; Redis
// Cluster (a real 6-node cluster, both ways); and the memcache, etcd, Pegasus and TStorage
// clients (simulators started in this process).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { Miniflare } from "miniflare";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { bundleForWorkerd } from "../../scripts/workerd_bundle.ts";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { etcdAddress, memcachedAddress, redisAddress } from "../_helpers/servers.ts";
import { type PegasusSimulator, startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";
import { startTStorageSimulator, type TStorageSimulator } from "../fixtures/tstorage/simulator.ts";
import { testCerts } from "../transports/_helpers/certs.ts";
import { closedPort } from "../transports/_helpers/servers.ts";
import { SECRET } from "../tunnel/_helpers.ts";

let mf: Miniflare;
let relay: TunnelServer;
let clusterRelay: TunnelServer;
let cluster: RedisClusterServers;
let pegasus: PegasusSimulator;
let tstorage: TStorageSimulator;
const servers: net.Server[] = [];

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

before(async () => {
  const redis = await redisAddress();
  const [memcached, etcd] = await Promise.all([memcachedAddress(), etcdAddress()]);
  [pegasus, tstorage, cluster] = await Promise.all([
    startPegasusSimulator(),
    startTStorageSimulator({ port: 0 }),
    startRedisCluster(),
  ]);
  const { code, externals } = await bundleForWorkerd("test/e2e/worker/worker.ts");
  assert.deepEqual(externals, ["cloudflare:sockets"], "the Worker reaches no Node built-in");
  relay = await serveTunnel({ secrets: [SECRET], allow: [`${redis.host}:${redis.port}`] });
  clusterRelay = await serveTunnel({ secrets: [SECRET], allow: cluster.endpoints });
  const { cert, key } = testCerts();
  const tlsServer = tls.createServer({ cert, key }, (s) => s.end());
  tlsServer.on("tlsClientError", () => {});
  const halfClose = net.createServer({ allowHalfOpen: true }, (socket) => {
    let text = "";
    socket.on("data", (d) => (text += d));
    socket.on("end", () => socket.end(`got ${text}`));
  });
  mf = new Miniflare({
    modules: [{ type: "ESModule", path: "worker.js", contents: code }],
    compatibilityDate: "2025-01-01",
    bindings: {
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      RELAY_URL: relay.url,
      TUNNEL_SECRET: SECRET,
      TLS_PORT: String(await listen(tlsServer)),
      CLOSED_PORT: String(await closedPort()),
      HALF_CLOSE_PORT: String(await listen(halfClose)),
      MEMCACHED: `${memcached.host}:${memcached.port}`,
      ETCD: `${etcd.host}:${etcd.port}`,
      PEGASUS_META: pegasus.metaServers.join(","),
      TSTORAGE: `${tstorage.host}:${tstorage.port}`,
      CLUSTER_MASTERS: cluster.endpoints.slice(0, 3).join(","),
      CLUSTER_RELAY_URL: clusterRelay.url,
    },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await relay?.close();
  await clusterRelay?.close();
  await cluster?.stop();
  await Promise.all([pegasus?.close(), tstorage?.stop()]);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

// deno-lint-ignore no-explicit-any
async function get(path: string): Promise<any> {
  const response = await mf.dispatchFetch(`http://worker.test${path}`);
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

const EXPECTED = {
  ping: "PONG",
  value: "héllo from workerd",
  lastCount: 50,
  ordered: true,
  piped: [true, 2],
  multi: [1, 2],
  bigLength: 2 * 1024 * 1024,
};

test("workerd: the Worker runs in workerd", async () => {
  assert.deepEqual(await get("/runtime"), { runtime: "workerd" });
});

test("workerd: Redis through cloudflare:sockets", async () => {
  assert.deepEqual(await get("/sockets"), EXPECTED);
});

test("workerd: Redis with the default connector (cloudflare:sockets in a Worker bundle)", async () => {
  assert.deepEqual(await get("/default"), EXPECTED);
});

test("workerd: Redis through the WebSocket tunnel with a token minted in the Worker", async () => {
  const opened = relay.stats.opened;
  assert.deepEqual(await get("/tunnel"), EXPECTED);
  assert.equal(relay.stats.opened, opened + 1, "the relay carried the connection");
});

test("workerd: the relay refuses a target the token does not name", async () => {
  const error = await get("/tunnel-forbidden");
  assert.equal(error.name, "TunnelError");
  assert.equal(error.code, "CONNECT_FAILED");
  assert.match(error.message, /not allowed by the token \(close code 4403\)/);
});

test("workerd: a client kept from another request fails with a clear error", async () => {
  assert.deepEqual(await get("/keep"), { ping: "PONG" });
  const error = await get("/reuse");
  assert.notEqual(error.value, "PONG", "a socket from another request must not work");
  const text = JSON.stringify(error);
  assert.match(text, /opened by another request/, text);
  assert.match(text, /Create the client inside each request/);
});

test("workerd: TLS verification failures and refused connections are typed", async () => {
  const tlsError = await get("/tls");
  assert.equal(tlsError.connected, undefined, "a self-signed server must not verify");
  // workerd reports an untrusted certificate like a refused port; the message says both.
  assert.ok(["TlsError", "ConnectError"].includes(tlsError.name), JSON.stringify(tlsError));
  if (tlsError.name === "ConnectError") assert.match(tlsError.message, /certificate/);
  const refused = await get("/refused");
  assert.equal(refused.name, "ConnectError");
  assert.match(refused.message, /^Cannot connect to 127\.0\.0\.1:\d+/);
});

test("workerd: end() half-closes and the reply still arrives", async () => {
  assert.deepEqual(await get("/half-close"), { reply: "got half closed", kind: "cloudflare" });
});

test("workerd: memcache through cloudflare:sockets", async () => {
  assert.deepEqual(await get("/memcache"), { value: "héllo", counter: "41", deleted: true });
});

test("workerd: etcd (JSON gateway over HTTP/1.1) through cloudflare:sockets", async () => {
  assert.deepEqual(await get("/etcd"), {
    value: "héllo",
    missing: null,
    swapped: true,
    after: "swapped",
  });
});

test("workerd: Pegasus (meta query, routing, scanner) through cloudflare:sockets", async () => {
  assert.deepEqual(await get("/pegasus"), { value: "Ada", sortKeys: ["a", "b", "name"] });
});

test("workerd: TStorage put and get through cloudflare:sockets", async () => {
  assert.deepEqual(await get("/tstorage"), { written: 2, values: ["21.5 °C", "22 °C"] });
});

const CLUSTER = {
  values: true,
  masters: 3,
  stored: true,
  afterMove: true,
  movedTo: true,
  movedReplies: 1,
};

test("workerd: Redis Cluster through cloudflare:sockets: every master, a MOVED followed", async () => {
  assert.deepEqual(await get("/cluster"), CLUSTER);
});

test("workerd: Redis Cluster through the tunnel with one token for every node", async () => {
  const opened = clusterRelay.stats.opened;
  assert.deepEqual(await get("/cluster-tunnel"), CLUSTER);
  assert.ok(clusterRelay.stats.opened - opened >= 6, "3 cluster and 3 plain connections");
});
