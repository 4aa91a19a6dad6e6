// Type-only proof that the slice of Bun's types in transports/_bun_types.ts fits Bun's own
// (`bun-types`). Compiled by `tsc -p scripts/bun_types/tsconfig.json` in npm run check; deno.json
// excludes this directory, since Bun's global types would leak into deno check's one program.
/// <reference types="bun-types" />
import type {
  BunHandlers,
  BunSocket,
  BunTcpConnectOptions,
  BunUnixConnectOptions,
} from "../../transports/_bun_types.ts";

/** Bun's real `connect` takes the slice's TCP options and gives a socket the slice describes. */
export const tcp = (options: BunTcpConnectOptions): Promise<BunSocket> => Bun.connect(options);

/** The same for Unix-domain sockets (a separate overload in Bun). */
export const unix = (options: BunUnixConnectOptions): Promise<BunSocket> => Bun.connect(options);

/** A real socket has every method the transport calls, with compatible signatures. */
export const socket = (real: Bun.Socket<undefined>): BunSocket => real;

/** The transport's handlers are valid handlers for Bun. */
export const handlers = (ours: BunHandlers): Bun.SocketHandler<undefined> => ours;
