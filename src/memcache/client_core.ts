// The internals MemcacheClient is built on: the shared pool and value codec, key preparation,
// routing with failover, the request helpers every method uses, and what an operator sees
// (events, stats, the operation of each method).

import type { ReplyHandler, RequestOptions } from "../core/driver.ts";
import { utf8Decode } from "../core/bytes.ts";
import type { EventHub } from "../core/events.ts";
import type { Instrumenter, Operation } from "../core/instrument.ts";
import { observability } from "../core/observability.ts";
import { summarizeStats } from "../core/observe.ts";
import { toU64 } from "./args.ts";
import {
  checkClientOptions,
  type MemcacheClientOptions,
  type MemcacheProtocol,
  parseServers,
  type ServerSpec,
} from "./client_options.ts";
import { CasCache } from "./cas_cache.ts";
import { SaslCredentials } from "./credentials.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { CounterOptions, KeyInput, StoreOptions } from "./client_types.ts";
import { MemcacheError } from "./errors.ts";
import { encodeKey, type MemcacheKey } from "./keys.ts";
import {
  beginMemcacheOperation,
  type MemcacheClientStats,
  type MemcacheEvents,
  redirectOperation,
  trackMemcacheOperation,
} from "./observe.ts";
import { ServerPool, type ServerPoolOptions, wasNotSent } from "./pool.ts";
import type { ServerNode } from "./server_node.ts";
import type {
  MemcacheItem,
  MemcacheReply,
  MemcacheRequest,
  MemcacheStatus,
  StoreMode,
} from "./types.ts";
import { resolveSerializer } from "./python_values.ts";
import { type EncodedValue, ValueCodec } from "./values.ts";

/** State a client and its views share. */
export interface ClientState {
  /** The servers and their ring. */
  pool: ServerPool;
  /**
   * Makes a pool with the client's options (see `setServers`). A closure, so that the
   * credentials and TLS key it holds are no property anyone can print.
   */
  newPool: (specs: readonly ServerSpec[]) => ServerPool;
  /** The protocol the servers speak. */
  protocol: MemcacheProtocol;
  /** Turns values into bytes and flags and back. */
  codec: ValueCodec;
  /** Longest key, in bytes. */
  maxKeyLength: number;
  /** False when string keys go unchecked for whitespace and control characters. */
  checkKeys: boolean;
  /** The CAS tokens remembered from `gets` (`cacheCas`), or undefined when off. */
  casCache: CasCache | undefined;
  /** The hub behind `on()`: every server's events. */
  events: EventHub<MemcacheEvents>;
  /** The hooks that see each operation. */
  instrumenter: Instrumenter;
  /** True once the client was closed or destroyed. */
  closed: boolean;
}

/** A validated key: its bytes, and the bytes it is routed by. */
export interface RoutedKey {
  /** The key as sent, prefix included. */
  bytes: Uint8Array;
  /** The bytes the key is routed by. */
  hash: Uint8Array;
}

const NAMES: Record<StoreMode, string> = {
  set: "SET",
  add: "ADD",
  replace: "REPLACE",
  append: "APPEND",
  prepend: "PREPEND",
  cas: "CAS",
};

/**
 * The base of {@link MemcacheClient}: routing, failover and request plumbing.
 *
 * Theory of operation: a key is validated (and prefixed) into bytes, routed by its hash key
 * to a server, and sent as one request; the reply is shaped by the caller. With failover, a
 * request that failed without reaching its server (refused, unreachable, marked dead) is
 * sent to the server the ring picks among the live ones; one that may have run is not.
 *
 * @example
 * ```ts
 * import { MemcacheClient, MemcacheCore } from "@kvwire/kvwire/memcache";
 * const mc = new MemcacheClient();
 * console.log(mc instanceof MemcacheCore); // true
 * ```
 */
export abstract class MemcacheCore {
  /** State shared with the client's views. */
  protected readonly shared: ClientState;
  /** Per-call options, such as the timeout. */
  protected readonly call: RequestOptions;

  /** Creates the state, or shares a view's. */
  constructor(
    options: MemcacheClientOptions = {},
    view?: { shared: ClientState; call: RequestOptions },
  ) {
    if (view) {
      this.shared = view.shared;
      this.call = view.call;
      return;
    }
    const protocol = checkClientOptions(options);
    const { username, password, instrumentation, logger, ...rest } = options;
    const sasl = username === undefined ? undefined : new SaslCredentials(username, password!);
    const specs = parseServers(options.servers);
    const { events, instrumenter } = observability<MemcacheEvents>(
      { instrumentation, logger },
      `memcache ${specs.map((s) => s.label).join(",")}`,
    );
    const poolOptions: ServerPoolOptions = { ...rest, protocol, sasl, events };
    const newPool = (specs: readonly ServerSpec[]): ServerPool =>
      new ServerPool(specs, poolOptions);
    this.shared = {
      pool: newPool(specs),
      events,
      instrumenter,
      closed: false,
      newPool,
      protocol,
      codec: new ValueCodec(
        resolveSerializer(options.serializer, options.pickleProtocol),
        options.minCompressLen ?? 0,
        options.maxValueSize ?? 1024 * 1024,
        options.compressor,
      ),
      maxKeyLength: options.maxKeyLength ?? 250,
      checkKeys: options.checkKeys ?? true,
      casCache: options.cacheCas
        ? new CasCache(options.cacheCas === true ? undefined : options.cacheCas)
        : undefined,
    };
    this.call = { timeout: options.commandTimeout ?? 3000 };
  }

  /** What JSON.stringify shows: the protocol and servers, never credentials or TLS keys. */
  toJSON(): { protocol: MemcacheProtocol; servers: string[] } {
    return {
      protocol: this.shared.protocol,
      servers: this.shared.pool.nodes.map((n) => n.spec.label),
    };
  }

  /** What the inspect hook of Node and Bun shows (see {@link toJSON}). */
  [INSPECT_NODE](): string {
    return redactedRendering(this.constructor.name, this.toJSON());
  }

  /**
   * Calls `listener` for each `name` event of the client (every server's connection events,
   * `serverDown`, `serverUp`) until the returned function is called. Views share the events.
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * const mc = new MemcacheClient({ servers: ["10.0.0.1:11211", "10.0.0.2:11211"] });
   * const stop = mc.on("serverDown", (e) => console.warn(e.address, e.error.message, e.retryIn));
   * stop();
   * ```
   */
  on<Name extends keyof MemcacheEvents & string>(
    name: Name,
    listener: (event: MemcacheEvents[Name]) => void,
  ): () => void {
    return this.shared.events.on(name, listener);
  }

  /**
   * The client's state: one member per server (its connection's counters and `dead` flag) and
   * their totals. Server-side statistics are {@link serverStats}.
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * await using mc = await MemcacheClient.connect(["127.0.0.1:11211"]);
   * const { state, bytesOut, members } = mc.stats();
   * console.log(state, bytesOut, members.map((m) => `${m.address} dead=${m.dead}`));
   * ```
   */
  stats(): MemcacheClientStats {
    const members = this.shared.pool.nodes.map((n) => n.stats());
    return summarizeStats(members, this.shared.closed) as MemcacheClientStats;
  }

  /** Validates and prefixes a key into its bytes and routing bytes. */
  protected prepare(key: KeyInput, prefix = ""): RoutedKey {
    const { maxKeyLength: max, checkKeys: check } = this.shared;
    if (Array.isArray(key)) {
      const [hashKey, realKey] = key as readonly [MemcacheKey, MemcacheKey];
      return {
        bytes: encodeKey(realKey, prefix, max, check),
        hash: encodeKey(hashKey, "", Infinity, check),
      };
    }
    const bytes = encodeKey(key as MemcacheKey, prefix, max, check);
    return { bytes, hash: bytes };
  }

  /** Routes by key; with failover, a request that never left goes to the next live server. */
  protected dispatch(
    k: RoutedKey,
    request: MemcacheRequest,
    name: string,
    handler: ReplyHandler<MemcacheReply>,
    op?: Operation,
  ): void {
    const pool = this.shared.pool;
    const node = pool.route(k.hash);
    if (!pool.failover) {
      node.send(request, this.call, name, handler);
      return;
    }
    node.send(request, this.call, name, {
      reply: (value) => handler.reply(value),
      fail: (error) => {
        if (wasNotSent(error)) {
          if (!node.isDead) node.markDead(error);
          const next = pool.route(k.hash);
          if (next !== node) {
            if (op) redirectOperation(op, next.spec);
            next.send(request, this.call, name, handler);
            return;
          }
        }
        handler.fail(error);
      },
    });
  }

  /**
   * Starts the operation of a client method when a hook listens (else builds nothing and
   * returns undefined). `keys`: the keys it goes by, which name its server when they share one.
   */
  protected begin(
    operation: string,
    keys?: RoutedKey | readonly RoutedKey[],
    batchSize?: number,
  ): Operation | undefined {
    if (!this.shared.instrumenter.enabled) return undefined;
    const pool = this.shared.pool;
    let servers: ServerSpec[] | undefined;
    if (keys !== undefined) {
      const nodes = new Set((Array.isArray(keys) ? keys : [keys]).map((k) => pool.route(k.hash)));
      servers = [...nodes].map((n) => n.spec);
    }
    return beginMemcacheOperation(this.shared.instrumenter, operation, servers, batchSize);
  }

  /** Ends `op` (from {@link begin}) when `work` settles; `work` as is without one. */
  protected track<T>(op: Operation | undefined, work: Promise<T>): Promise<T> {
    return trackMemcacheOperation(this.shared.instrumenter, op, work);
  }

  /** Sends a request by key and resolves with its reply. */
  protected send(
    k: RoutedKey,
    request: MemcacheRequest,
    name: string,
    op?: Operation,
  ): Promise<MemcacheReply> {
    return new Promise((resolve, reject) =>
      this.dispatch(k, request, name, { reply: resolve, fail: reject }, op)
    );
  }

  /** Sends a request to one server. */
  protected request(
    node: ServerNode,
    request: MemcacheRequest,
    name: string,
  ): Promise<MemcacheReply> {
    return node.request(request, this.call, name);
  }

  /** Sends a request by key and resolves with its items. */
  protected async items(
    k: RoutedKey,
    request: MemcacheRequest,
    name: string,
    op?: Operation,
  ): Promise<(MemcacheItem | null)[]> {
    return ((await this.send(k, request, name, op)) as { items: (MemcacheItem | null)[] }).items;
  }

  /** Sends a request by key and resolves with its status, throwing a server error. */
  protected async status(
    k: RoutedKey,
    request: MemcacheRequest,
    name: string,
    op?: Operation,
  ): Promise<MemcacheStatus> {
    const reply = await this.send(k, request, name, op);
    const status = (reply as { statuses: (MemcacheStatus | MemcacheError)[] }).statuses[0];
    if (status instanceof MemcacheError) throw status;
    return status;
  }

  /** Lets a request sent to one server run unawaited (noreply): its outcome is ignored. */
  protected detach(sent: Promise<unknown>): Promise<void> {
    sent.catch(() => {});
    return Promise.resolve();
  }

  /**
   * The `host:port` (or socket path) of the server a key goes to now, dead servers and
   * failover considered (python-memcached's `_get_server`).
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * const mc = new MemcacheClient({ servers: ["10.0.0.1", "10.0.0.2"], distribution: "python" });
   * mc.serverFor("user:42"); // "10.0.0.1:11211" or "10.0.0.2:11211"
   * ```
   */
  serverFor(key: KeyInput): string {
    return this.shared.pool.route(this.prepare(key).hash).spec.label;
  }

  /** Sends a no-op to every server and waits for the answers (meta `mn`, binary NOOP). */
  async noop(): Promise<void> {
    await this.shared.pool.eachServer({ op: "noop" }, this.call, "NOOP");
  }

  /** Sends a request without waiting for its answer and resolves with the given result. */
  protected fireAndForget<T>(
    k: RoutedKey,
    request: MemcacheRequest,
    name: string,
    result: T,
    op?: Operation,
  ): Promise<T> {
    this.dispatch(k, request, name, { reply: () => {}, fail: () => {} }, op);
    return this.track(op, Promise.resolve(result));
  }

  /** Stores a value in the given mode and resolves true when it was stored. */
  protected async store(
    mode: StoreMode,
    key: KeyInput,
    value: unknown,
    options: StoreOptions,
    cas?: bigint,
  ): Promise<boolean> {
    const k = this.prepare(key);
    const encoded = await this.encode(k, value, options);
    const request: MemcacheRequest = {
      op: "store",
      mode,
      items: [{ key: k.bytes, value: encoded.value, flags: encoded.flags, ttl: options.ttl, cas }],
    };
    const op = this.begin(mode, k);
    if (options.noreply) return this.fireAndForget(k, request, NAMES[mode], true, op);
    return await this.track(op, this.status(k, request, NAMES[mode], op)) === "stored";
  }

  /** Encodes a value for a key into its wire form. */
  protected encode(k: RoutedKey, value: unknown, options: StoreOptions): Promise<EncodedValue> {
    return this.shared.codec.encode(utf8Decode(k.bytes), value, options);
  }

  /** Increments or decrements a counter and resolves with its new value, or null on a miss. */
  protected async counter(
    op: "incr" | "decr",
    key: KeyInput,
    delta: number | bigint,
    options: CounterOptions,
  ): Promise<bigint | null> {
    const k = this.prepare(key);
    const request: MemcacheRequest = {
      op,
      key: k.bytes,
      delta: toU64(delta, "delta"),
      initial: options.initial === undefined ? undefined : toU64(options.initial, "initial value"),
      ttl: options.ttl,
    };
    const operation = this.begin(op, k);
    if (options.noreply) return this.fireAndForget(k, request, op.toUpperCase(), null, operation);
    const reply = await this.track(operation, this.send(k, request, op.toUpperCase(), operation));
    return (reply as { value: bigint | null }).value;
  }
}
