// The slot map of a Redis Cluster: which master (and replicas) serve each of the 16384 slots,
// parsed from `CLUSTER SHARDS` (Redis 7) or `CLUSTER SLOTS`. Malformed replies are refused.
// Spec: https://redis.io/docs/latest/commands/cluster-shards/ and .../cluster-slots/

import { utf8Decode } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import { RespMap, type RespValue } from "../resp_types.ts";
import { SLOT_COUNT } from "./slot.ts";

/** A node address as the cluster announces it, `host:port`. */
export type NodeKey = string;

/** The nodes serving a range of slots. */
export interface Shard {
  /** The master's address. */
  master: NodeKey;
  /** Replicas not known to have failed (a fresh one reports "loading" until it has data). */
  replicas: NodeKey[];
}

/**
 * Slots mapped to shards. `shardOf(slot)` is undefined for a slot no master serves.
 *
 * @example
 * ```ts
 * import { SlotMap } from "@kvwire/kvwire/redis";
 * const map = new SlotMap([{ master: "127.0.0.1:7000", replicas: [] }], [[0, 16383, 0]]);
 * map.shardOf(42)?.master; // "127.0.0.1:7000"
 * ```
 */
export class SlotMap {
  readonly shards: readonly Shard[];
  readonly #slots = new Int16Array(SLOT_COUNT).fill(-1);

  /** `ranges` are `[first, last, shard index]`, inclusive. */
  constructor(shards: Shard[], ranges: readonly (readonly [number, number, number])[]) {
    this.shards = shards;
    for (const [first, last, shard] of ranges) this.#slots.fill(shard, first, last + 1);
  }

  /** The shard serving `slot`. */
  shardOf(slot: number): Shard | undefined {
    const index = this.#slots[slot];
    return index === -1 ? undefined : this.shards[index];
  }

  /** The index in `shards` of the shard serving `slot`, or -1. Indexes never change. */
  shardIndex(slot: number): number {
    return this.#slots[slot];
  }

  /** Points one slot at `master` (after a MOVED), adding a shard for it when new. */
  moveSlot(slot: number, master: NodeKey): void {
    let index = this.shards.findIndex((s) => s.master === master);
    if (index === -1) index = (this.shards as Shard[]).push({ master, replicas: [] }) - 1;
    this.#slots[slot] = index;
  }

  /** Slots no master serves. */
  get uncovered(): number {
    let count = 0;
    for (const index of this.#slots) if (index === -1) count++;
    return count;
  }
}

/**
 * Builds the map from a `CLUSTER SHARDS` reply (RESP2 flat lists or RESP3 maps). `seed` is the
 * host of the node asked, used for nodes announcing no address.
 *
 * @example
 * ```ts
 * import { parseClusterShards } from "@kvwire/kvwire/redis";
 * const map = parseClusterShards([["slots", [0, 16383], "nodes", [["ip", "10.0.0.1", "port", 7000, "role", "master", "health", "online"]]]], "127.0.0.1");
 * map.shardOf(0)?.master; // "10.0.0.1:7000"
 * ```
 */
export function parseClusterShards(reply: RespValue, seedHost: string): SlotMap {
  const shards: Shard[] = [];
  const ranges: [number, number, number][] = [];
  for (const entry of list(reply, "CLUSTER SHARDS")) {
    const fields = record(entry);
    const slots = list(fields.get("slots") ?? [], "CLUSTER SHARDS slots").map(slotNumber);
    let master: NodeKey | undefined;
    const replicas: NodeKey[] = [];
    for (const n of list(fields.get("nodes") ?? [], "CLUSTER SHARDS nodes")) {
      const node = record(n);
      const health = text(node.get("health") ?? "online");
      const port = node.get("port") ?? node.get("tls-port");
      if (port === undefined) continue;
      const key = nodeKey(node.get("endpoint") ?? node.get("ip"), port, seedHost);
      if (text(node.get("role") ?? "") === "master") {
        if (health !== "failed") master = key;
      } else if (health !== "failed") replicas.push(key); // "loading": see RoutedRequest
    }
    if (master === undefined || slots.length === 0) continue;
    if (slots.length % 2 !== 0) throw malformed("CLUSTER SHARDS slots");
    const index = shards.push({ master, replicas }) - 1;
    for (let i = 0; i < slots.length; i += 2) ranges.push([slots[i], slots[i + 1], index]);
  }
  return new SlotMap(shards, ranges);
}

/**
 * Builds the map from a `CLUSTER SLOTS` reply: `[first, last, [host, port, id], ...replicas]`.
 *
 * @example
 * ```ts
 * import { parseClusterSlots } from "@kvwire/kvwire/redis";
 * parseClusterSlots([[0, 16383, ["10.0.0.1", 7000, "id"]]], "127.0.0.1").shardOf(5)?.master;
 * ```
 */
export function parseClusterSlots(reply: RespValue, seedHost: string): SlotMap {
  const shards: Shard[] = [];
  const byMaster = new Map<NodeKey, number>();
  const ranges: [number, number, number][] = [];
  for (const entry of list(reply, "CLUSTER SLOTS")) {
    const [first, last, ...nodes] = list(entry, "CLUSTER SLOTS entry");
    if (nodes.length === 0) throw malformed("CLUSTER SLOTS entry");
    const [master, ...replicas] = nodes.map((n) => {
      const [host, port] = list(n, "CLUSTER SLOTS node");
      return nodeKey(host, port, seedHost);
    });
    let index = byMaster.get(master);
    if (index === undefined) {
      index = shards.push({ master, replicas }) - 1;
      byMaster.set(master, index);
    }
    ranges.push([slotNumber(first), slotNumber(last), index]);
  }
  return new SlotMap(shards, ranges);
}

function malformed(what: string): RemoteProtocolError {
  return new RemoteProtocolError(`Malformed ${what} reply`, { sent: true });
}

function list(value: RespValue, what: string): RespValue[] {
  if (!Array.isArray(value)) throw malformed(what);
  return value;
}

/** A RESP3 map, or a RESP2 flat `[name, value, ...]` list, as a lookup. */
function record(value: RespValue): Map<string, RespValue> {
  const out = new Map<string, RespValue>();
  const pairs: [RespValue, RespValue][] = value instanceof RespMap ? value.entries : [];
  if (Array.isArray(value)) {
    if (value.length % 2 !== 0) throw malformed("CLUSTER SHARDS");
    for (let i = 0; i < value.length; i += 2) pairs.push([value[i], value[i + 1]]);
  } else if (!(value instanceof RespMap)) throw malformed("CLUSTER SHARDS");
  for (const [k, v] of pairs) out.set(text(k), v);
  return out;
}

function text(value: RespValue): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return utf8Decode(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw malformed("CLUSTER SHARDS field");
}

function slotNumber(value: RespValue): number {
  const n = Number(typeof value === "bigint" ? value : text(value));
  if (!Number.isInteger(n) || n < 0 || n >= SLOT_COUNT) throw malformed("cluster slot number");
  return n;
}

function nodeKey(host: RespValue | undefined, port: RespValue, seedHost: string): NodeKey {
  const name = host === undefined || host === null ? "" : text(host);
  const number = Number(typeof port === "bigint" ? port : text(port));
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw malformed("cluster port");
  // "" and "?" mean: the address this connection reached.
  return `${name === "" || name === "?" ? seedHost : name}:${number}`;
}
