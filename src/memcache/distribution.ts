// Key placement over a memcache pool, as other clients place keys so that kvwire can share a
// cluster with them: libmemcached's ketama (weighted or not) and modula, and python-memcached's.

import { utf8Encode } from "../core/bytes.ts";
import { oneAtATime, pythonMemcacheHash } from "./hashes.ts";
import { type KetamaCompat, type KetamaOptions, KetamaRing, type RingServer } from "./ketama.ts";

/**
 * How keys are spread over servers (the `distribution` option):
 * - `"ketama-weighted"`: libmemcached's MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (MD5, 160 points
 *   per server scaled by weight), pylibmc `{"ketama_weighted": True}`, npm `memcached`;
 * - `"ketama"`: libmemcached's MEMCACHED_BEHAVIOR_KETAMA, pylibmc `{"ketama": True}`: keys
 *   hash with one-at-a-time; 100 one-at-a-time points per server when every weight is 1, the
 *   weighted MD5 points as soon as one weight is above 1 (libmemcached then turns weighting
 *   on, as found against pylibmc);
 * - `"python"`: python-memcached's default (`cmemcache_hash` over weight-expanded buckets);
 * - `"modula"`: libmemcached's default, pylibmc's without behaviors (one-at-a-time modulo
 *   the number of servers, weights ignored).
 */
export type Distribution = "ketama-weighted" | "ketama" | "python" | "modula";

/** Every {@link Distribution}, for validation. */
export const DISTRIBUTIONS: readonly Distribution[] = [
  "ketama-weighted",
  "ketama",
  "python",
  "modula",
] as const;

/** A server as placement sees it: its ring name and weight. */
export type PlacedServer = RingServer;

/**
 * Picks a key's server. `isDead` is passed when failover is on: then the key goes where the
 * reference client sends it once its server is marked dead.
 */
export interface Placement {
  /** The index of the server for a key. */
  place(key: Uint8Array, isDead?: (index: number) => boolean): number;
}

/** python-memcached's `_SERVER_RETRIES`: how many buckets it tries before giving up. */
const PYTHON_RETRIES = 10;

/**
 * The placement of a {@link Distribution} over servers (in order: indexes are positions).
 *
 * Theory of operation, when servers are dead (failover):
 * - the ketama kinds look every key up on a ring built over the live servers only, as
 *   libmemcached's auto-eject rebuilds its continuum (cached per set of dead servers): when
 *   the weights of the live servers average differently, their point counts change and some
 *   of their own keys move too, exactly as in libmemcached;
 * - `"python"` rehashes `str(hash) + str(try)` up to 10 times until a live bucket comes up
 *   (python-memcached's `_get_server`); if none does, the first choice is returned, so the
 *   request fails as it does in Python;
 * - `"modula"` never moves a key (libmemcached rebuilds nothing for modula): a dead server's
 *   requests fail.
 *
 * @example
 * ```ts
 * import { createPlacement } from "@kvwire/kvwire/memcache";
 * const placement = createPlacement("python", [
 *   { host: "10.0.0.1", port: 11211, weight: 2 },
 *   { host: "10.0.0.2", port: 11211 },
 * ]);
 * placement.place(new TextEncoder().encode("user:42")); // 0 or 1
 * ```
 */
export function createPlacement(
  distribution: Distribution,
  servers: readonly PlacedServer[],
  compat: KetamaCompat = "libmemcached",
): Placement {
  if (servers.length === 0) throw new RangeError("A memcache pool needs at least one server");
  switch (distribution) {
    case "ketama-weighted":
      return ketamaPlacement(servers, compat, { weighted: true, keyHash: "md5" });
    case "ketama":
      return ketamaPlacement(servers, compat, {
        weighted: servers.some((s) => (s.weight ?? 1) > 1),
        keyHash: "one-at-a-time",
      });
    case "python":
      return pythonPlacement(servers);
    case "modula":
      return { place: (key) => servers.length === 1 ? 0 : oneAtATime(key) % servers.length };
    default:
      throw new TypeError(`Unknown memcache distribution ${JSON.stringify(distribution)}`);
  }
}

function ketamaPlacement(
  servers: readonly PlacedServer[],
  compat: KetamaCompat,
  options: KetamaOptions,
): Placement {
  if (servers.length === 1) return { place: () => 0 };
  const ring = new KetamaRing(servers, compat, options);
  const live = new Map<string, { ring: KetamaRing; indexes: number[] } | null>();
  const liveRing = (isDead: (index: number) => boolean) => {
    const down = servers.map((_, i) => isDead(i));
    const signature = down.map((d) => (d ? "1" : "0")).join("");
    let entry = live.get(signature);
    if (entry === undefined) {
      const indexes = servers.map((_, i) => i).filter((i) => !down[i]);
      entry = indexes.length === 0
        ? null
        : { ring: new KetamaRing(indexes.map((i) => servers[i]), compat, options), indexes };
      if (live.size > 64) live.clear();
      live.set(signature, entry);
    }
    return entry;
  };
  return {
    place(key, isDead) {
      const hash = ring.hash(key);
      if (!isDead || !servers.some((_, i) => isDead(i))) return ring.lookupHash(hash);
      const entry = liveRing(isDead);
      return entry ? entry.indexes[entry.ring.lookupHash(hash)] : ring.lookupHash(hash);
    },
  };
}

function pythonPlacement(servers: readonly PlacedServer[]): Placement {
  const buckets: number[] = [];
  servers.forEach((server, index) => {
    const weight = server.weight ?? 1;
    for (let i = 0; i < weight; i++) buckets.push(index);
  });
  return {
    place(key, isDead) {
      let hash = pythonMemcacheHash(key);
      const primary = buckets[hash % buckets.length];
      if (!isDead) return primary;
      for (let i = 0; i < PYTHON_RETRIES; i++) {
        const index = buckets[hash % buckets.length];
        if (!isDead(index)) return index;
        hash = pythonMemcacheHash(utf8Encode(`${hash}${i}`));
      }
      return primary;
    },
  };
}
