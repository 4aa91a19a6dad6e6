// The reads of PegasusClient that shape values with the client's conversion (bytes, or strings
// with `decode`): a get reply's value, and a multi_get sent and its page of a hash key.

import type { Bytes, MultiGetOptions, MultiGetResult } from "./client_options.ts";
import type { TableAccess } from "./client_setup.ts";
import { RocksStatus } from "./errors.ts";
import { multiGetOperation } from "./hash_key_operations.ts";
import type { KvsResponse, ReadResponse } from "./responses.ts";

/**
 * The value of a `get` reply, or `undefined` when the record is missing or expired.
 *
 * @example
 * ```ts
 * import { readValue } from "./client_reads.ts";
 * import { RocksStatus } from "./errors.ts";
 * const reply = { error: RocksStatus.Ok, value: new Uint8Array([1]), ttlSeconds: -1 };
 * console.log(readValue(reply, (b) => b.length)); // 1
 * ```
 */
export function readValue<V>(reply: unknown, convert: (b: Uint8Array) => V): V | undefined {
  const r = reply as ReadResponse;
  return r.error === RocksStatus.NotFound ? undefined : convert(r.value);
}

/**
 * Sends a multi_get of `hashKey` (the named sort keys, or the range [start, stop) shaped by
 * the options when `sortKeys` is empty) and resolves with the entries, keys and values
 * converted; `complete` is false when the server stopped at a limit.
 *
 * @example
 * ```ts
 * import { multiGet } from "./client_reads.ts";
 * import { clientParts } from "./client_setup.ts";
 * const access = clientParts<string>({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * const none = new Uint8Array(0);
 * const page = await multiGet(access, "user:1", [], none, none, { maxKvCount: 10 });
 * console.log(page.entries, page.complete); // [["name", "Ada"]] true
 * await access.router.cluster.close();
 * ```
 */
export async function multiGet<V>(
  access: TableAccess<V>,
  hashKey: Bytes,
  sortKeys: Uint8Array[],
  start: Uint8Array,
  stop: Uint8Array,
  options: MultiGetOptions,
): Promise<MultiGetResult<V>> {
  const op = multiGetOperation(hashKey, sortKeys, start, stop, options);
  const r = await access.router.call(op, options) as KvsResponse;
  return {
    entries: r.kvs.map((kv) => [access.convert(kv.key), access.convert(kv.value)]),
    complete: r.error === 0,
  };
}
