// Ketama consistent hashing, point for point as libmemcached builds it (hosts.cc
// update_continuum): weighted (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, MD5) or not (KETAMA).

import { utf8Encode } from "../core/bytes.ts";
import { oneAtATime } from "./hashes.ts";
import { md5, md5First32 } from "./md5.ts";

/** A server on the ring: its name as libmemcached sees it, and its weight. */
export interface RingServer {
  /** Host name as libmemcached sees it. */
  host: string;
  /** Port number. */
  port: number;
  /** Relative capacity; default 1. */
  weight?: number;
}

const POINTS_PER_SERVER = 160;
const POINTS_PER_SERVER_UNWEIGHTED = 100;
const DEFAULT_PORT = 11211;

/**
 * The 32-bit ketama hash of a key: the first four bytes of its MD5, little-endian.
 *
 * @example
 * ```ts
 * import { ketamaHash } from "@kvwire/kvwire/memcache";
 * ketamaHash(new TextEncoder().encode("SVa_]_V41)")); // 443691461
 * ```
 */
export function ketamaHash(key: Uint8Array): number {
  return md5First32(key);
}

/** How point names are spelled: libmemcached's (`host-i`, `host:port-i`) or spymemcached's. */
export type KetamaCompat = "libmemcached" | "spymemcached";

/** How a {@link KetamaRing} is built. */
export interface KetamaOptions {
  /** Weighted points (MD5, 160 per server scaled by weight) or 100 one-at-a-time ones. Default true. */
  weighted?: boolean;
  /** The hash keys are looked up by. Default `"md5"`. */
  keyHash?: "md5" | "one-at-a-time";
}

/**
 * A continuum of points, each owned by a server. `lookup` finds the first point at or after a
 * key's hash (wrapping to the first), as libmemcached does.
 *
 * Theory of operation: weighted, each server gets `floor(weight / total * 40 * servers) * 4`
 * points (computed in 32-bit floats like the C code); point names are `host-i` (default port
 * 11211) or `host:port-i` (spymemcached: `/host:port-i`), and each name's MD5 gives four
 * points. Unweighted (libmemcached's plain KETAMA with every weight 1), every server gets 100
 * points, one per name, hashed with one-at-a-time (libmemcached's default hash). Keys hash
 * with MD5 or one-at-a-time (`keyHash`). Points sort by value, then server.
 *
 * @example
 * ```ts
 * import { KetamaRing } from "@kvwire/kvwire/memcache";
 * const ring = new KetamaRing([{ host: "10.0.1.1", port: 11211, weight: 600 }, { host: "10.0.1.2", port: 11211, weight: 300 }]);
 * ring.lookup(new TextEncoder().encode("user:42")); // 0 or 1, the server's index
 * ```
 */
export class KetamaRing {
  readonly #points: Uint32Array;
  readonly #owners: Uint16Array;
  readonly #keyHash: (key: Uint8Array) => number;

  /** Builds the ring; server indexes are positions in `servers`. */
  constructor(
    servers: readonly RingServer[],
    compat: KetamaCompat = "libmemcached",
    options: KetamaOptions = {},
  ) {
    const weighted = options.weighted ?? true;
    this.#keyHash = (options.keyHash ?? "md5") === "md5" ? ketamaHash : oneAtATime;
    if (servers.length === 0) throw new RangeError("A ketama ring needs at least one server");
    if (servers.length > 0xffff) throw new RangeError("Too many servers for a ketama ring");
    let total = 0;
    for (const s of servers) {
      const weight = s.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1) {
        throw new RangeError(`Invalid weight ${weight} for ${s.host}:${s.port}`);
      }
      total += weight;
    }
    const f = Math.fround;
    const values: number[] = [];
    const owners: number[] = [];
    servers.forEach((server, index) => {
      const pct = f(f(server.weight ?? 1) / f(total));
      const perServer = weighted
        ? Math.floor(
          f(f(f(f(pct * POINTS_PER_SERVER) / 4) * f(servers.length)) + f(0.0000000001)),
        ) * 4
        : POINTS_PER_SERVER_UNWEIGHTED;
      const name = compat === "spymemcached"
        ? `/${server.host}:${server.port}`
        : server.port === DEFAULT_PORT
        ? server.host
        : `${server.host}:${server.port}`;
      if (!weighted) {
        for (let i = 0; i < perServer; i++) {
          values.push(oneAtATime(utf8Encode(`${name}-${i}`)));
          owners.push(index);
        }
        return;
      }
      for (let i = 0; i < perServer / 4; i++) {
        const d = md5(utf8Encode(`${name}-${i}`));
        for (let x = 0; x < 4; x++) {
          values.push(
            ((d[3 + x * 4] << 24) | (d[2 + x * 4] << 16) | (d[1 + x * 4] << 8) | d[x * 4]) >>> 0,
          );
          owners.push(index);
        }
      }
    });
    const order = values.map((_, i) => i);
    order.sort((a, b) => values[a] - values[b] || owners[a] - owners[b]);
    this.#points = Uint32Array.from(order, (i) => values[i]);
    this.#owners = Uint16Array.from(order, (i) => owners[i]);
  }

  /** Number of points on the continuum. */
  get size(): number {
    return this.#points.length;
  }

  /** The point value a hash lands on (for test vectors). */
  pointFor(hash: number): number {
    return this.#points[this.#find(hash)];
  }

  /** The hash a key is looked up by (`keyHash`). */
  hash(key: Uint8Array): number {
    return this.#keyHash(key);
  }

  /** The index of the server owning a key. */
  lookup(key: Uint8Array): number {
    return this.#owners[this.#find(this.hash(key))];
  }

  /** The index of the server owning a precomputed hash. */
  lookupHash(hash: number): number {
    return this.#owners[this.#find(hash)];
  }

  #find(hash: number): number {
    const points = this.#points;
    let left = 0;
    let right = points.length;
    while (left < right) {
      const middle = (left + right) >>> 1;
      if (points[middle] < hash) left = middle + 1;
      else right = middle;
    }
    return right === points.length ? 0 : right;
  }
}
