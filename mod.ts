/**
 * kvwire: one TypeScript library that speaks Redis, memcache, etcd, Apache Pegasus and
 * TStorage on Deno, Bun, Node and Cloudflare Workers. The protocols are sans-I/O state
 * machines; small transports move the bytes.
 *
 * This entry exports the shared core (errors, the transport and machine interfaces, the
 * driver and byte helpers) and the clients. Protocol entries (`@kvwire/kvwire/redis`, ...)
 * export each protocol's full surface.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.set("greeting", "hello");
 * console.log(await redis.get("greeting")); // "hello"
 * ```
 *
 * @module
 */

export * from "./src/core/errors.ts";
export * from "./src/core/transport.ts";
export * from "./src/core/connection.ts";
export * from "./src/core/bytes.ts";
export * from "./src/core/receive_buffer.ts";
export * from "./src/core/correlation.ts";
export * from "./src/core/chunk_text.ts";
export * from "./src/core/id_table.ts";
export * from "./src/core/deadline_heap.ts";
export * from "./src/core/outbox.ts";
export * from "./src/core/pending_requests.ts";
export * from "./src/core/stream_queue.ts";
export * from "./src/core/backoff.ts";
export * from "./src/core/url.ts";
export * from "./src/core/redact.ts";
export * from "./src/core/driver.ts";
export * from "./src/core/managed_connection.ts";
export * from "./src/core/default_connect.ts";
export * from "./src/core/srv.ts";
export * from "./src/core/observability.ts";
export { RedisClient, type RedisClientOptions, RedisError } from "./src/redis/mod.ts";
export { MemcacheClient, type MemcacheClientOptions, MemcacheError } from "./src/memcache/mod.ts";
export { EtcdClient, type EtcdClientOptions, EtcdError } from "./src/etcd/mod.ts";
export { PegasusClient, type PegasusClientOptions, PegasusError } from "./src/pegasus/mod.ts";
export { TStorageClient, type TStorageClientOptions, TStorageError } from "./src/tstorage/mod.ts";
