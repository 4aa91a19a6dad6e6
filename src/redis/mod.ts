/**
 * Redis for every runtime: a RESP2/RESP3 client with typed commands, auto-pipelining,
 * pipelines, transactions, pub/sub, scripts, scan iterators, locks and a pool; and the
 * sans-I/O `RedisConnection` machine underneath.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.set("foo", "bar");
 * console.log(await redis.get("foo")); // "bar"
 * ```
 *
 * @module
 */

export * from "./cache_commands.ts";
export * from "./cache_tracking.ts";
export * from "./client.ts";
export * from "./client_cache.ts";
export * from "./client_options.ts";
export * from "./cluster/client.ts";
export * from "./command_keys.ts";
export * from "./cluster/options.ts";
export * from "./cluster/routed_request.ts";
export * from "./cluster/shard_pubsub.ts";
export * from "./cluster/slot.ts";
export * from "./cluster/slot_map.ts";
export * from "./cluster/slot_transaction.ts";
export * from "./cluster/split_request.ts";
export * from "./cluster/topology.ts";
export * from "./command_info.ts";
export * from "./commands/acl.ts";
export * from "./commands/base.ts";
export * from "./commands/client_commands.ts";
export * from "./commands/cluster_admin.ts";
export * from "./commands/coverage.ts";
export * from "./commands/info.ts";
export * from "./commands/introspection.ts";
export * from "./commands/diagnostics.ts";
export * from "./commands/functions.ts";
export * from "./commands/geo.ts";
export * from "./commands/hash_expiry.ts";
export * from "./commands/hashes.ts";
export * from "./commands/keys.ts";
export * from "./commands/keys_more.ts";
export * from "./commands/lists.ts";
export * from "./commands/mod.ts";
export * from "./commands/server.ts";
export * from "./commands/server_admin.ts";
export * from "./commands/server_more.ts";
export * from "./commands/sets.ts";
export * from "./commands/sorted_sets.ts";
export * from "./commands/sorted_sets_more.ts";
export * from "./commands/streams.ts";
export * from "./commands/streams_more.ts";
export * from "./commands/strings.ts";
export * from "./commands/strings_more.ts";
export * from "./commands/transforms.ts";
export * from "./commands/vector_sets.ts";
export * from "./connection.ts";
export * from "../core/errors.ts";
export * from "../core/observability.ts";
export * from "./errors.ts";
export * from "./handshake.ts";
export * from "./key_prefix.ts";
export * from "./pipeline.ts";
export * from "./pipeline_error.ts";
export * from "./pubsub_frames.ts";
export * from "./reply_shapes.ts";
export * from "./resp_decoder.ts";
export * from "./resp_encoder.ts";
export * from "./resp_types.ts";
export * from "./lock.ts";
export * from "./monitor.ts";
export * from "./observe.ts";
export * from "./open_connection.ts";
export * from "./pool.ts";
export * from "./pubsub.ts";
export * from "./scan.ts";
export * from "./script.ts";
export * from "./sentinel.ts";
export * from "./sentinel_discovery.ts";
export * from "./sentinel_locator.ts";
export * from "./shaped_reply.ts";
