// Lua scripts as objects: EVALSHA by digest, falling back to EVAL when the server answers
// NOSCRIPT; inside pipelines the script is loaded first so EVALSHA cannot miss.
// Spec: https://redis.io/docs/latest/develop/interact/programmability/eval-intro/

import { sha1Hex } from "../core/sha1.ts";
import type { RedisKey, RedisValue } from "./commands/base.ts";
import { RedisError } from "./errors.ts";

/** What a script runs on: a client (Promise results) or a pipeline (queued). */
export interface ScriptRunner {
  /** EVALSHA: runs a script the server has cached, by its SHA-1 digest. */
  evalSha(sha1: string, keys?: RedisKey[], args?: RedisValue[]): unknown;
  /** EVAL: sends and runs a script's source. */
  eval(script: string, keys?: RedisKey[], args?: RedisValue[]): unknown;
}

/** A pipeline that can be told to load a script before its commands run. */
export interface ScriptLoader {
  /** Makes the pipeline load `script` (SCRIPT LOAD) before its commands run. */
  loadScript(script: Script): void;
}

/**
 * A registered Lua script, like redis-py's `register_script`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * const multiply = redis.registerScript(
 *   "local value = redis.call('GET', KEYS[1]) return value * ARGV[1]",
 * );
 * await redis.set("foo", 2);
 * await multiply.run(["foo"], [5]); // 10
 * ```
 */
export class Script {
  /** The Lua source. */
  readonly source: string;
  /** Its SHA1 digest, as EVALSHA wants it. */
  readonly sha1: string;
  readonly #client: ScriptRunner;

  /** Use `client.registerScript(source)`. */
  constructor(client: ScriptRunner, source: string) {
    if (typeof source !== "string" || source.length === 0) {
      throw new TypeError("A script needs its Lua source as a non-empty string");
    }
    this.#client = client;
    this.source = source;
    this.sha1 = sha1Hex(source);
  }

  /**
   * Queues the script in `pipeline` (a pipeline or transaction, which loads it before its
   * commands run) and returns the pipeline: the same as {@link queue}.
   */
  run<P extends ScriptRunner & ScriptLoader>(keys: RedisKey[], args: RedisValue[], pipeline: P): P;
  /**
   * Runs the script on the client it was registered with, or on `client` (as redis-py's
   * `script(keys, args, client=...)`): EVALSHA, then EVAL when the server answers NOSCRIPT.
   * Keys get that client's `keyPrefix`; `args` (ARGV) never do.
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect({ decode: true });
   * await using other = await RedisClient.connect({ decode: true, db: 1 });
   * const get = redis.registerScript("return redis.call('GET', KEYS[1])");
   * await get.run(["k"], [], other); // runs in db 1
   * ```
   */
  run(keys?: RedisKey[], args?: RedisValue[], client?: ScriptRunner): Promise<unknown>;
  run(
    keys: RedisKey[] = [],
    args: RedisValue[] = [],
    client: ScriptRunner = this.#client,
  ): Promise<unknown> | ScriptRunner {
    if (typeof (client as Partial<ScriptLoader>).loadScript === "function") {
      return this.queue(client as ScriptRunner & ScriptLoader, keys, args);
    }
    return this.#runOn(client, keys, args);
  }

  async #runOn(client: ScriptRunner, keys: RedisKey[], args: RedisValue[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha1, keys, args);
    } catch (error) {
      if (!(error instanceof RedisError) || error.serverCode !== "NOSCRIPT") throw error;
      return await client.eval(this.source, keys, args); // EVAL also caches it
    }
  }

  /** Queues the script in a pipeline or transaction, which loads it before running. */
  queue<P extends ScriptRunner & ScriptLoader>(
    pipeline: P,
    keys: RedisKey[] = [],
    args: RedisValue[] = [],
  ): P {
    pipeline.loadScript(this);
    pipeline.evalSha(this.sha1, keys, args);
    return pipeline;
  }
}
