// Connection-string parsing shared by the clients: scheme://user:pass@host:port/path?query,
// IPv6 hosts, Unix sockets (scheme+unix:///path or unix:///path), and host:port lists.

import type { Address } from "./transport.ts";

/** What one scheme means: its default port and whether it implies TLS. */
export interface SchemeInfo {
  /** The default port of the scheme. */
  port: number;
  /** True when the scheme implies TLS (`rediss:`). */
  tls: boolean;
  /** True for a scheme whose path is a Unix socket (`redis+unix:`, `unix:`). */
  unix?: boolean;
}

/** A parsed connection string. Credentials are percent-decoded. */
export interface ServerUrl {
  /** The scheme, lower-cased, without its colon (`redis`, `rediss`, `redis+unix`). */
  scheme: string;
  /** The server's host and port, or the Unix socket path. */
  address: Address;
  /** True when the scheme implies TLS. */
  tls: boolean;
  /** The user name, when the URL has one. */
  username?: string;
  /** The password, when the URL has one. */
  password?: string;
  /** The path without its leading slash for TCP URLs (e.g. the Redis database), else "". */
  path: string;
  /** The query parameters. */
  params: URLSearchParams;
}

/**
 * Parses a connection string against a table of known schemes. Throws `TypeError` naming the
 * problem; the password is never part of the message.
 *
 * @example
 * ```ts
 * import { parseServerUrl } from "@kvwire/kvwire";
 * const url = parseServerUrl("rediss://app:s3cret@[::1]:6380/2", {
 *   redis: { port: 6379, tls: false },
 *   rediss: { port: 6379, tls: true },
 * });
 * url.address; // { host: "::1", port: 6380 }
 * url.tls; // true
 * url.path; // "2"
 * ```
 */
export function parseServerUrl(text: string, schemes: Record<string, SchemeInfo>): ServerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`Invalid connection URL ${JSON.stringify(redactUrl(text))}`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const info = schemes[scheme];
  if (!info) {
    const known = Object.keys(schemes).map((s) => `${s}://`).join(", ");
    throw new TypeError(`Unsupported URL scheme "${scheme}:" (expected one of ${known})`);
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const params = url.searchParams;
  if (info.unix) {
    const path = decodeURIComponent(url.pathname);
    if (!path || path === "/") {
      throw new TypeError(`Unix socket URL ${JSON.stringify(redactUrl(text))} has no path`);
    }
    return { scheme, address: { path }, tls: info.tls, username, password, path: "", params };
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw new TypeError(`URL ${JSON.stringify(redactUrl(text))} has no host`);
  const port = url.port ? Number(url.port) : info.port;
  const path = decodeURIComponent(url.pathname.replace(/^\//, ""));
  return { scheme, address: { host, port }, tls: info.tls, username, password, path, params };
}

/**
 * Parses `host`, `host:port` or `[v6]:port` with a default port. Throws `TypeError` on a bad
 * port.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "@kvwire/kvwire";
 * parseHostPort("cache-1:11212", 11211); // { host: "cache-1", port: 11212 }
 * parseHostPort("[::1]", 11211); // { host: "::1", port: 11211 }
 * ```
 */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } {
  const trimmed = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (v6) return { host: v6[1], port: v6[2] ? checkPort(v6[2], text) : defaultPort };
  const colon = trimmed.lastIndexOf(":");
  if (colon === -1 || trimmed.indexOf(":") !== colon) {
    if (!trimmed) throw new TypeError("Empty host");
    // No port, or a bare IPv6 address without brackets.
    return { host: trimmed, port: defaultPort };
  }
  const host = trimmed.slice(0, colon);
  if (!host) throw new TypeError(`Address ${JSON.stringify(text)} has no host`);
  return { host, port: checkPort(trimmed.slice(colon + 1), text) };
}

function checkPort(digits: string, text: string): number {
  const port = Number(digits);
  if (!/^\d+$/.test(digits) || port < 1 || port > 65535) {
    throw new TypeError(`Invalid port in ${JSON.stringify(text)}: expected 1-65535`);
  }
  return port;
}

/**
 * Replaces the password of a URL-like string with `***`, for messages and logs.
 *
 * @example
 * ```ts
 * import { redactUrl } from "@kvwire/kvwire";
 * redactUrl("redis://u:secret@h:6379"); // "redis://u:***@h:6379"
 * ```
 */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}
