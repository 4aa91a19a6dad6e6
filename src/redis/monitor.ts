// MONITOR as an async iterable: a dedicated connection sends MONITOR, and every command the
// server runs comes back as a parsed line. Spec: https://redis.io/docs/latest/commands/monitor/

import { ConnectionClosedError, RemoteProtocolError } from "../core/errors.ts";
import type { ManagedConnection } from "../core/managed_connection.ts";
import type { ConnectionStats } from "../core/observe.ts";
import { StreamQueue } from "../core/stream_queue.ts";
import { utf8Decode } from "../core/bytes.ts";
import type { ResolvedRedisOptions } from "./client_options.ts";
import type { RedisCommand } from "./connection.ts";
import { openRedisConnection } from "./open_connection.ts";
import type { RedisPush } from "./pubsub_frames.ts";
import type { RespValue } from "./resp_types.ts";

/** One command the server ran, as MONITOR reports it. */
export interface MonitorEntry<V = Uint8Array> {
  /** When it ran: Unix time in seconds, with microseconds. */
  time: number;
  /** The database it ran in. */
  db: number;
  /** Who ran it: `host:port`, `unix:/path`, or `lua` for a script's calls. */
  client: string;
  /** The command and its arguments (strings when the client decodes). */
  args: V[];
  /** The line as the server sent it. */
  line: string;
}

/** Options of {@link RedisClient.monitor}. */
export interface MonitorOptions {
  /** Lines held for a slow consumer before reading pauses. Default 10,000. */
  highWaterMark?: number;
}

const LINE = /^(\d+\.\d+) \[(\d+) (\S+)\] (.*)$/s;
const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, "\\": 92 };

/**
 * Parses one MONITOR line (its arguments are quoted as the server's `sdscatrepr` quotes them).
 * A line of another form is a `RemoteProtocolError`.
 *
 * @example
 * ```ts
 * import { parseMonitorLine } from "@kvwire/kvwire/redis";
 * parseMonitorLine('1700000000.123456 [0 127.0.0.1:5000] "SET" "k" "a\\x00"', true);
 * // { time: 1700000000.123456, db: 0, client: "127.0.0.1:5000", args: ["SET", "k", "a\0"], ... }
 * ```
 */
export function parseMonitorLine(line: string, decode: true): MonitorEntry<string>;
/** {@link parseMonitorLine} with the arguments as bytes (`decode` false). */
export function parseMonitorLine(line: string, decode?: boolean): MonitorEntry<Uint8Array>;
export function parseMonitorLine(
  line: string,
  decode = false,
): MonitorEntry<Uint8Array> | MonitorEntry<string> {
  const match = LINE.exec(line);
  const args = match ? parseArguments(match[4]) : undefined;
  if (!match || !args) {
    throw new RemoteProtocolError(`Unexpected MONITOR line: ${JSON.stringify(line)}`, {
      sent: true,
    });
  }
  const entry = { time: Number(match[1]), db: Number(match[2]), client: match[3], line };
  return decode ? { ...entry, args: args.map(utf8Decode) } : { ...entry, args };
}

/** `"a" "b\x00"`: each quoted argument as bytes; undefined when malformed. */
function parseArguments(text: string): Uint8Array[] | undefined {
  const args: Uint8Array[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') return undefined;
    const bytes: number[] = [];
    for (i++;; i++) {
      if (i >= text.length) return undefined;
      const c = text[i];
      if (c === '"') break;
      if (c !== "\\") {
        bytes.push(c.charCodeAt(0));
        continue;
      }
      const next = text[++i];
      if (next === "x" && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
        bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (next !== undefined && next in ESCAPES) bytes.push(ESCAPES[next]);
      else return undefined;
    }
    args.push(Uint8Array.from(bytes));
    i++;
    if (i < text.length && text[i++] !== " ") return undefined;
  }
  return args;
}

/**
 * The commands a server runs, as they run, on a connection of its own (MONITOR). Iterate it
 * with `for await`; `close()` (or leaving the loop, or `await using`) ends it. It does not
 * reconnect: when the connection is lost, iteration ends with the loss's error after the lines
 * already received (lines run while disconnected cannot be recovered; call `monitor()` again).
 * A consumer slower than the server pauses reading past `highWaterMark` lines.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect({ decode: true });
 * await using monitor = await redis.monitor();
 * for await (const entry of monitor) {
 *   console.log(entry.time, entry.client, entry.args.join(" "));
 *   if (entry.args[0] === "QUIT") break;
 * }
 * ```
 */
export class Monitor<V = Uint8Array> implements AsyncIterable<MonitorEntry<V>> {
  readonly #queue: StreamQueue<MonitorEntry<V>>;
  readonly #conn: ManagedConnection<RedisCommand, RespValue, never, RedisPush>;
  readonly #decode: boolean;
  #closing = false;

  /** Use `client.monitor()`, which waits until MONITOR is confirmed. */
  constructor(options: ResolvedRedisOptions, monitorOptions: MonitorOptions = {}) {
    this.#decode = options.decode === true;
    this.#queue = new StreamQueue<MonitorEntry<V>>({
      highWaterMark: monitorOptions.highWaterMark ?? 10_000,
      onDrain: () => this.#conn.driver?.resumeReading(),
      onCancel: () => void this.close(),
    });
    this.#conn = openRedisConnection(
      { ...options, reconnect: { enabled: false }, silenceTimeout: undefined },
      {
        monitor: true,
        onPush: (push) => this.#deliver(push),
        onDisconnect: (error) => {
          if (this.#closing) return;
          this.#queue.end(error ?? new ConnectionClosedError(`${options.label}: MONITOR ended`));
        },
        onConnect: async (run) => {
          if ((await run(["MONITOR"])) !== "OK") {
            throw new RemoteProtocolError("MONITOR was not confirmed with OK", { sent: true });
          }
        },
      },
    );
  }

  /** Connects and sends MONITOR; resolves once the server confirmed it. */
  async open(): Promise<this> {
    await this.#conn.open();
    return this;
  }

  #deliver(push: RedisPush): void {
    if (push.type !== "push" || push.kind !== "monitor") return;
    let entry: MonitorEntry<V>;
    try {
      entry = parseMonitorLine(String(push.items[0]), this.#decode) as MonitorEntry<V>;
    } catch (error) {
      this.#queue.end(error);
      this.#conn.destroy();
      return;
    }
    if (!this.#queue.push(entry)) this.#conn.driver?.pauseReading();
  }

  /** The lines, in order, until closed or the connection is lost. */
  [Symbol.asyncIterator](): AsyncIterator<MonitorEntry<V>> {
    return this.#queue;
  }

  /** Whether the connection is closed (by `close()` or lost). */
  get closed(): boolean {
    return this.#conn.isClosed;
  }

  /** The connection's state and counters. */
  stats(): ConnectionStats {
    return this.#conn.stats();
  }

  /** Closes the connection; iteration ends after the lines already received. */
  close(): Promise<void> {
    this.#closing = true;
    this.#queue.end();
    this.#conn.destroy(); // a monitor connection never goes quiet enough for a graceful QUIT
    return Promise.resolve();
  }

  /** `await using monitor = await redis.monitor()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
