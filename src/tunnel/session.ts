// One accepted relay connection, before the WebSocket: read the HTTP head (under the
// handshake timeout), answer a health check, refuse, or upgrade and hand over to a Tunnel.

import type { Connect, TlsOptions, Transport } from "../core/transport.ts";
import type { AllowList } from "./allow_list.ts";
import type { BudgetLimits } from "./budget.ts";
import type { GateTicket } from "./gate.ts";
import {
  findHeadEnd,
  HttpHeadError,
  httpResponse,
  parseRequestHead,
  parseUpgrade,
  switchingProtocols,
  type UpgradeRequest,
} from "./http_head.ts";
import type { Resolve } from "./policy.ts";
import { TUNNEL_PROTOCOL } from "./protocol.ts";
import type { TunnelLogEntry } from "./relay.ts";
import { Tunnel } from "./tunnel.ts";

/** What every session of a relay shares. */
export interface SessionContext {
  readonly secrets: readonly CryptoKey[];
  readonly insecureNoAuth: boolean;
  readonly allow: AllowList;
  readonly connect: Connect;
  readonly resolve: Resolve;
  readonly maxConnections: number;
  readonly idleTimeout: number;
  readonly maxMessageSize: number;
  readonly connectTimeout: number;
  readonly handshakeTimeout: number;
  readonly maxWindow: number;
  readonly maxFragments: number;
  readonly budget: BudgetLimits;
  readonly drainTimeout: number;
  readonly targetTls?: Omit<TlsOptions, "serverName">;
  readonly log: (entry: TunnelLogEntry) => void;
  readonly now: () => number;
  readonly counters: {
    active(): number;
    enter(): void;
    leave(): void;
    opened(): void;
    refused(): void;
    buffered(n: number): void;
  };
}

/** Who a session serves, for logs: its number and the client's address. */
export type Who = { id: number; remote: string };

/** Reads the request head; returns it with the bytes after it, or undefined if none came. */
async function readHead(
  ctx: SessionContext,
  client: Transport,
): Promise<{ head: Uint8Array; rest: Uint8Array } | undefined> {
  let buffer = new Uint8Array(0);
  const timer = setTimeout(() => client.close(), ctx.handshakeTimeout);
  try {
    for (;;) {
      const end = findHeadEnd(buffer);
      if (end >= 0) return { head: buffer.subarray(0, end), rest: buffer.subarray(end) };
      const chunk = await client.read().catch(() => null);
      if (chunk === null) return undefined;
      const next = new Uint8Array(buffer.length + chunk.length);
      next.set(buffer);
      next.set(chunk, buffer.length);
      buffer = next;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function respond(client: Transport, bytes: Uint8Array): Promise<void> {
  try {
    if (!client.write(bytes)) await client.ready();
    await client.end();
  } catch {
    // the client went away; nothing to tell it
  }
}

/**
 * Answers a connection refused at accept (the relay is full, or its IP has too many handshakes
 * in progress) without reading its request.
 */
export async function refuseAtAccept(
  ctx: SessionContext,
  client: Transport,
  who: Who,
  why: "full" | "busy",
): Promise<void> {
  const [status, reason] = why === "full"
    ? [503, "too many connections"]
    : [429, "too many handshakes from this address"];
  ctx.counters.refused();
  ctx.log({ event: "refused", ...who, failure: "limit", status, reason });
  await respond(client, httpResponse(status, "text/plain", `${reason}\n`));
}

/** Runs one accepted connection to its end; `ticket.handshakeDone()` once its head is read. */
export async function runSession(
  ctx: SessionContext,
  client: Transport,
  who: Who,
  ticket: GateTicket,
): Promise<void> {
  const got = await readHead(ctx, client).catch((error) => {
    if (!(error instanceof HttpHeadError)) throw error;
    return error;
  }).finally(() => ticket.handshakeDone());
  if (got === undefined) return;
  let upgrade: UpgradeRequest | undefined;
  let path = "";
  try {
    if (got instanceof HttpHeadError) throw got;
    const head = parseRequestHead(got.head);
    path = head.target.split("?")[0];
    upgrade = parseUpgrade(head);
    if (!upgrade) {
      const [status, type, body] = path === "/healthz" && head.method === "GET"
        ? [200, "application/json", healthBody(ctx)]
        : [426, "text/plain", "This is a kvwire tunnel relay: open a websocket\n"];
      ctx.log({ event: "http", ...who, method: head.method, path: path.slice(0, 100), status });
      await respond(client, httpResponse(status, type, body));
      return;
    }
  } catch (error) {
    if (!(error instanceof HttpHeadError)) throw error;
    ctx.log({ event: "http", ...who, path: path.slice(0, 100), status: error.status });
    await respond(client, httpResponse(error.status, "text/plain", `${error.message}\n`));
    return;
  }
  const offered = upgrade.protocols.includes(TUNNEL_PROTOCOL);
  if (!client.write(switchingProtocols(upgrade.key, offered ? TUNNEL_PROTOCOL : undefined))) {
    await client.ready();
  }
  ctx.counters.enter();
  try {
    await new Tunnel(ctx, client, who, upgrade, got!.rest).run(offered);
  } finally {
    ctx.counters.leave();
  }
}

function healthBody(ctx: SessionContext): string {
  return JSON.stringify({
    status: "ok",
    connections: ctx.counters.active(),
    maxConnections: ctx.maxConnections,
  });
}
