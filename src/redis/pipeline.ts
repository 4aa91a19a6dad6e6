// Explicit pipelines and MULTI/EXEC transactions: chainable typed commands queued locally and
// sent in one write; results come back in order with errors as values.
// Spec: https://redis.io/docs/latest/develop/use/pipelining/ and .../interact/transactions/

import { KvError, RemoteProtocolError } from "../core/errors.ts";
import type { ReplyHandler, RequestOptions } from "../core/driver.ts";
import type { ManagedRequestOptions } from "../core/managed_connection.ts";
import type { Operation } from "../core/instrument.ts";
import type { Out } from "./commands/base.ts";
import { RedisCommands } from "./commands/mod.ts";
import type { ReplyContext, Transform } from "./commands/transforms.ts";
import { RedisError } from "./errors.ts";
import type { KeyPrefix } from "./key_prefix.ts";
import { PipelineError } from "./pipeline_error.ts";
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
  /** The client's `keyPrefix`, applied as commands are queued (`sendCommand` sends as given). */
  readonly keyPrefix?: KeyPrefix;
  /** Starts the Operation of a whole pipeline or transaction; undefined when not instrumented. */
  startOperation?(operation: "PIPELINE" | "MULTI", batchSize: number): Operation | undefined;
  /** Ends what `startOperation` started. */
  endOperation?(op: Operation | undefined, error?: unknown): void;
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
    if (this.target.keyPrefix) args = this.target.keyPrefix.apply(args);
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
   * command the server refused yields its `RedisError` in place. When the connection is lost
   * or a deadline passes, rejects with a {@link PipelineError} once every command has an
   * outcome: it carries the results that arrived and, for the others, whether each may have
   * run.
   */
  async exec(): Promise<unknown[]> {
    const queued = this.#take();
    const op = this.target.startOperation?.("PIPELINE", queued.length);
    this.loadScripts();
    const results = await collect(this.target, queued, this.target.requestOptions, true);
    if (results.failures.length > 0) {
      const error = new PipelineError("Pipeline", results.values, results.failures);
      if (op) this.target.endOperation!(op, error);
      throw error;
    }
    if (op) this.target.endOperation!(op);
    return results.values;
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
    const op = this.target.startOperation?.("MULTI", queued.length);
    if (op === undefined) return await this.#run(queued);
    try {
      const results = await this.#run(queued);
      this.target.endOperation!(op);
      return results;
    } catch (error) {
      this.target.endOperation!(op, error);
      throw error;
    }
  }

  async #run(queued: QueuedCommand[]): Promise<unknown[]> {
    // MULTI, the commands and EXEC are written in one go, so no other command slips in
    // between; every part settles before the outcome is decided, so none is left unobserved.
    // A part that fails before it was written withdraws the others (through `withdraw`), so
    // no command can be written without the MULTI before it.
    const withdraw = new AbortController();
    const callerSignal = this.target.requestOptions.signal;
    const signal = callerSignal
      ? AbortSignal.any([callerSignal, withdraw.signal])
      : withdraw.signal;
    const options = { ...this.target.requestOptions, signal, replayUnsent: false };
    this.loadScripts();
    const parts = [{ command: ["MULTI"] }, ...queued, { command: ["EXEC"] }];
    const { values } = await collect(this.target, parts, options, false, withdraw);
    const exec = values[values.length - 1];
    if (exec instanceof Error) throw execFailure(exec, values.slice(1, -1), queued.length);
    if (exec === null) throw new WatchError();
    if (!Array.isArray(exec) || exec.length !== queued.length) {
      throw new RemoteProtocolError(
        "EXEC returned a reply that does not match the queued commands",
        { sent: true },
      );
    }
    return exec.map((reply, i) => shape(queued[i].transform, reply, this.target.context));
  }
}

/**
 * The error of a transaction whose EXEC failed: the server's refusal (EXECABORT, naming the
 * first refused command), or a {@link PipelineError} in which every command shares EXEC's
 * fate (`sent: true` when EXEC was written, so the whole transaction may have run).
 */
function execFailure(exec: Error, staged: unknown[], count: number): Error {
  if (exec instanceof RedisError) {
    const first = staged.find((e) => e instanceof RedisError) as RedisError | undefined;
    if (!first) return exec;
    return new RedisError(`${exec.message} (first refused command: ${first.message})`, {
      cause: first,
    });
  }
  if (count === 0) return exec; // no command to report on
  const all = new Array(count).fill(exec);
  return new PipelineError("Transaction", all, all.map((_, i) => i));
}

/** Every command's outcome, in order; `failures` lists those that broke (not refusals). */
interface Collected {
  values: unknown[];
  failures: number[];
}

/** Sends commands in order and resolves once each has an outcome (it never rejects). */
function collect(
  target: PipelineTarget,
  commands: readonly { command: RedisCommand; transform?: Transform<unknown> }[],
  options: ManagedRequestOptions,
  shaped: boolean,
  withdraw?: AbortController,
): Promise<Collected> {
  return new Promise((resolve) => {
    const results = new Results(commands.length, resolve, withdraw);
    for (let i = 0; i < commands.length; i++) {
      const transform = shaped ? commands[i].transform : undefined;
      target.sendCommand(
        commands[i].command,
        options,
        new Slot(results, i, transform, target.context),
      );
    }
  });
}

function shape(
  transform: Transform<unknown> | undefined,
  reply: RespValue | Error,
  context: ReplyContext,
): unknown {
  if (reply instanceof Error || transform === undefined) return reply;
  try {
    return transform(reply, context);
  } catch (error) {
    return error;
  }
}

/** The outcomes of one pipeline, in order; settles once every command has one. */
class Results {
  readonly values: unknown[];
  readonly failures: number[] = [];
  #waiting: number;

  constructor(
    count: number,
    readonly resolve: (results: Collected) => void,
    /** Aborted when a command fails before it was written (transactions). */
    readonly withdraw?: AbortController,
  ) {
    this.values = new Array(count);
    this.#waiting = count;
    if (count === 0) resolve(this);
  }

  set(i: number, value: unknown, failed: boolean): void {
    this.values[i] = value;
    if (failed) this.failures.push(i);
    if (--this.#waiting === 0) {
      this.failures.sort((a, b) => a - b);
      this.resolve(this);
    }
  }
}

/** One command's place in a pipeline's results; `transform` undefined keeps the raw reply. */
class Slot implements ReplyHandler<RespValue> {
  constructor(
    readonly results: Results,
    readonly index: number,
    readonly transform: Transform<unknown> | undefined,
    readonly context: ReplyContext,
  ) {}

  reply(value: RespValue): void {
    this.results.set(this.index, shape(this.transform, value, this.context), false);
  }

  fail(error: Error): void {
    // A refused command is a value; anything else (lost, timed out, aborted) breaks the run.
    const refused = error instanceof RedisError;
    if (!refused && !(error as KvError).sent) this.results.withdraw?.abort(error);
    this.results.set(this.index, error, !refused);
  }
}
