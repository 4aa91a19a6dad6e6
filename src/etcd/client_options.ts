// The options of EtcdClient and the cluster types its methods answer with.

import type { ObservabilityOptions } from "../core/observability.ts";
import type { ResolveSrv } from "../core/srv.ts";
import type { Connect, ConnectOptions } from "../core/transport.ts";
import type { Address, EtcdLimits } from "./channel_options.ts";
import type { Bytes } from "./kv.ts";

/** Options of an {@link EtcdClient}. */
export interface EtcdClientOptions extends EtcdLimits, ObservabilityOptions {
  /**
   * `https://host:port`, `http://host:port` or bare `host:port` strings (port default 2379).
   * `https://` turns TLS on for the client; then every endpoint speaks TLS and an `http://`
   * one is refused with a `TypeError`. Default `["127.0.0.1:2379"]`.
   */
  endpoints?: (string | Address)[];
  /**
   * Find the cluster in DNS instead of `endpoints` (etcdctl's `--discovery-srv`): the SRV
   * records of `_etcd-client-ssl._tcp.<srvDomain>` (spoken to with TLS), else of
   * `_etcd-client._tcp.<srvDomain>` (plaintext); a `tls` option queries only the first,
   * `tls: false` only the second. Looked up when the first connection opens and again after
   * every target failed to connect; each connection tries the targets in RFC 2782 order
   * (priority, then weighted random) and takes the first that accepts, all within one
   * `connectTimeout`. The domain is one endpoint, `<srvDomain>:0`, in events and stats. No record is an `SrvLookupError`
   * naming the names queried. Not with `endpoints`.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient({ srvDomain: "example.com" });
   * ```
   */
  srvDomain?: string;
  /** The SRV resolver of `srvDomain`. Default: the runtime's (none on Workers). */
  resolveSrv?: ResolveSrv;
  /** The transport connector. Default: the one for the running runtime. */
  connect?: Connect;
  /**
   * What the client speaks: `"grpc"` (default; HTTP/2, h2c with prior knowledge on plaintext,
   * ALPN `h2` on TLS; every call and stream of an endpoint on one connection) or `"gateway"`
   * (etcd's JSON gateway over HTTP/1.1, for proxies and runtimes without HTTP/2 over TLS:
   * Workers sockets cannot negotiate ALPN, so over TLS they need `"gateway"`, else the connect
   * fails with a `TypeError` saying so). Every feature works on both, except
   * `maintenance.hashKV` (gRPC only: etcd 3.4's gateway has no route for it). The v2 API
   * (`EtcdV2Client`) is always the gateway's HTTP/1.1.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient({ protocol: "gateway" });
   * ```
   */
  protocol?: "grpc" | "gateway";
  /**
   * gRPC only: milliseconds between liveness PINGs on a connection with calls or streams open
   * (one unanswered for as long closes it; watches restart elsewhere). Default 30,000; etcd
   * answers PINGs more frequent than every 5 s with a GOAWAY unless started with a lower
   * `--grpc-keepalive-min-time`.
   */
  keepAliveInterval?: number;
  /**
   * TLS for every endpoint: `true` for the defaults, or `{ ca, cert, key, serverName }` (a
   * client certificate and key for mutual TLS). The server's certificate is always verified
   * unless `rejectUnauthorized: false` is spelled out. Implied by `https://` endpoints; set
   * with an `http://` endpoint it is a `TypeError`.
   */
  tls?: ConnectOptions["tls"];
  /** User name and password; the token is renewed once when the server rejects it. */
  auth?: { username: string; password: string };
  /** A prefix added to every key and removed from every key returned. */
  namespace?: Bytes;
  /** Deadline of each call in milliseconds, failover retries included. Default 30,000. */
  requestTimeout?: number;
  /** Milliseconds to open one connection. Default 5,000. */
  connectTimeout?: number;
  /** Pooled connections per endpoint for unary calls. Default 8. */
  maxConnections?: number;
  /**
   * Milliseconds a pooled connection may stay silent with a call in flight before it is
   * presumed dead, closed and its endpoint marked down. Default off: a call whose deadline
   * passes with no byte received closes its connection in any case.
   */
  silenceTimeout?: number;
  /**
   * Send the range reads (`get`, `getString`, `getPrefix`, `range`, `iterate` pages) made in
   * the same microtask turn as one read-only transaction: one HTTP request and one read on
   * the server for up to 128 of them, each caller still getting its own answer or error.
   * Linearizable and serializable reads are batched apart; a read with its own `signal` or
   * `timeout` is sent alone. Default true; `false` sends each read as its own request.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient({ coalesceReads: true });
   * // One request to etcd for the three reads:
   * const [a, b, c] = await Promise.all(["a", "b", "c"].map((k) => etcd.getString(k)));
   * ```
   */
  coalesceReads?: boolean;
}

/** A cluster member. */
export interface Member {
  /** The member's id. */
  id: bigint;
  /** The member's name (empty until it has started). */
  name: string;
  /** URLs the other members reach it at. */
  peerUrls: string[];
  /** URLs clients reach it at. */
  clientUrls: string[];
  /** True for a non-voting learner. */
  isLearner: boolean;
}

/** A member's status (maintenance/status). */
export interface MemberStatus {
  /** The etcd version of the member. */
  version: string;
  /** Size of the backend database in bytes. */
  dbSize: bigint;
  /** The id of the member it sees as leader. */
  leader: bigint;
  /** The id of the member that answered. */
  memberId: bigint;
  /** The member's current Raft index. */
  raftIndex: bigint;
  /** The member's current Raft term. */
  raftTerm: bigint;
  /** The store revision when it answered. */
  revision: bigint;
  /** Errors the member reports (alarms, for instance). */
  errors: string[];
}
