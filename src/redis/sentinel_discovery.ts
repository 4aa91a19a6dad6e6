// Asking Redis Sentinels: the list of sentinels (tried in order, the one that answered moved to
// the front, refreshed from SENTINEL SENTINELS), master and replica discovery, sentinel auth.
// Spec: https://redis.io/docs/latest/develop/reference/sentinel-clients/

import { utf8Decode } from "../core/bytes.ts";
import { ConnectError, RemoteProtocolError } from "../core/errors.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { Connect, TlsOptions } from "../core/transport.ts";
import { type RedisLocator, resolveRedisOptions } from "./client_options.ts";
import { RedisError } from "./errors.ts";
import { openRedisConnection } from "./open_connection.ts";
import type { RedisArg } from "./resp_encoder.ts";
import { RespMap, type RespValue } from "./resp_types.ts";

/** A TCP address of a sentinel or a data node. */
export interface HostPort {
  /** Host name or IP address. */
  host: string;
  /** TCP port. */
  port: number;
}

/** How to reach the sentinels: their credentials and TLS, separate from the data nodes'. */
export interface SentinelConnectOptions {
  /** ACL user for the sentinels. */
  sentinelUsername?: string;
  /** Password of the sentinels; never logged. */
  sentinelPassword?: string;
  /** TLS to the sentinels. */
  sentinelTls?: boolean | TlsOptions;
  /** The transport connector (also used for the data nodes). Default: the runtime's. */
  connect?: Connect;
  /** Milliseconds to connect to one sentinel and get its answer. Default 10,000. */
  connectTimeout?: number;
}

/** Runs one command on a sentinel connection. */
type Run = (command: readonly RedisArg[]) => Promise<RespValue>;

/** Replica flags that rule a replica out of reads. */
const UNHEALTHY = ["s_down", "o_down", "disconnected"];

/**
 * The sentinels of a deployment and the questions asked of them. Each question opens a short
 * connection to one sentinel after another until one answers; that one moves to the front and
 * the list learns the sentinels it knows of.
 *
 * @example
 * ```ts
 * import { SentinelList } from "@kvwire/kvwire/redis";
 * const list = new SentinelList(["127.0.0.1:26379", "127.0.0.1:26380"]);
 * console.log(await list.discoverMaster("mymaster")); // { host: "127.0.0.1", port: 6379 }
 * ```
 */
export class SentinelList {
  #sentinels: HostPort[];
  readonly #options: SentinelConnectOptions;
  #password: string | undefined;
  #rotation = 0;
  #turn = Math.floor(Math.random() * 1024);

  /** `sentinels` as `"host:port"` strings (IPv6 as `"[::1]:26379"`). */
  constructor(sentinels: readonly string[], options: SentinelConnectOptions = {}) {
    if (!Array.isArray(sentinels) || sentinels.length === 0) {
      throw new TypeError('sentinels must be a non-empty array of "host:port" strings');
    }
    this.#sentinels = sentinels.map(parseHostPort);
    const { sentinelUsername, sentinelTls, connect, connectTimeout } = options;
    this.#options = { sentinelUsername, sentinelTls, connect, connectTimeout };
    this.#password = options.sentinelPassword;
  }

  /** The sentinels as `host:port`, in the order they are asked. */
  get sentinels(): string[] {
    return this.#sentinels.map(formatHostPort);
  }

  /** The master's address, as the first sentinel that knows `name` says. */
  discoverMaster(name: string): Promise<HostPort> {
    checkName(name);
    return this.#ask(name, async (run) => {
      const reply = await run(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]);
      if (reply === null) return undefined;
      if (!Array.isArray(reply) || reply.length !== 2) {
        throw malformed("answered GET-MASTER-ADDR-BY-NAME with no address");
      }
      return { host: text(reply[0]), port: Number(text(reply[1])) };
    });
  }

  /**
   * The replicas of `name` fit for reads (not flagged `s_down`, `o_down` or `disconnected`),
   * from SENTINEL REPLICAS (SENTINEL SLAVES on servers before 5.0).
   */
  discoverReplicas(name: string): Promise<HostPort[]> {
    checkName(name);
    return this.#ask(name, async (run) => {
      if ((await run(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])) === null) return undefined;
      let reply: RespValue;
      try {
        reply = await run(["SENTINEL", "REPLICAS", name]);
      } catch (error) {
        if (!(error instanceof RedisError && /unknown/i.test(error.message))) throw error;
        reply = await run(["SENTINEL", "SLAVES", name]);
      }
      return entries(reply).filter((r) => {
        const flags = (r.get("flags") ?? "").split(",");
        return !flags.some((flag) => UNHEALTHY.includes(flag));
      }).map((r) => ({ host: r.get("ip") ?? "", port: Number(r.get("port")) }));
    });
  }

  /**
   * The next of `nodes` in a round-robin shared by every client of this list (starting at a
   * random place, so that separate lists spread too).
   */
  nextOf<T>(nodes: readonly T[]): T {
    this.#turn = (this.#turn + 1) % Number.MAX_SAFE_INTEGER;
    return nodes[this.#turn % nodes.length];
  }

  /** A locator that hands out the sentinels in turn (for the `+switch-master` subscription). */
  rotation(): RedisLocator {
    return {
      locate: () => {
        const sentinels = this.#sentinels;
        return Promise.resolve(sentinels[this.#rotation++ % sentinels.length]);
      },
    };
  }

  /** Options for a connection to a sentinel at `address` (the data node's are not used). */
  connectionOptions(address?: HostPort): ReturnType<typeof resolveRedisOptions> {
    const first = address ?? this.#sentinels[0];
    return resolveRedisOptions({
      host: first.host,
      port: first.port,
      username: this.#options.sentinelUsername,
      password: this.#password,
      tls: this.#options.sentinelTls,
      connect: this.#options.connect,
      connectTimeout: this.#options.connectTimeout,
      decode: true,
    });
  }

  /**
   * Asks the sentinels in order; `question` returns undefined when a sentinel does not know
   * `name`. The first answer wins: that sentinel moves to the front and its peers are learned.
   */
  async #ask<T>(name: string, question: (run: Run) => Promise<T | undefined>): Promise<T> {
    const failures: string[] = [];
    let lastError: unknown;
    for (const sentinel of [...this.#sentinels]) {
      const options = this.connectionOptions(sentinel);
      const timeout = options.connectTimeout ?? 10_000;
      const conn = openRedisConnection({ ...options, reconnect: { enabled: false } });
      const run: Run = (command) => conn.request(command, { timeout }, String(command[1]));
      try {
        await conn.open();
        const answer = await question(run);
        if (answer === undefined) {
          failures.push(`${formatHostPort(sentinel)} does not know it`);
          continue;
        }
        this.#promote(sentinel);
        this.#learn(await run(["SENTINEL", "SENTINELS", name]).catch(() => null));
        return answer;
      } catch (error) {
        lastError = error;
        failures.push(`${formatHostPort(sentinel)}: ${(error as Error).message}`);
      } finally {
        conn.destroy();
      }
    }
    throw new ConnectError(
      `No sentinel gave the address of a master named "${name}" (${failures.join("; ")})`,
      { cause: lastError },
    );
  }

  #promote(sentinel: HostPort): void {
    this.#sentinels = [sentinel, ...this.#sentinels.filter((s) => s !== sentinel)];
  }

  /** Appends the sentinels named in a SENTINEL SENTINELS reply that the list lacks. */
  #learn(reply: RespValue): void {
    if (reply === null) return;
    for (const entry of entries(reply)) {
      const host = entry.get("ip");
      const port = Number(entry.get("port"));
      if (host === undefined || !(port > 0 && port < 65536)) continue;
      const known = this.#sentinels.some((s) => s.host === host && s.port === port);
      if (!known) this.#sentinels.push({ host, port });
    }
  }

  /** The sentinels and settings, without the password. */
  toJSON(): Record<string, unknown> {
    const { sentinelUsername, sentinelTls, connectTimeout } = this.#options;
    const tls = typeof sentinelTls === "object" && sentinelTls.key !== undefined
      ? { ...sentinelTls, key: "[redacted]" }
      : sentinelTls;
    const summary: Record<string, unknown> = { sentinels: this.sentinels };
    if (sentinelUsername !== undefined) summary.sentinelUsername = sentinelUsername;
    if (this.#password !== undefined) summary.sentinelPassword = "[redacted]";
    if (tls !== undefined) summary.sentinelTls = tls;
    if (connectTimeout !== undefined) summary.connectTimeout = connectTimeout;
    return summary;
  }

  /** Node's and Bun's inspect rendering: {@link toJSON}. */
  [INSPECT_NODE](): string {
    return redactedRendering("SentinelList", this.toJSON());
  }
}

/**
 * Parses `"host:port"` (IPv6 in brackets) into a {@link HostPort}.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "@kvwire/kvwire/redis";
 * parseHostPort("[::1]:26379"); // { host: "::1", port: 26379 }
 * ```
 */
export function parseHostPort(text: string): HostPort {
  const match = typeof text === "string"
    ? /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text)
    : null;
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port > 0 && port < 65536)) {
    throw new TypeError(`Invalid sentinel address "${text}": expected "host:port"`);
  }
  return { host: match[1] ?? match[2], port };
}

function formatHostPort(address: HostPort): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

function checkName(name: string): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`The master name must be a non-empty string, got ${String(name)}`);
  }
}

function text(value: RespValue): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return utf8Decode(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw malformed("sent a field that is not text");
}

/**
 * The entries of a SENTINEL REPLICAS / SENTINELS reply: RESP3 maps, or RESP2 flat arrays of
 * alternating names and values.
 */
function entries(reply: RespValue): Map<string, string>[] {
  if (!Array.isArray(reply)) throw malformed("sent a list that is not an array");
  return reply.map((entry) => {
    const fields = new Map<string, string>();
    if (entry instanceof RespMap) {
      for (const [k, v] of entry.entries) fields.set(text(k), text(v));
    } else if (Array.isArray(entry) && entry.length % 2 === 0) {
      for (let i = 0; i < entry.length; i += 2) fields.set(text(entry[i]), text(entry[i + 1]));
    } else {
      throw malformed("sent an entry that is neither a map nor name/value pairs");
    }
    return fields;
  });
}

function malformed(what: string): RemoteProtocolError {
  return new RemoteProtocolError(`A sentinel ${what}`, { sent: true });
}
