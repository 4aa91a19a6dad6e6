// What a cluster client knows of its cluster: the slot map and one auto-pipelined connection
// per node, opened like a plain client's; single-flight map refreshes (on MOVED, on a lost
// connection, periodically) from the known masters, then the seeds.

import { ConnectError, ConnectionClosedError } from "../../core/errors.ts";
import { type Address, formatAddress } from "../../core/transport.ts";
import type { ManagedConnection } from "../../core/managed_connection.ts";
import { RedisClient } from "../client.ts";
import {
  type LocatedConnection,
  type RedisLocator,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from "../client_options.ts";
import type { RedisCommand } from "../connection.ts";
import { RedisError } from "../errors.ts";
import { openRedisConnection } from "../open_connection.ts";
import type { RedisPush } from "../pubsub_frames.ts";
import type { RespValue } from "../resp_types.ts";
import { parseNodeAddress, READ_FROM, type ReadFrom, type RedisClusterOptions } from "./options.ts";
import { SLOT_COUNT } from "./slot.ts";
import { type NodeKey, parseClusterShards, parseClusterSlots, SlotMap } from "./slot_map.ts";
import type { ConnectionStats } from "../../core/observe.ts";
import type { RefreshReason } from "../observe.ts";
import { TopologyWatch } from "./topology_watch.ts";
import { ClientCache } from "../client_cache.ts";
import { trackingHooks } from "../cache_tracking.ts";

/** One cluster node: its options and the auto-pipelined connection commands share. */
export interface ClusterNode {
  /** The node's address as the cluster announces it. */
  readonly key: NodeKey;
  /** Options of this node's connections (`address` is where we connect, after `natMap`). */
  readonly options: ResolvedRedisOptions;
  /** The shared connection; replaced once it closed. */
  readonly conn: ManagedConnection<RedisCommand, RespValue, never, RedisPush>;
}

/**
 * The slot map and node connections of one cluster client (shared by its views).
 *
 * @example
 * ```ts
 * import { ClusterTopology } from "@kvwire/kvwire/redis";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"] });
 * await topology.refresh();
 * topology.masterOf(0)?.key; // "127.0.0.1:7000"
 * await topology.close();
 * ```
 */
export class ClusterTopology {
  readonly #options: RedisClusterOptions;
  readonly #seeds: NodeKey[];
  readonly #nodes = new Map<NodeKey, ClusterNode>();
  readonly #dedicated = new Map<NodeKey, RedisClient<unknown>>();
  /** Dedicated clients of nodes that left the map, closing once their busy calls settle. */
  readonly #retiring = new Set<RedisClient<unknown>>();
  /** Classic subscribers' connections (placed by {@link masterRotation}), with their address. */
  readonly #rotated = new Map<LocatedConnection, () => Address | undefined>();
  #map: SlotMap | undefined;
  /** The node of each master of `#map`, by shard index (filled as commands need them). */
  #shardMasters: (ClusterNode | undefined)[] = [];
  #refreshing: Promise<void> | undefined;
  /** Reports map changes on the client's events. */
  readonly watch: TopologyWatch;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** The client-side cache every node's invalidations feed (`clientSideCache`). */
  readonly cache: ClientCache | undefined;

  /** Checks the options; connects nothing yet. */
  constructor(options: RedisClusterOptions) {
    if (!Array.isArray(options.nodes) || options.nodes.length === 0) {
      throw new TypeError("nodes must list at least one cluster node address");
    }
    for (
      const [name, value] of Object.entries({
        maxRedirections: options.maxRedirections,
        retryTimeout: options.retryTimeout,
        refreshInterval: options.refreshInterval,
      })
    ) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(`${name} must be a number >= 0, got ${value}`);
      }
    }
    if (options.readFrom !== undefined && !READ_FROM.includes(options.readFrom)) {
      throw new TypeError(
        `readFrom must be one of ${READ_FROM.join(", ")}, got ${options.readFrom}`,
      );
    }
    this.#seeds = options.nodes.map((n) => {
      const { host, port } = parseNodeAddress(n);
      return `${host}:${port}`;
    });
    for (const target of Object.values(options.natMap ?? {})) parseNodeAddress(target);
    this.#options = options;
    this.cache = clusterCache(options);
    this.watch = new TopologyWatch(options.observed?.events);
    resolveRedisOptions(this.#nodeOptions(this.#seeds[0])); // bad options throw now
  }

  /** True once closed or destroyed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The slot map, once known. */
  get map(): SlotMap | undefined {
    return this.#map;
  }

  /** Whether the replies of every node come back as strings. */
  get decode(): boolean {
    return this.#options.decode === true;
  }

  /** MOVED/ASK redirections followed per command. */
  get maxRedirections(): number {
    return this.#options.maxRedirections ?? 16;
  }

  /** Where read-only commands go. */
  get readFrom(): ReadFrom {
    return this.#options.readFrom ?? "master";
  }

  /** How long commands without a deadline keep retrying, in ms. */
  get retryTimeout(): number {
    return this.#options.retryTimeout ?? 5000;
  }

  /** The node at `key`, connecting lazily (a closed connection is replaced). */
  node(key: NodeKey): ClusterNode {
    const known = this.#nodes.get(key);
    if (known && !known.conn.isClosed) return known;
    const options = resolveRedisOptions(this.#nodeOptions(key));
    const replicaReads = this.readFrom !== "master";
    const tracking = this.cache && trackingHooks(this.cache, { onPush: options.onPush });
    const node: ClusterNode = {
      key,
      options,
      conn: openRedisConnection(options, {
        textBulks: this.decode,
        onPush: tracking?.onPush,
        onDisconnect: () => {
          tracking?.onDisconnect();
          this.refreshSoon("disconnect");
        },
        onConnect: !replicaReads && !tracking ? undefined : async (run, again, protocol) => {
          // Replicas serve reads only after READONLY; on a master it does nothing.
          if (replicaReads) await run(["READONLY"]);
          await tracking?.onConnect(run, again, protocol);
        },
      }),
    };
    this.#nodes.set(key, node);
    return node;
  }

  /** The master serving `slot`, or undefined while no master is known for it. */
  masterOf(slot: number): ClusterNode | undefined {
    const map = this.#map;
    const index = map === undefined ? -1 : map.shardIndex(slot);
    if (index === -1) return undefined;
    const known = this.#shardMasters[index];
    if (known !== undefined && !known.conn.isClosed) return known;
    return (this.#shardMasters[index] = this.node(map!.shards[index].master));
  }

  /** A random replica of the shard serving `slot`; its master when none is listed. */
  replicaOf(slot: number): ClusterNode | undefined {
    const shard = this.#map?.shardOf(slot);
    if (!shard) return undefined;
    const { replicas } = shard;
    if (replicas.length === 0) return this.node(shard.master);
    return this.node(replicas[Math.floor(Math.random() * replicas.length)]);
  }

  /** Every master of the current map. */
  masters(): ClusterNode[] {
    return (this.#map?.shards ?? []).map((s) => this.node(s.master));
  }

  /** A master for keyless commands (a random one), or a seed before the map is known. */
  anyMaster(): ClusterNode {
    const shards = this.#map?.shards ?? [];
    if (shards.length === 0) return this.node(this.#seeds[0]);
    return this.node(shards[Math.floor(Math.random() * shards.length)].master);
  }

  /**
   * A plain client on the node's address, for work that needs dedicated connections
   * (blocking commands, WATCH transactions); it keeps its own pool.
   */
  dedicated(node: ClusterNode): RedisClient<unknown> {
    let client = this.#dedicated.get(node.key);
    if (!client) {
      client = new RedisClient<unknown>(this.#nodeOptions(node.key));
      this.#dedicated.set(node.key, client);
    }
    return client;
  }

  /**
   * Options for a subscriber on `node`: the user's, with their `reconnect` unless `ownReconnect`
   * is false (a shard subscriber moves its channels itself when a connection is lost).
   */
  subscriberOptions(node: ClusterNode, ownReconnect = true): ResolvedRedisOptions {
    return resolveRedisOptions({
      ...this.#nodeOptions(node.key),
      ...(ownReconnect ? { reconnect: this.#options.reconnect } : {}),
    });
  }

  /**
   * A locator for a subscriber that may sit on any master (classic pub/sub: the cluster forwards
   * messages everywhere): each reconnect reloads the map and goes to the next master, so a lost
   * node is not the first one tried again. A subscriber on a node a loaded map no longer names
   * (it hears no more of the cluster) is made to reconnect.
   */
  masterRotation(): RedisLocator {
    let turn = Math.floor(Math.random() * SLOT_COUNT);
    let again = false;
    return {
      locate: async () => {
        if (again) await this.refresh().catch(() => {});
        again = true;
        const shards = this.#map?.shards ?? [];
        const key = shards.length > 0 ? shards[turn++ % shards.length].master : this.#seeds[0];
        return this.#connectAddress(key);
      },
      attach: (conn, address) => void this.#rotated.set(conn, address),
      detach: (conn) => void this.#rotated.delete(conn),
    };
  }

  /** Notes a MOVED: the slot is served by `master` now; a full refresh follows. */
  moved(slot: number, master: NodeKey): void {
    this.#map?.moveSlot(slot, master);
    this.refreshSoon("moved");
  }

  /** Starts a refresh unless one runs; never rejects. */
  refreshSoon(reason: RefreshReason): void {
    if (!this.#closed) this.refresh(reason).catch(() => {});
  }

  /** Reloads the slot map (single-flight: concurrent callers share one refresh). */
  refresh(reason: RefreshReason = "manual"): Promise<void> {
    this.#refreshing ??= this.#load(this.#map ? reason : "connect").finally(() => {
      this.#refreshing = undefined;
      this.#schedule();
    });
    return this.#refreshing;
  }

  async #load(reason: RefreshReason): Promise<void> {
    const candidates = new Set([...(this.#map?.shards ?? []).map((s) => s.master), ...this.#seeds]);
    let lastError: Error | undefined;
    for (const key of candidates) {
      if (this.#closed) break;
      try {
        const map = await this.#ask(this.node(key));
        if (map.shards.length === 0) continue;
        this.#map = map;
        this.#shardMasters = [];
        this.#dropUnused(map);
        this.watch.loaded(map, reason);
        return;
      } catch (error) {
        lastError = error as Error;
      }
    }
    throw lastError ?? new ConnectError("No cluster node answered with a slot map");
  }

  async #ask(node: ClusterNode): Promise<SlotMap> {
    const options = { timeout: this.#options.connectTimeout ?? 2000 };
    const host = node.key.slice(0, node.key.lastIndexOf(":"));
    try {
      return parseClusterShards(
        await node.conn.request(["CLUSTER", "SHARDS"], options, "CLUSTER SHARDS"),
        host,
      );
    } catch (error) {
      if (!(error instanceof RedisError)) throw error; // an old server: no CLUSTER SHARDS
      const reply = await node.conn.request(["CLUSTER", "SLOTS"], options, "CLUSTER SLOTS");
      return parseClusterSlots(reply, host);
    }
  }

  /**
   * Closes connections to nodes the new map no longer names: the shared ones (seeds stay, to
   * ask for maps) and the dedicated ones, idle at once, busy ones once their call settled.
   */
  #dropUnused(map: SlotMap): void {
    const named = new Set(map.shards.flatMap((s) => [s.master, ...s.replicas]));
    for (const [key, node] of this.#nodes) {
      if (named.has(key) || this.#seeds.includes(key)) continue;
      this.#nodes.delete(key);
      node.conn.close().catch(() => {});
    }
    for (const [key, client] of this.#dedicated) {
      if (named.has(key)) continue;
      this.#dedicated.delete(key);
      this.#retiring.add(client);
      client.close().catch(() => {});
    }
    // A classic subscriber there hears no more of the cluster: it reconnects to the next master.
    const reachable = new Set([...named].map((key) => formatAddress(this.#connectAddress(key))));
    for (const [conn, address] of this.#rotated) {
      if (conn.isClosed) this.#rotated.delete(conn);
      const at = address();
      if (conn.isClosed || at === undefined || reachable.has(formatAddress(at))) continue;
      conn.driver?.destroy(
        new ConnectionClosedError(`${formatAddress(at)} left the cluster's slot map`),
      );
    }
  }

  /** Where we connect to reach the node `key` announces (after `natMap`). */
  #connectAddress(key: NodeKey): { host: string; port: number } {
    return parseNodeAddress(this.#options.natMap?.[key] ?? key);
  }

  #schedule(): void {
    const every = this.#options.refreshInterval ?? 10_000;
    if (this.#closed || every === 0) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refreshSoon("periodic");
    }, every);
  }

  /**
   * Each node connection and each dedicated connection (of a node that left the map: until
   * its busy ones closed), for the client's `stats()`.
   */
  members(): ConnectionStats[] {
    const members = [...this.#nodes.values()].map((node) => node.conn.stats());
    for (const client of this.#dedicated.values()) members.push(...client.stats().members);
    for (const client of this.#retiring) {
      const open = client.stats().members.filter((m) => m.state !== "closed");
      if (open.length === 0) this.#retiring.delete(client);
      members.push(...open);
    }
    return members;
  }

  /** Per-node options: the user's, at the node's (translated) address, reconnect left to us. */
  #nodeOptions(key: NodeKey): Parameters<typeof resolveRedisOptions>[0] {
    const {
      nodes: _n,
      natMap: _t,
      maxRedirections: _m,
      retryTimeout: _r,
      refreshInterval: _i,
      clientSideCache: _c, // one cache for the client, not one per node connection
      ...rest
    } = this.#options;
    const { host, port } = this.#connectAddress(key);
    return { ...rest, host, port, reconnect: { enabled: false } };
  }

  /** Closes every connection gracefully (commands in flight finish). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const nodes = [...this.#nodes.values()];
    const dedicated = [...this.#dedicated.values(), ...this.#retiring];
    this.#nodes.clear();
    this.#dedicated.clear();
    this.#retiring.clear();
    this.#rotated.clear();
    await Promise.all([...nodes.map((n) => n.conn.close()), ...dedicated.map((c) => c.close())]);
  }

  /** Closes every connection at once; pending commands fail. */
  destroy(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const node of this.#nodes.values()) node.conn.destroy();
    for (const client of [...this.#dedicated.values(), ...this.#retiring]) client.destroy();
    this.#nodes.clear();
    this.#dedicated.clear();
    this.#retiring.clear();
    this.#rotated.clear();
  }
}

/** The cluster's cache, if asked for: RESP3 only (every node pushes its own invalidations),
 * and not `"optin"` (its `CLIENT CACHING YES` would have to reach the read's node). */
function clusterCache(options: RedisClusterOptions): ClientCache | undefined {
  const cache = options.clientSideCache;
  if (!cache) return undefined;
  if (options.protocol === 2) {
    throw new RangeError("clientSideCache on a cluster needs protocol 3 (RESP3)");
  }
  if (cache.mode === "optin") {
    throw new RangeError('clientSideCache mode "optin" is not supported by the cluster client');
  }
  return new ClientCache(cache);
}
