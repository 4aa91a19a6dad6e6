// The `keyPrefix` option (as ioredis's): every key argument of a command gets the prefix, found
// by the key positions of command_keys.ts; key patterns (SCAN MATCH, KEYS, SORT BY/GET) too.
// Channels, values, ARGV and replies are left alone.

import { concatBytes, utf8Encode } from "../core/bytes.ts";
import { commandName } from "./command_info.ts";
import { keyIndexes, sortArguments } from "./command_keys.ts";
import type { RedisArg } from "./resp_encoder.ts";

/** Bytes that are special in a Redis glob pattern (escaped in a prefix put before one). */
const GLOB_SPECIAL = new Set([0x2a, 0x3f, 0x5b, 0x5d, 0x5c]); // * ? [ ] \

/** Sharded channels: routed like keys in a cluster, but channels, so never prefixed. */
const CHANNELS = new Set(["SPUBLISH", "SSUBSCRIBE", "SUNSUBSCRIBE"]);

/**
 * A key prefix applied to commands before they are sent. A command whose keys kvwire cannot
 * locate (a module's, a newer server's) is refused with a `TypeError` rather than sent with
 * unprefixed keys, which would reach outside the prefix.
 *
 * @example
 * ```ts
 * import { KeyPrefix } from "@kvwire/kvwire/redis";
 * const prefix = new KeyPrefix("app:");
 * prefix.apply(["MSET", "a", "1", "b", "2"]); // ["MSET", "app:a", "1", "app:b", "2"]
 * prefix.apply(["SCAN", "0"]); // ["SCAN", "0", "MATCH", "app:*"]
 * ```
 */
export class KeyPrefix {
  /** The prefix as given. */
  readonly prefix: string | Uint8Array;
  readonly #plain: Head;
  /** The prefix with glob characters escaped, for patterns. */
  readonly #glob: Head;

  /** Checks the prefix: a non-empty string or byte array. */
  constructor(prefix: string | Uint8Array) {
    if (!(typeof prefix === "string" || prefix instanceof Uint8Array) || prefix.length === 0) {
      throw new TypeError("keyPrefix must be a non-empty string or Uint8Array");
    }
    this.prefix = prefix;
    const text = typeof prefix === "string" ? prefix : undefined;
    const bytes = text === undefined ? (prefix as Uint8Array).slice() : utf8Encode(text);
    this.#plain = { bytes, text };
    const glob: number[] = [];
    for (const byte of bytes) {
      if (GLOB_SPECIAL.has(byte)) glob.push(0x5c);
      glob.push(byte);
    }
    this.#glob = { bytes: Uint8Array.from(glob), text: text?.replace(/[*?[\]\\]/g, "\\$&") };
  }

  /** The command with the prefix on each key and key pattern (a new array; `args` is kept). */
  apply(args: readonly RedisArg[]): RedisArg[] {
    const out = this.tryApply(args);
    if (out instanceof TypeError) throw out;
    return out;
  }

  /** {@link apply}, returning the `TypeError` of an unknown command instead of throwing it. */
  tryApply(args: readonly RedisArg[]): RedisArg[] | TypeError {
    const out = [...args];
    if (args.length === 0) return out;
    const name = commandName(args[0]);
    if (CHANNELS.has(name)) return out;
    if (name === "SCAN") return this.#scan(out);
    if (name === "KEYS") {
      if (out.length > 1) out[1] = this.#join(this.#glob, out[1]);
      return out;
    }
    const keys = keyIndexes(args);
    if (keys === undefined) {
      return new TypeError(
        `keyPrefix: kvwire does not know which arguments of ${name} are keys, so it will not ` +
          "send it with unprefixed keys; send it from a client without keyPrefix",
      );
    }
    for (const i of keys) out[i] = this.key(out[i]);
    if (name === "SORT" || name === "SORT_RO") {
      for (const i of sortArguments(args).patterns) out[i] = this.key(out[i]);
    }
    return out;
  }

  /** One key with the prefix. */
  key(key: RedisArg): RedisArg {
    return this.#join(this.#plain, key);
  }

  /** SCAN cursor [MATCH p] [COUNT n] [TYPE t]: MATCH gets the prefix, or `prefix*` is added. */
  #scan(out: RedisArg[]): RedisArg[] {
    for (let i = 2; i < out.length - 1; i += 2) {
      if (commandName(out[i]) === "MATCH") {
        out[i + 1] = this.#join(this.#glob, out[i + 1]);
        return out;
      }
    }
    out.push("MATCH", this.#join(this.#glob, "*"));
    return out;
  }

  /** `head` then `arg`: a string when both are text, else bytes. */
  #join(head: Head, arg: RedisArg): RedisArg {
    if (head.text !== undefined && !(arg instanceof Uint8Array)) return head.text + String(arg);
    return concatBytes([head.bytes, arg instanceof Uint8Array ? arg : utf8Encode(String(arg))]);
  }
}

/** A prefix as bytes, and as text when it was given as a string. */
interface Head {
  bytes: Uint8Array;
  text: string | undefined;
}

/**
 * The {@link KeyPrefix} of a `keyPrefix` option; undefined when none is set.
 *
 * @example
 * ```ts
 * import { keyPrefixOf } from "@kvwire/kvwire/redis";
 * keyPrefixOf(undefined); // undefined
 * keyPrefixOf("app:")?.key("k"); // "app:k"
 * ```
 */
export function keyPrefixOf(option: string | Uint8Array | undefined): KeyPrefix | undefined {
  return option === undefined ? undefined : new KeyPrefix(option);
}
