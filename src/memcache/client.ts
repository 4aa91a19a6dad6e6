// MemcacheClient: python-memcached's Client in TypeScript idiom, over the meta (default), text
// or binary protocol, over a pool placing keys as libmemcached or python-memcached do.

import type { RequestOptions } from "../core/driver.ts";
import type { Operation } from "../core/instrument.ts";
import type { ClientState, RoutedKey } from "./client_core.ts";
import type { MemcacheClientOptions, MemcacheProtocol, ServerInput } from "./client_options.ts";
import { MemcacheServers } from "./client_servers.ts";
import type {
  CallOptions,
  CasItem,
  CounterOptions,
  DeleteOptions,
  GetOptions,
  GetOrSetOptions,
  KeyInput,
  MetaGetOptions,
  MetaGetResult,
  MultiOptions,
  NoreplyOptions,
  StoreOptions,
} from "./client_types.ts";
import { checkDeleteTime } from "./args.ts";
import { takeCas } from "./cas_cache.ts";
import { MemcacheError } from "./errors.ts";
import { getOrSet } from "./get_or_set.ts";
import { isUnavailable } from "./pool.ts";
import type { MemcacheItem, MemcacheRequest, MetaResponse } from "./types.ts";
import type { EncodedValue } from "./values.ts";

/**
 * A memcache client over one server or a pool. Calls made in the same tick share one write
 * per server; multi-key calls are split per server and run in parallel.
 *
 * @example
 * ```ts
 * import { MemcacheClient } from "@kvwire/kvwire/memcache";
 * await using mc = await MemcacheClient.connect(["127.0.0.1:11211"]);
 * await mc.set("greeting", "hello", { ttl: 60 });
 * await mc.get<string>("greeting"); // "hello"
 * await mc.setMulti({ k1: 1, k2: 2 }, { keyPrefix: "pfx_" }); // [] (no failures)
 * await mc.getMulti(["k1", "k2", "nonexist"], { keyPrefix: "pfx_" }); // Map { "k1" => 1, "k2" => 2 }
 * ```
 */
export class MemcacheClient extends MemcacheServers {
  /** Creates a client and connects every server; rejects only if none can be reached. */
  static async connect(
    options: MemcacheClientOptions | string | readonly ServerInput[] = {},
    more: MemcacheClientOptions = {},
  ): Promise<MemcacheClient> {
    const merged: MemcacheClientOptions = typeof options === "string" || Array.isArray(options)
      ? { ...more, servers: options as string | readonly ServerInput[] }
      : { ...more, ...(options as MemcacheClientOptions) };
    const client = new MemcacheClient(merged);
    const results = await Promise.allSettled(client.shared.pool.nodes.map((n) => n.open()));
    if (results.every((r) => r.status === "rejected")) {
      client.destroy();
      throw (results[0] as PromiseRejectedResult).reason;
    }
    return client;
  }

  /** Creates a client that connects on first use. Prefer `MemcacheClient.connect`. */
  constructor(
    options: MemcacheClientOptions = {},
    view?: { shared: ClientState; call: RequestOptions },
  ) {
    super(options, view);
  }

  /** The wire protocol in use. */
  get protocol(): MemcacheProtocol {
    return this.shared.protocol;
  }

  /** A view sharing the connections whose calls use other per-call options. */
  with(options: CallOptions): MemcacheClient {
    return new MemcacheClient({}, { shared: this.shared, call: { ...this.call, ...options } });
  }

  // ---- retrieval ----

  /** The value of a key, or null when missing; `touch` sets its TTL too (get-and-touch). */
  get<T = unknown>(key: KeyInput, options: GetOptions = {}): Promise<T | null> {
    let op: Operation | undefined;
    const value = new Promise<T | null>((resolve, reject) => {
      const k = this.prepare(key);
      op = this.begin("get", k);
      const request: MemcacheRequest = { op: "get", keys: [k.bytes], touch: options.touch };
      this.dispatch(k, request, options.touch === undefined ? "GET" : "GAT", {
        reply: (reply) => {
          const item = (reply as { items: (MemcacheItem | null)[] }).items[0];
          if (item === null) resolve(null);
          else this.shared.codec.settle(item, resolve as (v: unknown) => void, reject);
        },
        fail: reject,
      }, op);
    });
    return op === undefined ? value : this.track(op, value);
  }

  /**
   * The value and its CAS token (for {@link cas}), or null when missing. With `cacheCas`
   * the token is also remembered for a `cas` without one.
   */
  async gets<T = unknown>(key: KeyInput): Promise<CasItem<T> | null> {
    const k = this.prepare(key);
    const op = this.begin("gets", k);
    return await this.track(op, this.#gets<T>(k, op));
  }

  async #gets<T>(k: RoutedKey, op: Operation | undefined): Promise<CasItem<T> | null> {
    const item = (await this.items(k, { op: "get", keys: [k.bytes], cas: true }, "GETS", op))[0];
    if (!item) return null;
    const cas = item.cas ?? 0n;
    this.shared.casCache?.remember(k.bytes, cas);
    return { value: await this.shared.codec.decode(item) as T, cas };
  }

  /** The stored bytes, client flags and CAS token, undecoded; null when missing. */
  async getRaw(key: KeyInput): Promise<MemcacheItem | null> {
    const k = this.prepare(key);
    const op = this.begin("get_raw", k);
    const request: MemcacheRequest = { op: "get", keys: [k.bytes], cas: true };
    return (await this.track(op, this.items(k, request, "GETS", op)))[0];
  }

  /**
   * The values of many keys, fetched per server in parallel with one pipelined batch each.
   * Missing keys, and keys whose server is down, are absent (python-memcached's
   * `get_multi`); the map's keys are the keys as given, without the prefix.
   */
  async getMulti<K extends KeyInput, T = unknown>(
    keys: Iterable<K>,
    options: MultiOptions = {},
  ): Promise<Map<K, T>> {
    const list = [...keys];
    const prepared = list.map((key) => this.prepare(key, options.keyPrefix));
    const op = this.begin("get_multi", prepared, list.length);
    return await this.track(op, this.#getMulti<K, T>(list, prepared, options.touch));
  }

  async #getMulti<K extends KeyInput, T>(
    list: K[],
    prepared: RoutedKey[],
    touch: number | undefined,
  ): Promise<Map<K, T>> {
    const found: (MemcacheItem | null)[] = new Array(list.length).fill(null);
    await this.shared.pool.perServer(
      prepared,
      (p) => p.hash,
      (node, indexes) =>
        this.request(node, {
          op: "get",
          keys: indexes.map((i) => prepared[i].bytes),
          touch,
        }, touch === undefined ? "GET" : "GAT")
          .then((reply) => {
            const items = (reply as { items: (MemcacheItem | null)[] }).items;
            for (let j = 0; j < items.length; j++) found[indexes[j]] = items[j];
          }, (error) => {
            if (!isUnavailable(error)) throw error;
          }),
    );
    const out = new Map<K, T>();
    const codec = this.shared.codec;
    for (let i = 0; i < found.length; i++) {
      const item = found[i];
      if (item === null) continue;
      const value = codec.decode(item); // a Promise only for compressed values
      out.set(list[i], (value instanceof Promise ? await value : value) as T);
    }
    return out;
  }

  // ---- storage ----

  /** Stores a value. Resolves true when stored. */
  set(key: KeyInput, value: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.store("set", key, value, options);
  }

  /** Stores only if the key is missing. */
  add(key: KeyInput, value: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.store("add", key, value, options);
  }

  /** Stores only if the key exists. */
  replace(key: KeyInput, value: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.store("replace", key, value, options);
  }

  /** Appends bytes to an existing value (its flags are kept). */
  append(key: KeyInput, value: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.store("append", key, value, options);
  }

  /** Prepends bytes to an existing value (its flags are kept). */
  prepend(key: KeyInput, value: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.store("prepend", key, value, options);
  }

  /**
   * Stores only if the item is unchanged since {@link gets} returned `cas`. With `cacheCas`,
   * `cas(key, value, options?)` uses (and forgets) the token the last `gets` of the key
   * remembered; with none remembered it throws `TypeError` (python-memcached would do a plain
   * set instead).
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * await using mc = await MemcacheClient.connect({ cacheCas: true });
   * await mc.set("n", 1);
   * await mc.gets("n"); // { value: 1, cas: 41n }, token remembered
   * await mc.cas("n", 2); // true: nobody changed it since
   * mc.resetCas();
   * ```
   */
  cas(key: KeyInput, value: unknown, cas: bigint, options?: StoreOptions): Promise<boolean>;
  cas(key: KeyInput, value: unknown, options?: StoreOptions): Promise<boolean>;
  async cas(
    key: KeyInput,
    value: unknown,
    cas?: bigint | StoreOptions,
    options: StoreOptions = {},
  ): Promise<boolean> {
    if (typeof cas === "bigint") return await this.store("cas", key, value, options, cas);
    const token = takeCas(this.shared.casCache, this.prepare(key).bytes);
    return await this.store("cas", key, value, cas ?? {}, token);
  }

  /** Forgets the CAS tokens `cacheCas` remembered (python-memcached's `reset_cas`). */
  resetCas(): void {
    this.shared.casCache?.clear();
  }

  /**
   * Stores many values, per server in parallel. Resolves with the keys that were not stored
   * (refused, or their server unavailable), as python-memcached's `set_multi`.
   */
  async setMulti<K extends KeyInput>(
    mapping: Iterable<readonly [K, unknown]> | Record<string, unknown>,
    options: StoreOptions & MultiOptions = {},
  ): Promise<K[]> {
    const entries: (readonly [K, unknown])[] = Symbol.iterator in Object(mapping)
      ? [...(mapping as Iterable<readonly [K, unknown]>)]
      : Object.entries(mapping) as unknown as [K, unknown][];
    const prepared = entries.map(([key]) => this.prepare(key, options.keyPrefix));
    const values = await Promise.all(
      entries.map(([, v], i) => this.encode(prepared[i], v, options)),
    );
    const op = this.begin("set_multi", prepared, entries.length);
    return await this.track(op, this.#setMulti(entries, prepared, values, options));
  }

  async #setMulti<K extends KeyInput>(
    entries: (readonly [K, unknown])[],
    prepared: RoutedKey[],
    values: EncodedValue[],
    { ttl, noreply }: StoreOptions,
  ): Promise<K[]> {
    const failed = new Set<number>();
    await this.shared.pool.perServer(prepared, (p) => p.hash, (node, indexes) => {
      const items = indexes.map((i) => ({
        key: prepared[i].bytes,
        value: values[i].value,
        flags: values[i].flags,
        ttl,
      }));
      const sent = this.request(node, { op: "store", mode: "set", items }, "SET");
      if (noreply) return this.detach(sent);
      return sent.then((reply) => {
        (reply as { statuses: unknown[] }).statuses.forEach((s, j) => {
          if (s !== "stored") failed.add(indexes[j]);
        });
      }, (error) => {
        if (!isUnavailable(error)) throw error;
        for (const i of indexes) failed.add(i);
      });
    });
    return entries.filter((_, i) => failed.has(i)).map(([key]) => key);
  }

  // ---- counters, touch, delete ----

  /** Adds to a counter; null when the key is missing. Values are unsigned 64-bit. */
  incr(
    key: KeyInput,
    delta: number | bigint = 1,
    options: CounterOptions = {},
  ): Promise<bigint | null> {
    return this.counter("incr", key, delta, options);
  }

  /** Subtracts from a counter, flooring at 0; null when the key is missing. */
  decr(
    key: KeyInput,
    delta: number | bigint = 1,
    options: CounterOptions = {},
  ): Promise<bigint | null> {
    return this.counter("decr", key, delta, options);
  }

  /** Sets a new TTL in seconds (as the stores' `ttl`); true when the key exists. */
  async touch(key: KeyInput, ttl: number, options: NoreplyOptions = {}): Promise<boolean> {
    const k = this.prepare(key);
    const op = this.begin("touch", k);
    const request: MemcacheRequest = { op: "touch", key: k.bytes, ttl };
    if (options.noreply) return this.fireAndForget(k, request, "TOUCH", true, op);
    return (await this.track(op, this.status(k, request, "TOUCH", op))) === "touched";
  }

  /**
   * Deletes a key; true when it existed. `time` (python-memcached's `delete(key, time)`,
   * text protocol only): `delete <key> <time>`, which memcached 1.4 and later refuse with a
   * `MemcacheError` saying so (with `noreply` they stay silent and delete nothing).
   */
  async delete(key: KeyInput, options: DeleteOptions = {}): Promise<boolean> {
    const k = this.prepare(key);
    const time = checkDeleteTime(options.time, this.shared.protocol);
    const request: MemcacheRequest = { op: "delete", keys: [k.bytes], time };
    const op = this.begin("delete", k);
    if (options.noreply) return this.fireAndForget(k, request, "DELETE", true, op);
    const status = this.status(k, request, "DELETE", op).catch((error) => {
      throw time !== 0 && error instanceof MemcacheError ? refusedTime(error) : error;
    });
    return (await this.track(op, status)) === "deleted";
  }

  /**
   * Deletes many keys, per server in parallel. True when every server answered (missing
   * keys are fine), as python-memcached's `delete_multi`.
   */
  async deleteMulti(
    keys: Iterable<KeyInput>,
    options: MultiOptions & NoreplyOptions = {},
  ): Promise<boolean> {
    const prepared = [...keys].map((key) => this.prepare(key, options.keyPrefix));
    const op = this.begin("delete_multi", prepared, prepared.length);
    return await this.track(op, this.#deleteMulti(prepared, options.noreply === true));
  }

  async #deleteMulti(prepared: RoutedKey[], noreply: boolean): Promise<boolean> {
    let ok = true;
    await this.shared.pool.perServer(
      prepared,
      (p) => p.hash,
      (node, indexes) => {
        const keys = indexes.map((i) => prepared[i].bytes);
        const sent = this.request(node, { op: "delete", keys }, "DELETE");
        if (noreply) return this.detach(sent);
        return sent.then((reply) => {
          for (const s of (reply as { statuses: unknown[] }).statuses) {
            if (s instanceof MemcacheError) ok = false;
          }
        }, (error) => {
          if (!isUnavailable(error)) throw error;
          ok = false;
        });
      },
    );
    return ok;
  }

  // ---- meta protocol ----

  /**
   * A meta get with the stampede-protection flags: `vivify` (on a miss, create a placeholder
   * and win the right to fill it), `recache` (win a refresh when little TTL is left), and the
   * stale/win/already-won answers. Null on a plain miss. Meta protocol only.
   */
  async metaGet<T = unknown>(
    key: KeyInput,
    options: MetaGetOptions = {},
  ): Promise<MetaGetResult<T> | null> {
    const flags = ["v", "f", "c", "t"];
    if (options.vivify !== undefined) flags.push(`N${options.vivify}`);
    if (options.recache !== undefined) flags.push(`R${options.recache}`);
    if (options.touch !== undefined) flags.push(`T${options.touch}`);
    if (options.noBump) flags.push("u");
    const k = this.prepare(key);
    const op = this.begin("meta_get", k);
    return await this.track(op, this.#metaGet<T>(k, flags, op));
  }

  async #metaGet<T>(
    k: RoutedKey,
    flags: string[],
    op: Operation | undefined,
  ): Promise<MetaGetResult<T> | null> {
    const response = await this.#meta("mg", k, flags, undefined, op);
    if (!response || response.code === "EN") return null;
    const item = { value: response.value ?? new Uint8Array(0), flags: response.clientFlags ?? 0 };
    return {
      value: await this.shared.codec.decode(item) as T,
      cas: response.cas,
      ttl: response.ttl,
      win: response.win,
      stale: response.stale,
      alreadyWon: response.alreadyWon,
    };
  }

  /**
   * Sends one raw meta command (`mg`, `ms`, `md`, `ma`, `me`) with any flags, to the server
   * of `key`. Resolves with the response, or null when a quiet (`q`) command stayed silent.
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * await using mc = await MemcacheClient.connect();
   * await mc.meta("md", "page:1", ["I", "T30"]); // invalidate: readers see it stale
   * ```
   */
  async meta(
    cmd: "mg" | "ms" | "md" | "ma" | "me",
    key: KeyInput,
    flags: readonly string[] = [],
    value?: Uint8Array,
  ): Promise<MetaResponse | null> {
    const k = this.prepare(key);
    const op = this.begin(cmd, k);
    return await this.track(op, this.#meta(cmd, k, flags, value, op));
  }

  async #meta(
    cmd: "mg" | "ms" | "md" | "ma" | "me",
    k: RoutedKey,
    flags: readonly string[],
    value: Uint8Array | undefined,
    op: Operation | undefined,
  ): Promise<MetaResponse | null> {
    const reply = await this.send(
      k,
      {
        op: "meta",
        commands: [{ cmd, key: k.bytes, flags, value }],
      },
      cmd.toUpperCase(),
      op,
    );
    const response = (reply as { responses: (MetaResponse | MemcacheError | null)[] }).responses[0];
    if (response instanceof MemcacheError) throw response;
    return response;
  }

  /** Marks a key stale instead of deleting it (`md I T<staleTtl>`); see {@link getOrSet}. */
  async invalidate(key: KeyInput, options: { staleTtl?: number } = {}): Promise<boolean> {
    const flags = options.staleTtl === undefined ? ["I"] : ["I", `T${options.staleTtl}`];
    return (await this.meta("md", key, flags))?.code === "HD";
  }

  /** Read-through with one loader at a time across clients (anti-dogpile; see {@link getOrSet}). */
  getOrSet<T>(
    key: KeyInput,
    loader: () => T | Promise<T>,
    options: GetOrSetOptions = {},
  ): Promise<T> {
    return getOrSet(
      {
        meta: (cmd, k, flags) => this.meta(cmd, k, flags),
        set: (k, value, o) => this.set(k, value, o),
        decode: (item) => this.shared.codec.decode(item),
      },
      key,
      loader,
      options,
    );
  }

  /** Closes gracefully: waits for requests in flight. */
  async close(): Promise<void> {
    this.shared.closed = true;
    await this.shared.pool.close();
  }

  /** Closes at once: pending requests fail with `ConnectionClosedError`. */
  destroy(): void {
    this.shared.closed = true;
    this.shared.pool.destroy();
  }

  /** `await using mc = await MemcacheClient.connect()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The error of a server that refused `delete <key> <time>`, saying why. */
function refusedTime(error: MemcacheError): MemcacheError {
  return new MemcacheError(
    "This memcached refuses a delete with a time (removed in memcached 1.4): " + error.message,
    error.serverCode,
    { cause: error },
  );
}
