// Admission of accepted sockets, before a byte is read: the relay's connection limit counts
// sockets still in the WebSocket handshake, and each client IP has few handshakes at once.

/** A connection let in by a {@link ConnectionGate}. Both methods are idempotent. */
export interface GateTicket {
  /** The request head was read (or the handshake failed): no longer a handshake. */
  handshakeDone(): void;
  /** The connection ended: frees its place. */
  release(): void;
}

/**
 * Counts the relay's connections (handshaking or tunnelling) and the handshakes per client IP.
 * `enter()` returns a ticket, or why not: `full` (the connection limit) or `busy` (that IP has
 * its limit of handshakes in progress).
 *
 * @example
 * ```ts
 * import { ConnectionGate } from "@kvwire/kvwire/tunnel";
 * const gate = new ConnectionGate({ maxConnections: 2, maxHandshakesPerIp: 1 });
 * const ticket = gate.enter("10.0.0.1");
 * gate.enter("10.0.0.1"); // "busy": one handshake from that IP is in progress
 * if (typeof ticket !== "string") ticket.handshakeDone();
 * ```
 */
export class ConnectionGate {
  readonly #maxConnections: number;
  readonly #maxHandshakesPerIp: number;
  readonly #handshakes = new Map<string, number>();
  #connections = 0;

  /** Creates a gate with the two limits. */
  constructor(limits: { maxConnections: number; maxHandshakesPerIp: number }) {
    this.#maxConnections = limits.maxConnections;
    this.#maxHandshakesPerIp = limits.maxHandshakesPerIp;
  }

  /** Connections let in and not yet released. */
  get connections(): number {
    return this.#connections;
  }

  /** Handshakes in progress, all IPs. */
  get handshakes(): number {
    let total = 0;
    for (const n of this.#handshakes.values()) total += n;
    return total;
  }

  /** Lets a connection from `ip` in, or says why not. */
  enter(ip: string): GateTicket | "full" | "busy" {
    if (this.#connections >= this.#maxConnections) return "full";
    const shaking = this.#handshakes.get(ip) ?? 0;
    if (shaking >= this.#maxHandshakesPerIp) return "busy";
    this.#connections++;
    this.#handshakes.set(ip, shaking + 1);
    let handshaking = true;
    let held = true;
    const handshakeDone = (): void => {
      if (!handshaking) return;
      handshaking = false;
      const left = this.#handshakes.get(ip)! - 1;
      if (left === 0) this.#handshakes.delete(ip);
      else this.#handshakes.set(ip, left);
    };
    return {
      handshakeDone,
      release: (): void => {
        handshakeDone();
        if (held) this.#connections--;
        held = false;
      },
    };
  }
}
