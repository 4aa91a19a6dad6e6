// What the Redis connection machine knows about a command name: its canonical spelling, the
// reply types it may get, whether it is refused or allowed in RESP2 subscribed mode.

import { asciiDecode } from "../core/bytes.ts";
import { SUBSCRIPTION_KINDS, type SubscriptionKind } from "./pubsub_frames.ts";
import { replyTypesOf } from "./reply_shapes.ts";
import type { RedisArg } from "./resp_encoder.ts";

const SUBSCRIBED_MODE_ALLOWED = new Set([
  ...SUBSCRIPTION_KINDS.map((k) => k.toUpperCase()),
  "PING",
  "QUIT",
  "RESET",
]);
const REFUSED = new Set(["MONITOR", "SYNC", "PSYNC"]);

/** What the machine needs to know about a command name, computed once per spelling. */
export interface CommandInfo {
  name: string;
  /** The reply types the command may get (see reply_shapes.ts), or undefined: not checked. */
  replyTypes: string | undefined;
  refused: boolean;
  subscription: SubscriptionKind | undefined;
  allowedWhenSubscribed: boolean;
}

const COMMAND_INFO = new Map<RedisArg, CommandInfo>();
const COMMAND_INFO_LIMIT = 4096; // spellings cached; others are computed each time

/**
 * What the connection machine needs to know about a command (cached per string spelling).
 *
 * @example
 * ```ts
 * import { commandInfo } from "@kvwire/kvwire/redis";
 * commandInfo("get", "k").name; // "GET"
 * ```
 */
export function commandInfo(first: RedisArg, second: RedisArg | undefined): CommandInfo {
  const cached = COMMAND_INFO.get(first);
  if (cached) return cached;
  const name = commandName(first);
  const kind = name.toLowerCase();
  const info: CommandInfo = {
    name,
    replyTypes: replyTypesOf(name),
    refused: REFUSED.has(name) ||
      (name === "CLIENT" && second !== undefined && commandName(second) === "REPLY"),
    subscription: (SUBSCRIPTION_KINDS as readonly string[]).includes(kind)
      ? kind as SubscriptionKind
      : undefined,
    allowedWhenSubscribed: SUBSCRIBED_MODE_ALLOWED.has(name),
  };
  // CLIENT's meaning depends on its subcommand, so it is never cached.
  if (typeof first === "string" && name !== "CLIENT" && COMMAND_INFO.size < COMMAND_INFO_LIMIT) {
    COMMAND_INFO.set(first, info);
  }
  return info;
}

/**
 * A command name or subcommand in upper case, from any argument type.
 *
 * @example
 * ```ts
 * import { commandName } from "@kvwire/kvwire/redis";
 * commandName(new TextEncoder().encode("get")); // "GET"
 * ```
 */
export function commandName(arg: RedisArg): string {
  if (typeof arg === "string") return arg.toUpperCase();
  if (arg instanceof Uint8Array) return asciiDecode(arg).toUpperCase();
  return String(arg);
}
