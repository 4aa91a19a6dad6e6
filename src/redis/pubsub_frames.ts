// Pub/Sub frame classification for the Redis machine: which replies are messages, which are
// (un)subscribe confirmations, and how many confirmations a command will produce.
// Spec: https://redis.io/docs/latest/develop/interact/pubsub/ (RESP2 arrays, RESP3 push frames)

import { asciiDecode } from "../core/bytes.ts";
import type { RespValue } from "./resp_types.ts";

/** A server push delivered outside any request: a message, a subscription change, or other. */
export type RedisPush =
  | {
    type: "message";
    channel: Uint8Array;
    message: Uint8Array;
    /** The pattern that matched, for `pmessage`. */
    pattern?: Uint8Array;
    /** True for `smessage` (sharded pub/sub). */
    sharded: boolean;
  }
  | {
    type: "subscription";
    /** `subscribe`, `psubscribe`, `ssubscribe`, `unsubscribe`, `punsubscribe`, `sunsubscribe`. */
    kind: SubscriptionKind;
    channel: Uint8Array | null;
    /** Subscriptions of this connection after the change, as the server counts them. */
    count: number;
    /** True when no command asked for it: the server dropped it (e.g. a shard's slot moved). */
    dropped?: boolean;
  }
  | {
    /** Any other RESP3 push, such as `invalidate` from client-side caching. */
    type: "push";
    kind: string;
    items: RespValue[];
  };

/** The push that reports a subscription change. */
export type RedisSubscriptionPush = Extract<RedisPush, { type: "subscription" }>;

/** The six commands that change subscriptions; each answers with one frame per channel. */
export const SUBSCRIPTION_KINDS = [
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
] as const;

/** One of {@link SUBSCRIPTION_KINDS}. */
export type SubscriptionKind = typeof SUBSCRIPTION_KINDS[number];

/** Which of the three subscription sets a kind touches. */
export type SubscriptionFamily = "channel" | "pattern" | "shard";

/**
 * The family of a subscription kind.
 *
 * @example
 * ```ts
 * import { familyOf } from "@kvwire/kvwire/redis";
 * familyOf("punsubscribe"); // "pattern"
 * ```
 */
export function familyOf(kind: SubscriptionKind): SubscriptionFamily {
  if (kind === "psubscribe" || kind === "punsubscribe") return "pattern";
  if (kind === "ssubscribe" || kind === "sunsubscribe") return "shard";
  return "channel";
}

/**
 * Reads the kind word of a pub/sub frame (`items[0]`) as lower-case text, or `undefined` when
 * the first item is not a short string.
 *
 * @example
 * ```ts
 * import { frameKind } from "@kvwire/kvwire/redis";
 * frameKind([new TextEncoder().encode("message"), "c", "m"]); // "message"
 * ```
 */
export function frameKind(items: readonly RespValue[]): string | undefined {
  const first = items[0];
  if (typeof first === "string") return first.toLowerCase();
  if (first instanceof Uint8Array && first.length <= 16) return asciiDecode(first).toLowerCase();
  return undefined;
}

/**
 * Turns a `message`, `pmessage` or `smessage` frame into a push, or returns `undefined` when
 * the frame is not one of those (or is malformed).
 *
 * @example
 * ```ts
 * import { messageFromFrame } from "@kvwire/kvwire/redis";
 * const e = new TextEncoder();
 * messageFromFrame("message", [e.encode("message"), e.encode("news"), e.encode("hi")]);
 * // { type: "message", channel: news, message: hi, sharded: false }
 * ```
 */
export function messageFromFrame(
  kind: string,
  items: readonly RespValue[],
): RedisPush | undefined {
  if (kind === "message" || kind === "smessage") {
    const [, channel, message] = items;
    if (!(channel instanceof Uint8Array) || !(message instanceof Uint8Array)) return undefined;
    return { type: "message", channel, message, sharded: kind === "smessage" };
  }
  if (kind === "pmessage") {
    const [, pattern, channel, message] = items;
    if (
      !(pattern instanceof Uint8Array) || !(channel instanceof Uint8Array) ||
      !(message instanceof Uint8Array)
    ) return undefined;
    return { type: "message", channel, message, pattern, sharded: false };
  }
  return undefined;
}

/** The channel RESP2 invalidations are published on (tracking with `REDIRECT`). */
export const INVALIDATE_CHANNEL = "__redis__:invalidate";

/**
 * Turns a `message` frame of {@link INVALIDATE_CHANNEL} (its payload a key array, or null
 * after a flush) into the `invalidate` push RESP3 sends, or returns `undefined`.
 *
 * @example
 * ```ts
 * import { invalidationFromFrame } from "@kvwire/kvwire/redis";
 * const e = new TextEncoder();
 * invalidationFromFrame("message", [e.encode("message"), e.encode("__redis__:invalidate"), null]);
 * // { type: "push", kind: "invalidate", items: [message, null] }
 * ```
 */
export function invalidationFromFrame(
  kind: string,
  items: readonly RespValue[],
): RedisPush | undefined {
  if (kind !== "message" || items.length !== 3) return undefined;
  const [first, channel, keys] = items;
  if (!(channel instanceof Uint8Array) || channel.length !== INVALIDATE_CHANNEL.length) {
    return undefined;
  }
  if (asciiDecode(channel) !== INVALIDATE_CHANNEL) return undefined;
  if (keys !== null && !Array.isArray(keys)) return undefined; // a bulk: a PUBLISH by someone
  return { type: "push", kind: "invalidate", items: [first, keys] };
}

/**
 * Turns a confirmation frame `[kind, channel, count]` into a push, or `undefined` when the
 * frame isn't one.
 *
 * @example
 * ```ts
 * import { subscriptionFromFrame } from "@kvwire/kvwire/redis";
 * const e = new TextEncoder();
 * subscriptionFromFrame("subscribe", [e.encode("subscribe"), e.encode("news"), 1]);
 * // { type: "subscription", kind: "subscribe", channel: news, count: 1 }
 * ```
 */
export function subscriptionFromFrame(
  kind: string,
  items: readonly RespValue[],
): RedisSubscriptionPush | undefined {
  if (!(SUBSCRIPTION_KINDS as readonly string[]).includes(kind)) return undefined;
  const [, channel, count] = items;
  if (typeof count !== "number") return undefined;
  if (channel !== null && !(channel instanceof Uint8Array)) return undefined;
  return { type: "subscription", kind: kind as SubscriptionKind, channel, count };
}
