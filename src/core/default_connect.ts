// The connector clients use when none is given: transports/auto.ts, loaded on first use so
// that code which passes its own connector (Workers, tests) never loads a runtime transport.

import type { Address, ConnectOptions, Transport } from "./transport.ts";

/**
 * Connects with the transport that fits the running runtime (Deno, Bun or Node).
 *
 * @example
 * ```ts
 * import { defaultConnect } from "@kvwire/kvwire";
 * const t = await defaultConnect({ host: "127.0.0.1", port: 6379 });
 * t.close();
 * ```
 */
export async function defaultConnect(
  address: Address,
  options?: ConnectOptions,
): Promise<Transport> {
  const { connect } = await import("../../transports/auto.ts");
  return connect(address, options);
}
