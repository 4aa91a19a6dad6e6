// The Transport interface and its options, re-exported for transport authors (DESIGN.md §4).
// The definitions live in src/core/transport.ts so that the driver depends on nothing here.

export type {
  Address,
  ChunkReader,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "../src/core/transport.ts";
export {
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_KEEPALIVE_DELAY,
  formatAddress,
} from "../src/core/transport.ts";
