// The settings of the etcd channel and of its calls, and what the channel shows of itself.

import type { EventHub } from "../core/events.ts";
import type { Instrumenter } from "../core/instrument.ts";
import type { Connect, ConnectOptions } from "../core/transport.ts";
import type { EtcdEvents } from "./events.ts";

/** A TCP endpoint. */
export interface Address {
  /** Host name or IP address. */
  host: string;
  /** TCP port. */
  port: number;
}

/**
 * Bounds on what an etcd server may send, checked before anything is buffered; an answer over
 * a limit is a `RemoteProtocolError` and its connection is dropped.
 */
export interface EtcdLimits {
  /**
   * Largest answer body: a declared Content-Length, or the sum of a chunked body's chunk
   * sizes. Default 64 MiB (etcd's own request limit is 1.5 MiB, but one range or a v2
   * recursive listing may carry many keys).
   */
  maxResponseBytes?: number;
  /** Largest watch message (one line of a streamed answer), and chunk of it. Default 16 MiB. */
  maxWatchMessageBytes?: number;
  /** Largest status line plus headers of an answer. Default 64 KiB. */
  maxHeaderBytes?: number;
}

/** Settings of a {@link Channel}. */
export interface ChannelOptions extends EtcdLimits {
  /** The etcd members to talk to, tried in turn on failure. */
  endpoints: Address[];
  /** The transport connector. */
  connect: Connect;
  /** TLS: `true` for defaults (certificate verified), or settings. */
  tls?: ConnectOptions["tls"];
  /** Milliseconds to open a connection. Default 5,000. */
  connectTimeout?: number;
  /** Default deadline of a call in milliseconds, retries included. Default 30,000. */
  requestTimeout?: number;
  /** Unary connections per endpoint. Default 8. */
  maxConnections?: number;
  /** User name and password: a token is fetched and sent with every request. */
  auth?: { username: string; password: string };
  /**
   * Milliseconds a pooled connection may stay silent with a call in flight before it is
   * presumed dead, closed and its endpoint marked down. Default off: a call whose deadline
   * passes with no byte received closes its connection in any case.
   */
  silenceTimeout?: number;
  /**
   * gRPC only: milliseconds between liveness PINGs on a connection with calls or streams open;
   * a PING unanswered for as long closes the connection (`UnresponsiveError`): its calls fail
   * over and its watches restart. Default 30,000. etcd refuses PINGs more often than every
   * 5 s by default (`--grpc-keepalive-min-time`) with a GOAWAY.
   */
  keepAliveInterval?: number;
  /** Where the channel's events go. Default: a hub of its own. */
  events?: EventHub<EtcdEvents>;
  /** The hooks that see each call and stream. Default: the process-wide ones only. */
  instrumenter?: Instrumenter;
}

/** What a call is, as its Operation names it (default: the gRPC method of its path). */
export interface CallInfo {
  /** The operation name, such as `Range`. */
  operation: string;
  /** Requests it carries (a batch of coalesced reads). */
  batchSize?: number;
}

/** What a {@link Channel} (and the clients on it) show of themselves: never a secret. */
export interface ChannelSummary {
  /** The endpoints as `host:port`. */
  endpoints: string[];
  /** Whether connections use TLS. */
  tls: boolean;
  /** Whether a client certificate is presented (mutual TLS). */
  clientCertificate: boolean;
  /** The user name of `auth`, when set (the password and token are never shown). */
  username?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline of the call in milliseconds, retries included. */
  timeout?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
  /** The call may run again after its fate became unknown (reads). Default false. */
  idempotent?: boolean;
}
