// The server-wide half of MemcacheClient: the server list, flush, stats (slabs parsed),
// version, and replacing the servers of a live client (python-memcached's `set_servers`).

import { MemcacheCore } from "./client_core.ts";
import { parseServers, type ServerInput } from "./client_options.ts";
import type { ServerNode } from "./server_node.ts";
import { parseSlabStats, type SlabStats } from "./slabs.ts";
import type { MemcacheReply, MemcacheRequest } from "./types.ts";

/**
 * The base of {@link MemcacheClient} for calls that go to every server rather than by key.
 *
 * @example
 * ```ts
 * import { MemcacheClient, MemcacheServers } from "@kvwire/kvwire/memcache";
 * const mc = new MemcacheClient();
 * console.log(mc instanceof MemcacheServers); // true
 * ```
 */
export abstract class MemcacheServers extends MemcacheCore {
  /** The servers: whether each is connected or marked dead, and the version it reported. */
  get servers(): {
    label: string;
    weight: number;
    connected: boolean;
    dead: boolean;
    version?: string;
  }[] {
    return this.shared.pool.nodes.map((n) => ({
      label: n.spec.label,
      weight: n.spec.weight,
      connected: n.isConnected,
      dead: n.isDead,
      version: n.version,
    }));
  }

  /** Flushes every reachable server after `delay` seconds (python-memcached's `flush_all`). */
  async flushAll(delay = 0): Promise<void> {
    await this.eachServer("flush_all", { op: "flush", delay }, "FLUSH_ALL");
  }

  /**
   * The statistics every reachable server reports (`stats`), by `host:port` (`group`:
   * "settings", "items", "slabs"...). The client's own counters are {@link stats}.
   */
  async serverStats(group?: string): Promise<Map<string, Record<string, string>>> {
    const replies = await this.eachServer("stats", { op: "stats", group }, "STATS");
    const out = new Map<string, Record<string, string>>();
    for (const [node, reply] of replies) {
      if (reply.type === "stats") out.set(node.spec.label, Object.fromEntries(reply.stats));
    }
    return out;
  }

  /** The version of every reachable server, by `host:port`. */
  async version(): Promise<Map<string, string>> {
    const replies = await this.eachServer("version", { op: "version" }, "VERSION");
    const out = new Map<string, string>();
    for (const [node, reply] of replies) {
      if (reply.type === "version") out.set(node.spec.label, reply.version);
    }
    return out;
  }

  /**
   * The slab classes of every reachable server, by `host:port` (python-memcached's
   * `get_slabs`, typed): `stats slabs` and `stats items` joined per class.
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * await using mc = await MemcacheClient.connect(["127.0.0.1:11211"]);
   * for (const [server, { classes }] of await mc.getSlabs()) {
   *   for (const c of classes.values()) console.log(server, c.id, c.chunkSize, c.number);
   * }
   * ```
   */
  async getSlabs(): Promise<Map<string, SlabStats>> {
    const [slabs, items] = await Promise.all([
      this.serverStats("slabs"),
      this.serverStats("items"),
    ]);
    const out = new Map<string, SlabStats>();
    for (const [server, stats] of slabs) {
      out.set(server, parseSlabStats(stats, items.get(server) ?? {}));
    }
    return out;
  }

  /** One request to every server, as one operation (`batchSize`: the servers). */
  protected eachServer(
    operation: string,
    request: MemcacheRequest,
    name: string,
  ): Promise<[ServerNode, MemcacheReply][]> {
    const pool = this.shared.pool;
    const op = this.begin(operation, undefined, pool.nodes.length);
    return this.track(op, pool.eachServer(request, this.call, name));
  }

  /**
   * Replaces the servers (python-memcached's `set_servers`): requests from now on use the new
   * pool; the old connections close once their requests in flight are answered.
   *
   * @example
   * ```ts
   * import { MemcacheClient } from "@kvwire/kvwire/memcache";
   * const mc = new MemcacheClient({ servers: ["10.0.0.1:11211"] });
   * await mc.setServers(["10.0.0.1:11211", ["10.0.0.2:11211", 2]]);
   * ```
   */
  async setServers(servers: ServerInput | readonly ServerInput[]): Promise<void> {
    const shared = this.shared;
    const old = shared.pool;
    shared.pool = shared.newPool(parseServers(servers));
    await old.close();
  }

  /** Forgets which servers failed, so they are tried again at once. */
  forgetDeadHosts(): void {
    this.shared.pool.reviveAll();
  }

  /** Closes every connection; the next call reconnects. */
  async disconnectAll(): Promise<void> {
    await Promise.all(this.shared.pool.nodes.map((n) => n.reset()));
  }
}
