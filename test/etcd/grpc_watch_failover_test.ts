// WatchHub on a real 3-member etcd cluster: the leader, which holds the hub's one Watch
// stream, is killed during writes; every watch resumes on another member with no gap and no
// duplicate (the events seen are exactly what the cluster stored, once, in order).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startEtcdCluster } from "../../scripts/servers.ts";
import { ConnectionClosedError, TimeoutError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { WatchHub } from "../../src/etcd/grpc/watch_hub.ts";
import { Keys, text } from "../../src/etcd/kv.ts";
import { GrpcTestChannel } from "../_helpers/grpc_bidi.ts";

const cluster = await startEtcdCluster(3, { enableV2: false });
after(() => cluster.stop());

test("hub failover: the leader killed during writes; 10 watches resume exactly", {
  timeout: 60_000,
}, async () => {
  const probe = new EtcdClient({ endpoints: cluster.endpoints });
  const status = await probe.status();
  const members = await probe.members();
  await probe.close();
  const leader = members.find((m) => m.id === status.leader)!;
  const leaderIndex = cluster.members.findIndex((m) =>
    leader.clientUrls.includes(`http://${m.host}:${m.port}`)
  );
  assert.ok(leaderIndex >= 0);
  const order = [leaderIndex, ...[0, 1, 2].filter((i) => i !== leaderIndex)];
  const grpc = new GrpcTestChannel(order.map((i) => cluster.members[i]));
  const hub = new WatchHub({ open: grpc.open, keys: new Keys() });
  await using etcd = new EtcdClient({
    endpoints: order.map((i) => cluster.endpoints[i]),
    requestTimeout: 20_000,
  });
  try {
    const watches = Array.from({ length: 10 }, () => hub.watch({ key: "hfo/", prefix: true }));
    await Promise.all(watches.map((w) => w.created));
    const n = 60;
    const outcomes: ("ok" | "unknown")[] = [];
    for (let i = 0; i < n; i++) {
      if (i === 20) await cluster.members[leaderIndex].stop();
      try {
        await etcd.put(`hfo/${String(i).padStart(3, "0")}`, String(i));
        outcomes.push("ok");
      } catch (error) {
        const unknown = (error instanceof EtcdError && error.sent) ||
          ((error instanceof ConnectionClosedError || error instanceof TimeoutError) &&
            error.sent);
        assert.ok(unknown, `a failed write must say its outcome is unknown: ${error}`);
        outcomes.push("unknown");
      }
    }
    const stored = await etcd.getPrefix("hfo/");
    const storedIndexes = stored.map((kv) => Number(text(kv.value)));
    for (let i = 0; i < n; i++) {
      if (outcomes[i] === "ok") assert.ok(storedIndexes.includes(i), `write ${i} succeeded`);
    }
    const expected = stored.map((kv) => kv.modRevision).sort((a, b) => (a < b ? -1 : 1));
    for (const watch of watches) {
      const seen: bigint[] = [];
      for await (const event of watch) {
        seen.push(event.kv.modRevision);
        if (seen.length === stored.length) break;
      }
      assert.deepEqual(seen, expected);
      assert.equal(watch.reconnects >= 1, true, "the watch had to move to another member");
    }
    assert.notEqual(grpc.address.port, cluster.members[leaderIndex].port);
    assert.ok(hub.streamsOpened >= 2);
  } finally {
    hub.close();
    await grpc.close();
  }
});
