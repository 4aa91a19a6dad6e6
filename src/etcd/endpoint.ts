// One etcd endpoint as the channel sees it: its unary pool and streams, when it is skipped after
// a failure, and what an operator sees of it (its state, counters and connection events).

import { Backoff } from "../core/backoff.ts";
import type { EventHub } from "../core/events.ts";
import { type ConnectionState, type ConnectionStats, describeError } from "../core/observe.ts";
import type { Address } from "./channel.ts";
import type { EtcdEvents } from "./events.ts";

/** A connection as an endpoint counts it: its bytes. */
export interface CountedConnection {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** An endpoint's unary calls: in flight, and waiting for a connection. */
export interface EndpointLoad {
  readonly inFlight: number;
  readonly waiting: number;
}

/**
 * An endpoint: one member of the client in events and stats.
 *
 * Theory of operation: the endpoint is `idle` until a connection is attempted, `ready` once one
 * opened or a call on it succeeded, `reconnecting` while it is skipped after a failure (the
 * first call after `downUntil` tries it again), `closed` with the channel. Each transition
 * emits its event once; `connect` is emitted for every connection opened. Bytes are summed over
 * every connection it ever had.
 *
 * @example
 * ```ts
 * import { EventHub } from "@kvwire/kvwire";
 * import { Endpoint } from "@kvwire/kvwire/etcd";
 * const ep = new Endpoint({ host: "127.0.0.1", port: 2379 }, new EventHub());
 * console.log(ep.stats().state); // "idle"
 * ```
 */
export class Endpoint {
  /** Connections for unary calls (set by the channel). */
  load: EndpointLoad = { inFlight: 0, waiting: 0 };
  /** Skipped until this time (ms since the epoch) after a failure. */
  downUntil = 0;
  /** `etcd host:port`, for messages. */
  readonly label: string;
  /** `host:port`, in events and stats. */
  readonly name: string;
  readonly #backoff = new Backoff({ initialDelay: 100, maxDelay: 2000 });
  readonly #events: EventHub<EtcdEvents>;
  readonly #drivers = new Set<CountedConnection>();
  readonly #streams = new Set<CountedConnection>();
  #state: ConnectionState = "idle";
  #everReady = false;
  #failures = 0;
  #reconnects = 0;
  #retiredIn = 0;
  #retiredOut = 0;
  #lastError: Error | undefined;

  /** An endpoint reporting on `events`. */
  constructor(readonly address: Address, events: EventHub<EtcdEvents>) {
    const { host, port } = address;
    this.name = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.label = `etcd ${this.name}`;
    this.#events = events;
  }

  /** A connection is being opened. */
  connecting(): void {
    if (this.#state === "idle") this.#state = "connecting";
  }

  /** Opening a connection failed. */
  connectFailed(error: Error): void {
    this.#lastError = error;
    if (this.#events.has("error")) {
      this.#events.emit("error", { address: this.name, error, source: "connect" });
    }
  }

  /** A connection opened (`dedicated`: it carries one stream or blocking call). */
  opened(driver: CountedConnection, dedicated: boolean): void {
    this.#drivers.add(driver);
    if (dedicated) this.#streams.add(driver);
    if (this.#events.has("connect")) {
      this.#events.emit("connect", { address: this.name, attempt: this.#failures + 1 });
    }
    this.up();
  }

  /** A connection closed: its bytes are kept. */
  closed(driver: CountedConnection): void {
    if (!this.#drivers.delete(driver)) return;
    this.#streams.delete(driver);
    this.#retiredIn += driver.bytesIn;
    this.#retiredOut += driver.bytesOut;
  }

  /** The endpoint works (a connection opened, a call succeeded). */
  up(): void {
    this.#failures = 0;
    this.#backoff.reset();
    if (this.#state === "ready" || this.#state === "closed") return;
    const reconnect = this.#everReady;
    if (reconnect) this.#reconnects++;
    this.#everReady = true;
    this.#state = "ready";
    if (this.#events.has("ready")) this.#events.emit("ready", { address: this.name, reconnect });
  }

  /** The endpoint failed: it is skipped for a backoff delay. */
  down(error: Error): void {
    const delay = this.#backoff.next();
    this.downUntil = Date.now() + delay;
    this.#failures++;
    this.#lastError = error;
    if (this.#state === "closed") return;
    const events = this.#events;
    if (this.#state === "ready") {
      this.#state = "reconnecting";
      if (events.has("disconnect")) {
        events.emit("disconnect", { address: this.name, error, willReconnect: true });
      }
    }
    if (events.has("reconnecting")) {
      events.emit("reconnecting", { address: this.name, attempt: this.#failures, delay });
    }
  }

  /** The channel closed: a ready endpoint is disconnected for good. */
  close(): void {
    const was = this.#state;
    this.#state = "closed";
    if (was === "ready" && this.#events.has("disconnect")) {
      this.#events.emit("disconnect", { address: this.name, willReconnect: false });
    }
  }

  /** The endpoint's counters: calls and streams in flight, calls waiting for a connection. */
  stats(): ConnectionStats {
    let bytesIn = this.#retiredIn;
    let bytesOut = this.#retiredOut;
    for (const driver of this.#drivers) {
      bytesIn += driver.bytesIn;
      bytesOut += driver.bytesOut;
    }
    const stats: ConnectionStats = {
      address: this.name,
      state: this.#state,
      inFlight: this.load.inFlight + this.#streams.size,
      queued: this.load.waiting,
      reconnects: this.#reconnects,
      bytesIn,
      bytesOut,
    };
    if (this.#lastError) stats.lastError = describeError(this.#lastError);
    return stats;
  }
}
