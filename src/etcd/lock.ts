// Distributed lock and leader election through etcd's v3lock and v3election services
// (/v3/lock/lock, /v3/lock/unlock, /v3/election/*), each bound to a kept-alive lease;
// `observe` follows the leader with a prefix watch (observe.ts).

import { base64Encode } from "./base64.ts";
import type { CallOptions, EtcdChannel } from "./channel.ts";
import { EtcdError } from "./errors.ts";
import { b64, type Bytes, int, text, toBytes } from "./kv.ts";
import { Lease } from "./lease.ts";
import { ElectionObserver, type ObserveOptions } from "./observe.ts";

/** Options of a lock or a campaign. */
export interface LockOptions {
  /** TTL of the lease that holds it, in seconds. Default 30. */
  ttl?: number;
  /** Use this lease instead of granting one (it is not revoked on release). */
  lease?: Lease;
  /** Gives up waiting. */
  signal?: AbortSignal;
}

/**
 * A held lock. `release()` (or `await using`) unlocks it and revokes its lease. If the lease
 * is lost the lock is gone too: watch `signal`.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * {
 *   await using lock = await etcd.lock("jobs/cleanup", { ttl: 10 });
 *   // ... only one process runs this at a time ...
 * }
 * ```
 */
export class Lock {
  /** The key that holds the lock (its creation revision orders waiters). */
  readonly key: Uint8Array;
  /** The lease that keeps the lock. */
  readonly lease: Lease;
  readonly #channel: EtcdChannel;
  readonly #ownsLease: boolean;
  #released = false;

  /** Waits for the lock. Prefer `EtcdClient.lock`. */
  static async acquire(
    channel: EtcdChannel,
    name: Uint8Array,
    options: LockOptions = {},
  ): Promise<Lock> {
    const lease = options.lease ?? await Lease.grant(channel, options.ttl ?? 30);
    try {
      const key = await channel.callDedicated(
        "/v3/lock/lock",
        {
          name: base64Encode(name),
          lease: String(lease.id),
        },
        { signal: options.signal },
        (json) => b64(json.key as string | undefined),
      );
      return new Lock(channel, key, lease, !options.lease);
    } catch (error) {
      if (!options.lease) await lease.revoke().catch(() => {});
      throw error;
    }
  }

  private constructor(channel: EtcdChannel, key: Uint8Array, lease: Lease, ownsLease: boolean) {
    this.#channel = channel;
    this.key = key;
    this.lease = lease;
    this.#ownsLease = ownsLease;
  }

  /** Aborts when the lock's lease is lost (or the lock released). */
  get signal(): AbortSignal {
    return this.lease.signal;
  }

  /** Unlocks; revokes the lease the lock granted itself. Idempotent. */
  async release(options: CallOptions = {}): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#ownsLease) await this.lease.revoke(options);
    else {
      await this.#channel.call("/v3/lock/unlock", { key: base64Encode(this.key) }, {
        ...options,
        idempotent: true,
      });
    }
  }

  /** Releases the lock at the end of an `await using` scope, as {@link release}. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#channel.isClosed) await this.release();
  }
}

/** The current leader of an election. */
export interface LeaderKey {
  /** The election's name. */
  name: Uint8Array;
  /** The key that holds the leadership. */
  key: Uint8Array;
  /** The creation revision of that key. */
  rev: bigint;
  /** The id of the lease behind that key. */
  lease: bigint;
}

/** A leader of an election and the value it proclaimed. */
export interface Leader {
  /** The leader key. */
  key: LeaderKey;
  /** The value the leader campaigned with or last proclaimed. */
  value: Uint8Array;
  /** The revision that wrote `value`. */
  modRevision: bigint;
}

/**
 * A named election. `campaign` waits until this caller leads; `leader` tells who leads;
 * `observe` follows every change of leader or value.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * const election = etcd.election("scheduler");
 * await using term = await election.campaign("node-1", { ttl: 10 });
 * console.log(await election.leaderValue()); // "node-1"
 * ```
 */
export class Election {
  readonly #channel: EtcdChannel;
  readonly #name: Uint8Array;

  /** Prefer `EtcdClient.election`. */
  constructor(channel: EtcdChannel, name: Uint8Array) {
    this.#channel = channel;
    this.#name = name;
  }

  /** Campaigns with `value` and resolves once elected. */
  async campaign(value: Bytes, options: LockOptions = {}): Promise<Leadership> {
    const lease = options.lease ?? await Lease.grant(this.#channel, options.ttl ?? 30);
    try {
      const key = await this.#channel.callDedicated(
        "/v3/election/campaign",
        {
          name: base64Encode(this.#name),
          lease: String(lease.id),
          value: base64Encode(toBytes(value)),
        },
        { signal: options.signal },
        (json) => leaderKey((json.leader ?? {}) as Record<string, string>),
      );
      return new Leadership(this.#channel, key, lease, !options.lease);
    } catch (error) {
      if (!options.lease) await lease.revoke().catch(() => {});
      throw error;
    }
  }

  /** The leader's key and value, or undefined when nobody leads. */
  async leader(options: CallOptions = {}): Promise<Leader | undefined> {
    try {
      return await this.#channel.call(
        "/v3/election/leader",
        { name: base64Encode(this.#name) },
        { ...options, idempotent: true },
        (json): Leader => {
          const kv = (json.kv ?? {}) as Record<string, string>;
          return {
            key: {
              name: this.#name,
              key: b64(kv.key),
              rev: int(kv.create_revision),
              lease: int(kv.lease),
            },
            value: b64(kv.value),
            modRevision: int(kv.mod_revision),
          };
        },
      );
    } catch (error) {
      if (error instanceof EtcdError && /no leader/.test(error.message)) return undefined;
      throw error;
    }
  }

  /** The leader's value as text, or undefined when nobody leads. */
  async leaderValue(options: CallOptions = {}): Promise<string | undefined> {
    const leader = await this.leader(options);
    return leader === undefined ? undefined : text(leader.value);
  }

  /**
   * Follows the election: yields the current leader (once there is one), then each new
   * leader and each value it proclaims, like etcd's `Election.Observe`. It survives
   * reconnects and failover; `close()`, `break` or `signal` end it.
   *
   * @example
   * ```ts
   * import { EtcdClient, text } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await using observer = etcd.election("scheduler").observe();
   * for await (const leader of observer) console.log("leader:", text(leader.value));
   * ```
   */
  observe(options: ObserveOptions = {}): ElectionObserver {
    return new ElectionObserver(this.#channel, this.#name, options);
  }
}

/**
 * Being the leader of an election: `proclaim` changes the value, `resign` (or `await using`)
 * steps down.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * const term = await etcd.election("e").campaign("a");
 * await term.proclaim("b");
 * await term.resign();
 * ```
 */
export class Leadership {
  /** The leader key. */
  readonly key: LeaderKey;
  /** The lease behind it. */
  readonly lease: Lease;
  readonly #channel: EtcdChannel;
  readonly #ownsLease: boolean;
  #resigned = false;

  /** Created by `Election.campaign`. */
  constructor(channel: EtcdChannel, key: LeaderKey, lease: Lease, ownsLease: boolean) {
    this.#channel = channel;
    this.key = key;
    this.lease = lease;
    this.#ownsLease = ownsLease;
  }

  /** Sets a new value while leading. */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    await this.#channel.call("/v3/election/proclaim", {
      leader: this.#json(),
      value: base64Encode(toBytes(value)),
    }, options);
  }

  /** Steps down (and revokes the lease the campaign granted). Idempotent. */
  async resign(options: CallOptions = {}): Promise<void> {
    if (this.#resigned) return;
    this.#resigned = true;
    await this.#channel.call("/v3/election/resign", { leader: this.#json() }, {
      ...options,
      idempotent: true,
    });
    if (this.#ownsLease) await this.lease.revoke(options);
  }

  /** Resigns at the end of an `await using` scope, as {@link resign}. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#channel.isClosed) await this.resign();
  }

  #json(): object {
    return {
      name: base64Encode(this.key.name),
      key: base64Encode(this.key.key),
      rev: String(this.key.rev),
      lease: String(this.key.lease),
    };
  }
}

function leaderKey(json: Record<string, string>): LeaderKey {
  return {
    name: b64(json.name),
    key: b64(json.key),
    rev: int(json.rev),
    lease: int(json.lease),
  };
}
