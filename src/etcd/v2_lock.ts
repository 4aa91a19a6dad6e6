// V2Lock: the aio_etcd lock recipe on the v2 keys API (an in-order key, the lowest one holds),
// kept alive while held, its state re-read from the server on demand.

import { EtcdKeyNotFoundError, EtcdV2Error } from "./errors.ts";
import type { EtcdV2Client } from "./v2.ts";

/**
 * A v2 lock (the aio_etcd recipe): an in-order key under `lockPrefix/name`; the holder is
 * the lowest key, waiters watch their predecessor. With a `ttl`, a held lock refreshes its key
 * every third of the TTL; `isAcquired` turns false when the key is found gone or the TTL ran
 * out without a refresh getting through, and {@link held} asks the server. `await using`
 * releases it.
 *
 * @example
 * ```ts
 * import { EtcdV2Client, V2Lock } from "@kvwire/kvwire/etcd";
 * await using client = new EtcdV2Client();
 * await using lock = new V2Lock(client, "customer1");
 * await lock.acquire({ ttl: 60 });
 * lock.isAcquired; // true
 * await lock.held(); // true: the server still has our key first
 * ```
 */
export class V2Lock {
  readonly #client: EtcdV2Client;
  readonly #dir: string;
  #key: string | undefined;
  #acquired = false;
  #ttl: number | undefined;
  #expiresAt = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Describes the lock; nothing is acquired yet. */
  constructor(client: EtcdV2Client, name: string) {
    this.#client = client;
    this.#dir = `${client.lockPrefix.replace(/\/$/, "")}/${name}`;
  }

  /** True while held, as far as the last refresh knows (see {@link held}). */
  get isAcquired(): boolean {
    return this.#acquired && Date.now() < this.#expiresAt;
  }

  /** The lock's key on the server, once `acquire` made it. */
  get key(): string | undefined {
    return this.#key;
  }

  /**
   * Asks the server whether the lock is still held (its key exists and is the lowest); a lost
   * lock stops being `isAcquired`.
   */
  async held(): Promise<boolean> {
    const key = this.#key;
    if (!this.#acquired || key === undefined) return false;
    let first: string | undefined;
    try {
      const dir = await this.#client.read(this.#dir, { sorted: true, quorum: true });
      first = dir.nodes[0]?.key;
    } catch (error) {
      if (!(error instanceof EtcdKeyNotFoundError)) throw error;
    }
    if (first !== key) this.#lost(true);
    return first === key;
  }

  /**
   * Acquires (or, when held, renews with `ttl`). With `blocking: false` returns false at once
   * when another holder has it; with `timeout` (ms), returns false (its key deleted) when the
   * lock was not acquired in time.
   */
  async acquire(
    options: { blocking?: boolean; ttl?: number; signal?: AbortSignal; timeout?: number } = {},
  ): Promise<boolean> {
    if (options.ttl !== undefined && !(Number.isInteger(options.ttl) && options.ttl > 0)) {
      throw new RangeError(`ttl must be a positive integer (seconds), got ${options.ttl}`);
    }
    const { timeout, signal } = options;
    if (timeout === undefined) return await this.#acquire(options);
    if (!(Number.isSafeInteger(timeout) && timeout > 0)) {
      throw new RangeError(`timeout must be a positive integer (ms), got ${timeout}`);
    }
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forward, { once: true });
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      return await this.#acquire({ ...options, signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted && !signal?.aborted) return false; // timed out, released
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forward);
    }
  }

  async #acquire(
    options: { blocking?: boolean; ttl?: number; signal?: AbortSignal },
  ): Promise<boolean> {
    if (this.#acquired && this.#key) {
      await this.#client.write(this.#key, "1", { prevExist: true, ttl: options.ttl });
      this.#held(options.ttl);
      return true;
    }
    this.#key ??=
      (await this.#client.write(this.#dir, "1", { append: true, ttl: options.ttl })).key;
    for (;;) {
      const dir = await this.#client.read(this.#dir, { sorted: true, quorum: true });
      const keys = dir.nodes.map((n) => n.key);
      const mine = keys.indexOf(this.#key);
      if (mine === -1) throw new EtcdV2Error("The lock key expired while waiting", 100, this.#key);
      if (mine === 0) {
        this.#held(options.ttl);
        return true;
      }
      if (options.blocking === false) {
        await this.release();
        return false;
      }
      try {
        await this.#client.watch(keys[mine - 1], {
          index: dir.etcdIndex + 1,
          signal: options.signal,
        });
      } catch (error) {
        if (options.signal?.aborted) await this.release();
        if (!(error instanceof EtcdV2Error)) throw error;
      }
    }
  }

  /** Releases the lock (deletes its key). Idempotent. */
  async release(): Promise<void> {
    const key = this.#key;
    this.#key = undefined;
    this.#lost();
    if (key) await this.#client.delete(key).catch(() => {});
  }

  /** Releases the lock at the end of an `await using` scope, as {@link release}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** Now held (its key was just written): keep it alive with `ttl`. */
  #held(ttl: number | undefined): void {
    this.#acquired = true;
    this.#ttl = ttl;
    this.#expiresAt = ttl === undefined ? Infinity : Date.now() + ttl * 1000;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ttl !== undefined) this.#timer = setTimeout(() => this.#refresh(), (ttl * 1000) / 3);
  }

  async #refresh(): Promise<void> {
    const key = this.#key;
    const ttl = this.#ttl;
    if (!this.#acquired || key === undefined || ttl === undefined) return;
    try {
      await this.#client.refresh(key, ttl);
      if (this.#key === key && this.#acquired) this.#held(ttl);
    } catch (error) {
      if (this.#key !== key || !this.#acquired) return;
      if (error instanceof EtcdKeyNotFoundError || Date.now() >= this.#expiresAt) {
        return this.#lost(error instanceof EtcdKeyNotFoundError);
      }
      this.#timer = setTimeout(() => this.#refresh(), Math.min(1000, (ttl * 1000) / 6));
    }
  }

  /** No longer held; `gone`: the key is gone too (the next `acquire` makes a new one). */
  #lost(gone = false): void {
    if (gone) this.#key = undefined;
    this.#acquired = false;
    this.#expiresAt = Infinity;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
