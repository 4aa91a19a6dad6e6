// DNS SRV discovery of an etcd cluster (`srvDomain`): the SRV names each client queries, and a
// connector that resolves them at connect time and tries the targets in RFC 2782 order. The
// domain stands in the channel as one endpoint (`<domain>:0`), so failover among the targets
// happens inside the connector and the channel stays as it is.

import type { Connect, ConnectOptions } from "../core/transport.ts";
import { ConnectError, TimeoutError } from "../core/errors.ts";
import {
  defaultResolveSrv,
  orderSrv,
  type ResolveSrv,
  SrvLookupError,
  type SrvRecord,
} from "../core/srv.ts";
import type { Address } from "./channel_options.ts";
import { type EtcdEndpoints, parseEndpoints } from "./endpoints.ts";

/** An SRV name to query and the TLS setting its targets are spoken to with. */
export interface SrvName {
  /** `_service._tcp.<domain>`. */
  name: string;
  /** `undefined` for plaintext. */
  tls: ConnectOptions["tls"];
}

/**
 * The names etcd's own clients (`etcdctl --discovery-srv`) query, in etcd's order:
 * `_etcd-client-ssl._tcp.<domain>` (TLS) first, then `_etcd-client._tcp.<domain>` (plaintext).
 * A `tls` option keeps only the first, `tls: false` only the second.
 *
 * @example
 * ```ts
 * import { etcdSrvNames } from "@kvwire/kvwire/etcd";
 * etcdSrvNames("example.com", undefined).map((n) => n.name);
 * // ["_etcd-client-ssl._tcp.example.com", "_etcd-client._tcp.example.com"]
 * ```
 */
export function etcdSrvNames(domain: string, tls: ConnectOptions["tls"]): SrvName[] {
  const secure = { name: `_etcd-client-ssl._tcp.${domain}`, tls: tls || true };
  const plain = { name: `_etcd-client._tcp.${domain}`, tls: undefined };
  if (tls === false) return [plain];
  return tls ? [secure] : [secure, plain];
}

/** The endpoint options both etcd clients share. */
export interface EndpointOptions {
  /** Endpoint strings or addresses. */
  endpoints?: (string | { host: string; port: number })[];
  /** TLS for every endpoint. */
  tls?: ConnectOptions["tls"];
  /** The domain whose SRV records list the cluster. */
  srvDomain?: string;
  /** The SRV resolver. */
  resolveSrv?: ResolveSrv;
  /** The transport connector. */
  connect: Connect;
}

/**
 * A client's endpoints, TLS and connector: parsed `endpoints` as given, or, with `srvDomain`,
 * the domain as one endpoint whose connector resolves `names(domain, tls)`. Throws
 * `TypeError` for both `endpoints` and `srvDomain`, or a domain that is not a bare name.
 *
 * @example
 * ```ts
 * import { clientEndpoints, etcdSrvNames } from "@kvwire/kvwire/etcd";
 * import { defaultConnect } from "@kvwire/kvwire";
 * const { addresses } = clientEndpoints({ srvDomain: "example.com", connect: defaultConnect },
 *   etcdSrvNames);
 * console.log(addresses); // [{ host: "example.com", port: 0 }]
 * ```
 */
export function clientEndpoints(
  options: EndpointOptions,
  names: (domain: string, tls: ConnectOptions["tls"]) => SrvName[],
): EtcdEndpoints & { connect: Connect } {
  const domain = options.srvDomain;
  if (domain === undefined) {
    const parsed = parseEndpoints(options.endpoints ?? ["127.0.0.1:2379"], options.tls);
    return { ...parsed, connect: options.connect };
  }
  if (options.endpoints !== undefined) {
    throw new TypeError("etcd options: give endpoints or srvDomain, not both");
  }
  if (typeof domain !== "string" || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(domain)) {
    throw new TypeError(
      `etcd srvDomain ${JSON.stringify(domain)} is not a domain name (expected e.g. "example.com")`,
    );
  }
  const bare = domain.replace(/\.$/, "");
  return {
    addresses: [{ host: bare, port: 0 }],
    tls: options.tls || undefined,
    connect: srvConnect(
      names(bare, options.tls),
      options.resolveSrv ?? defaultResolveSrv,
      options.connect,
    ),
  };
}

/**
 * A connector for SRV targets. On first use (and again after every target failed) it queries
 * `names` in turn and keeps the records of the first that has any; each connection then tries
 * the targets in RFC 2782 order (priority, then weighted random) with that name's TLS, and
 * takes the first that accepts. The address it is called with is ignored. No record under
 * any name is an `SrvLookupError` naming them.
 *
 * @example
 * ```ts
 * import { defaultConnect } from "@kvwire/kvwire";
 * import { srvConnect } from "@kvwire/kvwire/etcd";
 * const connect = srvConnect([{ name: "_etcd._tcp.example.com", tls: undefined }],
 *   async () => [{ name: "127.0.0.1", port: 2379, priority: 0, weight: 0 }], defaultConnect);
 * (await connect({ host: "example.com", port: 0 })).close();
 * ```
 */
export function srvConnect(
  names: readonly SrvName[],
  resolveSrv: ResolveSrv,
  connect: Connect,
  random: () => number = Math.random,
): Connect {
  let found: Promise<{ records: SrvRecord[]; tls: ConnectOptions["tls"] }> | undefined;
  const lookup = async () => {
    let failure: unknown;
    for (const { name, tls } of names) {
      try {
        const records = await resolveSrv(name);
        if (records.length > 0) return { records, tls };
      } catch (error) {
        failure = error;
      }
    }
    throw new SrvLookupError(names.map((n) => n.name), { cause: failure });
  };
  return async (_address: Address | { path: string }, options: ConnectOptions = {}) => {
    // One budget, `options.timeout`, for the lookup and every target, as for one endpoint.
    const end = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    const current = found ??= lookup();
    current.catch(() => {
      if (found === current) found = undefined; // the next connection looks up again
    });
    const { records, tls } = await within(current, end, names);
    // The caller's TLS settings (a gRPC channel's ALPN `h2` among them) go with a TLS name.
    const withCaller = (named: ConnectOptions["tls"]): ConnectOptions["tls"] =>
      named && typeof options.tls === "object"
        ? { ...(named === true ? {} : named), ...options.tls }
        : named;
    const errors: Error[] = [];
    const order = orderSrv(records, random);
    for (const { name, port } of order) {
      const timeout = end === Infinity ? undefined : Math.max(1, end - Date.now());
      try {
        return await connect({ host: name, port }, { ...options, tls: withCaller(tls), timeout });
      } catch (error) {
        errors.push(error as Error);
        if (options.signal?.aborted || Date.now() >= end) break;
      }
    }
    if (found === current) found = undefined; // every target failed: look up again next time
    if (errors.length === 1) throw errors[0];
    const tried = order.slice(0, errors.length).map((r) => `${r.name}:${r.port}`).join(", ");
    throw new ConnectError(
      `Every SRV target tried failed (${tried}): ${errors[errors.length - 1].message}`,
      { cause: errors[errors.length - 1] },
    );
  };
}

/** `lookup`, or a `TimeoutError` naming the SRV names when it has not answered by `end`. */
async function within<T>(lookup: Promise<T>, end: number, names: readonly SrvName[]): Promise<T> {
  if (end === Infinity) return await lookup;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const queried = names.map((n) => n.name).join(" or ");
      reject(new TimeoutError(`DNS SRV lookup of ${queried} did not answer in time`));
    }, Math.max(0, end - Date.now()));
  });
  try {
    return await Promise.race([lookup, late]);
  } finally {
    clearTimeout(timer);
  }
}
