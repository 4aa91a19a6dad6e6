// The pub/sub bookkeeping of the RESP machine (connection.ts): the subscriptions predicted from
// the commands sent (for unsubscribe-all), subscription commands awaiting confirmations, and
// the counts the server last reported, which decide RESP2 subscribed mode.

import { utf8Decode } from "../core/bytes.ts";
import { familyOf, type SubscriptionFamily, type SubscriptionKind } from "./pubsub_frames.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";

/**
 * The subscription state of one connection.
 *
 * @example
 * ```ts
 * import { SubscriptionState } from "./subscription_state.ts";
 * const state = new SubscriptionState();
 * state.plan("subscribe", ["SUBSCRIBE", "a", "b"]); // 2 confirmations expected
 * state.count("subscribe", 2);
 * state.serverSubscribed; // true
 * ```
 */
export class SubscriptionState {
  /** Subscriptions as predicted from what we sent, per family (for unsubscribe-all). */
  readonly #predicted: Record<SubscriptionFamily, Set<string>> = {
    channel: new Set(),
    pattern: new Set(),
    shard: new Set(),
  };
  /** Subscription commands sent and not yet settled. */
  pendingCommands = 0;
  /** The server reported a subscription (a channel, pattern or shard channel). */
  serverSubscribed = false;
  /** Subscription counts as the server last reported them (channels+patterns, shard). */
  #regular = 0;
  #shard = 0;

  /**
   * Notes a subscription command being sent; returns the confirmations it expects: one per
   * channel, or without channels one per current subscription of its family (at least one).
   */
  plan(kind: SubscriptionKind, command: readonly RedisArg[]): number {
    const set = this.#predicted[familyOf(kind)];
    const targets = command.slice(1).map(keyOf);
    this.pendingCommands++;
    if (kind.includes("unsub")) {
      const expect = targets.length > 0 ? targets.length : Math.max(1, set.size);
      if (targets.length === 0) set.clear();
      for (const t of targets) set.delete(t);
      return expect;
    }
    if (targets.length === 0) throw new TypeError(`${kind.toUpperCase()} needs a channel`);
    for (const t of targets) set.add(t);
    return targets.length;
  }

  /** Notes the count of subscriptions the server reported in a frame of `kind`. */
  count(kind: SubscriptionKind, count: number): void {
    if (familyOf(kind) === "shard") this.#shard = count;
    else this.#regular = count;
    this.serverSubscribed = this.#regular > 0 || this.#shard > 0;
  }

  /** The server dropped a subscription on its own (e.g. a sharded slot moved). */
  dropped(kind: SubscriptionKind, channel: Uint8Array | null, count: number): void {
    if (channel) this.#predicted[familyOf(kind)].delete(keyOf(channel));
    this.count(kind, count);
  }

  /** Forgets every subscription (after RESET). */
  forget(): void {
    for (const set of Object.values(this.#predicted)) set.clear();
    this.#regular = 0;
    this.#shard = 0;
    this.serverSubscribed = false;
  }
}

function keyOf(arg: RedisArg | RespValue): string {
  return arg instanceof Uint8Array ? utf8Decode(arg) : String(arg);
}
