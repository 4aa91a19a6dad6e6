// The root of the typed command classes: one abstract `call`, implemented by the client
// (each command returns a Promise) and by pipelines (each command returns the pipeline).

import type { RedisArg } from "../resp_encoder.ts";
import { asReply, type Transform } from "./transforms.ts";

/** Whether commands return Promises (client) or the object itself (pipeline, chaining). */
export type CommandMode = "promise" | "chain";

/** The return type of a command: `Promise<T>` on a client, the pipeline itself when chaining. */
export type Out<M extends CommandMode, T, Self> = M extends "chain" ? Self : Promise<T>;

/** A key: text (UTF-8) or raw bytes. */
export type RedisKey = string | Uint8Array;

/** A value to store: text, bytes or a number (sent as its decimal text). */
export type RedisValue = string | Uint8Array | number | bigint;

/**
 * Base of every typed command method. `V` is the value type (`Uint8Array`, or `string` when the
 * client decodes); `M` says whether a method returns a Promise or the object for chaining.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.send("OBJECT", "ENCODING", "k"); // any command, raw reply
 * ```
 */
export abstract class CommandBase<V, M extends CommandMode> {
  /** Queues or sends one command; `transform` shapes the reply. */
  protected abstract call<T>(args: RedisArg[], transform: Transform<T>): Out<M, T, this>;

  /**
   * Queues or sends one blocking command (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK...), which may
   * hold its connection for up to `serverTimeoutSeconds` (0: forever). This default sends it
   * like any other command; clients override it to run the command on a dedicated pooled
   * connection, with a client-side deadline of the server timeout plus a margin, so a blocked
   * command never stalls the commands pipelined behind it. Pipelines keep the default.
   */
  protected callBlocking<T>(
    args: RedisArg[],
    transform: Transform<T>,
    _serverTimeoutSeconds: number,
  ): Out<M, T, this> {
    return this.call(args, transform);
  }

  /**
   * Queues or sends a command whose success closes the connection (SHUTDOWN). This default
   * sends it like any other; clients override it so that the connection closing after the
   * command was written resolves with `closed` (an error reply still rejects).
   */
  protected callClosing<T>(args: RedisArg[], transform: Transform<T>, _closed: T): Out<M, T, this> {
    return this.call(args, transform);
  }

  /** Phantom member carrying the value type; never set at run time. */
  declare protected readonly valueType?: V;

  /**
   * Sends any command with its arguments and returns the raw reply (bulk strings decoded when
   * the client decodes).
   */
  send(command: string, ...args: RedisArg[]): Out<M, unknown, this> {
    return this.call([command, ...args], asReply);
  }
}
