/**
 * The WebSocket tunnel, runtime-neutral parts: tokens (HMAC-SHA-256 through WebCrypto, so a
 * Worker can mint them), the allow-list, the admission policy and the relay logic. The relay's
 * socket server lives in `@kvwire/kvwire/tunnel/server`, the client in
 * `@kvwire/kvwire/transports/websocket`.
 *
 * @example
 * ```ts
 * import { createTunnelToken } from "@kvwire/kvwire/tunnel";
 * const token = await createTunnelToken({
 *   secret: "a-long-random-secret-of-32-bytes-or-more!",
 *   targets: ["10.0.0.5:6379"],
 *   expiresIn: 300,
 * });
 * ```
 *
 * @module
 */

export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "../core/transport.ts";
export * from "../core/errors.ts";
export * from "./allow_list.ts";
export * from "./budget.ts";
export * from "./dial.ts";
export * from "./gate.ts";
export * from "./host.ts";
export * from "./http_head.ts";
export * from "./policy.ts";
export * from "./protocol.ts";
export * from "./relay.ts";
export * from "./token.ts";
export * from "./ws_frames.ts";
