// The error classes every kvwire client throws (DESIGN.md §6). Each has a stable `code`;
// messages quote the offending value and name the address, never a password or token.

/** Stable machine-readable codes carried by every {@link KvError}. */
export const ErrorCode = {
  LocalProtocol: "LOCAL_PROTOCOL",
  RemoteProtocol: "REMOTE_PROTOCOL",
  Server: "SERVER",
  ConnectionClosed: "CONNECTION_CLOSED",
  Connect: "CONNECT_FAILED",
  Tls: "TLS_FAILED",
  Timeout: "TIMEOUT",
  Aborted: "ABORTED",
  QueueFull: "QUEUE_FULL",
  MemoryLimit: "MEMORY_LIMIT",
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * Base class of every error kvwire raises on purpose.
 *
 * @example
 * ```ts
 * import { KvError } from "@kvwire/kvwire";
 * try {
 *   // await client.get("k");
 * } catch (err) {
 *   if (err instanceof KvError) console.log(err.code);
 * }
 * ```
 */
export class KvError extends Error {
  /** A stable identifier such as `"TIMEOUT"`; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /**
   * The one word for "may have run": true when the request had been written and its outcome
   * on the server is unknown (kvwire never repeats such a write on its own); false when it is
   * known not to have run, or when the server answered (a {@link ServerError}).
   */
  readonly sent: boolean;

  /** Creates an error with a code, a message and optional cause and `sent` (default false). */
  constructor(code: ErrorCode, message: string, options?: KvErrorOptions) {
    super(message, options);
    this.code = code;
    this.sent = options?.sent ?? false;
    this.name = new.target.name;
  }
}

/** Options of every {@link KvError}: the cause, and whether the request may have run. */
export interface KvErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
  /** True when the request had been written and may have run (see {@link KvError.sent}). */
  sent?: boolean;
}

/**
 * We were asked to do something the protocol forbids in the current state, e.g. a plain
 * command on a RESP2 connection in subscribed mode. Nothing was sent.
 *
 * @example
 * ```ts
 * import { LocalProtocolError } from "@kvwire/kvwire";
 * const err = new LocalProtocolError("GET is not allowed in subscribed mode");
 * console.log(err.code); // "LOCAL_PROTOCOL"
 * ```
 */
export class LocalProtocolError extends KvError {
  /** Creates the error. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.LocalProtocol, message, options);
  }
}

/**
 * The peer sent bytes that break the protocol (malformed frame, over a limit). The connection
 * that saw them is failed and never used again.
 *
 * @example
 * ```ts
 * import { RemoteProtocolError } from "@kvwire/kvwire";
 * const err = new RemoteProtocolError("Unknown RESP type byte 0x21");
 * console.log(err.code); // "REMOTE_PROTOCOL"
 * ```
 */
export class RemoteProtocolError extends KvError {
  /** Creates the error. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.RemoteProtocol, message, options);
  }
}

/**
 * A well-formed error reply from the server. Protocol modules subclass it to carry their own
 * codes (for Redis, the first word such as `WRONGTYPE`).
 *
 * @example
 * ```ts
 * import { ServerError } from "@kvwire/kvwire";
 * const err = new ServerError("ERR unknown command", "ERR");
 * console.log(err.serverCode); // "ERR"
 * ```
 */
export class ServerError extends KvError {
  /** The server's own error code or prefix, when the protocol has one. */
  readonly serverCode: string;

  /** Creates the error from the server's message and code. */
  constructor(message: string, serverCode = "", options?: KvErrorOptions) {
    super(ErrorCode.Server, message, options);
    this.serverCode = serverCode;
  }
}

/**
 * The connection closed (or was closed) before the reply arrived. `sent` tells whether the
 * request had been handed to the transport: if so, the server may have executed it and the
 * outcome is unknown, so kvwire never repeats such a write on its own.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "@kvwire/kvwire";
 * const err = new ConnectionClosedError("Connection to 127.0.0.1:6379 closed", { sent: true });
 * console.log(err.sent); // true: the command may have run
 * ```
 */
export class ConnectionClosedError extends KvError {
  /** Creates the error; `sent` defaults to false. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.ConnectionClosed, message, options);
  }
}

/**
 * The connection was closed because the peer stopped answering: a written request's deadline
 * passed, or `silenceTimeout` elapsed, with no byte received. Pools read it as "mark this
 * member down". Its requests fail with `ConnectionClosedError` (`sent: true`) citing it.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError, UnresponsiveError } from "@kvwire/kvwire";
 * const err = new UnresponsiveError("Connection to 10.0.0.1:6379 was unresponsive");
 * console.log(err instanceof ConnectionClosedError); // true
 * ```
 */
export class UnresponsiveError extends ConnectionClosedError {}

/**
 * Opening a connection failed: refused, unresolvable host, unreachable. The message names the
 * address.
 *
 * @example
 * ```ts
 * import { ConnectError } from "@kvwire/kvwire";
 * const err = new ConnectError("Connection refused by 127.0.0.1:1");
 * console.log(err.code); // "CONNECT_FAILED"
 * ```
 */
export class ConnectError extends KvError {
  /** Creates the error. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.Connect, message, options);
  }
}

/**
 * The TLS handshake failed, most often because the server's certificate did not verify.
 *
 * @example
 * ```ts
 * import { TlsError } from "@kvwire/kvwire";
 * const err = new TlsError("TLS verification of localhost:6380 failed: self-signed certificate");
 * console.log(err.code); // "TLS_FAILED"
 * ```
 */
export class TlsError extends KvError {
  /** Creates the error. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.Tls, message, options);
  }
}

/**
 * A deadline passed: connecting, or a request queued or in flight. For a request, `sent` says
 * whether it reached the transport (and so may still run on the server).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@kvwire/kvwire";
 * const err = new TimeoutError("GET timed out after 100 ms", { sent: false });
 * console.log(err.code); // "TIMEOUT"
 * ```
 */
export class TimeoutError extends KvError {
  /** Creates the error; `sent` defaults to false. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.Timeout, message, options);
  }
}

/**
 * The caller's `AbortSignal` fired. `sent` says whether the request had been written.
 *
 * @example
 * ```ts
 * import { AbortedError } from "@kvwire/kvwire";
 * const err = new AbortedError("Request aborted", { sent: false });
 * console.log(err.code); // "ABORTED"
 * ```
 */
export class AbortedError extends KvError {
  /** Creates the error; `sent` defaults to false. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.Aborted, message, options);
  }
}

/**
 * A bounded queue (offline queue, stream buffer) was full and its policy is to reject.
 *
 * @example
 * ```ts
 * import { QueueFullError } from "@kvwire/kvwire";
 * const err = new QueueFullError("Offline queue is full (1000 requests)");
 * console.log(err.code); // "QUEUE_FULL"
 * ```
 */
export class QueueFullError extends KvError {
  /** Creates the error. */
  constructor(message: string, options?: KvErrorOptions) {
    super(ErrorCode.QueueFull, message, options);
  }
}
