// EtcdV2Client: the etcd v2 keys API (https://etcd.io/docs/v2.3/api/) as the seed aio_etcd
// offers it: write/read/delete, compare-and-swap, watch with waitIndex, TTL refresh, append
// (V2Lock: v2_lock.ts).

import { defaultConnect } from "../core/default_connect.ts";
import { observability } from "../core/observability.ts";
import type { ClientStats } from "../core/observe.ts";
import type { ConnectOptions } from "../core/transport.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import { type Address, type CallOptions, Channel, type ChannelSummary } from "./channel.ts";
import { clientEndpoints } from "./srv_endpoints.ts";
import { EtcdV2Error, EtcdV2RedirectError } from "./errors.ts";
import type { EtcdEvents } from "./events.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";
import { list } from "./kv.ts";
import { toResult, v2Json, v2List } from "./v2_answer.ts";
import { V2Redirects } from "./v2_redirect.ts";
import type {
  EtcdV2ClientOptions,
  V2Member,
  V2Node,
  V2ReadOptions,
  V2Result,
  V2WriteOptions,
} from "./v2_types.ts";

export { V2Lock } from "./v2_lock.ts";

/**
 * A client of etcd's v2 keys API (etcd ≤ 3.5 started with `--enable-v2`). Methods mirror
 * the python aio_etcd client; errors are typed (`EtcdKeyNotFoundError`, ...).
 *
 * @example
 * ```ts
 * import { EtcdV2Client } from "@kvwire/kvwire/etcd";
 * await using client = new EtcdV2Client({ endpoints: ["127.0.0.1:2379"] });
 * await client.write("/nodes/n1", "1", { ttl: 60 });
 * console.log((await client.read("/nodes/n1")).value); // "1"
 * ```
 */
export class EtcdV2Client {
  readonly #channel: Channel;
  readonly #redirects: V2Redirects;
  readonly #requestTimeout: number;
  readonly #prefix: string;
  /** Directory of {@link V2Lock} keys. */
  readonly lockPrefix: string;

  /** Creates the client; connections open on first use. */
  constructor(options: EtcdV2ClientOptions = {}) {
    const direct = options.connect ?? defaultConnect;
    const { addresses, tls, connect } = clientEndpoints(
      { ...options, tls: protocolTls(options), connect: direct },
      (domain, tls) => [{ name: `_etcd._tcp.${domain}`, tls: tls || undefined }],
    );
    const { events, instrumenter } = observability<EtcdEvents>(
      options,
      `etcd v2 ${addresses.map((a) => `${a.host}:${a.port}`).join(",")}`,
    );
    // A redirect's member is reached directly, not through the SRV connector.
    const channelOf = (endpoints: Address[], via = direct): Channel =>
      new Channel({
        events,
        instrumenter,
        endpoints,
        connect: via,
        tls,
        requestTimeout: options.requestTimeout,
        maxResponseBytes: options.maxResponseBytes,
        maxWatchMessageBytes: options.maxWatchMessageBytes,
        maxHeaderBytes: options.maxHeaderBytes,
      });
    this.#channel = channelOf(addresses, connect);
    this.#requestTimeout = options.requestTimeout ?? 30_000;
    this.#prefix = options.versionPrefix ?? "/v2";
    const machines: HttpRequest = { method: "GET", path: `${this.#prefix}/machines` };
    this.#redirects = new V2Redirects(
      {
        allow: options.allowRedirect ?? true,
        max: options.maxRedirects ?? 3,
        tls: tls !== undefined,
        endpoints: addresses,
      },
      () =>
        this.#channel.raw(machines, { idempotent: true }, (r) => v2List(machines, r), "machines"),
      (address) => channelOf([address]),
    );
    this.lockPrefix = options.lockPrefix ?? "/_locks/";
  }

  /**
   * The safe description `JSON.stringify`, `console.log` and the inspect hooks show: endpoints
   * and TLS, never a TLS key.
   *
   * @example
   * ```ts
   * import { EtcdV2Client } from "@kvwire/kvwire/etcd";
   * JSON.stringify(new EtcdV2Client()); // {"endpoints":["127.0.0.1:2379"],"tls":false,...}
   * ```
   */
  toJSON(): ChannelSummary {
    return this.#channel.toJSON();
  }

  /** Node's and Bun's inspect: the {@link toJSON} summary. */
  [INSPECT_NODE](): string {
    return redactedRendering("EtcdV2Client", this.toJSON());
  }

  /**
   * Calls `listener` for each `name` event (each endpoint's connection events and
   * `endpointSwitch`) until the returned function is called.
   *
   * @example
   * ```ts
   * import { EtcdV2Client } from "@kvwire/kvwire/etcd";
   * await using client = new EtcdV2Client({ endpoints: ["etcd-1:2379", "etcd-2:2379"] });
   * const stop = client.on("endpointSwitch", (e) => console.warn(e.from, "→", e.to));
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
   * One member per endpoint (state, requests in flight and waiting, reconnects, bytes) and
   * their totals.
   *
   * @example
   * ```ts
   * import { EtcdV2Client } from "@kvwire/kvwire/etcd";
   * await using client = new EtcdV2Client();
   * console.log(client.stats().members.map((m) => m.state)); // ["idle"]
   * ```
   */
  stats(): ClientStats {
    return this.#channel.stats();
  }

  /** Sets a key (or creates a directory, or appends an in-order key). */
  async write(
    key: string,
    value: string | number,
    options: V2WriteOptions = {},
  ): Promise<V2Result> {
    const form = new URLSearchParams();
    if (!options.dir && !options.refresh) form.set("value", String(value));
    if (options.ttl !== undefined) form.set("ttl", String(options.ttl));
    if (options.dir) form.set("dir", "true");
    if (options.prevValue !== undefined) form.set("prevValue", String(options.prevValue));
    if (options.prevIndex !== undefined) form.set("prevIndex", String(options.prevIndex));
    if (options.prevExist !== undefined) form.set("prevExist", String(options.prevExist));
    if (options.refresh) form.set("refresh", "true");
    return await this.#call({
      method: options.append ? "POST" : "PUT",
      path: this.#path(key),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    }, {});
  }

  /** Same as {@link write}. */
  set(key: string, value: string | number, options: V2WriteOptions = {}): Promise<V2Result> {
    return this.write(key, value, options);
  }

  /** Reads a key or directory; with `wait`, waits for the next change. */
  async read(key: string, options: V2ReadOptions = {}): Promise<V2Result> {
    const query = new URLSearchParams();
    if (options.recursive) query.set("recursive", "true");
    if (options.sorted) query.set("sorted", "true");
    if (options.quorum) query.set("quorum", "true");
    if (options.wait) query.set("wait", "true");
    if (options.waitIndex !== undefined) query.set("waitIndex", String(options.waitIndex));
    const q = query.toString();
    return await this.#call(
      { method: "GET", path: this.#path(key) + (q ? `?${q}` : "") },
      {
        signal: options.signal,
        timeout: options.timeout ?? (options.wait ? 2 ** 31 - 1 : undefined),
      },
      options.wait === true,
    );
  }

  /** Same as {@link read}. */
  get(key: string, options: V2ReadOptions = {}): Promise<V2Result> {
    return this.read(key, options);
  }

  /** Deletes a key, or a directory with `dir` (empty) or `recursive`. */
  async delete(
    key: string,
    options: {
      recursive?: boolean;
      dir?: boolean;
      prevValue?: string | number;
      prevIndex?: number;
    } = {},
  ): Promise<V2Result> {
    const query = new URLSearchParams();
    if (options.recursive) query.set("recursive", "true");
    if (options.dir) query.set("dir", "true");
    if (options.prevValue !== undefined) query.set("prevValue", String(options.prevValue));
    if (options.prevIndex !== undefined) query.set("prevIndex", String(options.prevIndex));
    const q = query.toString();
    return await this.#call({ method: "DELETE", path: this.#path(key) + (q ? `?${q}` : "") }, {});
  }

  /** Sets `key` to `value` only if its value is `prevValue`. */
  testAndSet(
    key: string,
    value: string | number,
    prevValue: string | number,
    ttl?: number,
  ): Promise<V2Result> {
    return this.write(key, value, { prevValue, ttl });
  }

  /**
   * Writes back a result read earlier with its `ttl`: a value fails if the key changed since
   * (prevIndex); a directory (etcd refuses prevIndex on one) only if it still exists.
   */
  update(result: V2Node): Promise<V2Result> {
    const { key, value, ttl } = result;
    return result.dir
      ? this.write(key, "", { dir: true, prevExist: true, ttl })
      : this.write(key, value ?? "", { prevIndex: result.modifiedIndex, ttl });
  }

  /** Refreshes a key's TTL without notifying watchers. */
  refresh(key: string, ttl: number): Promise<V2Result> {
    return this.write(key, "", { ttl, refresh: true, prevExist: true });
  }

  /** Waits for the next change of `key` (at or after `index` when given). */
  watch(
    key: string,
    options: { index?: number; recursive?: boolean; signal?: AbortSignal } = {},
  ): Promise<V2Result> {
    return this.read(key, { ...options, wait: true, waitIndex: options.index });
  }

  /** Every change of `key` from `index` on, as an async iterable (no event is skipped). */
  async *watchIter(
    key: string,
    options: { index?: number; recursive?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<V2Result, void, undefined> {
    let index = options.index;
    for (;;) {
      const result = await this.watch(key, { ...options, index });
      index = result.modifiedIndex + 1;
      yield result;
    }
  }

  /** The client URLs of the cluster's members. */
  async machines(): Promise<string[]> {
    const request: HttpRequest = { method: "GET", path: `${this.#prefix}/machines` };
    return await this.#send(request, {}, v2List, "machines");
  }

  /** The cluster's members (`/v2/members`). */
  async members(): Promise<V2Member[]> {
    const { members } = await this.#json(`${this.#prefix}/members`, "members");
    return list<Record<string, unknown>>(members).map((m) => ({
      id: String(m.id ?? ""),
      name: String(m.name ?? ""),
      peerURLs: list<unknown>(m.peerURLs).map(String),
      clientURLs: list<unknown>(m.clientURLs).map(String),
    }));
  }

  /** The leader member: `{ id, name, peerURLs, clientURLs }`. */
  async leader(): Promise<V2Member> {
    const self = await this.serverStats("self");
    const leaderId = (self.leaderInfo as { leader?: string } | undefined)?.leader;
    const found = (await this.members()).find((m) => m.id === leaderId);
    if (!found) throw new EtcdV2Error("The cluster has no leader", 301);
    return found;
  }

  /**
   * The statistics of `/v2/stats/<kind>`: `self` (this member), `leader` (its followers, on
   * the leader) or `store` (operation counts), as etcd sends them.
   */
  async serverStats(kind: "self" | "leader" | "store"): Promise<Record<string, unknown>> {
    if (kind !== "self" && kind !== "leader" && kind !== "store") {
      throw new RangeError(`kind must be "self", "leader" or "store", got ${String(kind)}`);
    }
    return await this.#json(`${this.#prefix}/stats/${kind}`, `stats_${kind}`);
  }

  /** The server's and the cluster's versions (`/version`; served with the v2 API off too). */
  async version(): Promise<{ etcdserver: string; etcdcluster: string }> {
    const json = await this.#json("/version", "version");
    return {
      etcdserver: String(json.etcdserver ?? ""),
      etcdcluster: String(json.etcdcluster ?? ""),
    };
  }

  /** Deletes `key` and returns the node it held (aio_etcd's `pop`). */
  async pop(key: string): Promise<V2Node> {
    const result = await this.delete(key);
    return result.prevNode ?? { ...result, nodes: [] };
  }

  /** Closes every connection. */
  close(): Promise<void> {
    this.#channel.close();
    this.#redirects.close();
    return Promise.resolve();
  }

  /** Closes at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #json(path: string, operation: string): Promise<Record<string, unknown>> {
    const request: HttpRequest = { method: "GET", path };
    return await this.#send(request, {}, v2Json, operation);
  }

  #path(key: string): string {
    const k = key.startsWith("/") ? key : `/${key}`;
    return `${this.#prefix}/keys${k.split("/").map(encodeURIComponent).join("/")}`;
  }

  /** One keys API request; its operation is named by what it does (`get`, `set`, `watch`…). */
  async #call(request: HttpRequest, options: CallOptions, dedicated = false): Promise<V2Result> {
    const operation = dedicated ? "watch" : V2_OPERATIONS[request.method];
    return await this.#send(request, options, toResult, operation, dedicated);
  }

  /**
   * Sends `request` (a GET is idempotent), following redirects by {@link V2Redirects}: a
   * redirect answer was not carried out, so the same request goes to the member named, within
   * the call's one deadline.
   */
  async #send<T>(
    request: HttpRequest,
    options: CallOptions,
    decode: (request: HttpRequest, response: HttpResponse) => T,
    operation: string,
    dedicated = false,
  ): Promise<T> {
    const deadline = Date.now() + (options.timeout ?? this.#requestTimeout);
    let channel = this.#channel;
    for (let hop = 0;; hop++) {
      const sent = request;
      const call = {
        ...options,
        idempotent: sent.method === "GET",
        timeout: Math.max(1, deadline - Date.now()),
      };
      const read = (response: HttpResponse): T => decode(sent, response);
      try {
        return dedicated
          ? await channel.rawDedicated(sent, call, read, operation)
          : await channel.raw(sent, call, read, operation);
      } catch (error) {
        if (!(error instanceof EtcdV2RedirectError)) throw error;
        ({ channel, request } = await this.#redirects.follow(error, sent, hop, channel));
      }
    }
  }
}

/** The operation names of the keys API's methods (a wait is a `watch`). */
const V2_OPERATIONS: Record<HttpRequest["method"], string> = {
  GET: "get",
  PUT: "set",
  POST: "create",
  DELETE: "delete",
};

/** The `tls` option as `protocol` sets it. */
function protocolTls(options: EtcdV2ClientOptions): ConnectOptions["tls"] {
  const { protocol, tls } = options;
  if (protocol === undefined) return tls;
  if (protocol === "https") return tls || true;
  if (protocol === "http") {
    if (tls) throw new TypeError('etcd v2 protocol "http" contradicts the tls option');
    return false;
  }
  throw new TypeError(`etcd v2 protocol ${JSON.stringify(protocol)}: expected "http" or "https"`);
}
