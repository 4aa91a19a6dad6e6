// Explicit pipelines and MULTI/EXEC transactions: chainable typed commands queued locally and
// sent in one write; results come back in order with errors as values.
// Spec: https://redis.io/docs/latest/develop/use/pipelining/ and .../interact/transactions/

import { KvError } from "../core/errors.ts";
import type { ReplyHandler, RequestOptions } from "../core/driver.ts";
import type { ManagedRequestOptions } from "../core/managed_connection.ts";
import type { Out } from "./commands/base.ts";
import { RedisCommands } from "./commands/mod.ts";
import type { ReplyContext, Transform } from "./commands/transforms.ts";
import { RedisError } from "./errors.ts";
import { type RedisArg, validateCommand } from "./resp_encoder.ts";
import type { RedisCommand } from "./connection.ts";
import type { RespValue } from "./resp_types.ts";

/** What a pipeline needs from its client: send commands, know how to shape replies. */
export interface PipelineTarget {
  /** Sends one command and resolves with its raw reply. */
  request(args: readonly RedisArg[], options?: ManagedRequestOptions): Promise<RespValue>;
  /** Sends one command; `handler` learns its raw reply or error. */
  sendCommand(
    command: RedisCommand,
    options: ManagedRequestOptions,
    handler: ReplyHandler<RespValue>,
  ): void;
  /** How replies are shaped (the client's `decode` option). */
  readonly context: ReplyContext;
  /** The client's per-call options, applied to every queued command. */
  readonly requestOptions: RequestOptions;
}

/** A command queued in a {@link Pipeline}, with the transform that shapes its reply. */
export interface QueuedCommand {
  /** The command's arguments, name first. */
  command: RedisCommand;
  /** Shapes the command's reply. */
  transform: Transform<unknown>;
}

/** EXEC returned null: a WATCHed key changed, nothing ran. */
export class WatchError extends KvError {
  /** Creates the error. */
  constructor(message = "Transaction aborted: a watched key changed") {
    super("SERVER", message);
  }
}

/**
 * Commands queued locally and sent together by `exec()`. Each result is the command's typed
 * value, or the `RedisError` the server answered it with.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * const [ok, value, n] = await redis.pipeline().set("k", "v").get("k").incr("n").exec();
 * ```
 */
export class Pipeline<V = Uint8Array> extends RedisCommands<V, "chain"> {
  /** The client the commands are sent through. */
  protected readonly target: PipelineTarget;
  /** Commands queued so far, in order. */
  protected queued: QueuedCommand[] = [];
  #scripts = new Map<string, string>();

  /** Use `client.pipeline()`. */
  constructor(target: PipelineTarget) {
    super();
    this.target = target;
  }

  /** Commands queued so far. */
  get length(): number {
    return this.queued.length;
  }

  /** Validates one command and queues it; `transform` shapes its result. */
  protected call<T>(args: RedisArg[], transform: Transform<T>): Out<"chain", T, this> {
    validateCommand(args); // a bad argument throws at the call that passed it
    this.queued.push({ command: args, transform });
    return this;
  }

  /** Makes `exec()` load a script (SCRIPT LOAD) before the queued commands run. */
  loadScript(script: { sha1: string; source: string }): void {
    this.#scripts.set(script.sha1, script.source);
  }

  /** Issues SCRIPT LOAD for the scripts queued commands use; their replies don't matter. */
  protected loadScripts(): void {
    for (const source of this.#scripts.values()) {
      this.target.request(["SCRIPT", "LOAD", source], this.target.requestOptions).catch(() => {});
    }
    this.#scripts.clear();
  }

  /**
   * Sends every queued command in one write and resolves with the results in order. A
   * command the server refused yields its `RedisError` in place; connection failures reject.
   */
  async exec(): Promise<unknown[]> {
    const queued = this.#take();
    this.loadScripts();
    const { context, requestOptions } = this.target;
    return await new Promise<unknown[]>((resolve, reject) => {
      const results = new Results(queued.length, resolve, reject);
      for (let i = 0; i < queued.length; i++) {
        const slot = new Slot(results, i, queued[i].transform, context);
        this.target.sendCommand(queued[i].command, requestOptions, slot);
      }
    });
  }

  #take(): QueuedCommand[] {
    const queued = this.queued;
    this.queued = [];
    return queued;
  }

  /** The queued commands, leaving the pipeline empty (for transactions). */
  protected takeQueued(): QueuedCommand[] {
    return this.#take();
  }
}

/**
 * A MULTI/EXEC transaction: the queued commands run atomically. `exec()` rejects with
 * `WatchError` when a watched key changed, and with the server's error when the
 * transaction was refused as a whole (EXECABORT).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect();
 * const [a, b] = await redis.multi().incr("a").incr("b").exec();
 * ```
 */
export class Transaction<V = Uint8Array> extends Pipeline<V> {
  /**
   * Sends MULTI, the queued commands and EXEC together and resolves with the results in
   * order; rejects with `WatchError` or the server's error when the transaction did not run.
   */
  override async exec(): Promise<unknown[]> {
    const queued = this.takeQueued();
    const options = { ...this.target.requestOptions, replayUnsent: false };
    const send = (command: RedisCommand): Promise<RespValue> =>
      new Promise((resolve, reject) =>
        this.target.sendCommand(command, options, { reply: resolve, fail: reject })
      );
    // All three stages are written in one go, so no other command can slip in between.
    this.loadScripts();
    const multi = send(["MULTI"]);
    const staged = queued.map((q) => send(q.command).catch((e) => e as Error));
    const exec = send(["EXEC"]);
    await multi;
    const stageErrors = await Promise.all(staged);
    let replies: RespValue;
    try {
      replies = await exec;
    } catch (error) {
      const first = stageErrors.find((e) => e instanceof RedisError);
      if (error instanceof RedisError && first instanceof RedisError) {
        throw new RedisError(`${error.message} (first refused command: ${first.message})`, {
          cause: first,
        });
      }
      throw error;
    }
    if (replies === null) throw new WatchError();
    if (!Array.isArray(replies) || replies.length !== queued.length) {
      throw new KvError(
        "REMOTE_PROTOCOL",
        "EXEC returned a reply that does not match the queued commands",
      );
    }
    return replies.map((reply, i) => shape(queued[i].transform, reply, this.target.context));
  }
}

function shape(
  transform: Transform<unknown>,
  reply: RespValue | Error,
  context: ReplyContext,
): unknown {
  if (reply instanceof RedisError || reply instanceof Error) return reply;
  try {
    return transform(reply, context);
  } catch (error) {
    return error;
  }
}

/** The results of one pipeline, in order; settles once every command has an outcome. */
class Results {
  readonly values: unknown[];
  #waiting: number;
  #failure: Error | undefined;

  constructor(
    count: number,
    readonly resolve: (values: unknown[]) => void,
    readonly reject: (error: Error) => void,
  ) {
    this.values = new Array(count);
    this.#waiting = count;
    if (count === 0) resolve(this.values);
  }

  set(i: number, value: unknown, failure?: Error): void {
    this.values[i] = value;
    this.#failure ??= failure;
    if (--this.#waiting > 0) return;
    if (this.#failure) this.reject(this.#failure);
    else this.resolve(this.values);
  }
}

/** One command's place in a pipeline's results. */
class Slot implements ReplyHandler<RespValue> {
  constructor(
    readonly results: Results,
    readonly index: number,
    readonly transform: Transform<unknown>,
    readonly context: ReplyContext,
  ) {}

  reply(value: RespValue): void {
    this.results.set(this.index, shape(this.transform, value, this.context));
  }

  fail(error: Error): void {
    // A refused command is a value; a lost connection fails the whole pipeline.
    this.results.set(this.index, error, error instanceof RedisError ? undefined : error);
  }
}
