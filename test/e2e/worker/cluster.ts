// Routes of the e2e Worker for Redis Cluster: a RedisClusterClient reaching a real cluster
// through `cloudflare:sockets` or the WebSocket tunnel (one token with a target pattern), with
// keys on every master and a slot moved behind its back (the next command follows MOVED).

import { RedisClient, RedisClusterClient } from "../../../src/redis/mod.ts";
import { keySlot } from "../../../src/redis/cluster/slot.ts";
import { createTunnelToken } from "../../../src/tunnel/token.ts";
import { connectCloudflare } from "../../../transports/cloudflare.ts";
import { websocketConnector } from "../../../transports/websocket.ts";
import type { Connect } from "../../../transports/types.ts";
import { migrateSlot, ownerOf, ownersOf } from "../../redis/_cluster.ts";

/** Bindings of the cluster routes. */
export interface ClusterEnv {
  /** The masters, `host:port,...`. */
  CLUSTER_MASTERS: string;
  /** A relay whose allow-list names every cluster node. */
  CLUSTER_RELAY_URL: string;
  TUNNEL_SECRET: string;
}

/** `errorstat_MOVED` of a node: how many MOVED replies it sent. */
async function movedReplies(node: RedisClient<string>): Promise<number> {
  const info = String(await node.send("INFO", "errorstats"));
  return Number(/errorstat_MOVED:count=(\d+)/.exec(info)?.[1] ?? 0);
}

async function exercise(env: ClusterEnv, connect: Connect): Promise<unknown> {
  const masters = env.CLUSTER_MASTERS.split(",");
  const cluster = await RedisClusterClient.connect({
    nodes: [masters[0]],
    decode: true,
    connect,
    refreshInterval: 0, // the map stays as loaded unless a MOVED says otherwise
  });
  const plain = new Map<string, RedisClient<string>>();
  const prefix = `wk:${crypto.randomUUID()}:`;
  const keys = Array.from({ length: 60 }, (_, i) => `${prefix}${i}`);
  try {
    for (const endpoint of masters) {
      const [host, port] = endpoint.split(":");
      plain.set(
        endpoint,
        await RedisClient.connect({ host, port: Number(port), decode: true, connect }),
      );
    }
    await Promise.all(keys.map((k) => cluster.set(k, k, { ex: 60 })));
    const values = await Promise.all(keys.map((k) => cluster.get(k)));
    const owners = await ownersOf(plain, keys.map((k) => keySlot(k)));
    const stored = await Promise.all(
      keys.map((k) => plain.get(owners.get(keySlot(k))!)!.exists(k)),
    );
    // Move the first key's slot to another master without telling the client.
    const slot = keySlot(keys[0]);
    const source = owners.get(slot)!;
    const target = masters.find((m) => m !== source)!;
    const before = await movedReplies(plain.get(source)!);
    await migrateSlot(plain, slot, target);
    const afterMove = await cluster.get(keys[0]);
    return {
      values: values.every((v, i) => v === keys[i]),
      masters: new Set(owners.values()).size,
      stored: stored.every((n) => n === 1),
      afterMove: afterMove === keys[0],
      movedTo: (await ownerOf(plain, slot)) === target,
      movedReplies: (await movedReplies(plain.get(source)!)) - before,
    };
  } finally {
    await cluster.del(...keys).catch(() => 0);
    await Promise.all([cluster.close(), ...[...plain.values()].map((c) => c.close())]);
  }
}

/** Runs a cluster route, or returns undefined for a path that is not one. */
export async function clusterRoute(path: string, env: ClusterEnv): Promise<unknown> {
  switch (path) {
    case "/cluster":
      return await exercise(env, connectCloudflare);
    case "/cluster-tunnel": {
      // One token for every node: a pattern; the relay's allow-list names the nodes exactly.
      const token = await createTunnelToken({
        secret: env.TUNNEL_SECRET,
        targets: "127.0.0.1:*",
        expiresIn: 60,
      });
      return await exercise(env, websocketConnector({ url: env.CLUSTER_RELAY_URL, token }));
    }
    default:
      return undefined;
  }
}
