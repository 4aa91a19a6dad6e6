// The tour's Redis Cluster section (scripts/tour_cluster.ts, run by `npm run tour` when
// KVWIRE_REDIS_CLUSTER is set) against a real 3-master cluster: every line it prints.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { clusterTour } from "../../scripts/tour_cluster.ts";

let servers: RedisClusterServers;

before(async () => {
  servers = await startRedisCluster({ replicas: 0 });
});

after(async () => {
  await servers?.stop();
});

test("tour: the cluster section routes over every master and prints what it did", async () => {
  const lines: string[] = [];
  await clusterTour(servers.endpoints.slice(0, 1), (line) => lines.push(line));
  const masters = [...servers.endpoints].sort();
  assert.equal(lines[0], `\n== Redis Cluster (seeds ${servers.endpoints[0]})`);
  const listed = /^slot map -> 3 masters: (.+)$/.exec(lines[1])?.[1].split(", ");
  assert.deepEqual(listed?.sort(), masters);
  const counts = /^300 SETs and GETs routed by slot -> all read back \((.+)\)$/.exec(lines[2]);
  assert.ok(counts, lines[2]);
  const perMaster = counts[1].split(", ").map((part) => part.split(" "));
  assert.deepEqual(perMaster.map(([m]) => m).sort(), masters);
  assert.equal(perMaster.reduce((sum, [, n]) => sum + Number(n), 0), 300);
  assert.ok(perMaster.every(([, n]) => Number(n) > 50), "keys spread over the masters");
  assert.deepEqual(lines.slice(3), [
    'MGET over 3 slots (split per slot, answered in order) -> ["0","1","2"]',
    "SINTER over 2 slots -> refused before sending: RangeError",
    'pipeline over several nodes -> [true,1,"Ada"]',
    "MULTI/EXEC in one slot ({tour:cluster:u1}) -> [1,2]",
    'SSUBSCRIBE on the channel\'s master, SPUBLISH -> 1 receiver, got "o-1"',
  ]);
});
