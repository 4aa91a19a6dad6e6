// Pub/Sub on a dedicated connection: subscribe, psubscribe, ssubscribe; messages as an
// AsyncIterable, through getMessage(), or to per-channel handlers; re-subscribes on reconnect.
// Spec: https://redis.io/docs/latest/develop/interact/pubsub/ (redis-py's PubSub as the model)

import { utf8Decode } from "../core/bytes.ts";
import type { Operation } from "../core/instrument.ts";
import type { ConnectionStats } from "../core/observe.ts";
import type { ManagedConnection } from "../core/managed_connection.ts";
import { StreamQueue } from "../core/stream_queue.ts";
import { openRedisConnection } from "./open_connection.ts";
import type { ResolvedRedisOptions } from "./client_options.ts";
import type { RedisCommand } from "./connection.ts";
import type { RedisPush, SubscriptionFamily } from "./pubsub_frames.ts";
import type { RespValue } from "./resp_types.ts";
import {
  endRedisOperation,
  type RedisObservability,
  retarget,
  startRedisOperation,
} from "./observe.ts";

/** A message or a subscription change, shaped like redis-py's message dicts. */
export interface PubSubMessage<V> {
  /**
   * `message`, `pmessage`, `smessage`, a subscription kind such as `subscribe`, or
   * `resubscribed` (see {@link ResubscribedMessage}).
   */
  type: string;
  /** The channel (for subscription changes, the channel or pattern changed). */
  channel: string;
  /** The pattern that matched (`pmessage` only). */
  pattern?: string;
  /** The payload; for subscription changes, the number of subscriptions now. */
  data: V | number;
}

/**
 * The marker a subscriber receives (from `getMessage()`, `for await`, and `onResubscribe`)
 * when its connection was lost and replaced: messages published between the last message
 * before the marker and the new subscriptions may have been lost. It comes before the
 * confirmations and messages of the new connection; `data` is the number of subscriptions
 * being restored.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * await using pubsub = redis.pubsub({ onResubscribe: (m) => console.warn("gap", m.channels) });
 * await pubsub.subscribe("news");
 * for await (const m of pubsub) if (m.type === "resubscribed") break; // gap in the stream
 * ```
 */
export interface ResubscribedMessage extends PubSubMessage<never> {
  /** Always `resubscribed`. */
  type: "resubscribed";
  /** Always empty. */
  channel: "";
  /** The number of channels, patterns and shard channels being restored. */
  data: number;
  /** Channels being subscribed again. */
  channels: string[];
  /** Patterns being subscribed again. */
  patterns: string[];
  /** Shard channels being subscribed again. */
  shardChannels: string[];
}

/** Called with each message of a channel or pattern it was registered for. */
export type MessageHandler<V> = (message: PubSubMessage<V>) => void;

/** Options of {@link PubSub}. */
export interface PubSubOptions {
  /** Don't deliver subscribe/unsubscribe confirmations as messages. Default false. */
  ignoreSubscribeMessages?: boolean;
  /** Messages buffered for a slow consumer before reading from the server pauses. Default 10,000. */
  highWaterMark?: number;
  /**
   * Called when the connection was lost and the subscriptions are being restored on a new
   * one (messages may have been lost), with the marker that is also queued. Default none.
   */
  onResubscribe?: (marker: ResubscribedMessage) => void;
  /**
   * Receives what a message handler threw, with the message; the connection and the other
   * subscriptions carry on. Without it the error is rethrown from a fresh task, as an error
   * in any callback would be (an uncaught exception), never swallowed.
   */
  onHandlerError?: (error: unknown, message: PubSubMessage<unknown>) => void;
}

const COMMANDS: Record<SubscriptionFamily, [string, string]> = {
  channel: ["SUBSCRIBE", "UNSUBSCRIBE"],
  pattern: ["PSUBSCRIBE", "PUNSUBSCRIBE"],
  shard: ["SSUBSCRIBE", "SUNSUBSCRIBE"],
};

/**
 * A subscriber with its own connection (in RESP2 a subscribed connection can do nothing
 * else). Messages for channels with a handler go to the handler; all others are queued for
 * `getMessage()` / `for await`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * await using pubsub = redis.pubsub({ ignoreSubscribeMessages: true });
 * await pubsub.subscribe("news");
 * await redis.publish("news", "hello");
 * for await (const message of pubsub) {
 *   console.log(message.channel, message.data); // "news" "hello"
 *   break;
 * }
 * ```
 */
export class PubSub<V = Uint8Array> implements AsyncIterable<PubSubMessage<V>> {
  readonly #conn: ManagedConnection<RedisCommand, RespValue, never, RedisPush>;
  readonly #decode: boolean;
  readonly #ignoreSubscribeMessages: boolean;
  readonly #queue: StreamQueue<PubSubMessage<V>>;
  readonly #onResubscribe: ((marker: ResubscribedMessage) => void) | undefined;
  readonly #onHandlerError: PubSubOptions["onHandlerError"];
  /** Deadline of (un)subscribe commands: the client's `commandTimeout`. */
  readonly #timeout: number | undefined;
  /** A `resubscribed` marker was queued and the subscriptions are not restored yet. */
  #gapAnnounced = false;
  readonly #handlers: Record<SubscriptionFamily, Map<string, MessageHandler<V> | undefined>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };
  readonly #observed: RedisObservability | undefined;
  /** The `kind: "stream"` operation of each family with subscriptions (when instrumented). */
  readonly #streams: Partial<Record<SubscriptionFamily, Operation>> = {};

  /** Use `client.pubsub()`. */
  constructor(options: ResolvedRedisOptions, pubsubOptions: PubSubOptions = {}) {
    this.#decode = options.decode === true;
    this.#ignoreSubscribeMessages = pubsubOptions.ignoreSubscribeMessages ?? false;
    this.#queue = new StreamQueue<PubSubMessage<V>>({
      highWaterMark: pubsubOptions.highWaterMark ?? 10_000,
      onDrain: () => this.#conn.driver?.resumeReading(),
    });
    this.#onResubscribe = pubsubOptions.onResubscribe;
    this.#onHandlerError = pubsubOptions.onHandlerError;
    this.#timeout = options.commandTimeout;
    this.#observed = options.observed;
    this.#conn = openRedisConnection(options, {
      onPush: (push) => this.#deliver(push),
      onConnect: async (run, again) => {
        if (!again) return;
        this.#announceGap();
        this.#resubscribing();
        for (const family of Object.keys(COMMANDS) as SubscriptionFamily[]) {
          const names = [...this.#handlers[family].keys()];
          if (names.length > 0) await run([COMMANDS[family][0], ...names]);
        }
        this.#gapAnnounced = false; // restored: the next loss is a new gap
      },
    });
  }

  /** Queues the `resubscribed` marker once per outage, before anything the new connection says. */
  #announceGap(): void {
    if (this.#gapAnnounced) return;
    const marker: ResubscribedMessage = {
      type: "resubscribed",
      channel: "",
      data: 0,
      channels: this.channels,
      patterns: this.patterns,
      shardChannels: this.shardChannels,
    };
    marker.data = marker.channels.length + marker.patterns.length + marker.shardChannels.length;
    if (marker.data === 0) return; // nothing was subscribed, nothing could be lost
    this.#gapAnnounced = true;
    this.#enqueue(marker);
    this.#onResubscribe?.(marker);
  }

  /** Reports a resubscription: the `resubscribe` event, one more retry of each stream. */
  #resubscribing(): void {
    const [channels, patterns, shardChannels] = [
      this.#handlers.channel.size,
      this.#handlers.pattern.size,
      this.#handlers.shard.size,
    ];
    if (channels + patterns + shardChannels === 0) return;
    for (const op of Object.values(this.#streams)) {
      op.retries++;
      retarget(op, this.#conn);
    }
    const events = this.#observed?.events;
    if (events?.has("resubscribe")) {
      events.emit("resubscribe", {
        address: this.#conn.address,
        channels,
        patterns,
        shardChannels,
      });
    }
  }

  /** Starts or ends the stream operation of `family` as its subscriptions begin or end. */
  #follow(family: SubscriptionFamily): void {
    const op = this.#streams[family];
    const instrumenter = this.#observed?.instrumenter;
    if (!instrumenter) return;
    if (this.#handlers[family].size === 0) {
      delete this.#streams[family];
      endRedisOperation(instrumenter, op, this.#conn);
    } else if (op === undefined && instrumenter.enabled) {
      const name = COMMANDS[family][0];
      const address = this.#conn.address;
      const started = startRedisOperation(
        instrumenter,
        name,
        address,
        undefined,
        undefined,
        "stream",
      );
      if (started) this.#streams[family] = started;
    }
  }

  /** This subscriber's connection, as `stats()` of its client lists it. */
  stats(): ConnectionStats {
    return this.#conn.stats();
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#conn.isClosed;
  }

  /** Channels subscribed to (exact names). */
  get channels(): string[] {
    return [...this.#handlers.channel.keys()];
  }

  /** Patterns subscribed to. */
  get patterns(): string[] {
    return [...this.#handlers.pattern.keys()];
  }

  /** Shard channels subscribed to. */
  get shardChannels(): string[] {
    return [...this.#handlers.shard.keys()];
  }

  /** SUBSCRIBE to channels; pass `{ channel: handler }` to route a channel to a callback. */
  subscribe(...targets: (string | Record<string, MessageHandler<V>>)[]): Promise<void> {
    return this.#change("channel", true, targets);
  }

  /** PSUBSCRIBE to glob patterns. */
  psubscribe(...targets: (string | Record<string, MessageHandler<V>>)[]): Promise<void> {
    return this.#change("pattern", true, targets);
  }

  /** SSUBSCRIBE to shard channels (Redis 7). */
  ssubscribe(...targets: (string | Record<string, MessageHandler<V>>)[]): Promise<void> {
    return this.#change("shard", true, targets);
  }

  /** UNSUBSCRIBE from the channels named, or from all. */
  unsubscribe(...channels: string[]): Promise<void> {
    return this.#change("channel", false, channels);
  }

  /** PUNSUBSCRIBE from the patterns named, or from all. */
  punsubscribe(...patterns: string[]): Promise<void> {
    return this.#change("pattern", false, patterns);
  }

  /** SUNSUBSCRIBE from the shard channels named, or from all. */
  sunsubscribe(...channels: string[]): Promise<void> {
    return this.#change("shard", false, channels);
  }

  async #change(
    family: SubscriptionFamily,
    subscribe: boolean,
    targets: (string | Record<string, MessageHandler<V>>)[],
  ): Promise<void> {
    const names: string[] = [];
    const handlers = this.#handlers[family];
    for (const target of targets) {
      if (typeof target === "string") names.push(target);
      else names.push(...Object.keys(target));
    }
    if (subscribe && names.length === 0) {
      throw new TypeError(`${COMMANDS[family][0]} needs at least one channel`);
    }
    if (subscribe) {
      for (const target of targets) {
        if (typeof target === "string") handlers.set(target, handlers.get(target));
        else for (const [name, handler] of Object.entries(target)) handlers.set(name, handler);
      }
    } else if (names.length === 0) handlers.clear();
    else for (const name of names) handlers.delete(name);
    this.#follow(family);
    const command = COMMANDS[family][subscribe ? 0 : 1];
    await this.#conn.request([command, ...names], { timeout: this.#timeout }, command);
    const stream = this.#streams[family];
    if (stream) retarget(stream, this.#conn); // known once the connection was made
  }

  /**
   * The next message, or null when none arrives within `timeout` ms (default: don't wait).
   * A poll that times out takes nothing: the next message goes to the next poll, so the
   * redis-py loop `while (true) { const m = await pubsub.getMessage({ timeout: 1000 }); }`
   * loses nothing. One poll at a time.
   */
  async getMessage(options: { timeout?: number } = {}): Promise<PubSubMessage<V> | null> {
    const timeout = options.timeout ?? 0;
    if (this.#queue.size === 0 && !(timeout > 0)) return null;
    const result = await this.#queue.nextWithin(timeout);
    return result === undefined || result.done ? null : result.value;
  }

  /** Iterates messages until the PubSub is closed. */
  [Symbol.asyncIterator](): AsyncIterator<PubSubMessage<V>> {
    return {
      next: () => this.#queue.next(),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  #value(bytes: Uint8Array): V {
    return (this.#decode ? utf8Decode(bytes) : bytes) as V;
  }

  #deliver(push: RedisPush): void {
    let message: PubSubMessage<V>;
    let handler: MessageHandler<V> | undefined;
    if (push.type === "message") {
      const channel = utf8Decode(push.channel);
      const pattern = push.pattern && utf8Decode(push.pattern);
      const type = pattern !== undefined ? "pmessage" : push.sharded ? "smessage" : "message";
      message = { type, channel, data: this.#value(push.message) };
      if (pattern !== undefined) message.pattern = pattern;
      const family: SubscriptionFamily = pattern !== undefined
        ? "pattern"
        : push.sharded
        ? "shard"
        : "channel";
      handler = this.#handlers[family].get(pattern ?? channel);
    } else if (push.type === "subscription") {
      if (this.#ignoreSubscribeMessages) return;
      message = {
        type: push.kind,
        channel: push.channel ? utf8Decode(push.channel) : "",
        data: push.count,
      };
    } else {
      return;
    }
    if (handler) {
      try {
        handler(message);
      } catch (error) {
        const report = this.#onHandlerError;
        if (report) report(error, message);
        else {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
      return;
    }
    this.#enqueue(message);
  }

  #enqueue(message: PubSubMessage<V>): void {
    if (!this.#queue.push(message)) this.#conn.driver?.pauseReading();
  }

  /** Unsubscribes from everything and closes the connection; iteration ends. */
  async close(): Promise<void> {
    this.#queue.end();
    for (const family of Object.keys(this.#streams) as SubscriptionFamily[]) {
      endRedisOperation(this.#observed!.instrumenter, this.#streams[family], this.#conn);
      delete this.#streams[family];
    }
    await this.#conn.close();
  }

  /** Closes the subscriber at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
