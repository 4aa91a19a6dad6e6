// The surface the etcd v3 clients (kv, leases, watches, locks, admin) use on a channel: what the
// JSON gateway's Channel and the native GrpcChannel both implement, so callers do not care.

import type { EventHub } from "../core/events.ts";
import type { Operation } from "../core/instrument.ts";
import type { ClientStats } from "../core/observe.ts";
import type { StreamQueue } from "../core/stream_queue.ts";
import type { Decode } from "./answer.ts";
import type { Address, CallInfo, CallOptions, ChannelSummary } from "./channel_options.ts";
import type { EtcdEvents } from "./events.ts";

/** An open stream of a channel: its items are JSON lines as the gateway sends them. */
export interface ChannelStream {
  /** The lines (`{"result": ...}` or `{"error": ...}`), UTF-8. */
  items: StreamQueue<Uint8Array>;
  /** The endpoint it runs on. */
  endpoint: Address;
  /** Ends the stream. */
  close: () => void;
  /** Which token went with it (see {@link EtcdChannel.renewToken}). */
  tokenGeneration: number;
}

/** Options of {@link EtcdChannel.openStream}. */
export interface StreamOptions {
  /** Aborts opening the stream. */
  signal?: AbortSignal;
  /** The Operation its attempts count toward. */
  operation?: Operation;
  /** The first attempt is itself a re-send (a watch restarting). */
  resumed?: boolean;
}

/**
 * An etcd v3 channel, addressed with the gateway's paths and JSON (proto3 JSON mapping:
 * bytes base64, 64-bit integers as strings, defaults omitted) whatever it speaks on the wire.
 *
 * @example
 * ```ts
 * import type { EtcdChannel } from "./etcd_channel.ts";
 * async function revision(channel: EtcdChannel): Promise<string> {
 *   const answer = await channel.call("/v3/maintenance/status", {});
 *   return String((answer.header as { revision?: string }).revision);
 * }
 * ```
 */
export interface EtcdChannel {
  /** What it speaks on the wire. */
  readonly protocol: "grpc" | "gateway";
  /** True once `close()` was called. */
  readonly isClosed: boolean;
  /** The hub of the channel's events. */
  readonly events: EventHub<EtcdEvents>;
  /** Tokens fetched so far. */
  readonly authentications: number;
  /** The endpoint the next call goes to first. */
  readonly currentEndpoint: Address;
  /** Each endpoint's state and counters. */
  stats(): ClientStats;
  /** Starts an Operation when a hook listens. */
  startOperation(
    operation: string,
    kind?: "request" | "stream",
    batchSize?: number,
  ): Operation | undefined;
  /** Ends an Operation of {@link startOperation}. */
  endOperation(op: Operation | undefined, error?: unknown): void;
  /** The summary shown by `JSON.stringify` and inspect: never a secret. */
  toJSON(): ChannelSummary;
  /** Runs `hook` when the channel closes; returns an unsubscriber. */
  onClose(hook: () => void): () => void;
  /** True when `error` is a rejection of the auth token that a new token may cure. */
  isTokenRejection(error: unknown): boolean;
  /** Fetches a new token after a stream of `generation` was refused (once per burst). */
  renewToken(generation: number, options?: CallOptions): Promise<void>;
  /** One unary call by gateway path with a JSON body; the answer through `decode`. */
  call<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options?: CallOptions,
    decode?: Decode<T>,
    about?: CallInfo,
  ): Promise<T>;
  /** Refreshes lease `id` once; resolves with its new TTL in seconds (0: it expired). */
  keepAlive(id: bigint, options?: CallOptions): Promise<number>;
  /** Opens a stream (watch, snapshot) by gateway path. */
  openStream(path: string, body: unknown, options?: StreamOptions): Promise<ChannelStream>;
  /** A blocking call (lock, campaign), re-sent once with a new token when it was refused. */
  callDedicated<T>(
    path: string,
    body: unknown,
    options: CallOptions,
    decode: Decode<T>,
  ): Promise<T>;
  /** Closes every connection. */
  close(): void;
}
