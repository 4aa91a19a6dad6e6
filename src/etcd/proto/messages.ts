// The etcd v3 messages the client uses, declared from etcd's api/etcdserverpb/rpc.proto,
// api/mvccpb/kv.proto and api/authpb/auth.proto (field numbers and types as there; names camelCase).

import type { MessageSpec } from "./wire.ts";

/** mvccpb.KeyValue. */
export interface KeyValueMsg {
  key: Uint8Array;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Uint8Array;
  lease: bigint;
}

/** etcdserverpb.ResponseHeader. */
export interface ResponseHeaderMsg {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

/** mvccpb.Event (type 0 = PUT, 1 = DELETE). */
export interface EventMsg {
  type: number;
  kv?: KeyValueMsg;
  prevKv?: KeyValueMsg;
}

/** etcdserverpb.RangeRequest. */
export interface RangeRequestMsg {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: bigint;
  revision?: bigint;
  sortOrder?: number;
  sortTarget?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: bigint;
  maxModRevision?: bigint;
  minCreateRevision?: bigint;
  maxCreateRevision?: bigint;
}

/** etcdserverpb.RangeResponse. */
export interface RangeResponseMsg {
  header?: ResponseHeaderMsg;
  kvs: KeyValueMsg[];
  more: boolean;
  count: bigint;
}

/** etcdserverpb.PutRequest. */
export interface PutRequestMsg {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: bigint;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

/** etcdserverpb.PutResponse. */
export interface PutResponseMsg {
  header?: ResponseHeaderMsg;
  prevKv?: KeyValueMsg;
}

/** etcdserverpb.DeleteRangeRequest. */
export interface DeleteRangeRequestMsg {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

/** etcdserverpb.DeleteRangeResponse. */
export interface DeleteRangeResponseMsg {
  header?: ResponseHeaderMsg;
  deleted: bigint;
  prevKvs: KeyValueMsg[];
}

/** etcdserverpb.Compare: result 0 EQUAL 1 GREATER 2 LESS 3 NOT_EQUAL; target 0 VERSION 1 CREATE 2 MOD 3 VALUE 4 LEASE; one of the target fields set. */
export interface CompareMsg {
  result?: number;
  target?: number;
  key: Uint8Array;
  version?: bigint;
  createRevision?: bigint;
  modRevision?: bigint;
  value?: Uint8Array;
  lease?: bigint;
  rangeEnd?: Uint8Array;
}

/** etcdserverpb.RequestOp: exactly one member set. */
export interface RequestOpMsg {
  requestRange?: RangeRequestMsg;
  requestPut?: PutRequestMsg;
  requestDeleteRange?: DeleteRangeRequestMsg;
  requestTxn?: TxnRequestMsg;
}

/** etcdserverpb.ResponseOp: exactly one member set. */
export interface ResponseOpMsg {
  responseRange?: RangeResponseMsg;
  responsePut?: PutResponseMsg;
  responseDeleteRange?: DeleteRangeResponseMsg;
  responseTxn?: TxnResponseMsg;
}

/** etcdserverpb.TxnRequest. */
export interface TxnRequestMsg {
  compare?: CompareMsg[];
  success?: RequestOpMsg[];
  failure?: RequestOpMsg[];
}

/** etcdserverpb.TxnResponse. */
export interface TxnResponseMsg {
  header?: ResponseHeaderMsg;
  succeeded: boolean;
  responses: ResponseOpMsg[];
}

/** etcdserverpb.CompactionRequest / Response. */
export interface CompactionRequestMsg {
  revision: bigint;
  physical?: boolean;
}
/** etcdserverpb.CompactionResponse (also LeaseRevokeResponse: a header only). */
export interface HeaderOnlyMsg {
  header?: ResponseHeaderMsg;
}

/** etcdserverpb.LeaseGrantRequest (TTL in seconds; ID 0 = server picks). */
export interface LeaseGrantRequestMsg {
  ttl: bigint;
  id?: bigint;
}
/** etcdserverpb.LeaseGrantResponse. */
export interface LeaseGrantResponseMsg {
  header?: ResponseHeaderMsg;
  id: bigint;
  ttl: bigint;
  error: string;
}
/** etcdserverpb.LeaseRevokeRequest, LeaseKeepAliveRequest: an ID. */
export interface LeaseIdMsg {
  id: bigint;
}
/** etcdserverpb.LeaseKeepAliveResponse. */
export interface LeaseKeepAliveResponseMsg {
  header?: ResponseHeaderMsg;
  id: bigint;
  ttl: bigint;
}
/** etcdserverpb.LeaseTimeToLiveRequest. */
export interface LeaseTimeToLiveRequestMsg {
  id: bigint;
  keys?: boolean;
}
/** etcdserverpb.LeaseTimeToLiveResponse (TTL -1: expired or unknown). */
export interface LeaseTimeToLiveResponseMsg {
  header?: ResponseHeaderMsg;
  id: bigint;
  ttl: bigint;
  grantedTtl: bigint;
  keys: Uint8Array[];
}
/** etcdserverpb.LeaseLeasesResponse. */
export interface LeaseLeasesResponseMsg {
  header?: ResponseHeaderMsg;
  leases: LeaseIdMsg[];
}

/** etcdserverpb.WatchCreateRequest (filters: 0 NOPUT, 1 NODELETE). */
export interface WatchCreateRequestMsg {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  startRevision?: bigint;
  progressNotify?: boolean;
  filters?: number[];
  prevKv?: boolean;
  watchId?: bigint;
  fragment?: boolean;
}
/** etcdserverpb.WatchRequest: exactly one member set. */
export interface WatchRequestMsg {
  createRequest?: WatchCreateRequestMsg;
  cancelRequest?: { watchId: bigint };
  progressRequest?: Record<string, never>;
}
/** etcdserverpb.WatchResponse. */
export interface WatchResponseMsg {
  header?: ResponseHeaderMsg;
  watchId: bigint;
  created: boolean;
  canceled: boolean;
  compactRevision: bigint;
  cancelReason: string;
  fragment: boolean;
  events: EventMsg[];
}

/** etcdserverpb.AuthenticateRequest: credentials (never log it). */
export interface AuthenticateRequestMsg {
  name: string;
  password: string;
}
/** etcdserverpb.AuthenticateResponse. */
export interface AuthenticateResponseMsg {
  header?: ResponseHeaderMsg;
  token: string;
}

/** etcdserverpb.StatusResponse. */
export interface StatusResponseMsg {
  header?: ResponseHeaderMsg;
  version: string;
  dbSize: bigint;
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  dbSizeInUse: bigint;
  isLearner: boolean;
}

/** etcdserverpb.Member. */
export interface MemberMsg {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}
/** etcdserverpb.MemberListResponse. */
export interface MemberListResponseMsg {
  header?: ResponseHeaderMsg;
  members: MemberMsg[];
}

const header = { name: "header", no: 1, kind: () => ResponseHeader } as const;

/** Schemas, by message name. */
export const ResponseHeader: MessageSpec = [
  { name: "clusterId", no: 1, kind: "uint64" },
  { name: "memberId", no: 2, kind: "uint64" },
  { name: "revision", no: 3, kind: "int64" },
  { name: "raftTerm", no: 4, kind: "uint64" },
];
/** mvccpb.KeyValue. */
export const KeyValue: MessageSpec = [
  { name: "key", no: 1, kind: "bytes" },
  { name: "createRevision", no: 2, kind: "int64" },
  { name: "modRevision", no: 3, kind: "int64" },
  { name: "version", no: 4, kind: "int64" },
  { name: "value", no: 5, kind: "bytes" },
  { name: "lease", no: 6, kind: "int64" },
];
/** mvccpb.Event. */
export const Event: MessageSpec = [
  { name: "type", no: 1, kind: "enum", enumNames: ["PUT", "DELETE"] },
  { name: "kv", no: 2, kind: () => KeyValue },
  { name: "prevKv", no: 3, kind: () => KeyValue },
];
/** etcdserverpb.RangeRequest. */
export const RangeRequest: MessageSpec = [
  { name: "key", no: 1, kind: "bytes" },
  { name: "rangeEnd", no: 2, kind: "bytes" },
  { name: "limit", no: 3, kind: "int64" },
  { name: "revision", no: 4, kind: "int64" },
  { name: "sortOrder", no: 5, kind: "enum", enumNames: ["NONE", "ASCEND", "DESCEND"] },
  {
    name: "sortTarget",
    no: 6,
    kind: "enum",
    enumNames: ["KEY", "VERSION", "CREATE", "MOD", "VALUE"],
  },
  { name: "serializable", no: 7, kind: "bool" },
  { name: "keysOnly", no: 8, kind: "bool" },
  { name: "countOnly", no: 9, kind: "bool" },
  { name: "minModRevision", no: 10, kind: "int64" },
  { name: "maxModRevision", no: 11, kind: "int64" },
  { name: "minCreateRevision", no: 12, kind: "int64" },
  { name: "maxCreateRevision", no: 13, kind: "int64" },
];
/** etcdserverpb.RangeResponse. */
export const RangeResponse: MessageSpec = [
  header,
  { name: "kvs", no: 2, kind: () => KeyValue, repeated: true },
  { name: "more", no: 3, kind: "bool" },
  { name: "count", no: 4, kind: "int64" },
];
/** etcdserverpb.PutRequest. */
export const PutRequest: MessageSpec = [
  { name: "key", no: 1, kind: "bytes" },
  { name: "value", no: 2, kind: "bytes" },
  { name: "lease", no: 3, kind: "int64" },
  { name: "prevKv", no: 4, kind: "bool" },
  { name: "ignoreValue", no: 5, kind: "bool" },
  { name: "ignoreLease", no: 6, kind: "bool" },
];
/** etcdserverpb.PutResponse. */
export const PutResponse: MessageSpec = [header, { name: "prevKv", no: 2, kind: () => KeyValue }];
/** etcdserverpb.DeleteRangeRequest. */
export const DeleteRangeRequest: MessageSpec = [
  { name: "key", no: 1, kind: "bytes" },
  { name: "rangeEnd", no: 2, kind: "bytes" },
  { name: "prevKv", no: 3, kind: "bool" },
];
/** etcdserverpb.DeleteRangeResponse. */
export const DeleteRangeResponse: MessageSpec = [
  header,
  { name: "deleted", no: 2, kind: "int64" },
  { name: "prevKvs", no: 3, kind: () => KeyValue, repeated: true },
];
/** etcdserverpb.Compare. */
export const Compare: MessageSpec = [
  { name: "result", no: 1, kind: "enum", enumNames: ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"] },
  {
    name: "target",
    no: 2,
    kind: "enum",
    enumNames: ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"],
  },
  { name: "key", no: 3, kind: "bytes" },
  { name: "version", no: 4, kind: "int64", oneof: true },
  { name: "createRevision", no: 5, kind: "int64", oneof: true },
  { name: "modRevision", no: 6, kind: "int64", oneof: true },
  { name: "value", no: 7, kind: "bytes", oneof: true },
  { name: "lease", no: 8, kind: "int64", oneof: true },
  { name: "rangeEnd", no: 64, kind: "bytes" },
];
/** etcdserverpb.RequestOp. */
export const RequestOp: MessageSpec = [
  { name: "requestRange", no: 1, kind: () => RangeRequest, oneof: true },
  { name: "requestPut", no: 2, kind: () => PutRequest, oneof: true },
  { name: "requestDeleteRange", no: 3, kind: () => DeleteRangeRequest, oneof: true },
  { name: "requestTxn", no: 4, kind: () => TxnRequest, oneof: true },
];
/** etcdserverpb.ResponseOp. */
export const ResponseOp: MessageSpec = [
  { name: "responseRange", no: 1, kind: () => RangeResponse, oneof: true },
  { name: "responsePut", no: 2, kind: () => PutResponse, oneof: true },
  { name: "responseDeleteRange", no: 3, kind: () => DeleteRangeResponse, oneof: true },
  { name: "responseTxn", no: 4, kind: () => TxnResponse, oneof: true },
];
/** etcdserverpb.TxnRequest. */
export const TxnRequest: MessageSpec = [
  { name: "compare", no: 1, kind: () => Compare, repeated: true },
  { name: "success", no: 2, kind: () => RequestOp, repeated: true },
  { name: "failure", no: 3, kind: () => RequestOp, repeated: true },
];
/** etcdserverpb.TxnResponse. */
export const TxnResponse: MessageSpec = [
  header,
  { name: "succeeded", no: 2, kind: "bool" },
  { name: "responses", no: 3, kind: () => ResponseOp, repeated: true },
];
/** etcdserverpb.CompactionRequest. */
export const CompactionRequest: MessageSpec = [
  { name: "revision", no: 1, kind: "int64" },
  { name: "physical", no: 2, kind: "bool" },
];
/** A response with only a header: CompactionResponse, LeaseRevokeResponse. */
export const HeaderOnly: MessageSpec = [header];
/** etcdserverpb.LeaseGrantRequest. */
export const LeaseGrantRequest: MessageSpec = [
  { name: "ttl", no: 1, kind: "int64", json: "TTL" },
  { name: "id", no: 2, kind: "int64", json: "ID" },
];
/** etcdserverpb.LeaseGrantResponse. */
export const LeaseGrantResponse: MessageSpec = [
  header,
  { name: "id", no: 2, kind: "int64", json: "ID" },
  { name: "ttl", no: 3, kind: "int64", json: "TTL" },
  { name: "error", no: 4, kind: "string" },
];
/** LeaseRevokeRequest, LeaseKeepAliveRequest and LeaseStatus: `int64 ID = 1`. */
export const LeaseId: MessageSpec = [{ name: "id", no: 1, kind: "int64", json: "ID" }];
/** etcdserverpb.LeaseKeepAliveResponse. */
export const LeaseKeepAliveResponse: MessageSpec = [
  header,
  { name: "id", no: 2, kind: "int64", json: "ID" },
  { name: "ttl", no: 3, kind: "int64", json: "TTL" },
];
/** etcdserverpb.LeaseTimeToLiveRequest. */
export const LeaseTimeToLiveRequest: MessageSpec = [
  { name: "id", no: 1, kind: "int64", json: "ID" },
  { name: "keys", no: 2, kind: "bool" },
];
/** etcdserverpb.LeaseTimeToLiveResponse. */
export const LeaseTimeToLiveResponse: MessageSpec = [
  header,
  { name: "id", no: 2, kind: "int64", json: "ID" },
  { name: "ttl", no: 3, kind: "int64", json: "TTL" },
  { name: "grantedTtl", no: 4, kind: "int64", json: "grantedTTL" },
  { name: "keys", no: 5, kind: "bytes", repeated: true },
];
/** Requests without fields: LeaseLeasesRequest, StatusRequest, WatchProgressRequest. */
export const Empty: MessageSpec = [];
/** etcdserverpb.LeaseLeasesResponse. */
export const LeaseLeasesResponse: MessageSpec = [
  header,
  { name: "leases", no: 2, kind: () => LeaseId, repeated: true },
];
/** etcdserverpb.WatchCreateRequest. */
export const WatchCreateRequest: MessageSpec = [
  { name: "key", no: 1, kind: "bytes" },
  { name: "rangeEnd", no: 2, kind: "bytes" },
  { name: "startRevision", no: 3, kind: "int64" },
  { name: "progressNotify", no: 4, kind: "bool" },
  { name: "filters", no: 5, kind: "enum", repeated: true, enumNames: ["NOPUT", "NODELETE"] },
  { name: "prevKv", no: 6, kind: "bool" },
  { name: "watchId", no: 7, kind: "int64" },
  { name: "fragment", no: 8, kind: "bool" },
];
/** etcdserverpb.WatchCancelRequest. */
export const WatchCancelRequest: MessageSpec = [{ name: "watchId", no: 1, kind: "int64" }];
/** etcdserverpb.WatchRequest. */
export const WatchRequest: MessageSpec = [
  { name: "createRequest", no: 1, kind: () => WatchCreateRequest, oneof: true },
  { name: "cancelRequest", no: 2, kind: () => WatchCancelRequest, oneof: true },
  { name: "progressRequest", no: 3, kind: () => Empty, oneof: true },
];
/** etcdserverpb.WatchResponse. */
export const WatchResponse: MessageSpec = [
  header,
  { name: "watchId", no: 2, kind: "int64" },
  { name: "created", no: 3, kind: "bool" },
  { name: "canceled", no: 4, kind: "bool" },
  { name: "compactRevision", no: 5, kind: "int64" },
  { name: "cancelReason", no: 6, kind: "string" },
  { name: "fragment", no: 7, kind: "bool" },
  { name: "events", no: 11, kind: () => Event, repeated: true },
];
/** etcdserverpb.AuthenticateRequest. */
export const AuthenticateRequest: MessageSpec = [
  { name: "name", no: 1, kind: "string" },
  { name: "password", no: 2, kind: "string" },
];
/** etcdserverpb.AuthenticateResponse. */
export const AuthenticateResponse: MessageSpec = [header, { name: "token", no: 2, kind: "string" }];
/** etcdserverpb.StatusResponse. */
export const StatusResponse: MessageSpec = [
  header,
  { name: "version", no: 2, kind: "string" },
  { name: "dbSize", no: 3, kind: "int64", json: "dbSize" },
  { name: "leader", no: 4, kind: "uint64" },
  { name: "raftIndex", no: 5, kind: "uint64", json: "raftIndex" },
  { name: "raftTerm", no: 6, kind: "uint64", json: "raftTerm" },
  { name: "raftAppliedIndex", no: 7, kind: "uint64", json: "raftAppliedIndex" },
  { name: "errors", no: 8, kind: "string", repeated: true },
  { name: "dbSizeInUse", no: 9, kind: "int64", json: "dbSizeInUse" },
  { name: "isLearner", no: 10, kind: "bool", json: "isLearner" },
];
/** etcdserverpb.MemberListRequest (`linearizable` is etcd 3.5+; older servers ignore it). */
export const MemberListRequest: MessageSpec = [{ name: "linearizable", no: 1, kind: "bool" }];
/** etcdserverpb.Member. */
export const Member: MessageSpec = [
  { name: "id", no: 1, kind: "uint64", json: "ID" },
  { name: "name", no: 2, kind: "string" },
  { name: "peerUrls", no: 3, kind: "string", repeated: true, json: "peerURLs" },
  { name: "clientUrls", no: 4, kind: "string", repeated: true, json: "clientURLs" },
  { name: "isLearner", no: 5, kind: "bool", json: "isLearner" },
];
/** etcdserverpb.MemberListResponse. */
export const MemberListResponse: MessageSpec = [
  header,
  { name: "members", no: 2, kind: () => Member, repeated: true },
];

/** gRPC method paths of the calls above. */
export const Method = {
  Range: "/etcdserverpb.KV/Range",
  Put: "/etcdserverpb.KV/Put",
  DeleteRange: "/etcdserverpb.KV/DeleteRange",
  Txn: "/etcdserverpb.KV/Txn",
  Compact: "/etcdserverpb.KV/Compact",
  Watch: "/etcdserverpb.Watch/Watch",
  LeaseGrant: "/etcdserverpb.Lease/LeaseGrant",
  LeaseRevoke: "/etcdserverpb.Lease/LeaseRevoke",
  LeaseKeepAlive: "/etcdserverpb.Lease/LeaseKeepAlive",
  LeaseTimeToLive: "/etcdserverpb.Lease/LeaseTimeToLive",
  LeaseLeases: "/etcdserverpb.Lease/LeaseLeases",
  Authenticate: "/etcdserverpb.Auth/Authenticate",
  Status: "/etcdserverpb.Maintenance/Status",
  MemberList: "/etcdserverpb.Cluster/MemberList",
} as const;
