// The tour's Redis Cluster section, run by scripts/tour.ts when KVWIRE_REDIS_CLUSTER names seed
// nodes (`host:port,...`): routing over every master, split and refused multi-key commands,
// a pipeline across nodes, a slot-bound transaction and sharded pub/sub.

import { RedisClusterClient } from "../src/redis/mod.ts";

/**
 * Runs the cluster section against the cluster reached through `seeds`, printing with `log`.
 * The keys it writes (`tour:cluster:*`) are deleted at the end.
 *
 * @example
 * ```ts
 * await clusterTour(["127.0.0.1:7000"]);
 * ```
 */
export async function clusterTour(
  seeds: readonly string[],
  log: (line: string) => void = console.log,
): Promise<void> {
  log(`\n== Redis Cluster (seeds ${seeds.join(", ")})`);
  await using cluster = await RedisClusterClient.connect({ nodes: seeds, decode: true });
  const masters = cluster.masters.map((m) =>
    "host" in m.address ? `${m.address.host}:${m.address.port}` : ""
  );
  log(`slot map -> ${masters.length} masters: ${masters.join(", ")}`);
  const keys = Array.from({ length: 300 }, (_, i) => `tour:cluster:${i}`);
  try {
    await Promise.all(keys.map((k, i) => cluster.set(k, `${i}`, { ex: 60 })));
    const values = await Promise.all(keys.map((k) => cluster.get(k)));
    const intact = values.every((v, i) => v === `${i}`);
    const counts = await Promise.all(
      cluster.perMaster().map((m) => m.keys("tour:cluster:*").then((found) => found.length)),
    );
    const perMaster = counts.map((n, i) => `${masters[i]} ${n}`).join(", ");
    log(
      `300 SETs and GETs routed by slot -> ${intact ? "all read back" : "MISMATCH"} (${perMaster})`,
    );
    const mget = await cluster.mGet("tour:cluster:0", "tour:cluster:1", "tour:cluster:2");
    log(`MGET over 3 slots (split per slot, answered in order) -> ${JSON.stringify(mget)}`);
    try {
      await cluster.sInter("tour:cluster:a", "tour:cluster:b");
    } catch (error) {
      log(`SINTER over 2 slots -> refused before sending: ${(error as Error).name}`);
    }
    const piped = await cluster.pipeline()
      .set("{tour:cluster:u1}name", "Ada").incr("tour:cluster:hits").get("{tour:cluster:u1}name")
      .exec();
    log(`pipeline over several nodes -> ${JSON.stringify(piped)}`);
    const tx = await cluster.multi()
      .incr("{tour:cluster:u1}visits").incr("{tour:cluster:u1}visits").exec();
    log(`MULTI/EXEC in one slot ({tour:cluster:u1}) -> ${JSON.stringify(tx)}`);
    await using sub = cluster.shardPubsub({ ignoreSubscribeMessages: true });
    await sub.ssubscribe("tour:cluster:orders");
    const receivers = await cluster.sPublish("tour:cluster:orders", "o-1");
    const message = await sub.getMessage({ timeout: 2000 });
    log(
      `SSUBSCRIBE on the channel's master, SPUBLISH -> ${receivers} receiver, got ${
        JSON.stringify(message?.data)
      }`,
    );
  } finally {
    await cluster.del(
      ...keys,
      "tour:cluster:hits",
      "{tour:cluster:u1}name",
      "{tour:cluster:u1}visits",
    );
  }
}
