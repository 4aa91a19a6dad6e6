/**
 * etcd clients for every runtime: {@link EtcdClient} speaks the v3 API (KV, txn, leases,
 * watch, lock, election, auth, admin, failover) over native gRPC ({@link GrpcChannel}) or
 * etcd's JSON gateway over HTTP/1.1 ({@link Channel}), and {@link EtcdV2Client} the v2 keys
 * API over HTTP/1.1. The HTTP/1.1 machine underneath is exported too.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient({ endpoints: ["127.0.0.1:2379"] });
 * await etcd.put("greeting", "hello");
 * console.log(await etcd.getString("greeting")); // "hello"
 * ```
 *
 * @module
 */

export * from "../core/errors.ts";
export * from "../core/observability.ts";
export type {
  ConnectionEvent,
  ProtocolConnection,
  RequestId,
  SendOptions,
} from "../core/connection.ts";
export type { ReceiveBuffer } from "../core/receive_buffer.ts";
export type { StreamQueue } from "../core/stream_queue.ts";
export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "../core/transport.ts";
export { parseHostPort } from "../core/url.ts";
export { base64Decode, base64Encode } from "./base64.ts";
export {
  type Address as EtcdAddress,
  type CallInfo,
  type CallOptions,
  Channel,
  type ChannelOptions,
  type ChannelStream,
  type ChannelSummary,
  type Decode,
  type EtcdChannel,
  type EtcdLimits,
  type StreamOptions,
} from "./channel.ts";
export { ChannelBase } from "./channel_base.ts";
export { GrpcChannel } from "./grpc/channel.ts";
export type { BidiStream, OpenBidi } from "./grpc/bidi.ts";
export { ConnectionPool, type Freshness, type Http1Driver } from "./pool.ts";
export { EtcdClient, type EtcdClientOptions, type Member, type MemberStatus } from "./client.ts";
export { AuthAdmin, type Permission, PermissionType } from "./auth_admin.ts";
export { ClusterAdmin, type MemberAdded } from "./cluster_admin.ts";
export { Endpoint } from "./endpoint.ts";
export { type EtcdEndpoints, parseEndpoints } from "./endpoints.ts";
export {
  clientEndpoints,
  type EndpointOptions,
  etcdSrvNames,
  srvConnect,
  type SrvName,
} from "./srv_endpoints.ts";
export {
  defaultResolveSrv,
  orderSrv,
  type ResolveSrv,
  SrvLookupError,
  type SrvRecord,
} from "../core/srv.ts";
export { type EtcdEvents, operationOf } from "./events.ts";
export { Failover } from "./failover.ts";
export * from "./errors.ts";
export {
  encodeRequest,
  type HttpRequest,
  type HttpResponse,
  type ResponsePart,
  ResponseReader,
  type ResponseReaderLimits,
} from "./http1/codec.ts";
export { Http1Connection, type Http1ConnectionOptions } from "./http1/connection.ts";
export {
  type Bytes,
  type DeleteResult,
  type KeyRange,
  type KeyValue,
  prefixEnd,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  text,
} from "./kv.ts";
export { Lease, type LeaseInfo, type LeaseOptions } from "./lease.ts";
export { type Alarm, AlarmType, Maintenance } from "./maintenance.ts";
export {
  Election,
  type Leader,
  type LeaderKey,
  Leadership,
  Lock,
  type LockOptions,
} from "./lock.ts";
export { ElectionObserver, type ObserveOptions } from "./observe.ts";
export {
  Isolation,
  runStm,
  type Stm,
  type StmBackend,
  type StmOptions,
  type StmResult,
} from "./stm.ts";
export type { Compare, CompareTarget, TxnOp, TxnOpResult, TxnRequest, TxnResult } from "./txn.ts";
export {
  Watcher,
  type WatchEvent,
  type WatchOptions,
  type WatchRestart,
  type WatchStream,
} from "./watch.ts";
export { EtcdV2Client, V2Lock } from "./v2.ts";
export type {
  EtcdV2ClientOptions,
  V2Member,
  V2Node,
  V2ReadOptions,
  V2Result,
  V2WriteOptions,
} from "./v2_types.ts";
