// Dialling a tunnel's target: each checked address in turn under one deadline, and the
// failure class operators read in the relay's logs (DNS, refused, TLS, timeout...).

import { ConnectError, TimeoutError, TlsError } from "../core/errors.ts";
import type { Connect, TlsOptions, Transport } from "../core/transport.ts";
import { TunnelCloseCode } from "./protocol.ts";

/**
 * Why a tunnel failed, as the relay logs it: `policy` (token, allow-list, bad request), `limit`
 * (a relay limit or budget), `dns` (the name did not resolve), `refused` (the target refused
 * the connection), `tls` (TLS with the target failed; the log carries the reason), `timeout`,
 * `unreachable` (any other connect failure), `protocol` (the client broke the protocol),
 * `client` (the client stopped reading or went away), `target` (the target connection broke).
 */
export type FailureClass =
  | "policy"
  | "limit"
  | "dns"
  | "refused"
  | "tls"
  | "timeout"
  | "unreachable"
  | "protocol"
  | "client"
  | "target";

/** One failed connection attempt. */
export interface DialAttempt {
  /** The address tried (`host:port`, IPv6 in brackets). */
  readonly address: string;
  /** Why it failed. */
  readonly failure: FailureClass;
  /** The connector's message (addresses and reasons, never a token). */
  readonly message: string;
}

/** The outcome of {@link dialInTurn}. */
export type DialResult =
  | { ok: true; transport: Transport; address: string; attempts: readonly DialAttempt[] }
  | {
    ok: false;
    code: TunnelCloseCode;
    failure: FailureClass;
    /** For the client: what went wrong, without the details operators get in `attempts`. */
    reason: string;
    attempts: readonly DialAttempt[];
  };

/**
 * The failure class of a connector's error: `timeout` for TimeoutError, `tls` for TlsError,
 * `refused` for a ConnectError saying "Connection refused" (the wording of every kvwire
 * transport), `dns` for "Cannot resolve", else `unreachable`.
 *
 * @example
 * ```ts
 * import { classifyConnectError, TimeoutError } from "@kvwire/kvwire/tunnel";
 * classifyConnectError(new TimeoutError("slow")); // "timeout"
 * ```
 */
export function classifyConnectError(error: unknown): FailureClass {
  if (error instanceof TimeoutError) return "timeout";
  if (error instanceof TlsError) return "tls";
  if (error instanceof ConnectError && /^Connection refused\b/.test(error.message)) {
    return "refused";
  }
  if (error instanceof ConnectError && /^Cannot resolve\b/.test(error.message)) return "dns";
  return "unreachable";
}

const CLOSE_CODES: Partial<Record<FailureClass, TunnelCloseCode>> = {
  timeout: TunnelCloseCode.TargetTimeout,
  tls: TunnelCloseCode.TargetTlsFailed,
};
const REASONS: Partial<Record<FailureClass, string>> = {
  timeout: "timed out",
  tls: "TLS with the target failed",
  refused: "connection refused",
  dns: "name not resolved",
};

function show(address: { host: string; port: number }): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

/**
 * Connects to the first address that accepts, trying them in the order given, all within one
 * `timeout` (ms). A TLS failure stops the search (the next address would present the same
 * certificate). Never resolves a name: the addresses are the ones admission checked.
 *
 * @example
 * ```ts
 * import { dialInTurn } from "@kvwire/kvwire/tunnel";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const result = await dialInTurn(connect, [{ host: "127.0.0.1", port: 6379 }], { timeout: 1000 });
 * if (result.ok) result.transport.close();
 * ```
 */
export async function dialInTurn(
  connect: Connect,
  addresses: readonly { host: string; port: number }[],
  options: { timeout: number; tls?: TlsOptions; now?: () => number },
): Promise<DialResult> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeout;
  const attempts: DialAttempt[] = [];
  for (const address of addresses) {
    const left = attempts.length === 0 ? options.timeout : deadline - now(); // first: all of it
    if (left <= 0) {
      attempts.push({ address: show(address), failure: "timeout", message: "no time left" });
      break;
    }
    try {
      const transport = await connect(address, { timeout: left, tls: options.tls });
      return { ok: true, transport, address: show(address), attempts };
    } catch (error) {
      const failure = classifyConnectError(error);
      const message = error instanceof Error ? error.message : String(error);
      attempts.push({ address: show(address), failure, message });
      if (failure === "tls") break;
    }
  }
  const failure = attempts[attempts.length - 1]?.failure ?? "unreachable";
  const code = CLOSE_CODES[failure] ?? TunnelCloseCode.TargetUnreachable;
  const reason = `cannot connect to the target (${REASONS[failure] ?? "unreachable"})`;
  return { ok: false, code, failure, reason, attempts };
}
