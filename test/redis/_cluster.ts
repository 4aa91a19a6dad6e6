// Helpers of the Redis Cluster tests, runtime-neutral (the workerd e2e Worker bundles them):
// who owns a slot, and moving a slot with its keys from one master to another by hand.

import type { RedisClient } from "../../src/redis/client.ts";

/** Plain clients of every cluster node, by `host:port`. */
export type NodeClients = ReadonlyMap<string, RedisClient<string>>;

/**
 * The master endpoints serving `slots`, from one CLUSTER SLOTS of a plain connection.
 *
 * @example
 * ```ts
 * const owners = await ownersOf(nodes, [0, 6000, 12000]);
 * ```
 */
export async function ownersOf(
  nodes: NodeClients,
  slots: Iterable<number>,
): Promise<Map<number, string>> {
  const [any] = nodes.values();
  const ranges = (await any.send("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
  const owners = new Map<number, string>();
  for (const slot of slots) {
    const range = ranges.find(([first, last]) => slot >= first && slot <= last)!;
    owners.set(slot, `${range[2][0]}:${range[2][1]}`);
  }
  return owners;
}

/**
 * The master endpoint serving `slot`.
 *
 * @example
 * ```ts
 * const owner = await ownerOf(nodes, keySlot("k"));
 * ```
 */
export async function ownerOf(nodes: NodeClients, slot: number): Promise<string> {
  return (await ownersOf(nodes, [slot])).get(slot)!;
}

/**
 * Moves `slot` (with its keys) from its master to the master `target`, calling `midway` once
 * the first batch of keys moved (the source then answers ASK for them). Every master learns
 * the new owner with `CLUSTER SETSLOT ... NODE`: the target, the source, then the others.
 *
 * @example
 * ```ts
 * await migrateSlot(nodes, keySlot("{tag}"), "127.0.0.1:7001");
 * ```
 */
export async function migrateSlot(
  nodes: NodeClients,
  slot: number,
  target: string,
  midway: (moved: string[], source: RedisClient<string>) => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const source = await ownerOf(nodes, slot);
  const from = nodes.get(source)!;
  const to = nodes.get(target)!;
  const fromId = (await from.send("CLUSTER", "MYID")) as string;
  const toId = (await to.send("CLUSTER", "MYID")) as string;
  await to.send("CLUSTER", "SETSLOT", slot, "IMPORTING", fromId);
  await from.send("CLUSTER", "SETSLOT", slot, "MIGRATING", toId);
  const [host, port] = target.split(":");
  let first = true;
  for (;;) {
    const keys = (await from.send("CLUSTER", "GETKEYSINSLOT", slot, 50)) as string[];
    if (keys.length === 0) break;
    await from.send("MIGRATE", host, port, "", 0, 5000, "KEYS", ...keys);
    if (first) await midway(keys, from);
    first = false;
  }
  const masters = await ownersOf(nodes, [0, 6000, 12000]);
  const others = [...new Set(masters.values())].filter((m) => m !== source && m !== target);
  for (const node of [to, from, ...others.map((m) => nodes.get(m)!)]) {
    await node.send("CLUSTER", "SETSLOT", slot, "NODE", toId);
  }
}
