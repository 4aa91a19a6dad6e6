// How a kvwire Operation reads in the OpenTelemetry database semantic conventions (stable
// `db.*`, `server.*` and `error.type` attributes; docs/db/database-spans.md, redis.md, and
// database-metrics.md of open-telemetry/semantic-conventions). Pure functions, no OTel import.

import type { Operation, OperationStart, ProtocolName } from "../src/core/instrument.ts";

/** The attribute names used (string constants: no dependency on the conventions package). */
export const ATTR = {
  systemName: "db.system.name",
  operationName: "db.operation.name",
  namespace: "db.namespace",
  batchSize: "db.operation.batch.size",
  statusCode: "db.response.status_code",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  retries: "kvwire.retries",
  redirections: "kvwire.redirections",
} as const;

/**
 * `db.system.name` per protocol: the registry's `redis` and `memcached`; etcd, Pegasus and
 * TStorage are not in the registry, so their lowercase product names (custom values).
 */
export const DB_SYSTEM: Readonly<Record<ProtocolName, string>> = {
  redis: "redis",
  memcache: "memcached",
  etcd: "etcd",
  pegasus: "pegasus",
  tstorage: "tstorage",
};

/** The histogram the conventions define for operation durations, in seconds. */
export const DURATION_METRIC = {
  name: "db.client.operation.duration",
  unit: "s",
  description: "Duration of database client operations.",
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
} as const;

/** Attribute values as OpenTelemetry takes them. */
export type AttributeMap = Record<string, string | number>;

/**
 * The span name: `{operation} {target}`, the target being the namespace (not for Redis, whose
 * conventions keep the numeric database index out of the name), else `address:port`, else none.
 *
 * @example
 * ```ts
 * spanName({ protocol: "pegasus", operation: "multi_get", namespace: "users" }); // "multi_get users"
 * spanName({ protocol: "redis", operation: "GET", namespace: "0", serverAddress: "h", serverPort: 6379 }); // "GET h:6379"
 * ```
 */
export function spanName(op: OperationStart): string {
  if (op.namespace !== undefined && op.protocol !== "redis") {
    return `${op.operation} ${op.namespace}`;
  }
  if (op.serverAddress === undefined) return op.operation;
  return op.serverPort === undefined
    ? `${op.operation} ${op.serverAddress}`
    : `${op.operation} ${op.serverAddress}:${op.serverPort}`;
}

/**
 * The attributes known when an operation starts (the conventions want them at span creation,
 * for sampling). `db.operation.batch.size` only for batches (two or more, or an empty one).
 *
 * @example
 * ```ts
 * startAttributes({ protocol: "redis", operation: "PIPELINE", batchSize: 3 });
 * // { "db.system.name": "redis", "db.operation.name": "PIPELINE", "db.operation.batch.size": 3 }
 * ```
 */
export function startAttributes(op: OperationStart): AttributeMap {
  const attributes = baseAttributes(op);
  if (op.batchSize !== undefined && op.batchSize !== 1) attributes[ATTR.batchSize] = op.batchSize;
  return attributes;
}

/** System, operation, namespace and server: what spans and the histogram share. */
function baseAttributes(op: OperationStart): AttributeMap {
  const attributes: AttributeMap = {
    [ATTR.systemName]: DB_SYSTEM[op.protocol] ?? op.protocol,
    [ATTR.operationName]: op.operation,
  };
  if (op.namespace !== undefined) attributes[ATTR.namespace] = op.namespace;
  if (op.serverAddress !== undefined) attributes[ATTR.serverAddress] = op.serverAddress;
  if (op.serverPort !== undefined) attributes[ATTR.serverPort] = op.serverPort;
  return attributes;
}

/**
 * The server's own code of a failed operation (Redis `WRONGTYPE`, …): `serverCode` of a
 * ServerError, read by shape so that errors from another copy of kvwire count too.
 *
 * @example
 * ```ts
 * import { ServerError } from "@kvwire/kvwire";
 * responseStatusCode(new ServerError("WRONGTYPE Operation against a key", "WRONGTYPE")); // "WRONGTYPE"
 * ```
 */
export function responseStatusCode(error: Error | undefined): string | undefined {
  const code = (error as { serverCode?: unknown } | undefined)?.serverCode;
  return typeof code === "string" && code !== "" ? code : undefined;
}

/**
 * The attributes a failed operation adds: `error.type` is the server's code when it sent one
 * (as the conventions ask: it matches `db.response.status_code`), else kvwire's `errorCode`
 * (`TIMEOUT`, `CONNECTION_CLOSED`, … or the error's name).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@kvwire/kvwire";
 * const attributes = {};
 * addErrorAttributes(attributes, new TimeoutError("GET timed out"), "TIMEOUT");
 * // attributes: { "error.type": "TIMEOUT" }
 * ```
 */
export function addErrorAttributes(
  attributes: AttributeMap,
  error: Error,
  errorCode: string | undefined,
): void {
  const status = responseStatusCode(error);
  if (status !== undefined) attributes[ATTR.statusCode] = status;
  attributes[ATTR.errorType] = status ?? errorCode ?? error.name;
}

/**
 * The attributes of the duration histogram for an ended operation: system, operation, namespace
 * and server (not the batch size), plus the error's.
 *
 * @example
 * ```ts
 * import { Instrumenter } from "@kvwire/kvwire";
 * const inst = new Instrumenter({});
 * const op = inst.start({ protocol: "etcd", operation: "Range", serverAddress: "h", serverPort: 2379 })!;
 * inst.end(op);
 * metricAttributes(op); // { "db.system.name": "etcd", "db.operation.name": "Range", ... }
 * ```
 */
export function metricAttributes(op: Operation): AttributeMap {
  const attributes = baseAttributes(op);
  if (op.error !== undefined) addErrorAttributes(attributes, op.error, op.errorCode);
  return attributes;
}
