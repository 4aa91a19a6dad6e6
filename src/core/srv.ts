// DNS SRV discovery, runtime-neutral: the resolver seam (`ResolveSrv`), the RFC 2782 order of
// targets, the error of a lookup that found nothing, and the default resolver, which loads the
// running runtime's own (transports/auto.ts) on first use, as `defaultConnect` does.

import { ConnectError, type KvErrorOptions } from "./errors.ts";

/** One SRV record: a target host and port with its priority and weight (RFC 2782). */
export interface SrvRecord {
  /** The target host name, without a final dot. */
  name: string;
  /** The target's TCP port. */
  port: number;
  /** Lower is tried first. */
  priority: number;
  /** Relative share among the records of one priority. */
  weight: number;
}

/**
 * Looks up the SRV records of a name (`_service._proto.domain`). Resolves to `[]` when the
 * name does not exist or has no SRV record; rejects for any other failure.
 *
 * @example
 * ```ts
 * import type { ResolveSrv } from "@kvwire/kvwire";
 * const resolveSrv: ResolveSrv = async (name) =>
 *   name === "_etcd._tcp.example.com"
 *     ? [{ name: "etcd-1.example.com", port: 2379, priority: 0, weight: 10 }]
 *     : [];
 * ```
 */
export type ResolveSrv = (name: string) => Promise<SrvRecord[]>;

/**
 * Orders records the way RFC 2782 says clients try them: priority ascending; within a
 * priority, a weighted random draw (a record of weight 0 is drawn only when nothing of
 * positive weight is left). `random` returns a number in [0, 1).
 *
 * @example
 * ```ts
 * import { orderSrv } from "@kvwire/kvwire";
 * orderSrv([
 *   { name: "b", port: 2379, priority: 1, weight: 0 },
 *   { name: "a", port: 2379, priority: 0, weight: 0 },
 * ]).map((r) => r.name); // ["a", "b"]
 * ```
 */
export function orderSrv(
  records: readonly SrvRecord[],
  random: () => number = Math.random,
): SrvRecord[] {
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  const ordered: SrvRecord[] = [];
  for (const priority of priorities) {
    // Weight 0 first, as the RFC's selection sums from the start of the list.
    const left = records.filter((r) => r.priority === priority)
      .sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const draw = Math.floor(random() * (total + 1));
      let sum = 0;
      let index = left.findIndex((r) => (sum += r.weight) >= draw);
      if (index === -1) index = left.length - 1;
      ordered.push(...left.splice(index, 1));
    }
  }
  return ordered;
}

/**
 * No SRV record was found under any of the names queried (NXDOMAIN, no SRV record, or the
 * lookups failed; `cause` holds the last failure). Nothing was sent.
 *
 * @example
 * ```ts
 * import { SrvLookupError } from "@kvwire/kvwire";
 * const err = new SrvLookupError(["_etcd-client._tcp.example.com"]);
 * console.log(err.code, err.names); // "CONNECT_FAILED" ["_etcd-client._tcp.example.com"]
 * ```
 */
export class SrvLookupError extends ConnectError {
  /** The SRV names queried, in order. */
  readonly names: readonly string[];

  /** Creates the error for the names queried. */
  constructor(names: readonly string[], options?: KvErrorOptions) {
    const why = options?.cause instanceof Error ? ` (${options.cause.message})` : "";
    super(`No DNS SRV record found for ${names.join(" or ")}${why}`, options);
    this.names = names;
  }
}

/**
 * Looks SRV records up with the running runtime's own resolver and the system's name servers
 * (`srvResolver` of transports/auto.ts). On Cloudflare Workers there is none: it rejects with
 * a `TypeError` telling to pass endpoints or a `resolveSrv` (DNS over HTTPS, for instance).
 *
 * @example
 * ```ts
 * import { defaultResolveSrv } from "@kvwire/kvwire";
 * const records = await defaultResolveSrv("_etcd-client._tcp.example.com");
 * ```
 */
export const defaultResolveSrv: ResolveSrv = async (name) => {
  const { srvResolver } = await import("../../transports/auto.ts");
  return srvResolver()(name);
};
