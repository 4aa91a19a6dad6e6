// A pool of dedicated Redis connections for work that must not share the auto-pipelined
// connection: blocking commands (BLPOP, XREAD BLOCK) and WATCH transactions.

import { AbortedError, ConnectionClosedError } from "../core/errors.ts";
import { FifoTable } from "../core/correlation.ts";

/** What the pool needs of a connection. */
export interface PooledConnection {
  /** Closes gracefully, letting pending commands finish. */
  close(): Promise<void>;
  /** Closes at once, failing pending commands. */
  destroy(): void;
}

/** Options of a {@link Pool}. */
export interface PoolOptions {
  /** Most connections open at once. Default 10. */
  maxSize?: number;
  /** Close a connection idle for this many milliseconds. Default 30,000. */
  idleTimeout?: number;
}

/** A caller waiting for a connection (methods, so a pool of clients is a pool of connections). */
interface Waiter<C> {
  resolve(c: C): void;
  reject(e: Error): void;
}

interface Idle<C> {
  conn: C;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Hands out connections one user at a time, creating them up to `maxSize`; callers beyond
 * that wait in line. A connection given back as unhealthy (it timed out or failed mid-command)
 * is destroyed, never reused.
 *
 * @example
 * ```ts
 * import { Pool, RedisClient } from "@kvwire/kvwire/redis";
 * const pool = new Pool(() => RedisClient.connect({ reconnect: { enabled: false } }), { maxSize: 4 });
 * const popped = await pool.use((conn) => conn.blPop("jobs", 1));
 * await pool.close();
 * ```
 */
export class Pool<C extends PooledConnection> {
  readonly #create: () => Promise<C>;
  readonly #maxSize: number;
  readonly #idleTimeout: number;
  #idle: Idle<C>[] = [];
  #waiters = new FifoTable<Waiter<C>>();
  #size = 0;
  #closed = false;
  /** Every connection open now, idle or in use. */
  readonly #members = new Set<C>();

  /** Creates an empty pool; `create` opens one ready connection. */
  constructor(create: () => Promise<C>, options: PoolOptions = {}) {
    this.#create = create;
    this.#maxSize = options.maxSize ?? 10;
    this.#idleTimeout = options.idleTimeout ?? 30_000;
    if (!Number.isInteger(this.#maxSize) || this.#maxSize < 1) {
      throw new RangeError(`Pool size must be a positive integer, got ${this.#maxSize}`);
    }
  }

  /** Connections open (idle or in use). */
  get size(): number {
    return this.#size;
  }

  /** Every connection open now, idle or in use (for stats). */
  get members(): C[] {
    return [...this.#members];
  }

  /** Connections waiting to be used. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** Takes a connection, waiting when all `maxSize` are in use. */
  async acquire(signal?: AbortSignal): Promise<C> {
    if (this.#closed) throw new ConnectionClosedError("The connection pool is closed");
    const idle = this.#idle.pop();
    if (idle) {
      clearTimeout(idle.timer);
      return idle.conn;
    }
    if (this.#size < this.#maxSize) {
      this.#size++;
      try {
        return this.#join(await this.#create());
      } catch (error) {
        this.#size--;
        throw error;
      }
    }
    return await new Promise<C>((resolve, reject) => {
      const waiter: Waiter<C> = { resolve: (c: C): void => resolve(c), reject };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", () => {
        waiter.resolve = (c) => this.release(c);
        reject(new AbortedError("Gave up waiting for a pooled connection"));
      }, { once: true });
    });
  }

  /** Gives a connection back; `healthy: false` destroys it instead. */
  release(conn: C, healthy = true): void {
    if (!healthy || this.#closed) {
      this.#size--;
      this.#members.delete(conn);
      conn.destroy();
      this.#createForWaiter();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(conn);
      return;
    }
    const timer = setTimeout(() => {
      this.#idle = this.#idle.filter((i) => i.conn !== conn);
      this.#size--;
      this.#members.delete(conn);
      conn.close().catch(() => conn.destroy());
    }, this.#idleTimeout);
    this.#idle.push({ conn, timer });
  }

  #createForWaiter(): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    this.#size++;
    this.#create().then((conn) => waiter.resolve(this.#join(conn)), (error) => {
      this.#size--;
      waiter.reject(error);
    });
  }

  #join(conn: C): C {
    this.#members.add(conn);
    return conn;
  }

  /**
   * Runs `fn` with a connection and gives it back; a failure that leaves the connection in
   * doubt (anything but a server error reply) destroys it.
   */
  async use<T>(fn: (conn: C) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const conn = await this.acquire(signal);
    let healthy = false;
    try {
      const result = await fn(conn);
      healthy = true;
      return result;
    } catch (error) {
      healthy = (error as { code?: string }).code === "SERVER";
      throw error;
    } finally {
      this.release(conn, healthy);
    }
  }

  /** Closes idle connections, fails waiters; connections in use close when released. */
  async close(): Promise<void> {
    this.#closed = true;
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      w.reject(new ConnectionClosedError("The connection pool was closed"));
    }
    const idle = this.#idle;
    this.#idle = [];
    this.#size -= idle.length;
    for (const i of idle) this.#members.delete(i.conn);
    await Promise.all(idle.map((i) => {
      clearTimeout(i.timer);
      return i.conn.close().catch(() => i.conn.destroy());
    }));
  }
}
