// EtcdClient over gRPC shares its streams, counted by etcd itself (its /metrics): 50 watches
// of one client are one HTTP/2 connection and one Watch stream, the keep-alives of several
// leases one LeaseKeepAlive stream; after a cut connection the watches share one new stream.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startEtcd } from "../../scripts/servers.ts";
import { ConnectionClosedError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { text } from "../../src/etcd/kv.ts";
import { startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { eventually } from "../_helpers/process_state.ts";

const server = await startEtcd({ enableV2: false });
const endpoint = `127.0.0.1:${server.port}`;
after(() => server.stop());

/** etcd's own metrics: each sample `name{labels} value`, summed over the lines matching. */
async function metric(name: string, labels = ""): Promise<number> {
  const body = await (await fetch(`${server.url}/metrics`)).text();
  let total = 0;
  for (const line of body.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

const WATCH = 'grpc_method="Watch"';
const KEEPALIVE = 'grpc_method="LeaseKeepAlive"';

test("grpc client: 50 watches use one HTTP/2 connection and one Watch stream", async () => {
  await using etcd = new EtcdClient({ endpoints: [endpoint] });
  let connects = 0;
  etcd.on("connect", () => connects++);
  const watchStreams = await metric("grpc_server_started_total", WATCH);
  const watches = Array.from({ length: 50 }, (_, i) => etcd.watch(`shared/w/${i}`));
  await Promise.all(watches.map((w) => w.created));
  assert.equal(await metric("grpc_server_started_total", WATCH), watchStreams + 1);
  assert.equal(await metric("etcd_debugging_mvcc_watch_stream_total"), 1);
  assert.equal(await metric("etcd_debugging_mvcc_watcher_total"), 50);
  assert.equal(connects, 1);
  assert.equal(etcd.stats().inFlight, 1, "one stream in flight for 50 watches");
  const put = await etcd.put("shared/w/7", "seven");
  const seen = await watches[7].next();
  assert.equal(seen.done, false);
  assert.equal(text(seen.value!.kv.value), "seven");
  assert.equal(seen.value!.kv.modRevision, put.revision);
  for (const watch of watches) watch.close();
  await eventually(
    "etcd to drop the watch stream",
    async () => await metric("etcd_debugging_mvcc_watch_stream_total") === 0,
  );
  assert.equal(etcd.stats().inFlight, 0);
});

test("grpc client: after the connection is cut every watch resumes on one new stream", async () => {
  const proxy = await startChaosProxy({ host: "127.0.0.1", port: server.port });
  after(() => proxy.stop());
  await using etcd = new EtcdClient({ endpoints: [`${proxy.host}:${proxy.port}`] });
  await using writer = new EtcdClient({ endpoints: [endpoint] });
  const restarts: string[] = [];
  etcd.on("watchRestart", (e) => restarts.push(`${e.address} ${e.attempt}`));
  const watches = Array.from({ length: 5 }, (_, i) => etcd.watch(`shared/cut/${i}`));
  await Promise.all(watches.map((w) => w.created));
  const before = await metric("grpc_server_started_total", WATCH);
  proxy.resetAll();
  const puts = [];
  for (let i = 0; i < 5; i++) puts.push(await writer.put(`shared/cut/${i}`, `v${i}`));
  for (const [i, watch] of watches.entries()) {
    const event = await watch.next();
    assert.equal(event.value!.kv.modRevision, puts[i].revision);
    assert.equal(watch.reconnects, 1);
  }
  assert.deepEqual(restarts, watches.map(() => `${proxy.host}:${proxy.port} 1`));
  assert.equal(await metric("grpc_server_started_total", WATCH), before + 1);
});

test("grpc client: the keep-alives of 10 leases share one LeaseKeepAlive stream", async () => {
  await using etcd = new EtcdClient({ endpoints: [endpoint] });
  const streams = await metric("grpc_server_started_total", KEEPALIVE);
  const leases = await Promise.all(
    Array.from({ length: 10 }, () => etcd.grant(30, { keepAlive: false })),
  );
  for (let round = 0; round < 3; round++) {
    const ttls = await Promise.all(leases.map((l) => l.keepAliveOnce()));
    assert.deepEqual(ttls, leases.map(() => 30));
  }
  assert.equal(await metric("grpc_server_started_total", KEEPALIVE), streams + 1);
  await etcd.revoke(leases[0].id);
  assert.equal(await leases[0].keepAliveOnce(), 0, "a revoked lease answers TTL 0");
  await Promise.all(leases.slice(1).map((l) => l.revoke()));
  assert.equal(await metric("grpc_server_started_total", KEEPALIVE), streams + 1);
});

test("grpc client: a watch on a closed client is a ConnectionClosedError; open ones end", async () => {
  const etcd = new EtcdClient({ endpoints: [endpoint] });
  const open = etcd.watch("shared/closing");
  await open.created;
  await etcd.close();
  assert.deepEqual(await open.next(), { value: undefined, done: true });
  assert.throws(() => etcd.watch("shared/closing"), ConnectionClosedError);
  const fresh = new EtcdClient({ endpoints: [endpoint] });
  await fresh.close();
  assert.throws(() => fresh.watch("shared/closing"), ConnectionClosedError);
});
