// Cursor iteration as async generators: the next page is fetched when the consumer pulls
// (SCAN, HSCAN, SSCAN, ZSCAN). Spec: https://redis.io/docs/latest/commands/scan/

import type { ScanPage } from "./commands/keys.ts";

/**
 * Walks a cursor to its end, yielding each item; `fetch(cursor)` returns one page.
 *
 * @example
 * ```ts
 * import { iterateCursor, RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * for await (const key of iterateCursor((c) => redis.scan(c, { match: "user:*" }))) {
 *   console.log(key);
 * }
 * ```
 */
export async function* iterateCursor<T>(
  fetch: (cursor: string) => Promise<ScanPage<T>>,
): AsyncGenerator<T, void, undefined> {
  let cursor = "0";
  do {
    const page = await fetch(cursor);
    cursor = page.cursor;
    yield* page.items;
  } while (cursor !== "0");
}
