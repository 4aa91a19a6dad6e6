// A pool of HTTP/1.1 connections to one etcd endpoint for unary calls: one request per connection
// at a time (no pipelining), waiting within the call's deadline for a free one, never reusing a
// connection whose answer is in doubt.

import type { Driver } from "../core/driver.ts";
import {
  ConnectionClosedError,
  KvError,
  RemoteProtocolError,
  ServerError,
} from "../core/errors.ts";
import { answerPrint, checked, requestPrint } from "./answer.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";
import { waitTurn } from "./wait.ts";

/** A driver of an HTTP/1.1 connection machine. */
export type Http1Driver = Driver<HttpRequest, HttpResponse, Uint8Array>;

/**
 * When an answer byte-identical to the previous one on the connection is presumed to be a late
 * duplicate of it: "always" (the true answer always differs: a put makes a new revision),
 * "unless-same" (idempotent calls, unless the request is the same as the previous one; they
 * then run again elsewhere) or "never". Only successful (200) answers are compared.
 */
export type Freshness = "always" | "unless-same" | "never";

/**
 * The unary connections of one endpoint.
 *
 * Theory of operation: {@link exchange} takes an idle connection (the least recently used),
 * or opens one while fewer than `max` exist, or waits for one to be freed within the call's
 * deadline. A connection carries nothing else until its answer is in and one macrotask has
 * passed: a reply can only belong to the one request awaiting it, and bytes the server sent
 * right after it (a duplicate) fail the connection before another request could take them for
 * its own answer. A duplicate that comes later still looks like the next answer; see
 * {@link Freshness}. A connection on which a request failed with `sent: true` (timed out,
 * aborted, malformed answer) is dropped, never reused. Invariant: every waiter is woken when a
 * connection is freed, dropped or fails to open.
 *
 * @example
 * ```ts
 * import { ConnectionPool } from "@kvwire/kvwire/etcd";
 * // const pool = new ConnectionPool("etcd 127.0.0.1:2379", openDriver, 8);
 * // const body = await pool.exchange({ method: "GET", path: "/version" }, 1000, undefined,
 * //   "unless-same", (response) => response.body);
 * ```
 */
export class ConnectionPool {
  readonly #label: string;
  readonly #open: () => Promise<Http1Driver>;
  readonly #max: number;
  /** Open connections, least recently used first. */
  readonly #drivers: Http1Driver[] = [];
  #opening = 0;
  readonly #waiters: (() => void)[] = [];
  readonly #busy = new Set<Http1Driver>();
  readonly #last = new WeakMap<Http1Driver, { request: string; answer: string }>();
  readonly #cooling = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;
  /** Calls waiting for their answer. */
  #inFlight = 0;

  /** `open` connects a new driver; the pool calls {@link removed} for it from its onClose. */
  constructor(label: string, open: () => Promise<Http1Driver>, max: number) {
    this.#label = label;
    this.#open = open;
    this.#max = Math.max(1, max);
  }

  /**
   * Sends `request` and returns what `decode` makes of the answer; a malformed answer is a
   * `RemoteProtocolError` (`sent: true`) and drops the connection (see `checked`).
   */
  async exchange<T>(
    request: HttpRequest,
    timeout: number,
    signal: AbortSignal | undefined,
    fresh: Freshness,
    decode: (response: HttpResponse) => T,
  ): Promise<T> {
    const deadline = Date.now() + timeout;
    const driver = await this.#acquire(deadline, request.path, signal);
    this.#inFlight++;
    try {
      const response = await driver.request(request, {
        timeout: Math.max(1, deadline - Date.now()),
        signal,
      }, `${request.method} ${request.path}`);
      this.#checkRepeat(driver, request, response, fresh);
      return checked(driver, request.path, () => decode(response));
    } catch (error) {
      // A request that may have run and got no (whole) answer leaves the connection with a
      // stray answer to come: never reuse it.
      if (error instanceof KvError && error.sent && !(error instanceof ServerError)) {
        driver.destroy(
          new ConnectionClosedError(`${this.#label}: dropped after ${request.path} failed`, {
            cause: error,
          }),
        );
      }
      throw error;
    } finally {
      this.#inFlight--;
      const timer = setTimeout(() => {
        this.#cooling.delete(timer);
        this.#busy.delete(driver);
        const i = this.#drivers.indexOf(driver);
        if (i !== -1) this.#drivers.push(...this.#drivers.splice(i, 1)); // most recently used
        this.#waiters.shift()?.();
      }, 0);
      this.#cooling.add(timer);
    }
  }

  /** Calls sent (or being sent) and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting for a free connection. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Forgets a closed connection and lets a waiter open another. */
  removed(driver: Http1Driver): void {
    const i = this.#drivers.indexOf(driver);
    if (i === -1) return;
    this.#drivers.splice(i, 1);
    this.#busy.delete(driver);
    this.#waiters.shift()?.();
  }

  /** Closes every connection; waiting calls fail with `ConnectionClosedError`. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#cooling) clearTimeout(timer);
    this.#cooling.clear();
    for (const driver of [...this.#drivers]) driver.destroy();
    for (const wake of [...this.#waiters]) wake();
  }

  /** Throws when the answer repeats the previous one on the connection (see {@link Freshness}). */
  #checkRepeat(
    driver: Http1Driver,
    request: HttpRequest,
    response: HttpResponse,
    fresh: Freshness,
  ): void {
    const now = { request: requestPrint(request), answer: answerPrint(response) };
    const last = this.#last.get(driver);
    this.#last.set(driver, now);
    // Error answers (a refused token, a denied permission) repeat by nature: only a success
    // carries a new revision or id.
    if (
      response.status !== 200 || last?.answer !== now.answer ||
      !(fresh === "always" || (fresh === "unless-same" && last.request !== now.request))
    ) return;
    const why = new RemoteProtocolError(
      `${this.#label} answered ${request.path} exactly as the request before it (a duplicate)`,
      { sent: true },
    );
    driver.destroy(why);
    throw new ConnectionClosedError(`${this.#label}: dropped (${why.message})`, {
      cause: why,
      sent: true,
    });
  }

  /** An idle connection (opened if there is room), marked busy. */
  async #acquire(
    deadline: number,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<Http1Driver> {
    for (;;) {
      if (this.#closed) throw new ConnectionClosedError(`etcd client is closed; ${what} not sent`);
      const idle = this.#drivers.find((d) => d.isOpen && d.machine.canSend && !this.#busy.has(d));
      if (idle) {
        this.#busy.add(idle);
        return idle;
      }
      if (this.#drivers.length + this.#opening < this.#max) {
        this.#opening++;
        try {
          const driver = await this.#open();
          this.#drivers.push(driver);
          this.#busy.add(driver);
          return driver;
        } catch (error) {
          this.#waiters.shift()?.(); // the room is free again
          throw error;
        } finally {
          this.#opening--;
        }
      }
      await waitTurn(this.#waiters, deadline, what, signal);
    }
  }
}
