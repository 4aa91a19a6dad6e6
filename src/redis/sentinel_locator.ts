// Where a Sentinel-managed client connects: the master or a replica (round-robin) of a named
// master, asked of the sentinels at every (re)connect, ROLE-checked, and followed on failover
// through a `+switch-master` subscription on a sentinel. Spec: redis.io sentinel-clients.

import { utf8Decode } from "../core/bytes.ts";
import { ConnectError, ConnectionClosedError } from "../core/errors.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { ConnectionStats } from "../core/observe.ts";
import { type Address, formatAddress } from "../core/transport.ts";
import type { LocatedConnection, RedisClientOptions, RedisLocator } from "./client_options.ts";
import { PubSub } from "./pubsub.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";
import { type HostPort, SentinelList } from "./sentinel_discovery.ts";
import type { RedisObservability } from "./observe.ts";

/**
 * The node the sentinels named does not have the role asked for (a failover is under way or
 * a sentinel is stale): the connection is dropped and the sentinels are asked again.
 *
 * @example
 * ```ts
 * import { NodeRoleError } from "@kvwire/kvwire/redis";
 * new NodeRoleError("127.0.0.1:6380 is a slave, not the master of \"mymaster\"").code; // "CONNECT_FAILED"
 * ```
 */
export class NodeRoleError extends ConnectError {}

/** The role a Sentinel-managed client asks for. */
export type SentinelRole = "master" | "replica";

/** The `+switch-master` channel: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
const SWITCH_CHANNEL = "+switch-master";

interface Attached {
  conn: LocatedConnection;
  address: () => Address | undefined;
}

/**
 * Locates the master (or a replica) of `masterName` through a {@link SentinelList}. While a
 * client uses it, a subscription on one sentinel watches `+switch-master` and drops the
 * connections left on a node that is no longer the asked role (they reconnect and ask again).
 * Replicas are chosen round-robin among the healthy ones; with none, the master is used.
 *
 * @example
 * ```ts
 * import { RedisClient, SentinelList, SentinelLocator } from "@kvwire/kvwire/redis";
 * const locator = new SentinelLocator(new SentinelList(["127.0.0.1:26379"]), "mymaster");
 * await using redis = await RedisClient.connect({ locator });
 * ```
 */
export class SentinelLocator implements RedisLocator {
  readonly #list: SentinelList;
  readonly #name: string;
  readonly #role: SentinelRole;
  readonly #attached = new Set<Attached>();
  /** The role each located address is expected to have (a replica falls back to the master). */
  readonly #expected = new Map<string, "master" | "slave">();
  #subscriber: PubSub<string> | undefined;
  /** The events of the client(s) using this locator: the first attached one's. */
  #observed: RedisObservability | undefined;
  /** The master as last seen (discovered or announced), `host:port`. */
  #master: string | undefined;

  /** Locates `role` (default master) of `masterName` through `list`. */
  constructor(list: SentinelList, masterName: string, role: SentinelRole = "master") {
    this.#list = list;
    this.#name = masterName;
    this.#role = role;
  }

  /** Asks the sentinels where to connect now. */
  async locate(): Promise<Address> {
    if (this.#attached.size > 0) this.#subscribe(); // again, if no sentinel took it before
    if (this.#role === "replica") {
      const replicas = await this.#list.discoverReplicas(this.#name);
      if (replicas.length > 0) {
        return this.#expect(this.#list.nextOf(replicas), "slave");
      }
    }
    const master = await this.#list.discoverMaster(this.#name);
    this.#noteMaster(formatAddress(master));
    return this.#expect(master, "master");
  }

  /** Records the master; a change is the `switchMaster` event (`announced`: the old master). */
  #noteMaster(master: string, announced?: string): void {
    const from = this.#master ?? announced;
    this.#master = master;
    if (from === undefined || from === master) return;
    const events = this.#observed?.events;
    if (events?.has("switchMaster")) {
      events.emit("switchMaster", { masterName: this.#name, from, to: master });
    }
  }

  #expect(address: HostPort, role: "master" | "slave"): HostPort {
    this.#expected.set(formatAddress(address), role);
    return address;
  }

  /** Refuses a node whose ROLE is not the one the sentinels gave it. */
  async verify(
    run: (command: readonly RedisArg[]) => Promise<RespValue>,
    address: Address,
  ): Promise<void> {
    const expected = this.#expected.get(formatAddress(address)) ?? "master";
    const reply = await run(["ROLE"]);
    const first = Array.isArray(reply) ? reply[0] : reply;
    const actual = first instanceof Uint8Array ? utf8Decode(first) : String(first);
    if (actual !== expected) {
      throw new NodeRoleError(
        `${
          formatAddress(address)
        } is a ${actual}, not the ${expected} of "${this.#name}" the sentinels ` +
          "named; asking them again",
      );
    }
  }

  /** Follows `conn` on failovers; starts the `+switch-master` subscription. */
  attach(
    conn: LocatedConnection,
    address: () => Address | undefined,
    observed?: RedisObservability,
  ): void {
    this.#observed ??= observed;
    this.#prune();
    this.#attached.add({ conn, address });
    this.#subscribe();
  }

  /** Stops following `conn`; the subscription ends with the last connection. */
  detach(conn: LocatedConnection): void {
    for (const entry of this.#attached) if (entry.conn === conn) this.#attached.delete(entry);
    this.#prune();
  }

  #prune(): void {
    for (const entry of this.#attached) if (entry.conn.isClosed) this.#attached.delete(entry);
    if (this.#attached.size === 0 && this.#subscriber) {
      const subscriber = this.#subscriber;
      this.#subscriber = undefined;
      subscriber.close().catch(() => {}); // a close has nothing left to report
    }
  }

  #subscribe(): void {
    if (this.#subscriber) return;
    const options = {
      ...this.#list.connectionOptions(),
      locator: this.#list.rotation(),
      observed: this.#observed,
    };
    const subscriber: PubSub<string> = new PubSub<string>(options, {
      ignoreSubscribeMessages: true,
      // A switch may have gone by while the subscription was down: ask, and follow it.
      onResubscribe: () => {
        void subscriber.getMessage(); // the marker itself: nobody else reads this queue
        this.#list.discoverMaster(this.#name).then(
          (master) => this.#follow(formatAddress(master)),
          () => {}, // no sentinel answers: the next reconnect of a data connection asks again
        );
      },
    });
    this.#subscriber = subscriber;
    subscriber.subscribe({ [SWITCH_CHANNEL]: (m) => this.#switched(String(m.data)) }).catch(
      () => {
        // No sentinel reachable now: the next connection made tries again.
        if (this.#subscriber === subscriber) this.#subscriber = undefined;
        subscriber.close().catch(() => {});
      },
    );
  }

  /** A failover finished: drop connections left on a node that no longer has the asked role. */
  #switched(message: string): void {
    const [name, oldHost, oldPort, newHost, newPort] = message.split(" ");
    if (name !== this.#name) return;
    const from = formatAddress({ host: oldHost, port: Number(oldPort) });
    this.#expected.set(from, "slave");
    this.#follow(formatAddress({ host: newHost, port: Number(newPort) }), from);
  }

  /** `master` is the master now: drop the connections that lost the asked role with it. */
  #follow(master: string, announced?: string): void {
    this.#noteMaster(master, announced);
    this.#expected.set(master, "master");
    const error = new ConnectionClosedError(
      `The sentinels switched the master of "${this.#name}" to ${master}`,
    );
    for (const { conn, address } of this.#attached) {
      const at = address();
      if (at === undefined) continue;
      const onMaster = formatAddress(at) === master;
      if (this.#role === "master" ? !onMaster : onMaster) conn.driver?.destroy(error);
    }
  }

  /** The `+switch-master` subscription's connection, while there is one. */
  members(): ConnectionStats[] {
    return this.#subscriber ? [this.#subscriber.stats()] : [];
  }

  /** The master name, role and sentinels (never a password). */
  toJSON(): Record<string, unknown> {
    return { masterName: this.#name, role: this.#role, ...this.#list.toJSON() };
  }

  /** Node's and Bun's inspect rendering: {@link toJSON}. */
  [INSPECT_NODE](): string {
    return redactedRendering("SentinelLocator", this.toJSON());
  }
}

/**
 * The locator of client options that name `sentinels` (and no locator of their own).
 *
 * @example
 * ```ts
 * import { sentinelLocatorFor } from "@kvwire/kvwire/redis";
 * sentinelLocatorFor({ sentinels: ["127.0.0.1:26379"], masterName: "mymaster" });
 * ```
 */
export function sentinelLocatorFor(options: RedisClientOptions): RedisLocator | undefined {
  if (options.locator || options.sentinels === undefined) return options.locator;
  const list = new SentinelList(options.sentinels, options);
  return new SentinelLocator(list, options.masterName!, options.role);
}
