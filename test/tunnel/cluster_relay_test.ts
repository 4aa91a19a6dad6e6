// A RedisClusterClient through the WebSocket tunnel relay with one token for every node: a
// token naming several targets, or a pattern, within the relay's allow-list; and the two
// refusals (a node outside the token, a node outside the allow-list).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector, type WebSocketConstructor } from "../../transports/websocket.ts";
import { ownersOf } from "../redis/_cluster.ts";
import { SECRET, webSocketClass } from "./_helpers.ts";

let servers: RedisClusterServers;
let relay: TunnelServer;
let WebSocket: WebSocketConstructor;
/** One key per master endpoint, each in a slot that master serves. */
const keyOn = new Map<string, string>();
const prefix = `tun:${crypto.randomUUID().slice(0, 8)}:`;

before(async () => {
  WebSocket = await webSocketClass();
  servers = await startRedisCluster({ replicas: 0 });
  relay = await serveTunnel({ secrets: [SECRET], allow: servers.endpoints });
  const [host, port] = servers.endpoints[0].split(":");
  const plain = await RedisClient.connect({ host, port: Number(port), decode: true });
  try {
    const keys = Array.from({ length: 200 }, (_, i) => `${prefix}${i}`);
    const owners = await ownersOf(new Map([["", plain]]), keys.map((k) => keySlot(k)));
    for (const key of keys) {
      const owner = owners.get(keySlot(key))!;
      if (!keyOn.has(owner)) keyOn.set(owner, key);
    }
  } finally {
    await plain.close();
  }
  assert.equal(keyOn.size, 3, "a key for each master");
});

after(async () => {
  await relay?.close();
  await servers?.stop();
});

/** A cluster client whose every node connection goes through `via` with `targets`' token. */
async function clusterThrough(
  via: TunnelServer,
  targets: string | string[],
  seed = servers.endpoints[0],
): Promise<RedisClusterClient<string>> {
  const token = await createTunnelToken({ secret: SECRET, targets, expiresIn: 60 });
  return await RedisClusterClient.connect({
    nodes: [seed],
    decode: true,
    connect: websocketConnector({ url: via.url, token, WebSocket }),
    retryTimeout: 300, // a refused node fails fast
  });
}

async function roundTrip(cluster: RedisClusterClient<string>): Promise<void> {
  const keys = Array.from({ length: 100 }, (_, i) => `${prefix}rt${i}`);
  await Promise.all(keys.map((k) => cluster.set(k, k, { ex: 60 })));
  assert.deepEqual(await Promise.all(keys.map((k) => cluster.get(k))), keys);
  for (const key of keyOn.values()) {
    assert.equal(await cluster.set(key, "v", { ex: 60 }), true);
    assert.equal(await cluster.get(key), "v");
  }
}

test("cluster relay: one token listing every node carries a cluster client to all masters", async () => {
  const opened = relay.stats.opened;
  await using cluster = await clusterThrough(relay, servers.endpoints);
  await roundTrip(cluster);
  assert.equal(cluster.masters.length, 3);
  assert.ok(relay.stats.opened - opened >= 3, "one tunnel per master at least");
});

test("cluster relay: a token naming a pattern works within the relay's exact allow-list", async () => {
  await using cluster = await clusterThrough(relay, "127.0.0.1:*");
  await roundTrip(cluster);
});

test("cluster relay: a node the token does not name is refused, the others work", async () => {
  const [outside, ...named] = [...keyOn.keys()].reverse();
  await using cluster = await clusterThrough(relay, named, named[0]);
  assert.equal(await cluster.set(keyOn.get(named[0])!, "ok"), true);
  await assert.rejects(cluster.get(keyOn.get(outside)!), (e: Error) => {
    assert.equal(e.name, "TunnelError");
    assert.match(e.message, /not allowed by the token \(close code 4403\)/);
    return true;
  });
});

test("cluster relay: a node outside the relay's allow-list is refused whatever the token says", async () => {
  const [outside, ...allowed] = [...keyOn.keys()];
  const narrow = await serveTunnel({ secrets: [SECRET], allow: allowed });
  try {
    await using cluster = await clusterThrough(narrow, "127.0.0.1:*", allowed[0]);
    assert.equal(await cluster.set(keyOn.get(allowed[1])!, "ok"), true);
    await assert.rejects(cluster.get(keyOn.get(outside)!), (e: Error) => {
      assert.equal(e.name, "TunnelError");
      assert.match(e.message, /not in the relay's allow-list \(close code 4403\)/);
      return true;
    });
  } finally {
    await narrow.close();
  }
});
