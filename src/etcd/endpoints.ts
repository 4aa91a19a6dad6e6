// Endpoint strings of the etcd clients (`https://host:port`, `http://host:port`, `host:port`)
// and the one TLS setting they imply for the whole client.

import type { ConnectOptions } from "../core/transport.ts";
import { parseHostPort, redactUrl } from "../core/url.ts";
import type { Address } from "./channel.ts";

/** etcd's client port, the default of every scheme. */
const ETCD_PORT = 2379;

/** The parsed endpoints and the TLS setting every connection of the client uses. */
export interface EtcdEndpoints {
  /** The endpoints, in the order given. */
  addresses: Address[];
  /** `undefined` for plaintext; else the TLS settings (`true` for the defaults). */
  tls: ConnectOptions["tls"];
}

/**
 * Parses a client's endpoints and decides whether it speaks TLS. A client speaks TLS to every
 * endpoint or to none: it does when an endpoint says `https://` or the `tls` option is set;
 * bare `host:port` endpoints (and address objects) follow that choice. Throws `TypeError`,
 * before anything is sent, for a contradiction: an `http://` endpoint next to `https://` ones
 * or next to a `tls` option, `https://` with `tls: false`, an unknown scheme, credentials or a
 * path in an endpoint.
 *
 * @example
 * ```ts
 * import { parseEndpoints } from "@kvwire/kvwire/etcd";
 * parseEndpoints(["https://etcd-1:2379", "etcd-2:2379"], undefined);
 * // { addresses: [{ host: "etcd-1", port: 2379 }, { host: "etcd-2", port: 2379 }], tls: true }
 * ```
 */
export function parseEndpoints(
  endpoints: readonly (string | Address)[],
  tls: ConnectOptions["tls"],
): EtcdEndpoints {
  const schemes = endpoints.map(schemeOf);
  const secure = schemes.indexOf("https");
  const plain = schemes.indexOf("http");
  if (secure !== -1 && plain !== -1) {
    throw new TypeError(
      `etcd endpoint ${quote(endpoints[plain])} is plaintext http:// but ${
        quote(endpoints[secure])
      } is https://: use https:// for every endpoint`,
    );
  }
  if (plain !== -1 && tls) {
    throw new TypeError(
      `etcd endpoint ${quote(endpoints[plain])} is plaintext http:// but the tls option is set: ` +
        "use https:// or a bare host:port",
    );
  }
  if (secure !== -1 && tls === false) {
    throw new TypeError(
      `etcd endpoint ${quote(endpoints[secure])} is https:// but the tls option is false`,
    );
  }
  const addresses = endpoints.map((e, i) => (typeof e === "string" ? toAddress(e, schemes[i]) : e));
  return { addresses, tls: secure !== -1 ? (tls || true) : (tls || undefined) };
}

type Scheme = "http" | "https" | "";

function schemeOf(endpoint: string | Address): Scheme {
  if (typeof endpoint !== "string") return "";
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint.trim());
  if (!match) return "";
  const scheme = match[1].toLowerCase();
  if (scheme === "http" || scheme === "https") return scheme;
  throw new TypeError(
    `etcd endpoint ${quote(endpoint)} has the scheme "${scheme}:": expected http:// or https://`,
  );
}

function toAddress(endpoint: string, scheme: Scheme): Address {
  const rest = endpoint.trim().slice(scheme === "" ? 0 : scheme.length + 3);
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  if (authority.includes("@")) {
    throw new TypeError(
      "etcd endpoints cannot carry credentials (user:password@); use the auth option",
    );
  }
  if (slash !== -1 && rest.slice(slash) !== "/") {
    throw new TypeError(
      `etcd endpoint ${quote(endpoint)} has a path: expected ${scheme || "http"}://host:port`,
    );
  }
  return parseHostPort(authority, ETCD_PORT);
}

function quote(endpoint: string | Address): string {
  return JSON.stringify(
    typeof endpoint === "string" ? redactUrl(endpoint) : `${endpoint.host}:${endpoint.port}`,
  );
}
