// The slice of Bun's types that transports/bun.ts uses, declared here so that tsc, deno check
// and the published .d.ts need no Bun types; scripts/bun_types_check.ts (npm run check)
// proves it against `bun-types`: Bun's real `connect` and `Socket` must fit these.

/** The slice of Bun's `Socket` that transports/bun.ts uses. */
export interface BunSocket {
  write(data: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  setKeepAlive?(enable?: boolean, initialDelay?: number): boolean;
  /** The protocol chosen by ALPN on a TLS socket. */
  readonly alpnProtocol?: string | false | null;
}

/** What Bun hands to the error handlers. */
export type BunError = Error & { code?: string };

/** The socket handlers transports/bun.ts passes to `Bun.connect`. */
export interface BunHandlers {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: BunError): void;
  error(socket: BunSocket, error: BunError): void;
  connectError(socket: BunSocket, error: BunError): void;
  handshake(socket: BunSocket, success: boolean, error: BunError | null): void;
}

/** Options every `Bun.connect` call of the transport passes. */
interface BunConnectCommon {
  allowHalfOpen?: boolean;
  tls?: {
    ca?: string | string[];
    cert?: string;
    key?: string;
    serverName?: string;
    rejectUnauthorized: boolean;
    ALPNProtocols?: Uint8Array;
  };
  socket: BunHandlers;
}

/** `Bun.connect` options for TCP (Bun requires both `hostname` and `port`). */
export type BunTcpConnectOptions = BunConnectCommon & { hostname: string; port: number };

/** `Bun.connect` options for a Unix-domain socket. */
export type BunUnixConnectOptions = BunConnectCommon & { unix: string };

/** The slice of the `Bun` global used here. */
export interface BunNamespace {
  connect(options: BunTcpConnectOptions | BunUnixConnectOptions): Promise<BunSocket>;
}
