// The etcd v3 messages of the admin and concurrency services, declared from etcd's
// api/etcdserverpb/rpc.proto, api/authpb/auth.proto, v3lock.proto and v3election.proto (field
// numbers and types as there): cluster membership, maintenance, users and roles, locks and
// elections. Their requests and answers travel as the gateway's JSON above the gRPC channel,
// so no TypeScript shapes are declared for them.

import { KeyValue, Member, ResponseHeader } from "./messages.ts";
import type { MessageSpec } from "./wire.ts";

const header = { name: "header", no: 1, kind: () => ResponseHeader } as const;
const members = (no: number) => ({ name: "members", no, kind: () => Member, repeated: true });
const ALARMS = ["NONE", "NOSPACE", "CORRUPT"] as const;

/** etcdserverpb.MemberAddRequest. */
export const MemberAddRequest: MessageSpec = [
  { name: "peerUrls", no: 1, kind: "string", repeated: true, json: "peerURLs" },
  { name: "isLearner", no: 2, kind: "bool", json: "isLearner" },
];
/** etcdserverpb.MemberAddResponse. */
export const MemberAddResponse: MessageSpec = [
  header,
  { name: "member", no: 2, kind: () => Member },
  members(3),
];
/** MemberRemoveRequest and MemberPromoteRequest: `uint64 ID = 1`. */
export const MemberId: MessageSpec = [{ name: "id", no: 1, kind: "uint64", json: "ID" }];
/** MemberRemoveResponse, MemberUpdateResponse, MemberPromoteResponse: the members after it. */
export const MembersResponse: MessageSpec = [header, members(2)];
/** etcdserverpb.MemberUpdateRequest. */
export const MemberUpdateRequest: MessageSpec = [
  { name: "id", no: 1, kind: "uint64", json: "ID" },
  { name: "peerUrls", no: 2, kind: "string", repeated: true, json: "peerURLs" },
];

/** etcdserverpb.AlarmRequest. */
export const AlarmRequest: MessageSpec = [
  { name: "action", no: 1, kind: "enum", enumNames: ["GET", "ACTIVATE", "DEACTIVATE"] },
  { name: "memberId", no: 2, kind: "uint64", json: "memberID" },
  { name: "alarm", no: 3, kind: "enum", enumNames: ALARMS },
];
/** etcdserverpb.AlarmMember. */
export const AlarmMember: MessageSpec = [
  { name: "memberId", no: 1, kind: "uint64", json: "memberID" },
  { name: "alarm", no: 2, kind: "enum", enumNames: ALARMS },
];
/** etcdserverpb.AlarmResponse. */
export const AlarmResponse: MessageSpec = [
  header,
  { name: "alarms", no: 2, kind: () => AlarmMember, repeated: true },
];
/** etcdserverpb.HashResponse. */
export const HashResponse: MessageSpec = [header, { name: "hash", no: 2, kind: "uint32" }];
/** etcdserverpb.HashKVRequest. */
export const HashKVRequest: MessageSpec = [{ name: "revision", no: 1, kind: "int64" }];
/** etcdserverpb.HashKVResponse. */
export const HashKVResponse: MessageSpec = [
  header,
  { name: "hash", no: 2, kind: "uint32" },
  { name: "compactRevision", no: 3, kind: "int64" },
];
/** etcdserverpb.MoveLeaderRequest. */
export const MoveLeaderRequest: MessageSpec = [
  { name: "targetId", no: 1, kind: "uint64", json: "targetID" },
];
/** etcdserverpb.SnapshotResponse. */
export const SnapshotResponse: MessageSpec = [
  header,
  { name: "remainingBytes", no: 2, kind: "uint64" },
  { name: "blob", no: 3, kind: "bytes" },
];

/** etcdserverpb.AuthUserAddRequest. */
export const AuthUserAddRequest: MessageSpec = [
  { name: "name", no: 1, kind: "string" },
  { name: "password", no: 2, kind: "string" },
  { name: "options", no: 3, kind: () => UserAddOptions },
];
/** authpb.UserAddOptions. */
export const UserAddOptions: MessageSpec = [{ name: "noPassword", no: 1, kind: "bool" }];
/** Requests naming a user: AuthUserGetRequest, AuthUserDeleteRequest, AuthRoleAddRequest. */
export const NameRequest: MessageSpec = [{ name: "name", no: 1, kind: "string" }];
/** etcdserverpb.AuthUserChangePasswordRequest. */
export const AuthUserChangePasswordRequest: MessageSpec = [
  { name: "name", no: 1, kind: "string" },
  { name: "password", no: 2, kind: "string" },
];
/** etcdserverpb.AuthUserGrantRoleRequest. */
export const AuthUserGrantRoleRequest: MessageSpec = [
  { name: "user", no: 1, kind: "string" },
  { name: "role", no: 2, kind: "string" },
];
/** etcdserverpb.AuthUserRevokeRoleRequest. */
export const AuthUserRevokeRoleRequest: MessageSpec = [
  { name: "name", no: 1, kind: "string" },
  { name: "role", no: 2, kind: "string" },
];
/** Requests naming a role: AuthRoleGetRequest, AuthRoleDeleteRequest. */
export const RoleRequest: MessageSpec = [{ name: "role", no: 1, kind: "string" }];
/** AuthUserGetResponse and AuthRoleListResponse: `repeated string roles = 2`. */
export const RolesResponse: MessageSpec = [
  header,
  { name: "roles", no: 2, kind: "string", repeated: true },
];
/** etcdserverpb.AuthUserListResponse. */
export const UsersResponse: MessageSpec = [
  header,
  { name: "users", no: 2, kind: "string", repeated: true },
];
/** authpb.Permission. */
export const Permission: MessageSpec = [
  {
    name: "permType",
    no: 1,
    kind: "enum",
    json: "permType",
    enumNames: ["READ", "WRITE", "READWRITE"],
  },
  { name: "key", no: 2, kind: "bytes" },
  { name: "rangeEnd", no: 3, kind: "bytes" },
];
/** etcdserverpb.AuthRoleGetResponse. */
export const AuthRoleGetResponse: MessageSpec = [
  header,
  { name: "perm", no: 2, kind: () => Permission, repeated: true },
];
/** etcdserverpb.AuthRoleGrantPermissionRequest. */
export const AuthRoleGrantPermissionRequest: MessageSpec = [
  { name: "name", no: 1, kind: "string" },
  { name: "perm", no: 2, kind: () => Permission },
];
/** etcdserverpb.AuthRoleRevokePermissionRequest. */
export const AuthRoleRevokePermissionRequest: MessageSpec = [
  { name: "role", no: 1, kind: "string" },
  { name: "key", no: 2, kind: "bytes" },
  { name: "rangeEnd", no: 3, kind: "bytes" },
];

/** v3lockpb.LockRequest. */
export const LockRequest: MessageSpec = [
  { name: "name", no: 1, kind: "bytes" },
  { name: "lease", no: 2, kind: "int64" },
];
/** v3lockpb.LockResponse. */
export const LockResponse: MessageSpec = [header, { name: "key", no: 2, kind: "bytes" }];
/** v3lockpb.UnlockRequest. */
export const UnlockRequest: MessageSpec = [{ name: "key", no: 1, kind: "bytes" }];

/** v3electionpb.LeaderKey. */
export const LeaderKey: MessageSpec = [
  { name: "name", no: 1, kind: "bytes" },
  { name: "key", no: 2, kind: "bytes" },
  { name: "rev", no: 3, kind: "int64" },
  { name: "lease", no: 4, kind: "int64" },
];
/** v3electionpb.CampaignRequest. */
export const CampaignRequest: MessageSpec = [
  { name: "name", no: 1, kind: "bytes" },
  { name: "lease", no: 2, kind: "int64" },
  { name: "value", no: 3, kind: "bytes" },
];
/** v3electionpb.CampaignResponse. */
export const CampaignResponse: MessageSpec = [
  header,
  { name: "leader", no: 2, kind: () => LeaderKey },
];
/** v3electionpb.LeaderRequest. */
export const LeaderRequest: MessageSpec = [{ name: "name", no: 1, kind: "bytes" }];
/** v3electionpb.LeaderResponse. */
export const LeaderResponse: MessageSpec = [header, { name: "kv", no: 2, kind: () => KeyValue }];
/** v3electionpb.ProclaimRequest. */
export const ProclaimRequest: MessageSpec = [
  { name: "leader", no: 1, kind: () => LeaderKey },
  { name: "value", no: 2, kind: "bytes" },
];
/** v3electionpb.ResignRequest. */
export const ResignRequest: MessageSpec = [{ name: "leader", no: 1, kind: () => LeaderKey }];
