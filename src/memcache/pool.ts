// The server pool behind a memcache client: key placement over weighted servers, failover to
// a live server, and grouping of multi-key requests per server.

import {
  ConnectError,
  ConnectionClosedError,
  QueueFullError,
  RemoteProtocolError,
  TimeoutError,
  TlsError,
} from "../core/errors.ts";
import type { RequestOptions } from "../core/driver.ts";
import type { ServerSpec } from "./client_options.ts";
import type { MemcacheReply, MemcacheRequest } from "./types.ts";
import { createPlacement, type Distribution, type Placement } from "./distribution.ts";
import type { KetamaCompat } from "./ketama.ts";
import { ServerNode, type ServerNodeOptions } from "./server_node.ts";

/**
 * True for errors that mean "this server could not be used" (down, unreachable, lost, too
 * slow), as opposed to an answer or a bad argument.
 *
 * @example
 * ```ts
 * import { isUnavailable, ServerDeadError } from "@kvwire/kvwire/memcache";
 * isUnavailable(new ServerDeadError("down")); // true
 * ```
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof ConnectError || error instanceof TlsError ||
    error instanceof ConnectionClosedError || error instanceof TimeoutError ||
    error instanceof QueueFullError || error instanceof RemoteProtocolError;
}

/**
 * True when a failed request certainly never reached the server, so it may go elsewhere.
 *
 * @example
 * ```ts
 * import { ConnectError } from "@kvwire/kvwire";
 * import { wasNotSent } from "@kvwire/kvwire/memcache";
 * wasNotSent(new ConnectError("refused")); // true
 * ```
 */
export function wasNotSent(error: unknown): boolean {
  if (error instanceof ConnectError || error instanceof TlsError) return true;
  if (error instanceof ConnectionClosedError || error instanceof TimeoutError) return !error.sent;
  return false;
}

/** Options of a {@link ServerPool}. */
export interface ServerPoolOptions extends ServerNodeOptions {
  /** Send requests for a dead server to the next live one. */
  failover?: boolean;
  /** Point naming of the ketama ring. */
  ketama?: KetamaCompat;
  /** How keys are placed. Default `"ketama-weighted"`. */
  distribution?: Distribution;
}

/**
 * Servers and the ring that maps keys to them.
 *
 * Theory of operation: the placement (see {@link createPlacement}) is built once over every
 * server. A key goes to its owner; with failover on and servers dead, keys go where the
 * reference client of the distribution sends them (python-memcached's rehash of a dead
 * owner's keys; for ketama, libmemcached's auto-eject ring of the live servers, for every
 * key; modula moves nothing). Without failover the dead owner is returned and its request
 * fails fast.
 *
 * @example
 * ```ts
 * import { parseServers, ServerPool } from "@kvwire/kvwire/memcache";
 * const pool = new ServerPool(parseServers(["10.0.0.1", "10.0.0.2"]), { protocol: "meta" });
 * pool.route(new TextEncoder().encode("user:42")).spec.label; // "10.0.0.1:11211" or "10.0.0.2:11211"
 * ```
 */
export class ServerPool {
  /** One node per server, in order. */
  readonly nodes: readonly ServerNode[];
  readonly #placement: Placement;
  readonly #failover: boolean;
  readonly #isDead = (index: number): boolean => this.nodes[index].isDead;

  /** Creates a node per server; nothing connects yet. */
  constructor(specs: readonly ServerSpec[], options: ServerPoolOptions) {
    if (specs.length === 0) throw new RangeError("A memcache pool needs at least one server");
    this.nodes = specs.map((spec) => new ServerNode(spec, options));
    this.#failover = options.failover === true;
    this.#placement = createPlacement(
      options.distribution ?? "ketama-weighted",
      specs,
      options.ketama ?? "libmemcached",
    );
  }

  /** The server for a key, given the bytes it is hashed by. */
  route(hashKey: Uint8Array): ServerNode {
    return this.nodes[this.#placement.place(hashKey, this.#failover ? this.#isDead : undefined)];
  }

  /** True when failover is on. */
  get failover(): boolean {
    return this.#failover;
  }

  /**
   * Splits keyed work per server, keeping each key's position.
   *
   * @example
   * ```ts
   * import { parseServers, ServerPool } from "@kvwire/kvwire/memcache";
   * const pool = new ServerPool(parseServers(["a:1", "b:2"]), { protocol: "meta" });
   * const key = new TextEncoder().encode("k");
   * pool.group([key], (k) => k); // Map { node => [0] }
   * ```
   */
  group<T>(items: readonly T[], hashKeyOf: (item: T) => Uint8Array): Map<ServerNode, number[]> {
    const groups = new Map<ServerNode, number[]>();
    items.forEach((item, i) => {
      const node = this.route(hashKeyOf(item));
      const list = groups.get(node);
      if (list) list.push(i);
      else groups.set(node, [i]);
    });
    return groups;
  }

  /**
   * Runs `run` once per server with the positions of the items it owns, in parallel.
   *
   * @example
   * ```ts
   * import { parseServers, ServerPool } from "@kvwire/kvwire/memcache";
   * const pool = new ServerPool(parseServers(["a:1", "b:2"]), { protocol: "meta" });
   * await pool.perServer([new TextEncoder().encode("k")], (k) => k, async (node, at) => {});
   * ```
   */
  async perServer<T>(
    items: readonly T[],
    hashKeyOf: (item: T) => Uint8Array,
    run: (node: ServerNode, indexes: number[]) => Promise<void>,
  ): Promise<void> {
    if (items.length === 0) return;
    const groups = this.group(items, hashKeyOf);
    await Promise.all([...groups].map(([node, indexes]) => run(node, indexes)));
  }

  /**
   * Sends a request to every server; servers that can't be reached are left out, any other
   * failure rejects.
   *
   * @example
   * ```ts
   * import { parseServers, ServerPool } from "@kvwire/kvwire/memcache";
   * const pool = new ServerPool(parseServers(["127.0.0.1:11211"]), { protocol: "meta" });
   * await pool.eachServer({ op: "version" }, {}, "VERSION"); // [[node, { type: "version", ... }]]
   * ```
   */
  async eachServer(
    request: MemcacheRequest,
    options: RequestOptions,
    name: string,
  ): Promise<[ServerNode, MemcacheReply][]> {
    const nodes = this.nodes;
    const results = await Promise.allSettled(nodes.map((n) => n.request(request, options, name)));
    const out: [ServerNode, MemcacheReply][] = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") out.push([nodes[i], r.value]);
      else if (!isUnavailable(r.reason)) throw r.reason;
    });
    return out;
  }

  /** Forgets every server's failure. */
  reviveAll(): void {
    for (const node of this.nodes) node.revive();
  }

  /** Closes every connection gracefully. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }

  /** Closes every connection at once. */
  destroy(): void {
    for (const node of this.nodes) node.destroy();
  }
}
