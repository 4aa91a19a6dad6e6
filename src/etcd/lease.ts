// v3 leases by gateway path (/v3/lease/grant, /keepalive, /revoke, /timetolive): a lease
// object with a keep-alive loop and a `lost` signal for when it can no longer be kept.

import type { CallOptions, EtcdChannel } from "./channel.ts";
import { EtcdError, EtcdLeaseLostError } from "./errors.ts";
import { int, num } from "./kv.ts";

/** Options of a lease grant. */
export interface LeaseOptions {
  /** Ask for this lease id (0n or absent: the server picks). */
  id?: bigint;
  /** Keep the lease alive until it is revoked or released. Default true. */
  keepAlive?: boolean;
}

/** A lease's state on the server. */
export interface LeaseInfo {
  /** The lease id. */
  id: bigint;
  /** Whole seconds left (0 in the last second); -1 when the lease does not exist. */
  ttl: number;
  /** The TTL in seconds the lease was granted with. */
  grantedTtl: number;
  /** Keys attached to it (when asked for). */
  keys: Uint8Array[];
}

/**
 * A granted lease. Its keep-alive loop refreshes it every third of its TTL; when the server
 * says it expired, or the TTL runs out while no endpoint answers, `lost` resolves with an
 * `EtcdLeaseLostError` and `signal` aborts. `await using` revokes it.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * await using lease = await etcd.grant(10);
 * await etcd.put("service/a", "10.0.0.1:80", { lease: lease.id });
 * lease.signal.addEventListener("abort", () => console.log("lease lost"));
 * ```
 */
export class Lease {
  /** The lease id. */
  readonly id: bigint;
  /** The TTL the server granted, in seconds. */
  readonly ttl: number;
  /** Resolves once the lease is lost (never rejects; never resolves after revoke/release). */
  readonly lost: Promise<EtcdLeaseLostError>;
  readonly #channel: EtcdChannel;
  readonly #controller = new AbortController();
  #resolveLost!: (error: EtcdLeaseLostError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiresAt: number;
  #stopped = false;
  #unhook: () => void = () => {};

  /** Grants a lease and starts its keep-alive loop (unless `keepAlive: false`). */
  static async grant(
    channel: EtcdChannel,
    ttl: number,
    options: LeaseOptions & CallOptions = {},
  ): Promise<Lease> {
    if (!Number.isInteger(ttl) || ttl < 1) {
      throw new RangeError(`Lease TTL must be a positive integer of seconds, got ${ttl}`);
    }
    const granted = await channel.call(
      "/v3/lease/grant",
      {
        TTL: String(ttl),
        ID: String(options.id ?? 0n),
      },
      options,
      (json) => {
        if (json.error) throw new EtcdError(String(json.error), 2);
        return { id: int(json.ID as string), ttl: json.TTL === undefined ? ttl : num(json.TTL) };
      },
    );
    const lease = new Lease(channel, granted.id, granted.ttl);
    if (options.keepAlive !== false) lease.#schedule();
    return lease;
  }

  private constructor(channel: EtcdChannel, id: bigint, ttl: number) {
    this.#channel = channel;
    this.id = id;
    this.ttl = ttl;
    this.#expiresAt = Date.now() + ttl * 1000;
    this.lost = new Promise((resolve) => (this.#resolveLost = resolve));
    this.#unhook = channel.onClose(() => this.release());
  }

  /** Aborts when the lease is lost, revoked or released. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the keep-alive loop stopped (lost, revoked or released). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Refreshes the lease once; returns the new TTL in seconds (0 = it expired). */
  async keepAliveOnce(options: CallOptions = {}): Promise<number> {
    const ttl = await this.#channel.keepAlive(this.id, options);
    if (ttl > 0) this.#expiresAt = Date.now() + ttl * 1000;
    return ttl;
  }

  /** Revokes the lease (its keys are deleted) and stops the loop. */
  async revoke(options: CallOptions = {}): Promise<void> {
    this.#stop();
    await this.#channel.call("/v3/lease/revoke", { ID: String(this.id) }, {
      ...options,
      idempotent: true,
    }).catch((error) => {
      if (!/not found/.test((error as Error).message)) throw error;
    });
  }

  /** Stops keeping the lease alive without revoking it (it expires after its TTL). */
  release(): void {
    this.#stop();
  }

  /** Revokes the lease at the end of an `await using` scope (releases it once closed). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#channel.isClosed) return this.release();
    await this.revoke();
  }

  #stop(reason?: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unhook();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller.abort(reason ?? new Error(`Lease ${this.id} was released`));
  }

  #lose(why: string, cause?: unknown): void {
    if (this.#stopped) return;
    const error = new EtcdLeaseLostError(this.id, why, { cause });
    this.#stop(error);
    const events = this.#channel.events;
    if (events.has("leaseLost")) events.emit("leaseLost", { lease: String(this.id), error });
    this.#resolveLost(error);
  }

  #schedule(delay = Math.max(100, (this.ttl * 1000) / 3)): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#beat(), delay);
  }

  async #beat(): Promise<void> {
    this.#timer = undefined;
    const left = this.#expiresAt - Date.now();
    if (left <= 0) return this.#lose("its TTL ran out before a keep-alive got through");
    try {
      const ttl = await this.keepAliveOnce({ timeout: left });
      if (ttl <= 0) return this.#lose("it expired on the server");
      this.#schedule();
    } catch (error) {
      if (this.#stopped) return;
      if (this.#expiresAt <= Date.now()) {
        return this.#lose("its TTL ran out before a keep-alive got through", error);
      }
      this.#schedule(Math.min(500, Math.max(50, (this.#expiresAt - Date.now()) / 4)));
    }
  }
}
