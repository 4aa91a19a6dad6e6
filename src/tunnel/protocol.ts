// The kvwire tunnel protocol, `kvwire.tunnel.v1`, shared by the relay and the WebSocket
// transport: names, close codes, control messages, and the errors close codes map to.
//
// 1. The client opens `ws[s]://relay/?target=host:port[&tls=1][&servername=name][&window=n]`
//    offering subprotocols `kvwire.tunnel.v1` and `kvwire.auth.<token>` (or `&token=<token>`).
// 2. The relay answers 101, checks the token and its allow-list, dials, and sends the text
//    message `open`; or it closes with a 44xx code and a reason. Nothing is dialled before the
//    token and the allow-list agree.
// 3. Binary messages carry bytes both ways. The relay sends at most `window` bytes the client
//    has not returned with a text message `credit <n>`: the client's queue stays bounded.
// 4. Text `end` half-closes the sender's direction; when both directions ended the relay
//    closes with 1000. Either side may close at any time (the other connection is dropped).

import { ConnectError, ConnectionClosedError, TimeoutError, TlsError } from "../core/errors.ts";

/** The subprotocol that names this protocol. */
export const TUNNEL_PROTOCOL = "kvwire.tunnel.v1";
/** Prefix of the subprotocol that carries the token. */
export const AUTH_PROTOCOL_PREFIX = "kvwire.auth.";

/** Close codes the relay uses. */
export const TunnelCloseCode = {
  Normal: 1000,
  ProtocolError: 1002,
  /** The client did not read what the relay sent within the relay's drain timeout. */
  ClientStalled: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  BadRequest: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  IdleTimeout: 4408,
  TooManyConnections: 4429,
  TargetUnreachable: 4502,
  TargetTimeout: 4504,
  TargetTlsFailed: 4525,
  TargetClosed: 4510,
} as const;

/** One of the values of {@link TunnelCloseCode}. */
export type TunnelCloseCode = typeof TunnelCloseCode[keyof typeof TunnelCloseCode];

/** Text control messages. */
export const Control = {
  Open: "open",
  End: "end",
  Credit: "credit",
} as const;

/**
 * The relay refused a tunnel, or closed it before it opened: bad token, target not allowed,
 * too many connections, target unreachable. `closeCode` is the relay's close code (see
 * {@link TunnelCloseCode}) and `reason` its explanation.
 *
 * @example
 * ```ts
 * import { TunnelError } from "@kvwire/kvwire/tunnel";
 * const err = new TunnelError("Tunnel refused: forbidden target", 4403, "forbidden target");
 * console.log(err.closeCode, err.code); // 4403 "CONNECT_FAILED"
 * ```
 */
export class TunnelError extends ConnectError {
  /** The WebSocket close code the relay sent (1006 when the connection was lost). */
  readonly closeCode: number;
  /** The close reason the relay sent. */
  readonly reason: string;

  /** Creates the error. */
  constructor(message: string, closeCode: number, reason: string, options?: { cause?: unknown }) {
    super(message, options);
    this.closeCode = closeCode;
    this.reason = reason;
  }
}

/**
 * Maps a close before `open` to the error `connect()` rejects with: `TimeoutError` when the
 * relay timed out dialling, `TlsError` for a failed TLS handshake with the target, else
 * {@link TunnelError}.
 *
 * @example
 * ```ts
 * import { openCloseError } from "@kvwire/kvwire/tunnel";
 * openCloseError(4401, "bad token", "127.0.0.1:6379").message;
 * ```
 */
export function openCloseError(closeCode: number, reason: string, where: string): Error {
  const code = lostCode(closeCode);
  const why = reason || describeCloseCode(code);
  const message = `Tunnel to ${where} refused by the relay: ${why} (close code ${code})`;
  const cause = new TunnelError(message, code, reason);
  if (code === TunnelCloseCode.TargetTimeout) return new TimeoutError(message, { cause });
  if (code === TunnelCloseCode.TargetTlsFailed) return new TlsError(message, { cause });
  if (code === 1006) {
    return new TunnelError(
      `Cannot open a tunnel to ${where}: the relay is unreachable or refused the handshake`,
      code,
      reason,
    );
  }
  return cause;
}

/**
 * Maps a close after `open` to the error a pending read rejects with (or undefined for an
 * orderly close, which reads as end of stream).
 *
 * @example
 * ```ts
 * import { streamCloseError } from "@kvwire/kvwire/tunnel";
 * streamCloseError(4408, "idle", "127.0.0.1:6379")?.message;
 * ```
 */
export function streamCloseError(
  closeCode: number,
  reason: string,
  where: string,
): ConnectionClosedError | undefined {
  const code = lostCode(closeCode);
  if (code === TunnelCloseCode.Normal) return undefined;
  const why = reason || describeCloseCode(code);
  return new ConnectionClosedError(
    `Tunnel to ${where} closed: ${why} (close code ${code})`,
    { cause: new TunnelError(why, code, reason) },
  );
}

/** Deno reports a connection lost without a close frame as 0; RFC 6455 calls that 1006. */
function lostCode(code: number): number {
  return code === 0 ? 1006 : code;
}

/**
 * A short explanation of a close code.
 *
 * @example
 * ```ts
 * import { describeCloseCode } from "@kvwire/kvwire/tunnel";
 * describeCloseCode(4403); // "target not allowed"
 * ```
 */
export function describeCloseCode(code: number): string {
  switch (code) {
    case TunnelCloseCode.Normal:
      return "closed normally";
    case TunnelCloseCode.ProtocolError:
      return "protocol error";
    case TunnelCloseCode.ClientStalled:
      return "the client did not read";
    case TunnelCloseCode.MessageTooBig:
      return "message too big";
    case TunnelCloseCode.InternalError:
      return "relay error";
    case TunnelCloseCode.BadRequest:
      return "bad request";
    case TunnelCloseCode.Unauthorized:
      return "unauthorized";
    case TunnelCloseCode.Forbidden:
      return "target not allowed";
    case TunnelCloseCode.IdleTimeout:
      return "idle timeout";
    case TunnelCloseCode.TooManyConnections:
      return "too many connections";
    case TunnelCloseCode.TargetUnreachable:
      return "target unreachable";
    case TunnelCloseCode.TargetTimeout:
      return "timed out connecting to the target";
    case TunnelCloseCode.TargetTlsFailed:
      return "TLS with the target failed";
    case TunnelCloseCode.TargetClosed:
      return "the target connection failed";
    case 1006:
      return "connection to the relay lost";
    default:
      return "closed";
  }
}
