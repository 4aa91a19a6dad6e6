// One command on its way through a cluster: sent to the master of its slot, following MOVED
// (map updated) and ASK (ASKING first, once), retrying TRYAGAIN, CLUSTERDOWN, LOADING and lost
// nodes with backoff within its deadline. A write is sent again only when it provably did not run.

import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  TimeoutError,
} from "../../core/errors.ts";
import { IGNORE_REPLY, type ReplyHandler } from "../../core/driver.ts";
import type { ManagedRequestOptions } from "../../core/managed_connection.ts";
import type { Operation } from "../../core/instrument.ts";
import { retarget } from "../observe.ts";
import type { RedisCommand } from "../connection.ts";
import { RedisError } from "../errors.ts";
import type { RespValue } from "../resp_types.ts";
import { NO_KEYS } from "../command_keys.ts";
import type { NodeKey } from "./slot_map.ts";
import type { ClusterNode, ClusterTopology } from "./topology.ts";

/** First retry delay in ms; it doubles per retry up to {@link MAX_DELAY_MS}. */
const FIRST_DELAY_MS = 10;
const MAX_DELAY_MS = 250;

/**
 * The backoff before retry number `retries` (from 0), in ms: doubling from 10 up to 250,
 * with jitter.
 *
 * @example
 * ```ts
 * import { retryDelay } from "@kvwire/kvwire/redis";
 * retryDelay(0); // between 5 and 10
 * ```
 */
export function retryDelay(retries: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** retries, MAX_DELAY_MS) * (0.5 + Math.random() / 2);
}

/**
 * Reads `MOVED <slot> <host:port>` or `ASK ...`; `from` is the node that answered (a target
 * of `:port` means its host). Undefined for a malformed message.
 *
 * @example
 * ```ts
 * import { redirectTarget } from "@kvwire/kvwire/redis";
 * redirectTarget("MOVED 42 :7001", "10.0.0.1:7000"); // { slot: 42, target: "10.0.0.1:7001" }
 * ```
 */
export function redirectTarget(
  message: string,
  from: NodeKey | undefined,
): { slot: number; target: NodeKey } | undefined {
  const [, slotText, where] = message.split(" ");
  const slot = Number(slotText);
  if (where === undefined || !Number.isInteger(slot)) return undefined;
  const target = where.startsWith(":") && from
    ? `${from.slice(0, from.lastIndexOf(":"))}${where}`
    : where;
  return { slot, target };
}

/**
 * Routes one command and tells `handler` its outcome, once. `slot` is the command's slot, or
 * {@link NO_KEYS} (any master). `readOnly` commands may also be retried after a connection
 * was lost with the command written (reading twice is harmless); writes never are.
 *
 * @example
 * ```ts
 * import { ClusterTopology, RoutedRequest, keySlot } from "@kvwire/kvwire/redis";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"] });
 * await topology.refresh();
 * new RoutedRequest(topology, ["GET", "k"], keySlot("k"), {}, "GET", {
 *   reply: (v) => console.log(v),
 *   fail: (e) => console.error(e),
 * }, true).start();
 * ```
 */
export class RoutedRequest implements ReplyHandler<RespValue> {
  #node: ClusterNode | undefined;
  #asking: NodeKey | undefined;
  #redirects = 0;
  #retries = 0;
  /** Read from the master from now on (preferReplica after a lost replica). */
  #masterOnly = false;
  /** When retrying stops (performance.now()); set from the deadline, or at the first retry. */
  #giveUpAt: number | undefined;

  /** Prepares the request; `start()` sends it. */
  constructor(
    readonly topology: ClusterTopology,
    readonly command: RedisCommand,
    readonly slot: number,
    readonly options: ManagedRequestOptions,
    readonly name: string,
    readonly handler: ReplyHandler<RespValue>,
    readonly readOnly: boolean,
    /** The instrumented command's Operation: its node, redirections and retries. */
    readonly op?: Operation,
  ) {
    if (options.timeout !== undefined) this.#giveUpAt = performance.now() + options.timeout;
  }

  /** Sends (or sends again) to the node the map names now. */
  start(): void {
    const topology = this.topology;
    if (topology.closed) {
      this.handler.fail(
        new ConnectionClosedError(`The cluster client is closed; ${this.name} was not sent`),
      );
      return;
    }
    const asking = this.#asking;
    const node = asking !== undefined
      ? topology.node(asking)
      : this.slot === NO_KEYS
      ? topology.anyMaster()
      : this.readOnly && !this.#masterOnly && topology.readFrom !== "master"
      ? topology.replicaOf(this.slot)
      : topology.masterOf(this.slot);
    if (node === undefined) {
      topology.refreshSoon("retry");
      this.#later(
        new ConnectError(`No master serves slot ${this.slot} yet; ${this.name} was not sent`),
      );
      return;
    }
    this.#node = node;
    if (this.op) retarget(this.op, node.conn);
    const options = this.#redirects + this.#retries === 0 ? this.options : this.#remaining();
    if (options === undefined) return;
    if (asking !== undefined) {
      this.#asking = undefined;
      node.conn.send(["ASKING"], options, "ASKING", IGNORE_REPLY);
    }
    node.conn.send(this.command, options, this.name, this);
  }

  /** The reply: handed on. */
  reply(value: RespValue): void {
    this.handler.reply(value);
  }

  /** A failure: redirected, retried or handed on. */
  fail(error: Error): void {
    if (error instanceof RedisError) {
      const code = error.serverCode;
      if ((code === "MOVED" || code === "ASK") && this.#redirect(code, error.message)) return;
      if (code === "LOADING" && this.readOnly && !this.#masterOnly) {
        this.#masterOnly = true; // a replica still loading its data: ask the master
        this.start();
        return;
      }
      if (code === "TRYAGAIN" || code === "CLUSTERDOWN" || code === "LOADING") {
        if (code === "CLUSTERDOWN") this.topology.refreshSoon("retry");
        this.#later(error);
        return;
      }
    } else if (
      (error instanceof ConnectionClosedError || error instanceof ConnectError) &&
      (!error.sent || this.readOnly)
    ) {
      // The node is gone or going: what serves the slot now is for a fresh map to say.
      this.topology.refreshSoon("disconnect");
      if (this.topology.readFrom === "preferReplica") this.#masterOnly = true;
      this.#later(error);
      return;
    }
    this.handler.fail(error);
  }

  /** `MOVED <slot> <host:port>` / `ASK <slot> <host:port>`: false when not followed. */
  #redirect(code: "MOVED" | "ASK", message: string): boolean {
    if (++this.#redirects > this.topology.maxRedirections) return false;
    const redirect = redirectTarget(message, this.#node?.key);
    if (redirect === undefined) return false;
    if (this.op) this.op.redirections++;
    this.topology.watch.redirected(code, redirect.slot, this.#node?.key ?? "", redirect.target);
    if (code === "MOVED") this.topology.moved(redirect.slot, redirect.target);
    else this.#asking = redirect.target;
    this.start();
    return true;
  }

  /** Retries after a backoff delay, or gives up with `error` when the time is over. */
  #later(error: Error): void {
    const now = performance.now();
    this.#giveUpAt ??= now + this.topology.retryTimeout;
    const delay = retryDelay(this.#retries);
    if (now + delay >= this.#giveUpAt || this.options.signal?.aborted) {
      this.handler.fail(error);
      return;
    }
    this.#retries++;
    if (this.op) this.op.retries++;
    setTimeout(() => {
      if (this.options.signal?.aborted) {
        this.handler.fail(
          new AbortedError(`${this.name} was aborted while waiting to be retried`, {
            cause: error,
          }),
        );
      } else this.start();
    }, delay);
  }

  /** The options of a repeated attempt: what is left of the deadline. */
  #remaining(): ManagedRequestOptions | undefined {
    if (this.options.timeout === undefined) return this.options;
    const left = this.#giveUpAt! - performance.now();
    if (left <= 0) {
      this.handler.fail(new TimeoutError(`${this.name} timed out while being redirected`));
      return undefined;
    }
    return { ...this.options, timeout: left };
  }
}
