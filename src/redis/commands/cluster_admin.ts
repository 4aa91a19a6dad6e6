// Typed CLUSTER subcommands (INFO and NODES parsed, SLOTS and SHARDS shaped, slot assignment,
// MEET/FORGET/REPLICATE/FAILOVER/RESET...) and the connection states READONLY, READWRITE,
// ASKING. Spec: https://redis.io/docs/latest/commands/?group=cluster

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { parseInfo } from "./info.ts";
import { StreamMoreCommands } from "./streams_more.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asOk,
  asRecord,
  fieldsOf,
  type ReplyContext,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** CLUSTER INFO: `cluster_state` ("ok" or "fail"), `cluster_slots_assigned`, ... numbers as numbers. */
export type ClusterInfo = Record<string, string | number>;

/** One node as CLUSTER NODES (or REPLICAS) describes it. */
export interface ClusterNodeEntry {
  id: string;
  host: string;
  port: number;
  /** The cluster bus port. */
  busPort: number;
  /** The announced hostname, when the node has one. */
  hostname?: string;
  /** `myself`, `master`, `slave`, `fail?`, `fail`, `handshake`, `noaddr`, `nofailover`... */
  flags: string[];
  /** The id of the master of a replica; null for a master. */
  masterId: string | null;
  pingSent: number;
  pongReceived: number;
  configEpoch: number;
  linkState: "connected" | "disconnected";
  /** Served slot ranges, inclusive (a single slot is `[s, s]`). */
  slots: [number, number][];
  /** Slots being moved: `{ slot, nodeId, direction }` (`">"` migrating to, `"<"` importing from). */
  migrations: { slot: number; nodeId: string; direction: "<" | ">" }[];
}

/** A node in a CLUSTER SLOTS range. */
export interface ClusterSlotNode {
  host: string;
  port: number;
  id: string;
  /** Networking metadata (hostname...), empty when the node announces none. */
  metadata: Record<string, unknown>;
}

/** A CLUSTER SLOTS range and the nodes serving it. */
export interface ClusterSlotRange {
  start: number;
  end: number;
  master: ClusterSlotNode;
  replicas: ClusterSlotNode[];
}

/** A CLUSTER SHARDS shard: its slot ranges and the fields of each node (`id`, `role`, `health`...). */
export interface ClusterShard {
  slots: [number, number][];
  nodes: Record<string, unknown>[];
}

/** A CLUSTER SETSLOT state. */
export type ClusterSlotState =
  | { importing: string }
  | { migrating: string }
  | { node: string }
  | "STABLE";

/** Which statistics CLUSTER SLOT-STATS reports on. */
export type ClusterSlotStatsQuery =
  | { start: number; end: number }
  | {
    orderBy: "key-count" | "cpu-usec" | "memory-bytes" | "network-bytes-in" | "network-bytes-out";
    limit?: number;
    order?: "ASC" | "DESC";
  };

const TEXT = { decode: true } as const;
const LAST_SLOT = 16383;

/** A slot number, checked before sending. */
function slotArg(slot: number, name = "slot"): number {
  if (!Number.isInteger(slot) || slot < 0 || slot > LAST_SLOT) {
    throw new RangeError(`${name}: ${slot} is not a slot (0..${LAST_SLOT})`);
  }
  return slot;
}

function rangeArgs(ranges: [number, number][]): number[] {
  if (ranges.length === 0) throw new RangeError("ranges: give at least one [start, end]");
  return ranges.flatMap(([start, end]) => {
    if (slotArg(start, "start") > slotArg(end, "end")) {
      throw new RangeError(`ranges: start ${start} is after end ${end}`);
    }
    return [start, end];
  });
}

function slotsArgs(slots: number[]): number[] {
  if (slots.length === 0) throw new RangeError("slots: give at least one slot");
  return slots.map((s) => slotArg(s));
}

function list(reply: RespValue, what: string): RespValue[] {
  if (!Array.isArray(reply)) throw replyShapeError(`Expected an array in the ${what} reply`);
  return reply;
}

/** `<ip:port@cport[,hostname]>` of a CLUSTER NODES line. */
function parseAddress(
  text: string,
): { host: string; port: number; busPort: number; hostname?: string } {
  const [address, hostname] = text.split(",");
  const at = address.lastIndexOf("@");
  const colon = address.lastIndexOf(":", at);
  if (at === -1 || colon === -1) throw replyShapeError(`Bad node address "${text}" in the reply`);
  const out = {
    host: address.slice(0, colon),
    port: Number(address.slice(colon + 1, at)),
    busPort: Number(address.slice(at + 1)),
  };
  return hostname ? { ...out, hostname } : out;
}

/** One line of CLUSTER NODES: id, address, flags, master, ping, pong, epoch, link, slots... */
function parseNodeLine(line: string): ClusterNodeEntry {
  const f = line.trim().split(" ");
  if (f.length < 8) throw replyShapeError(`Bad CLUSTER NODES line "${line}" in the reply`);
  const entry: ClusterNodeEntry = {
    id: f[0],
    ...parseAddress(f[1]),
    flags: f[2] === "noflags" ? [] : f[2].split(","),
    masterId: f[3] === "-" ? null : f[3],
    pingSent: Number(f[4]),
    pongReceived: Number(f[5]),
    configEpoch: Number(f[6]),
    linkState: f[7] as ClusterNodeEntry["linkState"],
    slots: [],
    migrations: [],
  };
  for (const slot of f.slice(8)) {
    const moving = /^\[(\d+)-([<>])-(\w+)\]$/.exec(slot);
    if (moving) {
      const direction = moving[2] as "<" | ">";
      entry.migrations.push({ slot: Number(moving[1]), nodeId: moving[3], direction });
      continue;
    }
    const [start, end = start] = slot.split("-").map(Number);
    entry.slots.push([start, end]);
  }
  return entry;
}

const asNodeLines = (text: string): ClusterNodeEntry[] =>
  text.split("\n").filter((l) => l.trim() !== "").map(parseNodeLine);

const asClusterNodes: Transform<ClusterNodeEntry[]> = (reply) =>
  asNodeLines(asNonNullValue<string>(reply, TEXT));

const asNodeList: Transform<ClusterNodeEntry[]> = (reply) =>
  asNonNullValues<string>(reply, TEXT).flatMap(asNodeLines);

function asSlotNode(reply: RespValue, c: ReplyContext): ClusterSlotNode {
  const [host, port, id, metadata] = list(reply, "CLUSTER SLOTS");
  return {
    host: asNonNullValue<string>(host, TEXT),
    port: asNumber(port, c),
    id: asNonNullValue<string>(id, TEXT),
    metadata: metadata === undefined ? {} : asRecord(metadata),
  };
}

const asClusterSlots: Transform<ClusterSlotRange[]> = (reply, c) =>
  list(reply, "CLUSTER SLOTS").map((entry) => {
    const [start, end, master, ...replicas] = list(entry, "CLUSTER SLOTS");
    if (master === undefined) throw replyShapeError("Expected a master in the CLUSTER SLOTS reply");
    return {
      start: asNumber(start, c),
      end: asNumber(end, c),
      master: asSlotNode(master, c),
      replicas: replicas.map((r) => asSlotNode(r, c)),
    };
  });

function asRanges(reply: RespValue | undefined, c: ReplyContext): [number, number][] {
  const flat = list(reply ?? null, "CLUSTER SHARDS slots");
  if (flat.length % 2 !== 0) throw replyShapeError("Expected slot ranges in the reply");
  const out: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    out.push([asNumber(flat[i], c), asNumber(flat[i + 1], c)]);
  }
  return out;
}

const asClusterShards: Transform<ClusterShard[]> = (reply, c) =>
  list(reply, "CLUSTER SHARDS").map((entry) => {
    const fields = fieldsOf(entry);
    return {
      slots: asRanges(fields.get("slots"), c),
      nodes: list(fields.get("nodes") ?? null, "CLUSTER SHARDS nodes").map(asRecord),
    };
  });

const asBumpEpoch: Transform<{ bumped: boolean; epoch: number }> = (reply, c) => {
  const [word, epoch] = asNonNullValue<string>(reply, TEXT).split(" ");
  if (word !== "BUMPED" && word !== "STILL") {
    throw replyShapeError(`Unexpected CLUSTER BUMPEPOCH reply "${word}"`);
  }
  return { bumped: word === "BUMPED", epoch: asNumber(epoch, c) };
};

const asSlotStats: Transform<{ slot: number; stats: Record<string, number> }[]> = (reply, c) =>
  list(reply, "CLUSTER SLOT-STATS").map((item) => {
    const [slot, stats] = list(item, "CLUSTER SLOT-STATS");
    const record = asRecord(stats);
    return {
      slot: asNumber(slot, c),
      stats: Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Number(v)])),
    };
  });

/**
 * CLUSTER administration and introspection, for a plain client connected to one cluster node
 * (each command answers for, or acts on, that node). READONLY, READWRITE and ASKING set the
 * state of the connection they run on: `RedisClusterClient` manages them itself (ASKING before
 * a redirected command, READONLY on replica connections), so call them only on a plain client.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using node = await RedisClient.connect("redis://127.0.0.1:7000");
 * (await node.clusterInfo()).cluster_state; // "ok"
 * (await node.clusterNodes()).find((n) => n.flags.includes("myself"))?.slots; // [[0, 5460]]
 * await node.clusterKeySlot("foo"); // 12182
 * ```
 */
export abstract class ClusterAdminCommands<V, M extends CommandMode>
  extends StreamMoreCommands<V, M> {
  /** CLUSTER INFO parsed: `cluster_state`, `cluster_slots_ok`, `cluster_known_nodes`... */
  clusterInfo(): Out<M, ClusterInfo, this> {
    return this.call(["CLUSTER", "INFO"], (reply) => {
      const text = asNonNullValue<string>(reply, TEXT);
      return (parseInfo(text).default ?? {}) as ClusterInfo;
    });
  }

  /** CLUSTER NODES parsed: every node this node knows. */
  clusterNodes(): Out<M, ClusterNodeEntry[], this> {
    return this.call(["CLUSTER", "NODES"], asClusterNodes);
  }

  /** CLUSTER REPLICAS of a master: its replicas, parsed like CLUSTER NODES. */
  clusterReplicas(masterId: string): Out<M, ClusterNodeEntry[], this> {
    return this.call(["CLUSTER", "REPLICAS", masterId], asNodeList);
  }

  /** CLUSTER SLAVES: the deprecated name of {@link clusterReplicas} (same reply). */
  clusterSlaves(masterId: string): Out<M, ClusterNodeEntry[], this> {
    return this.call(["CLUSTER", "SLAVES", masterId], asNodeList);
  }

  /** CLUSTER SLOTS shaped: slot ranges with their master and replicas (deprecated since 7.0). */
  clusterSlots(): Out<M, ClusterSlotRange[], this> {
    return this.call(["CLUSTER", "SLOTS"], asClusterSlots);
  }

  /** CLUSTER SHARDS shaped: each shard's slot ranges and nodes. */
  clusterShards(): Out<M, ClusterShard[], this> {
    return this.call(["CLUSTER", "SHARDS"], asClusterShards);
  }

  /** CLUSTER LINKS: the node's cluster bus links (`direction`, `node`, `events`...). */
  clusterLinks(): Out<M, Record<string, unknown>[], this> {
    return this.call(["CLUSTER", "LINKS"], (r) => list(r, "CLUSTER LINKS").map(asRecord));
  }

  /** CLUSTER MYID: the node's id. */
  clusterMyId(): Out<M, string, this> {
    return this.call(["CLUSTER", "MYID"], (r) => asNonNullValue<string>(r, TEXT));
  }

  /**
   * CLUSTER MYSHARDID: the id of the node's shard.
   *
   * @since Redis 7.2, Valkey 7.2
   */
  clusterMyShardId(): Out<M, string, this> {
    return this.call(["CLUSTER", "MYSHARDID"], (r) => asNonNullValue<string>(r, TEXT));
  }

  /** CLUSTER KEYSLOT: the hash slot of a key (computed by the server). */
  clusterKeySlot(key: RedisKey): Out<M, number, this> {
    return this.call(["CLUSTER", "KEYSLOT", key], asNumber);
  }

  /** CLUSTER COUNTKEYSINSLOT: how many keys of the slot this node holds. */
  clusterCountKeysInSlot(slot: number): Out<M, number, this> {
    return this.call(["CLUSTER", "COUNTKEYSINSLOT", slotArg(slot)], asNumber);
  }

  /** CLUSTER GETKEYSINSLOT: up to `count` keys of the slot held by this node. */
  clusterGetKeysInSlot(slot: number, count: number): Out<M, V[], this> {
    return this.call(["CLUSTER", "GETKEYSINSLOT", slotArg(slot), count], asNonNullValues<V>);
  }

  /** CLUSTER COUNT-FAILURE-REPORTS: how many masters currently report the node as failing. */
  clusterCountFailureReports(nodeId: string): Out<M, number, this> {
    return this.call(["CLUSTER", "COUNT-FAILURE-REPORTS", nodeId], asNumber);
  }

  /** CLUSTER ADDSLOTS: assigns unassigned slots to this node. */
  clusterAddSlots(...slots: number[]): Out<M, boolean, this> {
    return this.call(["CLUSTER", "ADDSLOTS", ...slotsArgs(slots)], asOk);
  }

  /** CLUSTER ADDSLOTSRANGE: assigns inclusive `[start, end]` ranges of slots to this node. */
  clusterAddSlotsRange(...ranges: [number, number][]): Out<M, boolean, this> {
    return this.call(["CLUSTER", "ADDSLOTSRANGE", ...rangeArgs(ranges)], asOk);
  }

  /** CLUSTER DELSLOTS: makes this node forget it serves the slots. */
  clusterDelSlots(...slots: number[]): Out<M, boolean, this> {
    return this.call(["CLUSTER", "DELSLOTS", ...slotsArgs(slots)], asOk);
  }

  /** CLUSTER DELSLOTSRANGE: {@link clusterDelSlots} for inclusive ranges. */
  clusterDelSlotsRange(...ranges: [number, number][]): Out<M, boolean, this> {
    return this.call(["CLUSTER", "DELSLOTSRANGE", ...rangeArgs(ranges)], asOk);
  }

  /** CLUSTER FLUSHSLOTS: unassigns every slot of this node (its database must be empty). */
  clusterFlushSlots(): Out<M, boolean, this> {
    return this.call(["CLUSTER", "FLUSHSLOTS"], asOk);
  }

  /** CLUSTER SETSLOT: marks a slot importing from, migrating to, owned by a node, or stable. */
  clusterSetSlot(slot: number, state: ClusterSlotState): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLUSTER", "SETSLOT", slotArg(slot)];
    if (state === "STABLE") args.push("STABLE");
    else if ("importing" in state) args.push("IMPORTING", state.importing);
    else if ("migrating" in state) args.push("MIGRATING", state.migrating);
    else args.push("NODE", state.node);
    return this.call(args, asOk);
  }

  /** CLUSTER MEET: joins the node at `host:port` (bus port: `busPort`, default port + 10000). */
  clusterMeet(host: string, port: number, busPort?: number): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLUSTER", "MEET", host, port];
    if (busPort !== undefined) args.push(busPort);
    return this.call(args, asOk);
  }

  /** CLUSTER FORGET: removes a node from this node's table (banned from gossip for 60 s). */
  clusterForget(nodeId: string): Out<M, boolean, this> {
    return this.call(["CLUSTER", "FORGET", nodeId], asOk);
  }

  /** CLUSTER REPLICATE: makes this node a replica of the master `masterId`. */
  clusterReplicate(masterId: string): Out<M, boolean, this> {
    return this.call(["CLUSTER", "REPLICATE", masterId], asOk);
  }

  /**
   * CLUSTER FAILOVER, run on a replica: starts a manual failover to it (`FORCE`: without its
   * master's agreement; `TAKEOVER`: without the other masters' either). True once it started.
   */
  clusterFailover(mode?: "FORCE" | "TAKEOVER"): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLUSTER", "FAILOVER"];
    if (mode) args.push(mode);
    return this.call(args, asOk);
  }

  /** CLUSTER RESET: forgets the cluster (`HARD` also picks a new id and zeroes the epochs). */
  clusterReset(mode?: "HARD" | "SOFT"): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLUSTER", "RESET"];
    if (mode) args.push(mode);
    return this.call(args, asOk);
  }

  /** CLUSTER SAVECONFIG: writes nodes.conf now. */
  clusterSaveConfig(): Out<M, boolean, this> {
    return this.call(["CLUSTER", "SAVECONFIG"], asOk);
  }

  /** CLUSTER BUMPEPOCH: raises the node's config epoch unless it already is the greatest. */
  clusterBumpEpoch(): Out<M, { bumped: boolean; epoch: number }, this> {
    return this.call(["CLUSTER", "BUMPEPOCH"], asBumpEpoch);
  }

  /** CLUSTER SET-CONFIG-EPOCH: sets the epoch of a fresh node (one that knows no other). */
  clusterSetConfigEpoch(epoch: number): Out<M, boolean, this> {
    return this.call(["CLUSTER", "SET-CONFIG-EPOCH", epoch], asOk);
  }

  /**
   * CLUSTER SLOT-STATS: per-slot statistics (`key-count`; `cpu-usec`, `network-bytes-*` and
   * `memory-bytes` with `cluster-slot-stats-enabled`) for a slot range or the top slots.
   *
   * @since Redis 8.2, Valkey 8.0
   */
  clusterSlotStats(
    query: ClusterSlotStatsQuery,
  ): Out<M, { slot: number; stats: Record<string, number> }[], this> {
    const args: RedisArg[] = ["CLUSTER", "SLOT-STATS"];
    if ("orderBy" in query) {
      args.push("ORDERBY", query.orderBy);
      if (query.limit !== undefined) args.push("LIMIT", query.limit);
      if (query.order) args.push(query.order);
    } else {
      args.push("SLOTSRANGE", ...rangeArgs([[query.start, query.end]]));
    }
    return this.call(args, asSlotStats);
  }

  /** READONLY: lets this connection read keys of the slots a replica serves (cluster client: automatic). */
  readOnly(): Out<M, boolean, this> {
    return this.call(["READONLY"], asOk);
  }

  /** READWRITE: ends READONLY on this connection. */
  readWrite(): Out<M, boolean, this> {
    return this.call(["READWRITE"], asOk);
  }

  /** ASKING: the next command may use a slot being imported (cluster client: automatic on ASK). */
  asking(): Out<M, boolean, this> {
    return this.call(["ASKING"], asOk);
  }
}
