// Sharded pub/sub over a cluster: SSUBSCRIBE routed by slot to one subscriber per master; channels
// follow their slot when a resharding moves it (the old master drops them with `sunsubscribe`)
// or when their master's connection is lost (failover), with a `resubscribed` marker.

import { ConnectError, ConnectionClosedError, TimeoutError } from "../../core/errors.ts";
import { StreamQueue } from "../../core/stream_queue.ts";
import { RedisError } from "../errors.ts";
import {
  type MessageHandler,
  pollMessage,
  PubSub,
  type PubSubMessage,
  type PubSubOptions,
  type ResubscribedMessage,
} from "../pubsub.ts";
import { redirectTarget, retryDelay } from "./routed_request.ts";
import { keySlot } from "./slot.ts";
import type { NodeKey } from "./slot_map.ts";
import type { ClusterNode, ClusterTopology } from "./topology.ts";

/** Server replies after which subscribing is tried again (the slot is on its way). */
const RETRIED = new Set(["ASK", "MOVED", "TRYAGAIN", "CLUSTERDOWN", "LOADING"]);

/**
 * A sharded pub/sub subscriber over a whole cluster (from `cluster.shardPubsub()`): each shard
 * channel is subscribed on the master serving its slot, one connection per master. When a
 * resharding moves a slot, the old master drops its channels; they are subscribed again on the
 * new master, and a {@link ResubscribedMessage} with `reason: "moved"` (also given to
 * `onResubscribe`) comes before the new master's confirmations and messages. When a master's
 * connection is lost (the master failed over, or restarted), its channels are subscribed again
 * wherever the slot map then says, after a marker with `reason: "reconnect"`. Messages published
 * in between are lost, as Redis does not keep them.
 *
 * @example
 * ```ts
 * import { RedisClusterClient } from "@kvwire/kvwire/redis";
 * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"], decode: true });
 * await using sub = cluster.shardPubsub({ onResubscribe: (m) => console.log("moved", m.shardChannels) });
 * await sub.ssubscribe({ orders: (m) => console.log(m.data) }, "invoices");
 * await cluster.sPublish("orders", "o-1");
 * ```
 */
export class ShardPubSub<V = Uint8Array> implements AsyncIterable<PubSubMessage<V>> {
  readonly #topology: ClusterTopology;
  readonly #options: PubSubOptions;
  readonly #queue: StreamQueue<PubSubMessage<V>>;
  /** Channel → its handler (undefined: queued), for every channel wanted. */
  readonly #handlers = new Map<string, MessageHandler<V> | undefined>();
  /** Channel → the node it is subscribed (or being subscribed) on. */
  readonly #where = new Map<string, NodeKey>();
  readonly #nodes = new Map<NodeKey, PubSub<V>>();
  readonly #track: ((subscriber: PubSub<V>) => void) | undefined;
  /** Channels to subscribe again elsewhere, moved together at the next microtask. */
  readonly #dropped = new Set<string>();
  /** Why the channels in {@link #dropped} move. */
  #reason: ResubscribedMessage["reason"] = "moved";
  /** Wakes the backoff waits when closing. */
  readonly #waits = new Set<() => void>();
  #closed = false;

  /** Use `cluster.shardPubsub()`. */
  /**
   * Subscribes through `topology`'s masters; `track` learns of each per-master subscriber made
   * (the cluster client lists them in its `stats()`).
   */
  constructor(
    topology: ClusterTopology,
    options: PubSubOptions = {},
    track?: (subscriber: PubSub<V>) => void,
  ) {
    this.#topology = topology;
    this.#options = options;
    this.#track = track;
    this.#queue = new StreamQueue<PubSubMessage<V>>({
      highWaterMark: options.highWaterMark ?? 10_000,
      onDrain: () => {
        for (const sub of this.#nodes.values()) sub.resumeReading();
      },
    });
  }

  /** Shard channels subscribed to (or being moved). */
  get shardChannels(): string[] {
    return [...this.#handlers.keys()];
  }

  /**
   * SSUBSCRIBE to shard channels of any slots (one SSUBSCRIBE per slot, on its master); pass
   * `{ channel: handler }` to route a channel to a callback. Retries within the cluster's
   * `retryTimeout` while a slot has no reachable master.
   */
  async ssubscribe(...targets: (string | Record<string, MessageHandler<V>>)[]): Promise<void> {
    const entries = targets.flatMap((t): [string, MessageHandler<V> | undefined][] =>
      typeof t === "string" ? [[t, undefined]] : Object.entries(t)
    );
    if (entries.length === 0) throw new TypeError("SSUBSCRIBE needs at least one channel");
    if (this.#closed) throw new ConnectionClosedError("The subscriber is closed");
    const added = entries.map(([name]) => name).filter((name) => !this.#handlers.has(name));
    for (const [name, handler] of entries) this.#handlers.set(name, handler);
    const giveUpAt = performance.now() + this.#topology.retryTimeout;
    try {
      if (!this.#topology.map) await this.#topology.refresh();
      const names = [...new Set(entries.map(([name]) => name))];
      const placed = await Promise.allSettled(
        [...bySlot(names)].map(([slot, group]) => this.#place(slot, group, giveUpAt)),
      );
      const failed = placed.find((p) => p.status === "rejected");
      if (failed) throw failed.reason; // once every slot settled, so the undo below is complete
    } catch (error) {
      if (added.length > 0) await this.sunsubscribe(...added).catch(() => {});
      throw error;
    }
  }

  /** SUNSUBSCRIBE from the shard channels named, or from all. */
  async sunsubscribe(...channels: string[]): Promise<void> {
    const names = channels.length > 0 ? channels : [...this.#handlers.keys()];
    const byNode = new Map<NodeKey, string[]>();
    for (const name of names) {
      this.#handlers.delete(name);
      const key = this.#where.get(name);
      this.#where.delete(name);
      if (key !== undefined) byNode.set(key, [...(byNode.get(key) ?? []), name]);
    }
    const sent: Promise<void>[] = [];
    for (const [key, group] of byNode) {
      const sub = this.#nodes.get(key);
      for (const [, same] of bySlot(group)) {
        // MOVED: the slot left that node, which dropped the channel already.
        if (sub) sent.push(sub.sunsubscribe(...same).catch(ignoreRedisError));
      }
    }
    await Promise.all(sent);
    this.#closeIdle();
  }

  /**
   * The next message, or null when none arrives within `timeout` ms (default: don't wait); as
   * `PubSub.getMessage`.
   */
  getMessage(options: { timeout?: number } = {}): Promise<PubSubMessage<V> | null> {
    return pollMessage(this.#queue, options.timeout);
  }

  /** Iterates messages until the subscriber is closed. */
  [Symbol.asyncIterator](): AsyncIterator<PubSubMessage<V>> {
    return {
      next: () => this.#queue.next(),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /** Unsubscribes from everything and closes every connection; iteration ends. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.end();
    for (const wake of this.#waits) wake();
    const subs = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(subs.map((s) => s.close()));
  }

  /** Closes the subscriber at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Subscribes channels of one slot on its master, following MOVED; retries until `giveUpAt`. */
  async #place(slot: number, names: readonly string[], giveUpAt: number): Promise<void> {
    let redirects = 0;
    for (let attempt = 0;; attempt++) {
      const wanted = names.filter((name) => this.#handlers.has(name));
      if (this.#closed || wanted.length === 0) return;
      let node = this.#topology.masterOf(slot);
      if (!node) {
        await this.#topology.refresh().catch(() => {});
        node = this.#topology.masterOf(slot);
      }
      let error: Error = new ConnectError(`No master serves slot ${slot} yet`);
      if (node) {
        for (const name of wanted) this.#where.set(name, node.key);
        try {
          await this.#subscriber(node).ssubscribe(...wanted.map((name) => {
            const handler = this.#handlers.get(name);
            return handler ? { [name]: handler } : name;
          }));
          return;
        } catch (e) {
          error = e as Error;
          for (const name of wanted) {
            if (this.#where.get(name) === node.key) this.#where.delete(name);
          }
        }
        const redirect = error instanceof RedisError && error.serverCode === "MOVED"
          ? redirectTarget(error.message, node.key)
          : undefined;
        if (redirect && ++redirects <= this.#topology.maxRedirections) {
          this.#topology.moved(redirect.slot, redirect.target);
          continue;
        }
        if (!retried(error)) throw error;
        this.#topology.refreshSoon("retry");
      }
      const delay = retryDelay(attempt);
      if (performance.now() + delay >= giveUpAt) throw error;
      await this.#wait(delay);
    }
  }

  /** The subscriber on `node`, made on first use; its messages come to this queue. */
  #subscriber(node: ClusterNode): PubSub<V> {
    let sub = this.#nodes.get(node.key);
    if (!sub) {
      const { ignoreSubscribeMessages, onResubscribe, onHandlerError } = this.#options;
      const created: PubSub<V> = new PubSub<V>(
        this.#topology.subscriberOptions(node, false), // a lost connection: see #lost
        { ignoreSubscribeMessages, onResubscribe, onHandlerError },
        {
          push: (m) => this.#queue.push(m),
          dropped: (channel) => this.#drop(channel, "moved"),
          lost: () => this.#lost(node.key, created),
        },
      );
      sub = created;
      this.#nodes.set(node.key, sub);
      this.#track?.(sub);
    }
    return sub;
  }

  /** `channel` must be subscribed again (`why`): it moves with the others dropped now. */
  #drop(channel: string, why: ResubscribedMessage["reason"]): void {
    if (this.#closed || !this.#handlers.has(channel)) return;
    this.#where.delete(channel);
    if (this.#dropped.size === 0) queueMicrotask(() => void this.#move());
    if (why === "reconnect") this.#reason = why; // a gap: messages may be lost
    this.#dropped.add(channel);
  }

  /**
   * The connection of `sub` (on `key`) was lost: rather than reconnecting to an address that
   * may no longer serve the slots, it is closed and its channels go where the map says.
   */
  #lost(key: NodeKey, sub: PubSub<V>): void {
    if (this.#nodes.get(key) !== sub) return; // closed on purpose
    this.#nodes.delete(key);
    sub.close().catch(() => {});
    this.#topology.refreshSoon("disconnect");
    for (const [channel, where] of this.#where) {
      if (where === key) this.#drop(channel, "reconnect");
    }
  }

  /** Announces the dropped channels, then subscribes them where their slots are now. */
  async #move(): Promise<void> {
    const channels = [...this.#dropped].filter((c) => this.#handlers.has(c));
    const reason = this.#reason;
    this.#dropped.clear();
    this.#reason = "moved";
    if (this.#closed || channels.length === 0) return;
    const marker: ResubscribedMessage = {
      type: "resubscribed",
      channel: "",
      reason,
      data: channels.length,
      channels: [],
      patterns: [],
      shardChannels: channels,
    };
    this.#queue.push(marker);
    this.#options.onResubscribe?.(marker);
    this.#closeIdle();
    await Promise.all(
      [...bySlot(channels)].map(([slot, group]) =>
        this.#place(slot, group, Infinity).catch(() => this.#lose(group))
      ),
    );
  }

  /** Channels that cannot be subscribed again (the server refused): a `sunsubscribe` tells. */
  #lose(channels: readonly string[]): void {
    for (const channel of channels) {
      if (!this.#handlers.delete(channel)) continue;
      this.#where.delete(channel);
      this.#queue.push({ type: "sunsubscribe", channel, data: this.#handlers.size });
    }
  }

  /** Closes the subscribers of nodes no channel is subscribed on any more. */
  #closeIdle(): void {
    for (const [key, sub] of this.#nodes) {
      if (sub.shardChannels.length > 0) continue;
      this.#nodes.delete(key);
      sub.close().catch(() => {});
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#waits.add(wake);
    });
  }
}

/** Channel names grouped by slot. */
function bySlot(names: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const name of names) {
    const slot = keySlot(name);
    groups.set(slot, [...(groups.get(slot) ?? []), name]);
  }
  return groups;
}

/** Whether subscribing may work when tried again: the slot is moving, or a node is lost. */
function retried(error: Error): boolean {
  if (error instanceof RedisError) return RETRIED.has(error.serverCode);
  return error instanceof ConnectionClosedError || error instanceof ConnectError ||
    error instanceof TimeoutError;
}

function ignoreRedisError(error: unknown): void {
  if (!(error instanceof RedisError)) throw error;
}
