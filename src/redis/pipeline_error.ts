// PipelineError: a pipeline or transaction broken by a lost connection or a deadline, with the
// outcome of every command in order (what arrived, and whether each of the others may have run).

import { ErrorCode, KvError } from "../core/errors.ts";

/**
 * `exec()` of a pipeline or a MULTI/EXEC transaction could not finish: the connection was lost
 * or a deadline passed. `results` holds, per command in order, its typed result, the
 * `RedisError` the server answered it with, or the `KvError` that ended it; for those,
 * `sent: true` means the command may have run (its outcome is unknown) and `sent: false`
 * that it did not run. `sent` on this error is true when any command may have run. In a
 * transaction every command shares EXEC's fate: each entry is EXEC's error.
 *
 * @example
 * ```ts
 * import { RedisClient, PipelineError } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect();
 * try {
 *   await redis.pipeline().incr("a").incr("b").exec();
 * } catch (error) {
 *   if (error instanceof PipelineError) {
 *     console.log(error.results.length, error.uncertain); // 2, indices that may have run
 *   }
 * }
 * ```
 */
export class PipelineError extends KvError {
  /** Per command, in order: its result, its `RedisError`, or the `KvError` that ended it. */
  readonly results: readonly unknown[];
  /** Indices of the commands whose outcome is unknown (their error has `sent: true`). */
  readonly uncertain: readonly number[];

  /** Builds the error from the per-command results; `failures` are the indices that broke. */
  constructor(what: string, results: readonly unknown[], failures: readonly number[]) {
    const first = results[failures[0]] as Error;
    const uncertain = failures.filter((i) => (results[i] as KvError).sent === true);
    const answered = results.length - failures.length;
    super(
      first instanceof KvError ? first.code : ErrorCode.ConnectionClosed,
      `${what} of ${results.length} commands broke: ${answered} answered, ` +
        `${uncertain.length} may have run, ${failures.length - uncertain.length} did not run ` +
        `(first failure: ${first.message})`,
      { cause: first, sent: uncertain.length > 0 },
    );
    this.results = results;
    this.uncertain = uncertain;
  }
}
