// The opt-in `logger` option of every client: its events as log lines (debug: connects,
// reconnects, redirections; info: topology changes; warn: losses; error: failures nobody saw).
// Payloads are reduced to plain fields; errors to their name, code and message (never secrets).

import { KvError } from "./errors.ts";
import type { EventHub } from "./events.ts";

/** The levels kvwire logs at. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Where log lines go: any object with some of these methods (`console` fits; so do pino, winston
 * and most others). A missing method drops that level.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * const redis = await RedisClient.connect({ port: 6379, logger: console });
 * await redis.close(); // logs "redis 127.0.0.1:6379: disconnect …" at info
 * ```
 */
export interface Logger {
  /** Connects, reconnect attempts, redirections, resubscriptions. */
  debug?(message: string, fields?: Record<string, unknown>): void;
  /** Topology changes (failover, new slot map, leader, master switch) and clean closes. */
  info?(message: string, fields?: Record<string, unknown>): void;
  /** A connection lost or a server marked down. */
  warn?(message: string, fields?: Record<string, unknown>): void;
  /** A failure with no caller to report it to. */
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** Event names logged above debug; every other event is logged at debug. */
const LEVELS: Record<string, LogLevel> = {
  error: "error",
  disconnect: "warn",
  serverDown: "warn",
  failover: "info",
  topology: "info",
  switchMaster: "info",
  leaderChange: "info",
  endpointSwitch: "info",
  partitionUpdate: "info",
  serverUp: "info",
};

/**
 * Logs every event of `hub` to `logger`, prefixed by `label`; returns the function that stops.
 *
 * @example
 * ```ts
 * import { EventHub, logEvents } from "@kvwire/kvwire";
 * const hub = new EventHub<{ ready: { address: string } }>();
 * logEvents(hub, console, "redis 127.0.0.1:6379");
 * hub.emit("ready", { address: "127.0.0.1:6379" }); // console.debug
 * ```
 */
export function logEvents<Events extends object>(
  hub: EventHub<Events>,
  logger: Logger,
  label: string,
): () => void {
  if (typeof logger !== "object" || logger === null) {
    throw new TypeError("logger must be an object with debug/info/warn/error methods");
  }
  return hub.onAny((name, event) => {
    const fields = plainFields(event);
    let level = LEVELS[name] ?? "debug";
    if (name === "disconnect" && fields.error === undefined) level = "info";
    const write = logger[level];
    if (typeof write !== "function") return;
    const address = typeof fields.address === "string" ? ` ${fields.address}` : "";
    const why = typeof fields.error === "object" && fields.error !== null
      ? `: ${(fields.error as { message: string }).message}`
      : "";
    write.call(logger, `${label}: ${name}${address}${why}`, fields);
  });
}

/** The payload's own fields, errors reduced to name, code and message. */
function plainFields(event: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (typeof event !== "object" || event === null) return fields;
  for (const [key, value] of Object.entries(event)) {
    fields[key] = value instanceof Error ? describe(value) : value;
  }
  return fields;
}

function describe(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  if (error instanceof KvError) {
    out.code = error.code;
    out.sent = error.sent;
  }
  return out;
}
