// The scans of PegasusClient beyond one hash key's range: a full-table scan split over disjoint
// partitions, and the Java client's delRange, which removes what a keys-only scan finds.

import {
  type Bytes,
  type DelRangeOptions,
  hashKeyScanTargets,
  type ScanOptions,
  unorderedScanTargets,
} from "./client_options.ts";
import type { TableAccess } from "./client_setup.ts";
import { multiDelOperation } from "./hash_key_operations.ts";
import type { TableRouter } from "./router.ts";
import { PegasusScanner } from "./scanner.ts";

/**
 * Splits a full-table scan into at most `maxSplitCount` scanners over disjoint partitions,
 * querying meta first when the partition count is not known yet; RangeError for a count that
 * is not a whole number ≥ 1.
 *
 * @example
 * ```ts
 * import { unorderedScanners } from "./client_scan.ts";
 * import { clientParts } from "./client_setup.ts";
 * const access = clientParts<string>({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * const scanners = await unorderedScanners(access, 4, { batchSize: 500 });
 * for (const scanner of scanners) for await (const e of scanner) console.log(e.hashKey);
 * await access.router.cluster.close();
 * ```
 */
export async function unorderedScanners<V>(
  access: TableAccess<V>,
  maxSplitCount: number,
  options: ScanOptions,
): Promise<PegasusScanner<V>[]> {
  if (!Number.isInteger(maxSplitCount) || maxSplitCount < 1) {
    throw new RangeError(`maxSplitCount must be a whole number ≥ 1, got ${maxSplitCount}`);
  }
  const { router, convert } = access;
  const config = router.config ??
    await router.refresh(performance.now() + (options.timeout ?? 5000));
  return unorderedScanTargets(config.partitionCount, maxSplitCount, options).map((targets) =>
    new PegasusScanner(router, targets, convert, options)
  );
}

/**
 * Removes every sort key of `hashKey` in a range (empty stop = to the end), reading the keys
 * with a keys-only scanner and removing them `batchSize` at a time (default 100); resolves with
 * how many were removed. It stops at the first error, the batches before it removed.
 *
 * @example
 * ```ts
 * import { delRange } from "./client_scan.ts";
 * import { Cluster, TableRouter } from "@kvwire/kvwire/pegasus";
 * const router = new TableRouter(new Cluster({ metaServers: ["127.0.0.1:34601"] }), "temp", 1000);
 * console.log(await delRange(router, "user:1", "session:", "session;", {})); // e.g. 42
 * await router.cluster.close();
 * ```
 */
export async function delRange(
  router: TableRouter,
  hashKey: Bytes,
  startSortKey: Bytes,
  stopSortKey: Bytes,
  options: DelRangeOptions,
): Promise<number> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`delRange batchSize must be a whole number ≥ 1, got ${batchSize}`);
  }
  const scan = { ...options, batchSize, noValue: true };
  const targets = hashKeyScanTargets(hashKey, startSortKey, stopSortKey, scan);
  const scanner = new PegasusScanner(router, targets, (b: Uint8Array) => b, scan);
  let removed = 0;
  let batch: Uint8Array[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await router.call(multiDelOperation(hashKey, batch), options);
    removed += batch.length;
    batch = [];
  };
  for await (const { sortKey } of scanner) {
    batch.push(sortKey);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return removed;
}
