// Which gRPC method serves each path of the etcd gateway, and the schemas of its request and
// answer: the table the gRPC channel translates calls with.

import * as A from "../proto/admin_messages.ts";
import * as M from "../proto/messages.ts";
import type { MessageSpec } from "../proto/wire.ts";

/** A gRPC method: its path and message schemas; `stream` for a server-streaming answer. */
export interface GrpcMethod {
  /** `/package.Service/Method`. */
  path: string;
  /** The request schema. */
  request: MessageSpec;
  /** The response schema. */
  response: MessageSpec;
  /** The answer is a stream of messages (Watch, Snapshot). */
  stream?: boolean;
}

const m = (
  path: string,
  request: MessageSpec,
  response: MessageSpec = M.HeaderOnly,
  stream?: boolean,
): GrpcMethod => ({ path, request, response, stream });
const kv = (name: string): string => `/etcdserverpb.KV/${name}`;
const lease = (name: string): string => `/etcdserverpb.Lease/${name}`;
const cluster = (name: string): string => `/etcdserverpb.Cluster/${name}`;
const maint = (name: string): string => `/etcdserverpb.Maintenance/${name}`;
const auth = (name: string): string => `/etcdserverpb.Auth/${name}`;
const election = (name: string): string => `/v3electionpb.Election/${name}`;

/**
 * The gRPC method of each v3 gateway path (`/v3/maintenance/hashkv` has no gateway route on
 * etcd 3.4: gRPC only).
 *
 * @example
 * ```ts
 * import { GRPC_METHODS } from "./methods.ts";
 * console.log(GRPC_METHODS["/v3/kv/range"].path); // "/etcdserverpb.KV/Range"
 * ```
 */
export const GRPC_METHODS: Readonly<Record<string, GrpcMethod>> = {
  "/v3/kv/range": m(kv("Range"), M.RangeRequest, M.RangeResponse),
  "/v3/kv/put": m(kv("Put"), M.PutRequest, M.PutResponse),
  "/v3/kv/deleterange": m(kv("DeleteRange"), M.DeleteRangeRequest, M.DeleteRangeResponse),
  "/v3/kv/txn": m(kv("Txn"), M.TxnRequest, M.TxnResponse),
  "/v3/kv/compaction": m(kv("Compact"), M.CompactionRequest),
  "/v3/watch": m("/etcdserverpb.Watch/Watch", M.WatchRequest, M.WatchResponse, true),
  "/v3/lease/grant": m(lease("LeaseGrant"), M.LeaseGrantRequest, M.LeaseGrantResponse),
  "/v3/lease/revoke": m(lease("LeaseRevoke"), M.LeaseId),
  "/v3/lease/keepalive": m(lease("LeaseKeepAlive"), M.LeaseId, M.LeaseKeepAliveResponse, true),
  "/v3/lease/timetolive": m(
    lease("LeaseTimeToLive"),
    M.LeaseTimeToLiveRequest,
    M.LeaseTimeToLiveResponse,
  ),
  "/v3/lease/leases": m(lease("LeaseLeases"), M.Empty, M.LeaseLeasesResponse),
  "/v3/cluster/member/list": m(cluster("MemberList"), M.MemberListRequest, M.MemberListResponse),
  "/v3/cluster/member/add": m(cluster("MemberAdd"), A.MemberAddRequest, A.MemberAddResponse),
  "/v3/cluster/member/remove": m(cluster("MemberRemove"), A.MemberId, A.MembersResponse),
  "/v3/cluster/member/update": m(
    cluster("MemberUpdate"),
    A.MemberUpdateRequest,
    A.MembersResponse,
  ),
  "/v3/cluster/member/promote": m(cluster("MemberPromote"), A.MemberId, A.MembersResponse),
  "/v3/maintenance/status": m(maint("Status"), M.Empty, M.StatusResponse),
  "/v3/maintenance/alarm": m(maint("Alarm"), A.AlarmRequest, A.AlarmResponse),
  "/v3/maintenance/defragment": m(maint("Defragment"), M.Empty),
  "/v3/maintenance/hash": m(maint("Hash"), M.Empty, A.HashResponse),
  "/v3/maintenance/hashkv": m(maint("HashKV"), A.HashKVRequest, A.HashKVResponse),
  "/v3/maintenance/transfer-leadership": m(maint("MoveLeader"), A.MoveLeaderRequest),
  "/v3/maintenance/snapshot": m(maint("Snapshot"), M.Empty, A.SnapshotResponse, true),
  "/v3/auth/authenticate": m(auth("Authenticate"), M.AuthenticateRequest, M.AuthenticateResponse),
  "/v3/auth/enable": m(auth("AuthEnable"), M.Empty),
  "/v3/auth/disable": m(auth("AuthDisable"), M.Empty),
  "/v3/auth/user/add": m(auth("UserAdd"), A.AuthUserAddRequest),
  "/v3/auth/user/get": m(auth("UserGet"), A.NameRequest, A.RolesResponse),
  "/v3/auth/user/list": m(auth("UserList"), M.Empty, A.UsersResponse),
  "/v3/auth/user/delete": m(auth("UserDelete"), A.NameRequest),
  "/v3/auth/user/changepw": m(auth("UserChangePassword"), A.AuthUserChangePasswordRequest),
  "/v3/auth/user/grant": m(auth("UserGrantRole"), A.AuthUserGrantRoleRequest),
  "/v3/auth/user/revoke": m(auth("UserRevokeRole"), A.AuthUserRevokeRoleRequest),
  "/v3/auth/role/add": m(auth("RoleAdd"), A.NameRequest),
  "/v3/auth/role/get": m(auth("RoleGet"), A.RoleRequest, A.AuthRoleGetResponse),
  "/v3/auth/role/list": m(auth("RoleList"), M.Empty, A.RolesResponse),
  "/v3/auth/role/delete": m(auth("RoleDelete"), A.RoleRequest),
  "/v3/auth/role/grant": m(auth("RoleGrantPermission"), A.AuthRoleGrantPermissionRequest),
  "/v3/auth/role/revoke": m(auth("RoleRevokePermission"), A.AuthRoleRevokePermissionRequest),
  "/v3/lock/lock": m("/v3lockpb.Lock/Lock", A.LockRequest, A.LockResponse),
  "/v3/lock/unlock": m("/v3lockpb.Lock/Unlock", A.UnlockRequest),
  "/v3/election/campaign": m(election("Campaign"), A.CampaignRequest, A.CampaignResponse),
  "/v3/election/proclaim": m(election("Proclaim"), A.ProclaimRequest),
  "/v3/election/leader": m(election("Leader"), A.LeaderRequest, A.LeaderResponse),
  "/v3/election/resign": m(election("Resign"), A.ResignRequest),
};
