// EtcdClient: the user-facing etcd v3 client, over native gRPC or the JSON gateway: KV, txn,
// compaction, leases, watch, lock, election, cluster and maintenance, auth, failover.

import { defaultConnect } from "../core/default_connect.ts";
import { observability } from "../core/observability.ts";
import type { ClientStats } from "../core/observe.ts";
import { base64Encode } from "./base64.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import { type CallOptions, Channel, type ChannelSummary, type EtcdChannel } from "./channel.ts";
import { GrpcChannel } from "./grpc/channel.ts";
import { ReadCoalescer } from "./coalesce.ts";
import { AuthAdmin } from "./auth_admin.ts";
import { ClusterAdmin } from "./cluster_admin.ts";
import type { EtcdClientOptions, Member, MemberStatus } from "./client_options.ts";
import { clientEndpoints, etcdSrvNames } from "./srv_endpoints.ts";
import type { EtcdEvents } from "./events.ts";
import {
  b64,
  type Bytes,
  deleteRequest,
  type DeleteResult,
  deleteResult,
  int,
  type KeyRange,
  Keys,
  type KeyValue,
  list,
  num,
  type PutOptions,
  putRequest,
  type PutResult,
  putResult,
  type RangeOptions,
  rangeRequest,
  type RangeResult,
  rangeResult,
  text,
} from "./kv.ts";
import { type Alarm, Maintenance } from "./maintenance.ts";
import { runStm, type Stm, type StmOptions, type StmResult } from "./stm.ts";
import { Lease, type LeaseInfo, type LeaseOptions } from "./lease.ts";
import { Election, Lock, type LockOptions } from "./lock.ts";
import { type TxnRequest, txnRequest, type TxnResult, txnResult } from "./txn.ts";
import { Watcher, type WatchOptions, type WatchStream } from "./watch.ts";
import { openWatchHub, watchOn } from "./grpc/client_watch.ts";
import type { WatchHub } from "./grpc/watch_hub.ts";

export type { EtcdClientOptions, Member, MemberStatus } from "./client_options.ts";

/**
 * An etcd v3 client speaking native gRPC (default) or the JSON gateway over HTTP/1.1
 * (`protocol`; every runtime, Workers too: there gRPC over TLS is refused, use the gateway).
 * Keys and values are `Uint8Array` or strings; revisions are bigint.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient({ endpoints: ["127.0.0.1:2379"] });
 * await etcd.put("greeting", "hello");
 * console.log(await etcd.getString("greeting")); // "hello"
 * ```
 */
export class EtcdClient {
  readonly #channel: EtcdChannel;
  readonly #keys: Keys;
  readonly #options: EtcdClientOptions;
  readonly #owner: boolean;
  #reads: ReadCoalescer | undefined;
  /** gRPC: the one Watch stream every watch of this client (or view) shares, once one starts. */
  #hub: WatchHub | undefined;
  /**
   * The Maintenance service: status, alarms, defragment, hash, moveLeader, snapshot.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * for await (const chunk of etcd.maintenance.snapshot()) console.log(chunk.length);
   * ```
   */
  readonly maintenance: Maintenance;
  /**
   * The Cluster service: list, add (learners too), remove, update and promote members.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * console.log((await etcd.cluster.list()).map((m) => m.name));
   * ```
   */
  readonly cluster: ClusterAdmin;
  /**
   * The Auth service: enable/disable, users and roles. (The `auth` option holds the
   * credentials the client itself signs in with.)
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient({ auth: { username: "root", password: "s3cret" } });
   * console.log(await etcd.auth.userList()); // ["root", ...]
   * ```
   */
  readonly auth: AuthAdmin;

  /** Creates the client; connections open on first use. */
  constructor(options: EtcdClientOptions = {}, shared?: EtcdChannel) {
    this.#options = options;
    this.#keys = new Keys(options.namespace ?? "");
    this.#owner = shared === undefined;
    this.#channel = shared ?? openChannel(options);
    this.maintenance = new Maintenance(this.#channel);
    this.cluster = new ClusterAdmin(this.#channel);
    this.auth = new AuthAdmin(this.#channel, this.#keys);
    if (options.coalesceReads !== false) {
      this.#reads = new ReadCoalescer(this.#channel, { requestTimeout: options.requestTimeout });
    }
  }

  /**
   * The safe description `JSON.stringify`, `console.log` and the inspect hooks show: endpoints,
   * TLS and the user name; never the password, the auth token or a TLS key.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * const etcd = new EtcdClient({ auth: { username: "app", password: "s3cret" } });
   * JSON.stringify(etcd); // {"endpoints":["127.0.0.1:2379"],"tls":false,...,"username":"app"}
   * ```
   */
  toJSON(): ChannelSummary {
    return this.#channel.toJSON();
  }

  /** Node's and Bun's inspect: the {@link toJSON} summary. */
  [INSPECT_NODE](): string {
    return redactedRendering("EtcdClient", this.toJSON());
  }

  /**
   * Calls `listener` for each `name` event (each endpoint's connection events,
   * `endpointSwitch`, `leaderChange`, `watchRestart`, `leaseLost`) until the returned function
   * is called. Namespaced views share the events of the client they came from.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient({ endpoints: ["etcd-1:2379", "etcd-2:2379"] });
   * const stop = etcd.on("endpointSwitch", (e) => console.warn(e.from, "→", e.to, e.reason));
   * stop();
   * ```
   */
  on<Name extends keyof EtcdEvents & string>(
    name: Name,
    listener: (event: EtcdEvents[Name]) => void,
  ): () => void {
    return this.#channel.events.on(name, listener);
  }

  /**
   * One member per endpoint (state, calls and streams in flight, calls waiting for a
   * connection, reconnects, bytes) and their totals.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await etcd.put("k", "v");
   * const { state, bytesOut, members } = etcd.stats();
   * console.log(state, bytesOut, members.map((m) => `${m.address} ${m.state}`));
   * ```
   */
  stats(): ClientStats {
    return this.#channel.stats();
  }

  /** The channel (connections, failover, auth) shared with namespaced views. */
  get channel(): EtcdChannel {
    return this.#channel;
  }

  /**
   * A view whose keys live under `prefix` (added on the way in, removed on the way out). It
   * shares this client's connections; closing it does nothing.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * const app = etcd.namespace("app/");
   * await app.put("k", "v"); // stored as "app/k"
   * ```
   */
  namespace(prefix: Bytes): EtcdClient {
    const ns = new Keys(this.#options.namespace ?? "").key(prefix);
    const view = new EtcdClient({ ...this.#options, namespace: ns }, this.#channel);
    view.#reads = this.#reads; // reads of every view batch together
    return view;
  }

  /** Reads one key; undefined when it does not exist. */
  async get(key: Bytes, options: RangeOptions & CallOptions = {}): Promise<KeyValue | undefined> {
    return (await this.range({ key }, options)).kvs[0];
  }

  /** Reads one key's value as UTF-8 text; undefined when it does not exist. */
  async getString(
    key: Bytes,
    options: RangeOptions & CallOptions = {},
  ): Promise<string | undefined> {
    const kv = await this.get(key, options);
    return kv === undefined ? undefined : text(kv.value);
  }

  /** Reads the keys under a prefix (sorted by key). */
  async getPrefix(prefix: Bytes, options: RangeOptions & CallOptions = {}): Promise<KeyValue[]> {
    return (await this.range({ key: prefix, prefix: true }, options)).kvs;
  }

  /** Reads a key, a range, a prefix or everything from a key on. */
  async range(range: KeyRange, options: RangeOptions & CallOptions = {}): Promise<RangeResult> {
    return await this.#range(rangeRequest(this.#keys, range, options), options);
  }

  /**
   * Sends a RangeRequest, batched with the other reads of this turn or alone, and decodes the
   * answer (every key in it must lie in the range asked for).
   */
  #range(request: Record<string, unknown>, options: CallOptions): Promise<RangeResult> {
    const decode = (json: Record<string, unknown>): RangeResult =>
      rangeResult(this.#keys, json, request);
    if (this.#reads && options.signal === undefined && options.timeout === undefined) {
      return this.#reads.range(request, decode);
    }
    return this.#channel.call("/v3/kv/range", request, { ...options, idempotent: true }, decode);
  }

  /**
   * Iterates a range page by page (`pageSize` keys per request, all at one revision): the
   * next page is fetched when the consumer pulls.
   */
  async *iterate(
    range: KeyRange,
    options: RangeOptions & CallOptions & { pageSize?: number } = {},
  ): AsyncGenerator<KeyValue, void, undefined> {
    const pageSize = options.pageSize ?? 1000;
    const { key, range_end: end } = this.#keys.range(range);
    let from = key;
    let revision = options.revision;
    for (;;) {
      const request = {
        ...rangeRequest(this.#keys, { key: "" }, { ...options, limit: pageSize, revision }),
        key: from,
        ...(end === undefined ? {} : { range_end: end }),
      };
      const page = await this.#range(request, options);
      revision ??= page.revision;
      for (const kv of page.kvs) yield kv;
      if (!page.more || page.kvs.length === 0 || end === undefined) return;
      const last = this.#keys.key(page.kvs[page.kvs.length - 1].key);
      const next = new Uint8Array(last.length + 1);
      next.set(last);
      from = base64Encode(next);
    }
  }

  /** Writes a key. */
  async put(key: Bytes, value: Bytes, options: PutOptions & CallOptions = {}): Promise<PutResult> {
    return await this.#channel.call(
      "/v3/kv/put",
      putRequest(this.#keys, key, value, options),
      options,
      (json) => putResult(this.#keys, json),
    );
  }

  /** Deletes a key (or a range / prefix with `options`). */
  async delete(
    key: Bytes,
    options: Omit<KeyRange, "key"> & { prevKv?: boolean } & CallOptions = {},
  ): Promise<DeleteResult> {
    return await this.#channel.call(
      "/v3/kv/deleterange",
      deleteRequest(this.#keys, { ...options, key }, options.prevKv),
      options,
      (json) => deleteResult(this.#keys, json),
    );
  }

  /** Runs a transaction. */
  async txn(txn: TxnRequest, options: CallOptions = {}): Promise<TxnResult> {
    return await this.#channel.call(
      "/v3/kv/txn",
      txnRequest(this.#keys, txn),
      options,
      (json) => txnResult(this.#keys, json),
    );
  }

  /**
   * Sets `key` to `next` only if its value is `expected` (`undefined`: only if it does not
   * exist). Returns whether it did.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await etcd.compareAndSwap("k", undefined, "1"); // true: created
   * await etcd.compareAndSwap("k", "0", "2"); // false: the value is "1"
   * ```
   */
  async compareAndSwap(
    key: Bytes,
    expected: Bytes | undefined,
    next: Bytes,
    options: PutOptions & CallOptions = {},
  ): Promise<boolean> {
    const compare = expected === undefined
      ? { key, target: "createRevision" as const, op: "==" as const, value: 0n }
      : { key, target: "value" as const, op: "==" as const, value: expected };
    const result = await this.txn({
      compare: [compare],
      success: [{ put: { ...options, key, value: next } }],
    }, options);
    return result.succeeded;
  }

  /** Compacts the history up to `revision`; `physical` waits until it is removed from disk. */
  async compact(
    revision: bigint,
    options: { physical?: boolean } & CallOptions = {},
  ): Promise<void> {
    await this.#channel.call("/v3/kv/compaction", {
      revision: String(revision),
      physical: options.physical === true,
    }, { ...options, idempotent: true });
  }

  /** Grants a lease of `ttl` seconds and (by default) keeps it alive until revoked. */
  async grant(ttl: number, options: LeaseOptions & CallOptions = {}): Promise<Lease> {
    return await Lease.grant(this.#channel, ttl, options);
  }

  /** Revokes a lease by id: its keys are deleted. */
  async revoke(id: bigint, options: CallOptions = {}): Promise<void> {
    await this.#channel.call("/v3/lease/revoke", { ID: String(id) }, options);
  }

  /** A lease's remaining TTL (-1 when it is gone) and, with `keys`, its keys. */
  async timeToLive(id: bigint, options: { keys?: boolean } & CallOptions = {}): Promise<LeaseInfo> {
    return await this.#channel.call(
      "/v3/lease/timetolive",
      {
        ID: String(id),
        keys: options.keys === true,
      },
      { ...options, idempotent: true },
      (json) => ({
        id,
        ttl: num(json.TTL),
        grantedTtl: num(json.grantedTTL),
        keys: list<string>(json.keys).map((k) => this.#keys.strip(b64(k))),
      }),
    );
  }

  /** The ids of every lease. */
  async leases(options: CallOptions = {}): Promise<bigint[]> {
    return await this.#channel.call(
      "/v3/lease/leases",
      {},
      { ...options, idempotent: true },
      (json) => list<{ ID: string }>(json.leases).map((l) => int(l.ID)),
    );
  }

  /**
   * Watches a key, range or prefix. The watch resumes after reconnects and endpoint
   * failover from the last revision seen, without gaps or duplicates. Over gRPC every watch
   * of the client (each namespaced view has its own) is one watch of a single Watch stream;
   * over the gateway each is a streamed request of its own ({@link Watcher}).
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await using watcher = etcd.watch("jobs/", { prefix: true });
   * for await (const event of watcher) console.log(event.type, event.kv.key);
   * ```
   */
  watch(key: Bytes, options: Omit<KeyRange, "key"> & WatchOptions = {}): WatchStream {
    const channel = this.#channel;
    if (!(channel instanceof GrpcChannel)) {
      return new Watcher(channel, this.#keys, { ...options, key }, options);
    }
    this.#hub ??= openWatchHub(channel, this.#keys);
    return watchOn(this.#hub, channel, { ...options, key }, options);
  }

  /** Takes the named distributed lock (waiting for it); release it or use `await using`. */
  async lock(name: Bytes, options: LockOptions = {}): Promise<Lock> {
    return await Lock.acquire(this.#channel, this.#keys.key(name), options);
  }

  /** An election by name: campaign, proclaim, leader, resign. */
  election(name: Bytes): Election {
    return new Election(this.#channel, this.#keys.key(name));
  }

  /**
   * Runs `apply` as a software transaction: its reads are recorded and its writes applied in
   * one txn at the end, which fails (and `apply` runs again) when a read conflicts, per the
   * `isolation` level (default `SerializableSnapshot`, etcd's `concurrency` levels).
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await etcd.stm(async (tx) => {
   *   const from = Number(await tx.get("accounts/a") ?? "0");
   *   tx.put("accounts/a", String(from - 10));
   *   tx.put("accounts/b", String(Number(await tx.get("accounts/b") ?? "0") + 10));
   * }, { isolation: "RepeatableReads" });
   * ```
   */
  async stm<T>(
    apply: (stm: Stm) => Promise<T> | T,
    options: StmOptions = {},
  ): Promise<StmResult<T>> {
    return await runStm(this, apply, options);
  }

  /** The cluster's members; see {@link cluster}. */
  async members(options: CallOptions = {}): Promise<Member[]> {
    return await this.cluster.list(options);
  }

  /** The status of the member that answers (the current endpoint); see {@link maintenance}. */
  async status(options: CallOptions = {}): Promise<MemberStatus> {
    return await this.maintenance.status(options);
  }

  /** Active alarms (`NOSPACE`, `CORRUPT`); see {@link maintenance}. */
  async alarms(options: CallOptions = {}): Promise<Alarm[]> {
    return await this.maintenance.alarms(options);
  }

  /** Closes every connection (a namespaced view does nothing). Watches and leases end. */
  close(): Promise<void> {
    if (this.#owner) this.#channel.close();
    return Promise.resolve();
  }

  /** Closes at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The channel of a client that owns one: endpoints parsed, TLS decided. */
function openChannel(options: EtcdClientOptions): EtcdChannel {
  const protocol = options.protocol ?? "grpc";
  if (protocol !== "grpc" && protocol !== "gateway") {
    throw new TypeError(`protocol must be "grpc" or "gateway", got ${JSON.stringify(protocol)}`);
  }
  const { addresses, tls, connect } = clientEndpoints(
    { ...options, connect: options.connect ?? defaultConnect },
    etcdSrvNames,
  );
  const { events, instrumenter } = observability<EtcdEvents>(
    options,
    `etcd ${addresses.map((a) => `${a.host}:${a.port}`).join(",")}`,
  );
  const settings = {
    events,
    instrumenter,
    endpoints: addresses,
    connect,
    tls,
    auth: options.auth,
    requestTimeout: options.requestTimeout,
    connectTimeout: options.connectTimeout,
    maxConnections: options.maxConnections,
    silenceTimeout: options.silenceTimeout,
    keepAliveInterval: options.keepAliveInterval,
    maxResponseBytes: options.maxResponseBytes,
    maxWatchMessageBytes: options.maxWatchMessageBytes,
    maxHeaderBytes: options.maxHeaderBytes,
  };
  return protocol === "grpc" ? new GrpcChannel(settings) : new Channel(settings);
}
