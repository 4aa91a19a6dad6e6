// A distributed lock on one Redis key, as redis-py's Lock: a random token set with NX and a
// timeout, released and extended by Lua scripts that check the token first.
// Spec: https://redis.io/docs/latest/develop/use/patterns/distributed-locks/ (single instance)

import { KvError } from "../core/errors.ts";
import type { RedisKey } from "./commands/base.ts";

/** The lock could not be acquired in time, or was lost (expired, taken by another owner). */
export class LockError extends KvError {
  /** Creates the error. */
  constructor(message: string) {
    super("SERVER", message);
  }
}

/** Options of a {@link Lock}. */
export interface LockOptions {
  /** Auto-release after this many seconds (the key's expiry). Default none. */
  timeout?: number;
  /** Seconds between tries while blocking. Default 0.1. */
  sleep?: number;
  /** Wait for the lock (true) or try once (false). Default true. */
  blocking?: boolean;
  /** Give up waiting after this many seconds. Default: wait forever. */
  blockingTimeout?: number;
}

/** What a lock needs of a client. */
export interface LockClient {
  /** SET with NX and an optional expiry in milliseconds; true when the key was set. */
  set(key: RedisKey, value: string, options: { nx: boolean; px?: number }): Promise<boolean>;
  /** EVAL: runs a Lua script with keys and arguments. */
  eval(script: string, keys?: RedisKey[], args?: (string | number)[]): Promise<unknown>;
  /** GET: the key's value, or null. */
  get(key: RedisKey): Promise<unknown>;
}

const RELEASE =
  `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const EXTEND = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('pttl', KEYS[1])
if ARGV[3] == '1' or ttl < 0 then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return redis.call('pexpire', KEYS[1], ttl + ARGV[2])`;

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A lock on `name`. `acquire()` resolves true/false; `release()` only deletes the key while
 * it still holds this lock's token; `await using` releases at the end of the scope.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect();
 * await using lock = await redis.lock("jobs:nightly", { timeout: 30 }).acquireOrThrow();
 * // ... exclusive work ...
 * ```
 */
export class Lock {
  /** The key that holds the lock. */
  readonly name: RedisKey;
  readonly #client: LockClient;
  readonly #options: LockOptions;
  #token: string | undefined;

  /** Use `client.lock(name, options)`. */
  constructor(client: LockClient, name: RedisKey, options: LockOptions = {}) {
    if (options.timeout !== undefined && !(options.timeout > 0)) {
      throw new RangeError(`Lock timeout must be positive seconds, got ${options.timeout}`);
    }
    this.#client = client;
    this.name = name;
    this.#options = options;
  }

  /** The token of the current holder, while this object holds the lock. */
  get token(): string | undefined {
    return this.#token;
  }

  /** Tries to take the lock, waiting per `blocking`/`blockingTimeout`; true when taken. */
  async acquire(options: { blocking?: boolean; blockingTimeout?: number } = {}): Promise<boolean> {
    const blocking = options.blocking ?? this.#options.blocking ?? true;
    const blockingTimeout = options.blockingTimeout ?? this.#options.blockingTimeout;
    const sleepMs = (this.#options.sleep ?? 0.1) * 1000;
    const giveUpAt = blockingTimeout === undefined
      ? Infinity
      : performance.now() + blockingTimeout * 1000;
    const token = randomToken();
    const px = this.#options.timeout === undefined
      ? undefined
      : Math.round(this.#options.timeout * 1000);
    for (;;) {
      if (await this.#client.set(this.name, token, { nx: true, px })) {
        this.#token = token;
        return true;
      }
      const left = giveUpAt - performance.now();
      if (!blocking || left <= 0) return false;
      // The last try happens at the deadline, not one sleep before it.
      await new Promise((resolve) => setTimeout(resolve, Math.min(sleepMs, left)));
    }
  }

  /** Like `acquire`, but throws `LockError` when the lock can't be taken in time. */
  async acquireOrThrow(options: { blockingTimeout?: number } = {}): Promise<this> {
    if (!(await this.acquire(options))) {
      throw new LockError(`Could not acquire lock ${JSON.stringify(String(this.name))} in time`);
    }
    return this;
  }

  /** Whether any owner holds the lock now. */
  async locked(): Promise<boolean> {
    return (await this.#client.get(this.name)) !== null;
  }

  /** Whether this object holds the lock now (its token is the key's value). */
  async owned(): Promise<boolean> {
    if (this.#token === undefined) return false;
    const value = await this.#client.get(this.name);
    const text = value instanceof Uint8Array ? new TextDecoder().decode(value) : value;
    return text === this.#token;
  }

  /** Releases the lock; throws `LockError` when it is no longer ours (expired or taken). */
  async release(): Promise<void> {
    const token = this.#token;
    if (token === undefined) throw new LockError("Cannot release a lock that is not held");
    this.#token = undefined;
    const deleted = await this.#client.eval(RELEASE, [this.name], [token]);
    if (deleted !== 1) {
      throw new LockError(`Lock ${JSON.stringify(String(this.name))} was lost before release`);
    }
  }

  /** Adds `seconds` to the lock's time to live (or sets it to that with `replace`). */
  async extend(seconds: number, options: { replace?: boolean } = {}): Promise<void> {
    if (this.#token === undefined) throw new LockError("Cannot extend a lock that is not held");
    if (this.#options.timeout === undefined) {
      throw new LockError("Cannot extend a lock created without a timeout");
    }
    const ms = Math.round(seconds * 1000);
    const ok = await this.#client.eval(EXTEND, [this.name], [
      this.#token,
      ms,
      options.replace ? "1" : "0",
    ]);
    if (ok !== 1) {
      throw new LockError(`Lock ${JSON.stringify(String(this.name))} is no longer owned`);
    }
  }

  /** Releases the lock if this object still holds it (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#token !== undefined) await this.release();
  }
}
