// The CAS tokens a client remembers from `gets` when `cacheCas` is on (python-memcached's
// `cache_cas`), bounded: past the bound the least recently remembered token is forgotten.

/** How many tokens `cacheCas: true` remembers. */
export const DEFAULT_CAS_CACHE_SIZE = 10_000;

/**
 * Remembered CAS tokens by key bytes, at most `limit` of them (oldest forgotten first), so a
 * long-lived client cannot grow without bound as python-memcached's `cas_ids` can.
 *
 * @example
 * ```ts
 * import { CasCache } from "@kvwire/kvwire/memcache";
 * const cache = new CasCache(2);
 * cache.remember(new TextEncoder().encode("k"), 7n);
 * cache.take(new TextEncoder().encode("k")); // 7n, and forgotten
 * ```
 */
export class CasCache {
  readonly #tokens = new Map<string, bigint>();
  /** The most tokens kept. */
  readonly limit: number;

  /** Creates an empty cache of at most `limit` tokens. */
  constructor(limit: number = DEFAULT_CAS_CACHE_SIZE) {
    this.limit = limit;
  }

  /** How many tokens are remembered. */
  get size(): number {
    return this.#tokens.size;
  }

  /** Remembers the token `gets` returned for a key, forgetting the oldest past the bound. */
  remember(key: Uint8Array, cas: bigint): void {
    const name = keyName(key);
    this.#tokens.delete(name);
    this.#tokens.set(name, cas);
    if (this.#tokens.size > this.limit) {
      this.#tokens.delete(this.#tokens.keys().next().value as string);
    }
  }

  /** The token remembered for a key, forgotten at once (a `cas` makes it stale either way). */
  take(key: Uint8Array): bigint | undefined {
    const name = keyName(key);
    const cas = this.#tokens.get(name);
    this.#tokens.delete(name);
    return cas;
  }

  /** Forgets every token (python-memcached's `reset_cas`). */
  clear(): void {
    this.#tokens.clear();
  }
}

/**
 * The token to use for a `cas` without one: taken from `cache`; `TypeError` when the client has
 * no `cacheCas` or no token is remembered for the key.
 *
 * @example
 * ```ts
 * import { CasCache, takeCas } from "@kvwire/kvwire/memcache";
 * takeCas(new CasCache(), new TextEncoder().encode("k")); // throws TypeError: call gets first
 * ```
 */
export function takeCas(cache: CasCache | undefined, key: Uint8Array): bigint {
  if (!cache) {
    throw new TypeError("cas needs a CAS token (from gets) unless the client has cacheCas");
  }
  const token = cache.take(key);
  if (token === undefined) {
    throw new TypeError("cas: no CAS token remembered for this key; call gets first");
  }
  return token;
}

/** A key's bytes as a string, one character per byte (exact for any bytes). */
function keyName(key: Uint8Array): string {
  let name = "";
  for (let i = 0; i < key.length; i++) name += String.fromCharCode(key[i]);
  return name;
}
