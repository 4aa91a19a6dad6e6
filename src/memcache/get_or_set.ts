// Anti-dogpile read-through caching on memcached's meta protocol: vivify-on-miss, recache and
// the win token (`W`/`Z`/`X`), so one caller at a time loads a missing or stale value.

import type { GetOrSetOptions, KeyInput, StoreOptions } from "./client_types.ts";
import type { MetaResponse } from "./types.ts";
import type { EncodedValue } from "./values.ts";

/** What {@link getOrSet} needs from a client. */
export interface GetOrSetOps {
  /** Sends one meta command (the client's `meta`). */
  meta(cmd: "mg" | "md", key: KeyInput, flags: readonly string[]): Promise<MetaResponse | null>;
  /** Stores a value (the client's `set`). */
  set(key: KeyInput, value: unknown, options: StoreOptions): Promise<boolean>;
  /** Decodes a stored item (the client's value codec). */
  decode(item: EncodedValue): unknown;
}

const FIRST_WAIT_MS = 5;
const MAX_WAIT_MS = 100;

function seconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`getOrSet option ${name} must be whole seconds ≥ 0, got ${value}`);
  }
  return value;
}

/** A vivified placeholder: created empty (flags 0) by the miss that won it. */
function isPlaceholder(response: MetaResponse): boolean {
  return (response.value?.length ?? 0) === 0 && (response.clientFlags ?? 0) === 0;
}

/**
 * Returns the cached value of `key`, or loads and stores it with one caller at a time across
 * every client of the cluster.
 *
 * Theory of operation: one `mg` with `N<lockTtl>` (vivify: a miss creates an empty placeholder
 * and hands this caller the win token `W`) and, with `staleTtl`, `R<staleTtl>` (the first
 * reader after the TTL drops below it wins a refresh). A winner runs `loader`, stores its
 * result with `ttl` and returns it; if the loader fails on a placeholder, the placeholder is
 * deleted so the next caller may try. Others (`Z`: someone else won) get the current value,
 * stale or not; when there is only a placeholder they poll (5 ms, doubling to 100 ms) until
 * the value arrives, or load it themselves after `lockTtl`. An invalidated key
 * (`invalidate`) is served stale (`X`) while its first reader refreshes it. An empty
 * `Uint8Array` stored with flags 0 looks like a placeholder and is reloaded.
 *
 * @example
 * ```ts
 * import { getOrSet, MemcacheClient } from "@kvwire/kvwire/memcache";
 * await using mc = await MemcacheClient.connect();
 * await mc.getOrSet("user:42", () => ({ name: "Ada" }), { ttl: 300, staleTtl: 30 });
 * ```
 */
export async function getOrSet<T>(
  ops: GetOrSetOps,
  key: KeyInput,
  loader: () => T | Promise<T>,
  options: GetOrSetOptions,
): Promise<T> {
  if (typeof loader !== "function") throw new TypeError("getOrSet needs a loader function");
  const ttl = seconds("ttl", options.ttl, 0);
  const staleTtl = seconds("staleTtl", options.staleTtl, 0);
  const lockTtl = seconds("lockTtl", options.lockTtl, 30);
  const flags = ["v", "f", "c", "t", `N${Math.max(1, lockTtl)}`];
  if (staleTtl > 0) flags.push(`R${staleTtl}`);
  const load = async (placeholder: boolean): Promise<T> => {
    let value: T;
    try {
      value = await loader();
    } catch (error) {
      if (placeholder) await ops.meta("md", key, ["q"]).catch(() => null);
      throw error;
    }
    await ops.set(key, value, { ttl });
    return value;
  };
  const giveUpAt = Date.now() + lockTtl * 1000;
  let wait = FIRST_WAIT_MS;
  for (;;) {
    const response = await ops.meta("mg", key, flags);
    if (response === null || response.code === "EN") return await load(false);
    const placeholder = isPlaceholder(response);
    if (response.win) return await load(placeholder);
    if (!placeholder) {
      const item = { value: response.value ?? new Uint8Array(0), flags: response.clientFlags ?? 0 };
      return await ops.decode(item) as T;
    }
    if (Date.now() >= giveUpAt) return await load(false);
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(MAX_WAIT_MS, wait * 2);
  }
}
