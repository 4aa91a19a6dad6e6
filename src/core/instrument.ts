// One instrumentation hook for every request and stream of every client: the operation, where
// it went, when it started and ended, bytes, the error code, retries and redirections. Hooks come
// from a client's `instrumentation` option and from `addInstrumentation` (process-wide).

import { KvError } from "./errors.ts";

/** The protocols kvwire speaks, as operations name them. */
export type ProtocolName = "redis" | "memcache" | "etcd" | "pegasus" | "tstorage";

/** What a client says about an operation when it starts. */
export interface OperationStart {
  /** The protocol. */
  protocol: ProtocolName;
  /** The command or method: `GET`, `PIPELINE`, `get_multi`, `Range`, `multi_get`, `WATCH`. */
  operation: string;
  /** `request` settles once; `stream` (watch, subscription, scanner, GET stream) lives on. */
  kind?: "request" | "stream";
  /** The server's host (the first pool member or cluster node it went to, when known). */
  serverAddress?: string;
  /** The server's port. */
  serverPort?: number;
  /** The database number, table or namespace, where the protocol has one. */
  namespace?: string;
  /** Commands carried (pipelines, transactions, multi-key batches). */
  batchSize?: number;
}

/**
 * One operation, handed to `onStart` and again (the same object, filled in) to `onEnd`. It never
 * holds keys, values or credentials.
 */
export interface Operation extends OperationStart {
  /** `request` or `stream`. */
  kind: "request" | "stream";
  /** Wall-clock start, ms since the epoch. */
  startTime: number;
  /** Wall-clock end, ms since the epoch; set before `onEnd`. */
  endTime?: number;
  /** Milliseconds from start to end (monotonic clock); set before `onEnd`. */
  duration?: number;
  /** Bytes written for it, where the client knows. */
  bytesOut?: number;
  /** Bytes received for it, where the client knows. */
  bytesIn?: number;
  /** The error it failed with. */
  error?: Error;
  /** `error.code` for a KvError (`TIMEOUT`, `SERVER`, `CONNECTION_CLOSED`, …), else the error's name. */
  errorCode?: string;
  /** Times it was sent again (never sent, or refused before it ran). */
  retries: number;
  /** Redirections followed (Redis MOVED/ASK, etcd leader changes, Pegasus reconfiguration). */
  redirections: number;
  /** Monotonic start, for `duration`. */
  readonly monotonicStart: number;
}

/**
 * Receives every operation of the clients it is given to (or of all clients, through
 * {@link addInstrumentation}). Hooks must be quick; an exception in a hook is ignored.
 *
 * @example
 * ```ts
 * import type { Instrumentation } from "@kvwire/kvwire";
 * const slow: Instrumentation = {
 *   onEnd: (op) => {
 *     if (op.duration! > 100) console.warn(op.protocol, op.operation, op.duration, op.errorCode);
 *   },
 * };
 * ```
 */
export interface Instrumentation {
  /** The operation starts (before its first byte is written). */
  onStart?(operation: Operation): void;
  /** The operation settled (a stream: it ended). `error` is set when it failed. */
  onEnd?(operation: Operation): void;
}

const globalHooks: Instrumentation[] = [];

/**
 * Adds a hook that sees the operations of every client in this process (the diagnostics
 * channel publisher and the OpenTelemetry adapter register this way); returns its remover.
 *
 * @example
 * ```ts
 * import { addInstrumentation } from "@kvwire/kvwire";
 * const remove = addInstrumentation({ onEnd: (op) => console.log(op.operation, op.duration) });
 * remove();
 * ```
 */
export function addInstrumentation(hook: Instrumentation): () => void {
  checkHook(hook, "addInstrumentation(hook)");
  globalHooks.push(hook);
  return () => {
    const at = globalHooks.indexOf(hook);
    if (at >= 0) globalHooks.splice(at, 1);
  };
}

function checkHook(hook: Instrumentation, name: string): void {
  if (
    typeof hook !== "object" || hook === null ||
    (hook.onStart !== undefined && typeof hook.onStart !== "function") ||
    (hook.onEnd !== undefined && typeof hook.onEnd !== "function")
  ) {
    throw new TypeError(`${name} must be an object with onStart and/or onEnd functions`);
  }
}

/**
 * A client's view of its hooks: its own (the `instrumentation` option) plus the process-wide ones.
 *
 * Theory of operation: `start` returns undefined when no hook is registered, so an
 * uninstrumented request costs two length checks; call sites then skip `end`. Hooks run inside
 * try/catch: instrumentation can never fail a request.
 *
 * @example
 * ```ts
 * import { Instrumenter } from "@kvwire/kvwire";
 * const inst = new Instrumenter({ onEnd: (op) => console.log(op.operation, op.errorCode) });
 * const op = inst.start({ protocol: "redis", operation: "GET" });
 * inst.end(op);
 * ```
 */
export class Instrumenter {
  readonly #own: readonly Instrumentation[];

  /** Takes the client's `instrumentation` option (validated here). */
  constructor(own?: Instrumentation | readonly Instrumentation[]) {
    const list = own === undefined ? [] : Array.isArray(own) ? [...own] : [own as Instrumentation];
    list.forEach((hook, i) => checkHook(hook, `instrumentation[${i}]`));
    this.#own = list;
  }

  /** True when some hook would see an operation started now. */
  get enabled(): boolean {
    return this.#own.length > 0 || globalHooks.length > 0;
  }

  /**
   * Starts an operation, or returns undefined when nobody is listening. `info` (a fresh object
   * literal at every call site) becomes the operation.
   */
  start(info: OperationStart): Operation | undefined {
    if (this.#own.length === 0 && globalHooks.length === 0) return undefined;
    const op = info as Operation;
    op.kind = info.kind ?? "request";
    op.startTime = Date.now();
    (op as { monotonicStart: number }).monotonicStart = performance.now();
    op.retries = 0;
    op.redirections = 0;
    this.#each((hook) => hook.onStart?.(op));
    return op;
  }

  /** Ends an operation started by `start` (a no-op for undefined), with its error if it failed. */
  end(op: Operation | undefined, error?: unknown): void {
    if (op === undefined || op.endTime !== undefined) return;
    op.endTime = Date.now();
    op.duration = performance.now() - op.monotonicStart;
    if (error !== undefined) {
      op.error = error instanceof Error ? error : new Error(String(error));
      op.errorCode = error instanceof KvError ? error.code : op.error.name;
    }
    this.#each((hook) => hook.onEnd?.(op));
  }

  /**
   * Runs `body` as one operation: started now, ended when its Promise settles.
   *
   * @example
   * ```ts
   * import { Instrumenter } from "@kvwire/kvwire";
   * const inst = new Instrumenter();
   * const value = await inst.track({ protocol: "etcd", operation: "Range" }, async () => 1);
   * ```
   */
  async track<T>(
    info: OperationStart,
    body: (op: Operation | undefined) => Promise<T>,
  ): Promise<T> {
    const op = this.start(info);
    if (op === undefined) return await body(undefined);
    try {
      const result = await body(op);
      this.end(op);
      return result;
    } catch (error) {
      this.end(op, error);
      throw error;
    }
  }

  #each(call: (hook: Instrumentation) => void): void {
    for (const hook of this.#own) safely(call, hook);
    for (const hook of globalHooks) safely(call, hook);
  }
}

function safely(call: (hook: Instrumentation) => void, hook: Instrumentation): void {
  try {
    call(hook);
  } catch {
    // A hook's failure never reaches the request it observes.
  }
}
