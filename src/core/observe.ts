// What an operator can see of every client: the connection events each one emits, and the
// `stats()` snapshot of a client and of each pool member. Protocol clients extend the event map.

/** Where a connection goes: `host:port` (or the transport's label). */
export type EndpointAddress = string;

/** The events every client emits for each of its connections. */
export interface ConnectionEvents {
  /** A transport to `address` opened; the handshake follows. */
  connect: { address: EndpointAddress; attempt: number };
  /** The handshake and setup succeeded; requests flow. `reconnect` on every later one. */
  ready: { address: EndpointAddress; reconnect: boolean };
  /** A ready connection was lost (`error` unset: closed cleanly, by the client or server). */
  disconnect: { address: EndpointAddress; error?: Error; willReconnect: boolean };
  /** A new attempt is scheduled after `delay` ms; `attempt` counts failures in a row. */
  reconnecting: { address: EndpointAddress; attempt: number; delay: number };
  /**
   * Something failed with nobody's call to report it to: a connection attempt, a background
   * refresh, or a listener (`source: "listener"`).
   */
  error: { address?: EndpointAddress; error: Error; source?: "connect" | "listener" | string };
}

/** The life of a connection, as `stats()` reports it. */
export type ConnectionState = "idle" | "connecting" | "ready" | "reconnecting" | "closed";

/** One connection's counters (cumulative over its reconnects). */
export interface ConnectionStats {
  /** `host:port` or the transport's label. */
  address: EndpointAddress;
  /** Where the connection is in its life. */
  state: ConnectionState;
  /** Requests written and not yet answered, plus requests accepted but not yet written. */
  inFlight: number;
  /** Requests waiting for a connection (the offline queue). */
  queued: number;
  /** Connections made after the first. */
  reconnects: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes written. */
  bytesOut: number;
  /** Why the last connection or attempt failed (`name: message`), when one did. */
  lastError?: string;
}

/** A client's snapshot: totals over its connections, and each connection. */
export interface ClientStats {
  /**
   * `ready` when at least one connection is ready, `closed` once the client is closed, else the
   * most advanced state among the members (`reconnecting` > `connecting` > `idle`).
   */
  state: ConnectionState;
  /** Sum over `members`. */
  inFlight: number;
  /** Sum over `members`. */
  queued: number;
  /** Sum over `members`. */
  reconnects: number;
  /** Sum over `members`. */
  bytesIn: number;
  /** Sum over `members`. */
  bytesOut: number;
  /** Each connection (pool member, cluster node, subscriber) with its own counters. */
  members: ConnectionStats[];
}

const STATE_RANK: Record<ConnectionState, number> = {
  closed: 0,
  idle: 1,
  connecting: 2,
  reconnecting: 3,
  ready: 4,
};

/**
 * Sums member snapshots into a client snapshot.
 *
 * @example
 * ```ts
 * import { summarizeStats } from "@kvwire/kvwire";
 * const stats = summarizeStats([], false);
 * console.log(stats.state); // "idle"
 * ```
 */
export function summarizeStats(members: ConnectionStats[], closed: boolean): ClientStats {
  const stats: ClientStats = {
    state: closed ? "closed" : "idle",
    inFlight: 0,
    queued: 0,
    reconnects: 0,
    bytesIn: 0,
    bytesOut: 0,
    members,
  };
  for (const m of members) {
    stats.inFlight += m.inFlight;
    stats.queued += m.queued;
    stats.reconnects += m.reconnects;
    stats.bytesIn += m.bytesIn;
    stats.bytesOut += m.bytesOut;
    if (!closed && STATE_RANK[m.state] > STATE_RANK[stats.state]) stats.state = m.state;
  }
  return stats;
}

/** `name: message` of an error for stats and logs (messages never hold secrets). */
export function describeError(error: Error): string {
  return `${error.name}: ${error.message}`;
}
