// The Sentinel helper of redis-py (`Sentinel`, `master_for`, `slave_for`, `discover_master`,
// `discover_slaves`): clients for the master or the replicas of a monitored name.

import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import { RedisClient } from "./client.ts";
import type { RedisClientOptions } from "./client_options.ts";
import { type HostPort, SentinelList } from "./sentinel_discovery.ts";
import { SentinelLocator, type SentinelRole } from "./sentinel_locator.ts";

/**
 * A set of sentinels, and clients for the nodes they monitor. The options are those of every
 * client made here (data node password, `decode`, timeouts, `connect`...) plus the sentinels'
 * own credentials (`sentinelUsername`, `sentinelPassword`, `sentinelTls`). Clients made by one
 * `Sentinel` share its sentinel list (and what it learns).
 *
 * @example
 * ```ts
 * import { Sentinel } from "@kvwire/kvwire/redis";
 * const sentinel = new Sentinel(["127.0.0.1:26379", "127.0.0.1:26380"], { decode: true });
 * console.log(await sentinel.discoverMaster("mymaster")); // { host: "127.0.0.1", port: 6379 }
 * await using master = sentinel.masterFor("mymaster");
 * await using replica = sentinel.replicaFor("mymaster");
 * await master.set("foo", "bar");
 * console.log(await replica.get("foo"));
 * ```
 */
export class Sentinel {
  readonly #list: SentinelList;
  readonly #options: RedisClientOptions;

  /** `sentinels` as `"host:port"`; `options` apply to every client made by this helper. */
  constructor(sentinels: readonly string[], options: RedisClientOptions = {}) {
    this.#list = new SentinelList(sentinels, options);
    this.#options = { ...options };
  }

  /** The sentinels as `host:port`, in the order they are asked. */
  get sentinels(): string[] {
    return this.#list.sentinels;
  }

  /** The address of the master monitored as `name`. */
  discoverMaster(name: string): Promise<HostPort> {
    return this.#list.discoverMaster(name);
  }

  /** The replicas of `name` fit for reads (not down or disconnected). */
  discoverReplicas(name: string): Promise<HostPort[]> {
    return this.#list.discoverReplicas(name);
  }

  /** A client of the master of `name`; it connects on its first command and follows failovers. */
  masterFor(name: string, options: RedisClientOptions & { decode: true }): RedisClient<string>;
  /** A client of the master of `name`; it connects on its first command and follows failovers. */
  masterFor(name: string, options?: RedisClientOptions): RedisClient<Uint8Array>;
  masterFor(
    name: string,
    options: RedisClientOptions = {},
  ): RedisClient<Uint8Array> | RedisClient<string> {
    return this.#client(name, "master", options);
  }

  /**
   * A client of a replica of `name` (round-robin among the healthy ones at each connect; the
   * master when there is none).
   */
  replicaFor(name: string, options: RedisClientOptions & { decode: true }): RedisClient<string>;
  /** A client of a replica of `name`; see the other signature. */
  replicaFor(name: string, options?: RedisClientOptions): RedisClient<Uint8Array>;
  replicaFor(
    name: string,
    options: RedisClientOptions = {},
  ): RedisClient<Uint8Array> | RedisClient<string> {
    return this.#client(name, "replica", options);
  }

  #client(
    name: string,
    role: SentinelRole,
    options: RedisClientOptions,
  ): RedisClient<Uint8Array> {
    return new RedisClient<Uint8Array>({
      ...this.#options,
      ...options,
      sentinels: this.#list.sentinels,
      masterName: name,
      role,
      locator: new SentinelLocator(this.#list, name, role),
    });
  }

  /** The sentinels and their settings, never a password. */
  toJSON(): Record<string, unknown> {
    return this.#list.toJSON();
  }

  /** Node's and Bun's inspect rendering: {@link toJSON}. */
  [INSPECT_NODE](): string {
    return redactedRendering("Sentinel", this.toJSON());
  }
}
