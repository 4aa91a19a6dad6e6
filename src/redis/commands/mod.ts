// The full typed command surface, assembled from the per-group classes (each extends the
// previous one, so clients and pipelines get every method with one base class).

import { VectorSetCommands } from "./vector_sets.ts";
import type { CommandMode } from "./base.ts";

/**
 * Every typed Redis command. `V` is the value type, `M` whether methods return Promises
 * (clients) or the pipeline (chaining).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * await redis.set("k", "v");
 * ```
 */
export abstract class RedisCommands<V, M extends CommandMode> extends VectorSetCommands<V, M> {}
