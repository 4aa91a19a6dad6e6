// Failover on a real 3-member etcd cluster, on both protocols: the leader is killed while a watch
// and a stream of writes run. The watch resumes on another member with no gap and no duplicate;
// every write either succeeds or reports that its outcome is unknown, and the log agrees.

import { after } from "node:test";
import assert from "node:assert/strict";
import { startEtcdCluster } from "../../scripts/servers.ts";
import { ConnectionClosedError, TimeoutError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import type { WatchEvent } from "../../src/etcd/watch.ts";
import { eachProtocol } from "../_helpers/etcd_protocols.ts";
import { clusterLeader, type Restartable, restartable } from "../_helpers/etcd_restart.ts";

// One cluster for both protocols: the member killed by a run is restarted before the next one.
const cluster = await startEtcdCluster(3, { enableV2: false });
const members = cluster.members.map(restartable);
let killed: Restartable | undefined;
after(() => Promise.all(members.map((m) => m.stop())));

eachProtocol("failover: kill the leader during writes and a watch", async (protocol) => {
  await killed?.restart();
  const { index, id: leader } = await clusterLeader(cluster);
  // The leader first: the client's connections (and the watch) start there.
  const order = [index, ...[0, 1, 2].filter((i) => i !== index)];
  await using etcd = new EtcdClient({
    protocol,
    endpoints: order.map((i) => cluster.endpoints[i]),
    requestTimeout: 20_000,
  });
  const p = `fo/${protocol}/`;
  assert.equal(etcd.channel.currentEndpoint.port, cluster.members[index].port);
  await using watcher = etcd.watch(p, { prefix: true });
  await watcher.created;
  const events: WatchEvent[] = [];
  const n = 60;
  const outcomes: ("ok" | "unknown")[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 20) await (killed = members[index]).kill();
    try {
      await etcd.put(`${p}${String(i).padStart(3, "0")}`, String(i));
      outcomes.push("ok");
    } catch (error) {
      const unknown = (error instanceof EtcdError && error.sent) ||
        ((error instanceof ConnectionClosedError || error instanceof TimeoutError) && error.sent);
      assert.ok(unknown, `a failed write must say its outcome is unknown: ${error}`);
      outcomes.push("unknown");
    }
  }
  // What the cluster really holds decides; the watch must show exactly that, once, in order.
  const stored = await etcd.getPrefix(p);
  const storedIndexes = stored.map((kv) => Number(text(kv.value)));
  for (let i = 0; i < n; i++) {
    if (outcomes[i] === "ok") assert.ok(storedIndexes.includes(i), `write ${i} succeeded`);
  }
  for await (const event of watcher) {
    events.push(event);
    if (events.length === stored.length) break;
  }
  const revisions = events.map((e) => e.kv.modRevision);
  assert.deepEqual(revisions, stored.map((kv) => kv.modRevision).sort((a, b) => (a < b ? -1 : 1)));
  assert.deepEqual(events.map((e) => Number(text(e.kv.value))), storedIndexes);
  assert.ok(watcher.reconnects >= 1, "the watch had to move to another member");
  assert.notEqual(etcd.channel.currentEndpoint.port, cluster.members[index].port);
  const after = await etcd.status();
  assert.notEqual(after.leader, leader, "a new leader was elected");
}, { timeout: 60_000 });
