// The batch calls of PegasusClient: single-key reads, writes or removals across partitions, all
// checked before any is sent, then sent in parallel as one instrumented operation; a settled
// result per item, or the first failure thrown.

import type { Bytes, WriteOptions } from "./client_options.ts";
import { readValue } from "./client_reads.ts";
import type { TableAccess } from "./client_setup.ts";
import { readOperation, removeOperation, setOperation } from "./key_operations.ts";
import type { CallOptions, RoutedOperation, TableRouter } from "./router.ts";

/**
 * Reads many (hashKey, sortKey) pairs as `batch_get`: one settled value per key, in order
 * (`undefined` when missing).
 *
 * @example
 * ```ts
 * import { batchGets } from "./client_batch.ts";
 * import { clientParts } from "./client_setup.ts";
 * const access = clientParts<string>({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * const settled = await batchGets(access, [["u:1", "name"], ["u:2", "name"]], {});
 * console.log(settled.map((r) => r.status === "fulfilled" ? r.value : r.reason.message));
 * await access.router.cluster.close();
 * ```
 */
export async function batchGets<V>(
  access: TableAccess<V>,
  keys: readonly (readonly [Bytes, Bytes])[],
  options: CallOptions | undefined,
): Promise<PromiseSettledResult<V | undefined>[]> {
  const ops = keys.map(([h, s]) => readOperation("get", h, s));
  return await settle(
    access.router,
    "batch_get",
    ops,
    options,
    (r) => readValue(r, access.convert),
  );
}

/**
 * Writes many (hashKey, sortKey, value) records as `batch_set` (one TTL for all): one settled
 * result per record, in order.
 *
 * @example
 * ```ts
 * import { batchSets } from "./client_batch.ts";
 * import { Cluster, TableRouter } from "@kvwire/kvwire/pegasus";
 * const router = new TableRouter(new Cluster({ metaServers: ["127.0.0.1:34601"] }), "temp", 1000);
 * const settled = await batchSets(router, [["u:1", "name", "Ada"]], { ttl: 60 });
 * console.log(settled[0].status); // "fulfilled"
 * await router.cluster.close();
 * ```
 */
export async function batchSets(
  router: TableRouter,
  items: readonly (readonly [Bytes, Bytes, Bytes])[],
  options: WriteOptions,
): Promise<PromiseSettledResult<void>[]> {
  const ops = items.map(([h, s, v]) => setOperation(h, s, v, options.ttl));
  return await settle(router, "batch_set", ops, options, () => undefined);
}

/**
 * Removes many (hashKey, sortKey) records as `batch_del`: one settled result per key, in order.
 *
 * @example
 * ```ts
 * import { batchDels } from "./client_batch.ts";
 * import { Cluster, TableRouter } from "@kvwire/kvwire/pegasus";
 * const router = new TableRouter(new Cluster({ metaServers: ["127.0.0.1:34601"] }), "temp", 1000);
 * const settled = await batchDels(router, [["u:1", "name"], ["u:2", "name"]], {});
 * console.log(settled.map((r) => r.status)); // ["fulfilled", "fulfilled"]
 * await router.cluster.close();
 * ```
 */
export async function batchDels(
  router: TableRouter,
  keys: readonly (readonly [Bytes, Bytes])[],
  options: CallOptions | undefined,
): Promise<PromiseSettledResult<void>[]> {
  const ops = keys.map(([h, s]) => removeOperation(h, s));
  return await settle(router, "batch_del", ops, options, () => undefined);
}

/**
 * The values of settled results, or the first failure thrown.
 *
 * @example
 * ```ts
 * import { valuesOrFirstError } from "./client_batch.ts";
 * console.log(valuesOrFirstError([{ status: "fulfilled", value: 1 }])); // [1]
 * valuesOrFirstError([{ status: "rejected", reason: new Error("x") }]); // throws Error("x")
 * ```
 */
export function valuesOrFirstError<R>(results: PromiseSettledResult<R>[]): R[] {
  const values: R[] = [];
  for (const r of results) {
    if (r.status === "rejected") throw r.reason;
    values.push(r.value);
  }
  return values;
}

/**
 * Sends `ops` (all validated already) in parallel as one operation (`batchSize` = the count)
 * and waits for every one: the operation ends with the first failure, if any.
 */
async function settle<R>(
  router: TableRouter,
  name: string,
  ops: RoutedOperation[],
  options: CallOptions | undefined,
  result: (reply: unknown) => R,
): Promise<PromiseSettledResult<R>[]> {
  const batch = router.trace(name, "request", ops.length);
  const settled = await Promise.allSettled(
    ops.map(async (op) => result(await router.call(op, options, batch))),
  );
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  router.finish(batch, failure?.reason);
  return settled;
}
