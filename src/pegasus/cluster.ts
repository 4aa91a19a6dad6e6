// The sessions of the Pegasus client (pegasus.md §5.1-§5.3): one pipelined session per server
// address, meta bootstrap and leader following; routing by table is in router.ts.

import type { ReconnectOptions } from "../core/managed_connection.ts";
import { ManagedConnection } from "../core/managed_connection.ts";
import { defaultConnect } from "../core/default_connect.ts";
import {
  AbortedError,
  ConnectionClosedError,
  RemoteProtocolError,
  TimeoutError,
} from "../core/errors.ts";
import { EventHub } from "../core/events.ts";
import { type ClientStats, type ConnectionEvents, summarizeStats } from "../core/observe.ts";
import type { Connect } from "../core/transport.ts";
import { parseHostPort } from "../core/url.ts";
import { PegasusConnection, type PegasusReply, type PegasusRequest } from "./connection.ts";
import { PegasusError } from "./errors.ts";
import type { PegasusEvents } from "./observe.ts";
import { queryConfigArgs } from "./requests.ts";
import { decodeQueryConfigResponse, type QueryConfigResponse } from "./responses.ts";

/** Settings shared by the sessions of a client. */
export interface ClusterOptions {
  /** Meta servers as `"host:port"`. */
  metaServers: readonly string[];
  /** Opens transports; default: the runtime's TCP transport. */
  connect?: Connect;
  /** Connect timeout per session, ms. Default 5000. */
  connectTimeout?: number;
  /** Timeout of one meta query, ms. Default 5000. */
  metaTimeout?: number;
  /** Reconnect schedule of the sessions. Default 5 ms doubling up to 1 s. */
  reconnect?: ReconnectOptions;
  /**
   * Largest reply frame accepted from a server, in bytes (every length inside a frame is
   * bounded by it); a larger one fails the session. Default 64 MiB.
   */
  maxFrameLength?: number;
  /**
   * Milliseconds a session may stay silent while requests wait on it before it is presumed
   * dead and replaced (its requests fail with `sent: true`; idempotent ones are retried).
   * Default 5000 (PegasusClient: the larger of its `timeout` and 5000, the scanners' default
   * round trip). A request whose deadline passes with nothing received since it was written
   * replaces the session in any case.
   */
  silenceTimeout?: number;
}

/** A table's cached partition configuration. */
export interface TableConfig {
  /** The table's app id. */
  appId: number;
  /** How many partitions the table has. */
  partitionCount: number;
  /** Each partition's ballot and primary (`host:port`), by partition index. */
  partitions: { ballot: bigint; primary: string | undefined }[];
}

const QUERY_CFG = "RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX";
/** Resolves after `ms` (0 when negative). @internal */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * The sessions and meta state of one client.
 *
 * Theory of operation: sessions are {@link ManagedConnection}s keyed by `host:port`, made on
 * first use and reconnecting on their own. `queryConfig` asks the current meta leader, follows
 * `ERR_FORWARD_TO_OTHERS` to the leader it names (adding it to the list when new), moves round
 * robin on transport errors and timeouts, and waits briefly on `ERR_SERVICE_NOT_ACTIVE`.
 * Each session starts at a random seqid and refuses frames over `maxFrameLength`. A session
 * lost for a reason (closed by its server, unresponsive, a protocol error) counts in
 * `losses`: routing read before it may name a server that is down. Every session reports its
 * connection events to `events` (with its `host:port` as `address`).
 *
 * @example
 * ```ts
 * import { Cluster } from "@kvwire/kvwire/pegasus";
 * const cluster = new Cluster({ metaServers: ["127.0.0.1:34601"] });
 * const config = await cluster.queryConfig("temp", performance.now() + 5000);
 * console.log(config.partitionCount);
 * await cluster.close();
 * ```
 */
export class Cluster {
  readonly #options: ClusterOptions;
  readonly #metas: string[];
  #leader = 0;
  #sessions = new Map<string, ManagedConnection<PegasusRequest, PegasusReply>>();
  #closed = false;
  #losses = 0;
  /** The hub the sessions report to; routers emit the topology events on it. */
  readonly events: EventHub<PegasusEvents>;

  /** Creates the cluster state; nothing connects until the first request. */
  constructor(options: ClusterOptions, events: EventHub<PegasusEvents> = new EventHub()) {
    this.events = events;
    if (!Array.isArray(options.metaServers) || options.metaServers.length === 0) {
      throw new TypeError('Pegasus needs at least one meta server ("host:port")');
    }
    this.#metas = options.metaServers.map((m) => {
      const { host, port } = parseHostPort(m, 34601);
      return `${host}:${port}`;
    });
    this.#options = options;
  }

  /**
   * Sessions lost so far for a reason (closed by the server, unresponsive, a protocol error):
   * routing read before a loss may name a server that is down, so routers re-query meta.
   */
  get losses(): number {
    return this.#losses;
  }

  /** The meta server currently taken for the leader. */
  get metaLeader(): string {
    return this.#metas[this.#leader];
  }

  /**
   * Every session's counters (meta servers and replicas).
   *
   * @example
   * ```ts
   * import { Cluster } from "@kvwire/kvwire/pegasus";
   * const cluster = new Cluster({ metaServers: ["127.0.0.1:34601"] });
   * console.log(cluster.stats().members.length); // 0: nothing connected yet
   * ```
   */
  stats(): ClientStats {
    return summarizeStats([...this.#sessions.values()].map((s) => s.stats()), this.#closed);
  }

  /** The session to `address` (`host:port`), made on first use. */
  session(address: string): ManagedConnection<PegasusRequest, PegasusReply> {
    let session = this.#sessions.get(address);
    if (session && !session.isClosed) return session;
    if (this.#closed) throw new ConnectionClosedError("The Pegasus client is closed");
    const { host, port } = parseHostPort(address, 34801);
    const connect = this.#options.connect ?? defaultConnect;
    const timeout = this.#options.connectTimeout ?? 5000;
    session = new ManagedConnection<PegasusRequest, PegasusReply>({
      label: `pegasus ${address}`,
      connect: () => connect({ host, port }, { timeout }),
      // A random first seqid per session: a reply not echoing one of our requests is refused.
      createMachine: () =>
        new PegasusConnection({
          maxFrameLength: this.#options.maxFrameLength,
          firstSeqid: 1 + Math.floor(Math.random() * 0x7ffffffe),
        }),
      onDisconnect: (error) => {
        if (error) this.#losses++;
      },
      reconnect: this.#options.reconnect ?? { initialDelay: 5, maxDelay: 1000 },
      silenceTimeout: this.#options.silenceTimeout ?? 5000,
      // The hub carries more events than a session emits (the connection events are a subset).
      events: this.events as unknown as EventHub<ConnectionEvents>,
      address,
    });
    this.#sessions.set(address, session);
    return session;
  }

  /** Asks the meta servers for a table's configuration before `deadline`. */
  async queryConfig(table: string, deadline: number, signal?: AbortSignal): Promise<TableConfig> {
    let lastError: Error | undefined;
    for (let attempt = 0;; attempt++) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || attempt > 10 * this.#metas.length) {
        throw new TimeoutError(
          `Querying the meta servers for table "${table}" timed out` +
            (lastError ? ` (last error: ${lastError.message})` : ""),
          { cause: lastError },
        );
      }
      const meta = this.#metas[this.#leader];
      let reply: QueryConfigResponse;
      try {
        const answer = await this.session(meta).request(
          {
            rpc: QUERY_CFG,
            args: queryConfigArgs(table),
            decode: decodeQueryConfigResponse,
            timeoutMs: Math.ceil(Math.min(remaining, this.#options.metaTimeout ?? 5000)),
          },
          { timeout: Math.min(remaining, this.#options.metaTimeout ?? 5000), signal },
          QUERY_CFG,
        );
        reply = answer.value as QueryConfigResponse;
      } catch (error) {
        if (error instanceof AbortedError || this.#closed) throw error;
        lastError = error as Error;
        this.#leader = (this.#leader + 1) % this.#metas.length;
        if (attempt >= this.#metas.length - 1) await sleep(Math.min(50, remaining));
        continue;
      }
      if (reply.err === "ERR_OK") {
        if (reply.partitionCount <= 0 || reply.partitions.length !== reply.partitionCount) {
          throw new PegasusError(
            "ERR_INVALID_DATA",
            `Meta returned an invalid config of "${table}"`,
          );
        }
        const partitions = new Array(reply.partitionCount);
        for (const p of reply.partitions) {
          const i = p.partitionIndex;
          if (!(i >= 0 && i < reply.partitionCount) || partitions[i]) {
            throw new RemoteProtocolError(
              `Meta ${meta} returned partition index ${i} twice or outside 0-${
                reply.partitionCount - 1
              } for "${table}"`,
            );
          }
          partitions[i] = { ballot: p.ballot, primary: p.primary };
        }
        return { appId: reply.appId, partitionCount: reply.partitionCount, partitions };
      }
      lastError = new PegasusError(reply.err, `Meta ${meta} answered the query for "${table}"`);
      if (reply.err === "ERR_FORWARD_TO_OTHERS") {
        const to = reply.partitions[0]?.primary;
        const index = to ? this.#metas.indexOf(to) : -1;
        if (to && index === -1) this.#metas.push(to);
        this.#leader = to ? this.#metas.indexOf(to) : (this.#leader + 1) % this.#metas.length;
        if (to && to !== meta && this.events.has("leaderChange")) {
          this.events.emit("leaderChange", { address: to, previous: meta });
        }
        continue;
      }
      if (reply.err === "ERR_SERVICE_NOT_ACTIVE" || reply.err === "ERR_UNDER_RECOVERY") {
        await sleep(Math.min(100, remaining));
        continue;
      }
      throw lastError;
    }
  }

  /** Closes every session gracefully. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
  }

  /** Closes every session at once. */
  destroy(): void {
    this.#closed = true;
    for (const s of this.#sessions.values()) s.destroy();
  }
}
