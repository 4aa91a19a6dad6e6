// Options of the memcache client and the parsing of its server list ("host:port", "[v6]:port",
// "unix:/path", with python-memcached's ("host:port", weight) tuples).

import type { ObservabilityOptions } from "../core/observability.ts";
import type { Address, Connect, TlsOptions } from "../core/transport.ts";
import { parseHostPort } from "../core/url.ts";
import { type Distribution, DISTRIBUTIONS } from "./distribution.ts";
import type { KetamaCompat } from "./ketama.ts";
import type { PickleProtocol } from "./pickle_writer.ts";
import type { SerializerChoice } from "./python_values.ts";
import type { Compressor } from "./values.ts";

/** The wire protocol: meta (default, memcached ≥ 1.6), text (older servers, proxies), binary. */
export type MemcacheProtocol = "meta" | "text" | "binary";

/**
 * A server: `"host:port"` (port 11211 by default), `"unix:/path"`, a `[address, weight]`
 * tuple as python-memcached takes, or an object.
 */
export type ServerInput =
  | string
  | readonly [string, number]
  | { host?: string; port?: number; path?: string; weight?: number };

/** Everything a {@link MemcacheClient} can be told. */
export interface MemcacheClientOptions extends ObservabilityOptions {
  /** The servers of the pool. Default `"127.0.0.1:11211"`. */
  servers?: ServerInput | readonly ServerInput[];
  /** Wire protocol. Default `"meta"`; `"binary"` when a username is given. */
  protocol?: MemcacheProtocol;
  /** SASL PLAIN user name (binary protocol). */
  username?: string;
  /** SASL PLAIN password; never part of a message. */
  password?: string;
  /** TLS (`memcached -Z`): `true` for defaults (certificate verified), or settings. */
  tls?: boolean | TlsOptions;
  /** Milliseconds to connect (TLS and SASL included). Default 3,000. */
  connectTimeout?: number;
  /** Deadline of each request in milliseconds, queued or in flight. Default 3,000. */
  commandTimeout?: number;
  /**
   * Milliseconds a server that failed to connect is left alone: its requests fail at once
   * (or fail over), then it is tried again. Default 30,000 (python-memcached's 30 s).
   */
  deadRetry?: number;
  /** Send a dead server's keys to the next server on the ring instead of failing. */
  failover?: boolean;
  /**
   * Flush a server when it comes back after a failure, so that keys it held while they
   * lived elsewhere can't be read stale (python-memcached's `flush_on_reconnect`).
   */
  flushOnReconnect?: boolean;
  /** Compress values of at least this many bytes (zlib); 0 = never. Default 0. */
  minCompressLen?: number;
  /**
   * Value format: `"kvwire"` (default: {@link defaultSerializer}, JSON under flag 32 for
   * objects), `"python"` (python-memcached's flags, plain-data pickles: see
   * {@link pythonSerializer}), or your own `{ serialize, deserialize }`.
   */
  serializer?: SerializerChoice;
  /** Pickle protocol written by `serializer: "python"`: 0 to 5. Default 0 (python-memcached's). */
  pickleProtocol?: PickleProtocol;
  /** How values of `minCompressLen` bytes and more are compressed. Default zlib (flag 8). */
  compressor?: Compressor;
  /**
   * Largest value, in bytes: larger ones throw `RangeError` before sending, and a reply
   * announcing a larger one is a `RemoteProtocolError` (the connection is replaced) before
   * any of it is buffered. Default 1 MiB, memcached's default item size (`-I`); raise it with
   * the server's.
   */
  maxValueSize?: number;
  /** Longest key, in bytes. Default 250. */
  maxKeyLength?: number;
  /**
   * Check string keys for whitespace and control characters before sending (python-memcached's
   * `check_keys`). Default true. With `false` such keys are sent as given: raw on binary,
   * base64 (`b` flag) on meta. Risk: keys from untrusted input are no longer refused, and on a
   * command line a space or newline would inject commands, so the text protocol still refuses
   * them (`TypeError`, nothing sent) whatever this option says. The length limit
   * (`maxKeyLength`) always applies.
   */
  checkKeys?: boolean;
  /**
   * Remember the CAS token of each `gets` so that `cas(key, value)` without a token uses it
   * (python-memcached's `cache_cas`); `resetCas()` forgets them. `true` keeps the last 10,000
   * tokens, a number that many; older ones are forgotten first, so the cache stays bounded.
   * Default false.
   */
  cacheCas?: boolean | number;
  /**
   * Milliseconds a connection may receive nothing while requests wait before it is closed and
   * its server marked dead. Default off: a request that times out with nothing received
   * since it was written closes its connection anyway.
   */
  silenceTimeout?: number;
  /** Requests held per server while it (re)connects. Default 10,000. */
  offlineQueueSize?: number;
  /** Point naming of the ketama ring. Default `"libmemcached"`. */
  ketama?: KetamaCompat;
  /**
   * How keys are spread over the servers, to share a cluster with other clients (see
   * {@link Distribution}): `"ketama-weighted"` (default; libmemcached/pylibmc
   * `ketama_weighted`, npm `memcached`), `"ketama"` (pylibmc `{"ketama": True}`), `"python"`
   * (python-memcached) or `"modula"` (pylibmc's default). With `failover`, a dead server's
   * keys go where that client sends them.
   */
  distribution?: Distribution;
  /** The transport connector. Default: the one for the running runtime. */
  connect?: Connect;
}

/** One server after parsing. */
export interface ServerSpec {
  /** Where the server listens. */
  address: Address;
  /** Relative capacity on the ring. */
  weight: number;
  /** `host:port` or the socket path, for messages and stats. */
  label: string;
  /** Host and port as the ring names them. */
  host: string;
  /** Port as the ring names it. */
  port: number;
}

/**
 * Parses one server entry. Throws `TypeError` on a malformed one.
 *
 * @example
 * ```ts
 * import { parseServer } from "@kvwire/kvwire/memcache";
 * parseServer(["cache-1:11212", 2]); // { address: { host: "cache-1", port: 11212 }, weight: 2, ... }
 * ```
 */
export function parseServer(input: ServerInput): ServerSpec {
  let weight = 1;
  let address: Address;
  if (typeof input === "string") address = parseAddressText(input);
  else if (Array.isArray(input)) {
    address = parseAddressText(input[0]);
    weight = input[1];
  } else if (input && typeof input === "object") {
    const o = input as { host?: string; port?: number; path?: string; weight?: number };
    address = o.path !== undefined
      ? { path: o.path }
      : { host: o.host ?? "127.0.0.1", port: o.port ?? 11211 };
    weight = o.weight ?? 1;
  } else {
    throw new TypeError(`Invalid memcache server ${JSON.stringify(input)}`);
  }
  if (!Number.isInteger(weight) || weight < 1) {
    throw new RangeError(`Invalid weight ${weight} for memcache server ${JSON.stringify(input)}`);
  }
  if (
    "port" in address &&
    (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535)
  ) {
    throw new RangeError(`Invalid memcache port ${address.port}`);
  }
  if ("path" in address) {
    return { address, weight, label: address.path, host: address.path, port: 0 };
  }
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return {
    address,
    weight,
    label: `${host}:${address.port}`,
    host: address.host,
    port: address.port,
  };
}

function parseAddressText(text: string): Address {
  if (typeof text !== "string") throw new TypeError(`Invalid memcache server ${String(text)}`);
  if (text.startsWith("unix:")) return { path: text.slice(5) };
  if (text.startsWith("/")) return { path: text };
  return parseHostPort(text, 11211);
}

/**
 * Parses the server list; duplicates are refused.
 *
 * @example
 * ```ts
 * import { parseServers } from "@kvwire/kvwire/memcache";
 * parseServers(["10.0.0.1", ["10.0.0.2:11211", 3]]).map((s) => s.label); // ["10.0.0.1:11211", "10.0.0.2:11211"]
 * ```
 */
export function parseServers(
  input: ServerInput | readonly ServerInput[] | undefined,
): ServerSpec[] {
  let list: readonly ServerInput[];
  if (input === undefined) list = ["127.0.0.1:11211"];
  else if (!Array.isArray(input)) list = [input as ServerInput];
  else if (input.length === 2 && typeof input[1] === "number") list = [input as ServerInput];
  else list = input as readonly ServerInput[];
  if (list.length === 0) throw new RangeError("A memcache client needs at least one server");
  const specs = list.map(parseServer);
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.label)) throw new TypeError(`Memcache server ${spec.label} is listed twice`);
    seen.add(spec.label);
  }
  return specs;
}

const TLS_STRINGS = ["serverName", "cert", "key"] as const;

/**
 * Checks the `tls` option, so that nothing in it is ignored: `true`, `false`, or an object of
 * {@link TlsOptions} fields only (a misspelt `servername` or `rejectUnauthorised` is a
 * `TypeError`, not a silently unverified connection). The transport refuses a `cert`
 * without its `key` and the reverse.
 *
 * @example
 * ```ts
 * import { checkTls } from "@kvwire/kvwire/memcache";
 * checkTls({ ca: "-----BEGIN CERTIFICATE-----...", serverName: "cache.internal" });
 * ```
 */
export function checkTls(tls: unknown): void {
  if (tls === undefined || typeof tls === "boolean") return;
  if (tls === null || typeof tls !== "object" || Array.isArray(tls)) {
    throw new TypeError(`The memcache tls option must be true, false or TLS settings`);
  }
  const o = tls as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!["ca", "rejectUnauthorized", ...TLS_STRINGS].includes(name)) {
      throw new TypeError(`Unknown memcache tls setting ${JSON.stringify(name)}`);
    }
  }
  for (const name of TLS_STRINGS) {
    if (o[name] !== undefined && typeof o[name] !== "string") {
      throw new TypeError(`The memcache tls setting ${name} must be a string`);
    }
  }
  const ca = o.ca;
  if (
    ca !== undefined && typeof ca !== "string" &&
    !(Array.isArray(ca) && ca.every((c) => typeof c === "string"))
  ) {
    throw new TypeError("The memcache tls setting ca must be a PEM string or an array of them");
  }
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== "boolean") {
    throw new TypeError("The memcache tls setting rejectUnauthorized must be a boolean");
  }
}

/**
 * Checks option values (throwing `TypeError`/`RangeError`) and returns the protocol to use.
 *
 * @example
 * ```ts
 * import { checkClientOptions } from "@kvwire/kvwire/memcache";
 * checkClientOptions({ username: "u", password: "p" }); // "binary"
 * ```
 */
export function checkClientOptions(options: MemcacheClientOptions): MemcacheProtocol {
  const sasl = options.username !== undefined || options.password !== undefined;
  const protocol = options.protocol ?? (sasl ? "binary" : "meta");
  if (!["meta", "text", "binary"].includes(protocol)) {
    throw new TypeError(`Unknown memcache protocol ${JSON.stringify(protocol)}`);
  }
  if (sasl && protocol !== "binary") {
    throw new TypeError("SASL authentication (username/password) needs the binary protocol");
  }
  if (sasl && (options.username === undefined || options.password === undefined)) {
    throw new TypeError("SASL authentication needs both a username and a password");
  }
  const times = [
    "connectTimeout",
    "commandTimeout",
    "deadRetry",
    "minCompressLen",
    "silenceTimeout",
  ] as const;
  for (const name of times) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "number" || !(value >= 0))) {
      throw new RangeError(`Invalid memcache option ${name}: ${value}`);
    }
  }
  checkTls(options.tls);
  const compressor = options.compressor;
  if (
    compressor !== undefined &&
    (typeof compressor?.compress !== "function" || typeof compressor?.decompress !== "function")
  ) {
    throw new TypeError("The memcache compressor option must be { compress, decompress }");
  }
  if (options.distribution !== undefined && !DISTRIBUTIONS.includes(options.distribution)) {
    throw new TypeError(`Unknown memcache distribution ${JSON.stringify(options.distribution)}`);
  }
  const cacheCas = options.cacheCas;
  if (
    cacheCas !== undefined && typeof cacheCas !== "boolean" &&
    !(Number.isInteger(cacheCas) && cacheCas >= 1)
  ) {
    throw new RangeError(`Invalid memcache option cacheCas: ${cacheCas}`);
  }
  if (options.checkKeys !== undefined && typeof options.checkKeys !== "boolean") {
    throw new TypeError(`Invalid memcache option checkKeys: ${options.checkKeys}`);
  }
  for (const name of ["maxValueSize", "maxKeyLength"] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new RangeError(`Invalid memcache option ${name}: ${value}`);
    }
  }
  return protocol;
}
