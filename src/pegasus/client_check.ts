// The check-and-set family of PegasusClient: a check_and_set or check_and_mutate sent and its
// reply shaped into a CheckResult, and the Java client's compareExchange built on check_and_set.

import type { Bytes, CheckResult, CompareExchangeResult, WriteOptions } from "./client_options.ts";
import type { TableAccess } from "./client_setup.ts";
import { checkAndSetOperation } from "./hash_key_operations.ts";
import { CheckType } from "./requests.ts";
import type { CheckResponse } from "./responses.ts";
import type { CallOptions, RoutedOperation } from "./router.ts";

/**
 * Sends a check_and_set or check_and_mutate `op` and resolves with whether its check passed
 * and, when asked for, the checked record's value (converted as the client returns values).
 *
 * @example
 * ```ts
 * import { runCheck } from "./client_check.ts";
 * import { clientParts } from "./client_setup.ts";
 * import { CheckType, checkAndSetOperation } from "@kvwire/kvwire/pegasus";
 * const access = clientParts<string>({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * const op = checkAndSetOperation("job:1", {
 *   checkSortKey: "state", checkType: CheckType.ValueNotExist, checkOperand: "",
 *   setSortKey: "state", setValue: "queued", returnCheckValue: true,
 * });
 * const r = await runCheck(access, op, { timeout: 500 });
 * console.log(r.succeeded, r.checkValue); // false "running" when the job had started
 * await access.router.cluster.close();
 * ```
 */
export async function runCheck<V>(
  access: TableAccess<V>,
  op: RoutedOperation,
  options: CallOptions | undefined,
): Promise<CheckResult<V>> {
  const r = await access.router.call(op, options) as CheckResponse;
  const out: CheckResult<V> = { succeeded: r.error === 0 };
  if (r.checkValueReturned) {
    out.checkValueExist = r.checkValueExist;
    if (r.checkValueExist) out.checkValue = access.convert(r.checkValue);
  }
  return out;
}

/**
 * PegasusClient's compareExchange: one check_and_set replacing the value of (hashKey, sortKey)
 * with `desiredValue` when it equals `expectedValue` byte for byte, else resolving with the
 * value found; RangeError for a negative `ttl`, before anything is sent.
 *
 * @example
 * ```ts
 * import { compareExchange } from "./client_check.ts";
 * import { clientParts } from "./client_setup.ts";
 * const access = clientParts<string>({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * const r = await compareExchange(access, "job:1", "state", "queued", "running", {});
 * console.log(r.succeeded ? "claimed" : `already ${r.actualValue}`);
 * await access.router.cluster.close();
 * ```
 */
export async function compareExchange<V>(
  access: TableAccess<V>,
  hashKey: Bytes,
  sortKey: Bytes,
  expectedValue: Bytes,
  desiredValue: Bytes,
  options: WriteOptions,
): Promise<CompareExchangeResult<V>> {
  if (options.ttl !== undefined && !(options.ttl >= 0)) {
    throw new RangeError(`compareExchange ttl must be ≥ 0 seconds, got ${options.ttl}`);
  }
  const op = checkAndSetOperation(hashKey, {
    checkSortKey: sortKey,
    checkType: CheckType.BytesEqual,
    checkOperand: expectedValue,
    setSortKey: sortKey,
    setValue: desiredValue,
    ttl: options.ttl,
    returnCheckValue: true,
  });
  const r = await runCheck(access, op, options);
  return r.succeeded ? { succeeded: true } : { succeeded: false, actualValue: r.checkValue };
}
