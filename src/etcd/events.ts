// What an operator sees of the etcd clients: the event map (each endpoint's connection events,
// endpoint switches, leader changes, watch restarts, lost leases) and the operation names.

import type { ConnectionEvents, EndpointAddress } from "../core/observe.ts";

/**
 * The events of an {@link EtcdClient} (and of an `EtcdV2Client`, which emits the connection
 * events and `endpointSwitch`). `address` is an endpoint's `host:port`. Each endpoint is one
 * member: `connect` for every connection opened to it, `ready` when it became usable (again:
 * `reconnect`), `disconnect` when a failure made the client skip it, `reconnecting` with the
 * delay it is skipped for (the next call after it tries again).
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient({ endpoints: ["etcd-1:2379", "etcd-2:2379"] });
 * etcd.on("endpointSwitch", (e) => console.info(`calls move ${e.from} → ${e.to}: ${e.reason}`));
 * etcd.on("leaderChange", (e) => console.info("leader", e.leader, "term", e.term));
 * ```
 */
export interface EtcdEvents extends ConnectionEvents {
  /** Calls now go first to `to` instead of `from`: `from` failed, or `to` answered instead. */
  endpointSwitch: { from: EndpointAddress; to: EndpointAddress; reason: string };
  /**
   * An answer showed a new Raft term (every answer's header carries it: a new term means a new
   * leader was elected) or a new leader (a `Status` answer names it: `leader` is its member id).
   * `address` is the endpoint that answered; the first answer seen reports the current ones.
   */
  leaderChange: { address: EndpointAddress; leader?: string; term?: number };
  /**
   * A watch (or an election observation) is re-established after its stream was lost, from
   * `revision` (undefined when it was never created); `attempt` counts restarts so far.
   */
  watchRestart: {
    address?: EndpointAddress;
    revision?: string;
    reason: Error;
    attempt: number;
  };
  /** A lease's keep-alive loop gave up: the server said it expired, or its TTL ran out. */
  leaseLost: { lease: string; error: Error };
}

/** The gRPC method of each gateway path: the operation names of the v3 calls. */
const OPERATIONS: Record<string, string> = {
  "/v3/kv/range": "Range",
  "/v3/kv/put": "Put",
  "/v3/kv/deleterange": "DeleteRange",
  "/v3/kv/txn": "Txn",
  "/v3/kv/compaction": "Compact",
  "/v3/lease/grant": "LeaseGrant",
  "/v3/lease/revoke": "LeaseRevoke",
  "/v3/lease/keepalive": "LeaseKeepAlive",
  "/v3/lease/timetolive": "LeaseTimeToLive",
  "/v3/lease/leases": "LeaseLeases",
  "/v3/watch": "Watch",
  "/v3/lock/lock": "Lock",
  "/v3/lock/unlock": "Unlock",
  "/v3/election/campaign": "Campaign",
  "/v3/election/proclaim": "Proclaim",
  "/v3/election/leader": "Leader",
  "/v3/election/resign": "Resign",
  "/v3/cluster/member/list": "MemberList",
  "/v3/cluster/member/add": "MemberAdd",
  "/v3/cluster/member/remove": "MemberRemove",
  "/v3/cluster/member/update": "MemberUpdate",
  "/v3/cluster/member/promote": "MemberPromote",
  "/v3/maintenance/status": "Status",
  "/v3/maintenance/alarm": "Alarm",
  "/v3/maintenance/defragment": "Defragment",
  "/v3/maintenance/hash": "Hash",
  "/v3/maintenance/transfer-leadership": "MoveLeader",
  "/v3/maintenance/snapshot": "Snapshot",
  "/v3/auth/authenticate": "Authenticate",
  "/v3/auth/enable": "AuthEnable",
  "/v3/auth/disable": "AuthDisable",
  "/v3/auth/user/add": "UserAdd",
  "/v3/auth/user/get": "UserGet",
  "/v3/auth/user/list": "UserList",
  "/v3/auth/user/delete": "UserDelete",
  "/v3/auth/user/changepw": "UserChangePassword",
  "/v3/auth/user/grant": "UserGrantRole",
  "/v3/auth/user/revoke": "UserRevokeRole",
  "/v3/auth/role/add": "RoleAdd",
  "/v3/auth/role/get": "RoleGet",
  "/v3/auth/role/list": "RoleList",
  "/v3/auth/role/delete": "RoleDelete",
  "/v3/auth/role/grant": "RoleGrantPermission",
  "/v3/auth/role/revoke": "RoleRevokePermission",
};

/**
 * The operation name of a v3 gateway path (its gRPC method: `Range`, `Put`, `LeaseGrant`…);
 * an unknown path names itself (v3 paths never hold keys).
 *
 * @example
 * ```ts
 * import { operationOf } from "@kvwire/kvwire/etcd";
 * operationOf("/v3/kv/deleterange"); // "DeleteRange"
 * ```
 */
export function operationOf(path: string): string {
  return OPERATIONS[path] ?? path;
}
