// The shapes of the etcd v2 keys API client (v2.ts): its options, the nodes and results of
// the keys API, cluster members, and the options of writes and reads.

import type { ObservabilityOptions } from "../core/observability.ts";
import type { ResolveSrv } from "../core/srv.ts";
import type { Connect, ConnectOptions } from "../core/transport.ts";
import type { Address, EtcdLimits } from "./channel.ts";

/** Options of an `EtcdV2Client`. */
export interface EtcdV2ClientOptions extends EtcdLimits, ObservabilityOptions {
  /**
   * `https://host:port`, `http://host:port` or bare `host:port` strings (port default 2379);
   * TLS and mixed schemes work as for `EtcdClient`. Default `["127.0.0.1:2379"]`.
   */
  endpoints?: (string | Address)[];
  /**
   * Find the cluster in DNS instead of `endpoints`, as aio_etcd's `srv_domain` does: the SRV
   * records of `_etcd._tcp.<srvDomain>`, spoken to with TLS when `protocol` is `"https"` (or
   * `tls` is set). Looked up when the first connection opens and again after every target
   * failed to connect; each connection tries the targets in RFC 2782 order (priority, then
   * weighted random). The domain is one endpoint, `<srvDomain>:0`, in events and stats. No
   * record is an `SrvLookupError` naming `_etcd._tcp.<srvDomain>`. Not with `endpoints`.
   *
   * @example
   * ```ts
   * import { EtcdV2Client } from "@kvwire/kvwire/etcd";
   * await using client = new EtcdV2Client({ srvDomain: "example.com", protocol: "https" });
   * ```
   */
  srvDomain?: string;
  /** The SRV resolver of `srvDomain`. Default: the runtime's (none on Workers). */
  resolveSrv?: ResolveSrv;
  /**
   * aio_etcd's `protocol`: `"https"` is `tls: true` (or the given `tls` settings) for every
   * endpoint; `"http"` refuses `tls` and `https://` endpoints with a `TypeError`. Default:
   * what `endpoints` and `tls` say.
   */
  protocol?: "http" | "https";
  /** The transport connector. Default: the one for the running runtime. */
  connect?: Connect;
  /**
   * TLS for every endpoint: `true` or `{ ca, cert, key, serverName }`; verification stays on
   * unless `rejectUnauthorized: false` is spelled out. Implied by `https://` endpoints.
   */
  tls?: ConnectOptions["tls"];
  /** Path prefix of the API. Default `/v2`. */
  versionPrefix?: string;
  /** Directory of {@link V2Lock} keys. Default `/_locks/`. */
  lockPrefix?: string;
  /** Deadline of each call (not of waits) in ms, redirects followed included. Default 30,000. */
  requestTimeout?: number;
  /**
   * Follow a redirect (HTTP 301/302/307/308) to the member its `Location` names, re-sending
   * the same request there (aio_etcd's `allow_redirect`). Default true. Only a member of the
   * cluster is followed to: a `Location` must keep the client's scheme and name one of
   * `endpoints` or a client URL the cluster lists in `/v2/machines` — the header is whatever
   * the answering server (or anything on the plain-HTTP path) wrote, and following it to any
   * host would send the request there and take that host's answer as the cluster's. `false`,
   * or a redirect that is not followed, fails with `EtcdV2RedirectError` naming it. etcd ≥ 2.0
   * members never redirect (a follower forwards writes to the leader itself); redirects come
   * from etcd 0.4 members and from proxies or load balancers.
   */
  allowRedirect?: boolean;
  /** The most redirects one call follows (with `allowRedirect`). Default 3. */
  maxRedirects?: number;
}

/** One node of the v2 key space, as returned by every operation. */
export interface V2Node {
  /** The node's full key. */
  key: string;
  /** The value (absent for a directory). */
  value?: string;
  /** True for a directory. */
  dir: boolean;
  /** Seconds left to live, for a node with a TTL. */
  ttl?: number;
  /** When the node expires (an ISO 8601 time), for a node with a TTL. */
  expiration?: string;
  /** The etcd index of the node's creation. */
  createdIndex: number;
  /** The etcd index of the node's last modification. */
  modifiedIndex: number;
  /** Direct children of a directory (nested ones under each child with `recursive`). */
  nodes: V2Node[];
}

/** The answer of an operation: the node plus `action`, `prevNode` and the etcd index. */
export interface V2Result extends V2Node {
  /** What the operation did: `get`, `set`, `create`, `delete`, and so on. */
  action: string;
  /** The node before the operation, when there was one. */
  prevNode?: V2Node;
  /** `X-Etcd-Index` of the answer. */
  etcdIndex: number;
  /** Every leaf under this node, depth first (the node itself when it is a leaf). */
  children: V2Node[];
}

/** A member of the cluster as the v2 API lists it. */
export interface V2Member {
  /** The member's id (hex). */
  id: string;
  /** The member's name. */
  name: string;
  /** URLs the other members reach it at. */
  peerURLs: string[];
  /** URLs clients reach it at. */
  clientURLs: string[];
}

/** Options of a write. */
export interface V2WriteOptions {
  /** Seconds the node lives. */
  ttl?: number;
  /** Create a directory instead of a value. */
  dir?: boolean;
  /** Only if the current value is this (a number is sent as its decimal text). */
  prevValue?: string | number;
  /** Only if the key was last modified at this index. */
  prevIndex?: number;
  /** true: only if it exists; false: only if it does not. */
  prevExist?: boolean;
  /** POST an in-order key into the directory `key`. */
  append?: boolean;
  /** Refresh the TTL without notifying watchers (the value must not change). */
  refresh?: boolean;
}

/** Options of a read. */
export interface V2ReadOptions {
  /** Include every node under a directory, not only its direct children. */
  recursive?: boolean;
  /** Sort the children by key. */
  sorted?: boolean;
  /** Make a linearizable read through consensus instead of a local one. */
  quorum?: boolean;
  /** Long-poll until the key changes (after `waitIndex` when given). */
  wait?: boolean;
  /** Report the first change at or after this index. */
  waitIndex?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Milliseconds a call may take; for `wait` the default is no limit. */
  timeout?: number;
}
