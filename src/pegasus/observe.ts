// What an operator sees of a PegasusClient: its events (the connection events of every meta and
// replica session, partition reconfigurations, meta leader changes) and its operation names.

import type { ConnectionEvents, EndpointAddress } from "../core/observe.ts";

/** A table's partition configuration as the client learned it from the meta servers. */
export interface PartitionUpdate {
  /** The table. */
  table: string;
  /** How many partitions the table has now. */
  partitionCount: number;
  /**
   * Indexes of the partitions whose primary or ballot changed; absent for the first
   * configuration of the table (every partition is new then).
   */
  partitions?: number[];
  /**
   * Why the meta servers were asked: `"connect"` (the first configuration), `"refresh"`, the
   * rDSN error a replica refused with (`ERR_INVALID_STATE`, `ERR_OBJECT_NOT_FOUND`, …, with the
   * replica in `address`), `"sessionLost"` (a session closed since the last configuration), or
   * the code of the error before a retry (`CONNECTION_CLOSED`, `ERR_NOT_ENOUGH_MEMBER`, …).
   */
  reason: string;
  /** The replica whose answer made the client ask again, when one did. */
  address?: EndpointAddress;
}

/**
 * The events of a {@link PegasusClient}: the connection events of each session (meta servers and
 * replicas, `address` = `host:port`) and the cluster's topology.
 *
 * @example
 * ```ts
 * import { PegasusClient } from "@kvwire/kvwire/pegasus";
 * const client = new PegasusClient({ metaServers: ["127.0.0.1:34601"], table: "temp" });
 * client.on("partitionUpdate", (e) => console.info(e.table, e.reason, e.partitions));
 * client.on("leaderChange", (e) => console.info("meta leader", e.address));
 * await client.close();
 * ```
 */
export interface PegasusEvents extends ConnectionEvents {
  /** A (re-)query of the meta servers returned a configuration that differs from the last one. */
  partitionUpdate: PartitionUpdate;
  /** A meta server forwarded the client to another one (`address`), the new meta leader. */
  leaderChange: { address: EndpointAddress; previous: EndpointAddress };
}

/** Operation names (for instrumentation) of the rrdb RPCs, by what they do. */
const OPERATIONS: Readonly<Record<string, string>> = {
  RPC_RRDB_RRDB_GET: "get",
  RPC_RRDB_RRDB_PUT: "set",
  RPC_RRDB_RRDB_REMOVE: "del",
  RPC_RRDB_RRDB_TTL: "ttl",
  RPC_RRDB_RRDB_MULTI_GET: "multi_get",
  RPC_RRDB_RRDB_MULTI_PUT: "multi_set",
  RPC_RRDB_RRDB_MULTI_REMOVE: "multi_del",
  RPC_RRDB_RRDB_SORTKEY_COUNT: "sortkey_count",
  RPC_RRDB_RRDB_INCR: "incr",
  RPC_RRDB_RRDB_CHECK_AND_SET: "check_and_set",
  RPC_RRDB_RRDB_CHECK_AND_MUTATE: "check_and_mutate",
  RPC_RRDB_RRDB_GET_SCANNER: "get_scanner",
  RPC_RRDB_RRDB_SCAN: "scan",
  RPC_RRDB_RRDB_CLEAR_SCANNER: "clear_scanner",
};

/**
 * The operation name of an RPC: `get`, `set`, `del`, `multi_get`, `check_and_set`, …
 *
 * @example
 * ```ts
 * import { operationName } from "@kvwire/kvwire/pegasus";
 * operationName("RPC_RRDB_RRDB_MULTI_PUT"); // "multi_set"
 * ```
 */
export function operationName(rpc: string): string {
  return OPERATIONS[rpc] ?? rpc;
}
