// Endpoint failover of the etcd channel: which endpoint a call tries first, retries within the
// call's deadline on the others, endpoints skipped after a failure, and what answers show of
// the cluster (leader and term) and of the switches (events).

import { Backoff } from "../core/backoff.ts";
import { AbortedError, ConnectionClosedError, KvError, TimeoutError } from "../core/errors.ts";
import type { EventHub } from "../core/events.ts";
import type { Operation } from "../core/instrument.ts";
import { describeError } from "../core/observe.ts";
import { Reauth } from "./answer.ts";
import type { Address, CallOptions } from "./channel_options.ts";
import type { Endpoint } from "./endpoint.ts";
import { EtcdError } from "./errors.ts";
import type { EtcdEvents } from "./events.ts";
import { sleep } from "./wait.ts";

const TRANSIENT =
  /etcdserver: (no leader|too many requests|not capable|leader changed|request timed out|server stopped)/;

/**
 * The endpoints of a channel and the retry loop of its calls.
 *
 * Theory of operation: endpoints are tried in order starting from the preferred one (the last
 * that worked), skipping those marked down; an endpoint that failed in a way that proves the
 * call did not run, or with an idempotent call, is marked down and the call goes on to the
 * next. A change of the preferred endpoint is an `endpointSwitch`. Each attempt points the
 * call's Operation at its endpoint: a re-send to the same endpoint is a retry, to another one a
 * redirection. A call fails at once (not at its deadline) when every endpoint refused the
 * connection during it.
 *
 * @example
 * ```ts
 * import { EventHub } from "@kvwire/kvwire";
 * import { Endpoint, Failover } from "@kvwire/kvwire/etcd";
 * const events = new EventHub();
 * const failover = new Failover([new Endpoint({ host: "127.0.0.1", port: 2379 }, events)], events, () => false);
 * console.log(failover.preferred.name); // "127.0.0.1:2379"
 * ```
 */
export class Failover {
  /** The endpoints, in the order given. */
  readonly endpoints: readonly Endpoint[];
  readonly #events: EventHub<EtcdEvents>;
  readonly #isClosed: () => boolean;
  readonly #requestTimeout: number | undefined;
  #preferred = 0;
  /** The newest Raft term and leader answers showed (tracked while someone listens). */
  #term: bigint | undefined;
  #leader: string | undefined;

  /** Fails over among `endpoints`; `isClosed` stops every call. */
  constructor(
    endpoints: readonly Endpoint[],
    events: EventHub<EtcdEvents>,
    isClosed: () => boolean,
    requestTimeout?: number,
  ) {
    this.endpoints = endpoints;
    this.#events = events;
    this.#isClosed = isClosed;
    this.#requestTimeout = requestTimeout;
  }

  /** The endpoint the next call goes to first. */
  get preferred(): Endpoint {
    return this.endpoints[this.#preferred];
  }

  /**
   * Runs `attempt` against the endpoints in turn until it succeeds, cannot be retried, or the
   * deadline passes (see {@link Channel}); `op` is pointed at each attempt's endpoint.
   */
  async run<T>(
    options: CallOptions,
    what: string,
    op: Operation | undefined,
    attempt: (ep: Endpoint, reauthed: boolean, remaining: number) => Promise<T>,
    resumed = false,
  ): Promise<T> {
    const timeout = options.timeout ?? this.#requestTimeout ?? 30_000;
    const deadline = Date.now() + timeout;
    const backoff = new Backoff({ initialDelay: 50, maxDelay: 1000 });
    let reauthed = false;
    let lastError: Error | undefined;
    let sent = false; // an attempt may have run
    const refused = new Set<Endpoint>(); // endpoints that could not be connected to
    for (let tries = 0;; tries++) {
      if (this.#isClosed()) {
        throw new ConnectionClosedError(`etcd client is closed; ${what} not sent`);
      }
      if (options.signal?.aborted) {
        throw new AbortedError(`${what} was aborted`, { cause: options.signal.reason });
      }
      const ep = this.pick(tries);
      if (op !== undefined) aim(op, ep.address, tries > 0 || resumed);
      try {
        const result = await attempt(ep, reauthed, Math.max(1, deadline - Date.now()));
        this.#prefer(this.endpoints.indexOf(ep), "answered a call");
        ep.up();
        return result;
      } catch (error) {
        if (error instanceof Reauth) {
          reauthed = true;
          lastError = error.error;
          continue;
        }
        lastError = error as Error;
        sent ||= error instanceof KvError && error.sent;
        if (error instanceof TimeoutError && Date.now() >= deadline) {
          if (!sent || error.sent) throw error;
          break; // an earlier attempt may have run: say so
        }
        const retry = this.#retryable(ep, error as Error, options.idempotent === true);
        if (!retry) throw error;
        if (error instanceof KvError && error.code === "CONNECT_FAILED") {
          refused.add(ep);
          // Every endpoint refused: nothing listens (down, or a mistyped address). Say so now
          // rather than at the deadline; watches and keep-alives retry on their own.
          if (refused.size === this.endpoints.length) {
            if (!sent) throw error;
            break; // an earlier attempt may have run: say so
          }
        }
        const delay = this.endpoints.length > 1 && tries % this.endpoints.length !== 0
          ? 0
          : backoff.next();
        if (Date.now() + delay >= deadline) break;
        if (delay > 0) await sleep(delay, options.signal);
      }
    }
    throw new TimeoutError(`${what} did not succeed within ${timeout} ms: ${lastError?.message}`, {
      cause: lastError,
      sent,
    });
  }

  #retryable(ep: Endpoint, error: Error, idempotent: boolean): boolean {
    if (error instanceof EtcdError) {
      if (error.grpcCode !== 14 && !TRANSIENT.test(error.message)) return false;
      this.markDown(ep, error);
      return idempotent || !error.sent;
    }
    if (error instanceof ConnectionClosedError) {
      this.markDown(ep, error);
      return idempotent || !error.sent;
    }
    const code = error instanceof KvError ? error.code : "";
    if (code === "CONNECT_FAILED" || (error instanceof TimeoutError && !error.sent)) {
      this.markDown(ep, error);
      return true;
    }
    return false;
  }

  /** Skips `ep` for its backoff delay after `error`; calls move on when it was preferred. */
  markDown(ep: Endpoint, error: Error): void {
    if (this.#isClosed()) return;
    ep.down(error);
    if (this.endpoints[this.#preferred] === ep) {
      this.#prefer((this.#preferred + 1) % this.endpoints.length, describeError(error));
    }
  }

  /** Makes endpoint `index` the one calls go to first; `endpointSwitch` tells a change. */
  #prefer(index: number, reason: string): void {
    const from = this.#preferred;
    if (index === from) return;
    this.#preferred = index;
    if (this.#events.has("endpointSwitch")) {
      const [a, b] = [this.endpoints[from].name, this.endpoints[index].name];
      this.#events.emit("endpointSwitch", { from: a, to: b, reason });
    }
  }

  /**
   * Tells `leaderChange` when an answer shows a newer Raft term than seen so far (every
   * answer's header), or a leader other than the one known (a Status answer).
   */
  observeLeader(ep: Endpoint, path: string, json: Record<string, unknown>): void {
    const status = path === "/v3/maintenance/status";
    const header = json.header as { raft_term?: unknown } | undefined;
    const rawTerm = status && json.raftTerm !== undefined ? json.raftTerm : header?.raft_term;
    const leader = status && json.leader !== undefined ? String(json.leader) : undefined;
    let term: bigint | undefined;
    try {
      term = typeof rawTerm === "string" || typeof rawTerm === "number"
        ? BigInt(rawTerm)
        : undefined;
    } catch {
      return; // not a number: nothing learned
    }
    const newTerm = term !== undefined && (this.#term === undefined || term > this.#term);
    const newLeader = leader !== undefined && leader !== this.#leader;
    if (!newTerm && !newLeader) return;
    if (newTerm) this.#term = term;
    this.#leader = leader ?? (newTerm ? undefined : this.#leader);
    this.#events.emit("leaderChange", {
      address: ep.name,
      leader: this.#leader,
      term: this.#term === undefined ? undefined : Number(this.#term),
    });
  }

  /** The endpoint for attempt `tries`: the preferred one, skipping those marked down. */
  pick(tries: number): Endpoint {
    const n = this.endpoints.length;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const ep = this.endpoints[(this.#preferred + tries + i) % n];
      if (ep.downUntil <= now) return ep;
    }
    return this.endpoints[(this.#preferred + tries) % n];
  }
}

/**
 * Points `op` at the endpoint of an attempt; `again` (a re-send) counts a retry when it stays
 * on the endpoint, a redirection when it moves to another (an endpoint failover).
 *
 * @example
 * ```ts
 * import { aim } from "./failover.ts";
 * import type { Operation } from "../core/instrument.ts";
 * declare const op: Operation;
 * aim(op, { host: "10.0.0.2", port: 2379 }, true); // op.redirections++ when it was elsewhere
 * ```
 */
export function aim(op: Operation, to: Address, again: boolean): void {
  if (again) {
    if (op.serverAddress === to.host && op.serverPort === to.port) op.retries++;
    else op.redirections++;
  }
  op.serverAddress = to.host;
  op.serverPort = to.port;
}
