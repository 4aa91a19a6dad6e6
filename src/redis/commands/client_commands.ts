// Typed CLIENT subcommands: LIST and INFO parsed, KILL by filters, PAUSE/UNPAUSE, NO-EVICT,
// UNBLOCK, GETREDIR, TRACKING/CACHING/TRACKINGINFO, NO-TOUCH and SETINFO (7.2).
// Spec: https://redis.io/docs/latest/commands/?group=connection

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out } from "./base.ts";
import { FunctionCommands } from "./functions.ts";
import {
  asBoolean,
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asOk,
  pairsOf,
  type Transform,
} from "./transforms.ts";

/**
 * One connection as CLIENT LIST / CLIENT INFO describe it. Integer fields are numbers; the
 * server may add fields, which appear under their own names.
 */
export interface ClientEntry {
  id: number;
  addr: string;
  laddr: string;
  name: string;
  age: number;
  idle: number;
  flags: string;
  db: number;
  cmd: string;
  user: string;
  resp: number;
  [field: string]: string | number;
}

/** Which connections CLIENT KILL closes: all filters must match. */
export interface ClientKillFilter {
  id?: number;
  type?: "normal" | "master" | "replica" | "pubsub";
  user?: string;
  addr?: string;
  laddr?: string;
  /** Spare the calling connection (server default: true). */
  skipMe?: boolean;
}

/** Options of CLIENT TRACKING. */
export interface ClientTrackingOptions {
  /** Send invalidations to the connection with this id (RESP2 clients). */
  redirect?: number;
  /** Broadcast mode: invalidations of every key (with the given prefixes), tracked or not. */
  bcast?: boolean;
  /** With `bcast`: only keys starting with one of these. */
  prefixes?: string[];
  /** Track only keys read right after CLIENT CACHING YES. */
  optIn?: boolean;
  /** Track every key read except right after CLIENT CACHING NO. */
  optOut?: boolean;
  /** No invalidations for keys this connection modified itself. */
  noLoop?: boolean;
}

/** CLIENT TRACKINGINFO of the calling connection. */
export interface TrackingInfo {
  flags: string[];
  redirect: number;
  prefixes: string[];
}

/** Fields whose values are text even when they look like integers. */
const TEXT_FIELDS = new Set([
  "addr",
  "laddr",
  "name",
  "flags",
  "events",
  "cmd",
  "user",
  "lib-name",
  "lib-ver",
]);
const TEXT = { decode: true } as const;

function parseClientLine(line: string): ClientEntry {
  const entry: Record<string, string | number> = {};
  for (const pair of line.trim().split(" ")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const field = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    entry[field] = !TEXT_FIELDS.has(field) && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return entry as ClientEntry;
}

const asClientList: Transform<ClientEntry[]> = (reply) =>
  asNonNullValue<string>(reply, TEXT).split("\n").filter((l) => l.trim() !== "").map(
    parseClientLine,
  );

const asClientInfo: Transform<ClientEntry> = (reply) =>
  parseClientLine(asNonNullValue<string>(reply, TEXT));

/**
 * CLIENT subcommands beyond the name and id (CLIENT REPLY is excluded: it breaks request/reply
 * matching).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * (await redis.clientInfo()).db; // 0
 * await redis.clientKill({ user: "batch" }); // connections closed
 * ```
 */
export abstract class ClientCommands<V, M extends CommandMode> extends FunctionCommands<V, M> {
  /** CLIENT LIST parsed: every connection, or those of a type or with the given ids. */
  clientList(
    options: { type?: ClientKillFilter["type"]; ids?: number[] } = {},
  ): Out<M, ClientEntry[], this> {
    const args: RedisArg[] = ["CLIENT", "LIST"];
    if (options.type) args.push("TYPE", options.type);
    if (options.ids) {
      if (options.ids.length === 0) throw new RangeError("options.ids: give at least one id");
      args.push("ID", ...options.ids);
    }
    return this.call(args, asClientList);
  }

  /** CLIENT INFO parsed: the connection the command ran on. */
  clientInfo(): Out<M, ClientEntry, this> {
    return this.call(["CLIENT", "INFO"], asClientInfo);
  }

  /** CLIENT KILL with filters: how many connections were closed. */
  clientKill(filter: ClientKillFilter): Out<M, number, this> {
    const args: RedisArg[] = ["CLIENT", "KILL"];
    if (filter.id !== undefined) args.push("ID", filter.id);
    if (filter.type) args.push("TYPE", filter.type);
    if (filter.user !== undefined) args.push("USER", filter.user);
    if (filter.addr !== undefined) args.push("ADDR", filter.addr);
    if (filter.laddr !== undefined) args.push("LADDR", filter.laddr);
    if (filter.skipMe !== undefined) args.push("SKIPME", filter.skipMe ? "yes" : "no");
    if (args.length === 2) throw new TypeError("filter: CLIENT KILL needs at least one filter");
    return this.call(args, asNumber);
  }

  /** CLIENT PAUSE: suspends clients' commands (all, or writes only) for `timeoutMs`. */
  clientPause(timeoutMs: number, mode?: "WRITE" | "ALL"): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLIENT", "PAUSE", timeoutMs];
    if (mode) args.push(mode);
    return this.call(args, asOk);
  }

  /** CLIENT UNPAUSE: ends a CLIENT PAUSE early. */
  clientUnpause(): Out<M, boolean, this> {
    return this.call(["CLIENT", "UNPAUSE"], asOk);
  }

  /** CLIENT NO-EVICT: exempts the connection from client eviction (`maxmemory-clients`). */
  clientNoEvict(on: boolean): Out<M, boolean, this> {
    return this.call(["CLIENT", "NO-EVICT", on ? "ON" : "OFF"], asOk);
  }

  /** CLIENT UNBLOCK a connection blocked in a command: true when it was blocked. */
  clientUnblock(id: number, how?: "TIMEOUT" | "ERROR"): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLIENT", "UNBLOCK", id];
    if (how) args.push(how);
    return this.call(args, asBoolean);
  }

  /** CLIENT GETREDIR: the id tracking invalidations are redirected to (-1: none, 0: RESP3). */
  clientGetRedir(): Out<M, number, this> {
    return this.call(["CLIENT", "GETREDIR"], asNumber);
  }

  /** CLIENT TRACKINGINFO of the connection the command ran on. */
  clientTrackingInfo(): Out<M, TrackingInfo, this> {
    return this.call(["CLIENT", "TRACKINGINFO"], (reply, context) => {
      const fields = new Map(pairsOf(reply).map(([k, v]) => [asNonNullValue<string>(k, TEXT), v]));
      return {
        flags: asNonNullValues<string>(fields.get("flags") ?? [], TEXT),
        redirect: asNumber(fields.get("redirect") ?? null, context),
        prefixes: asNonNullValues<string>(fields.get("prefixes") ?? [], TEXT),
      };
    });
  }

  /**
   * CLIENT TRACKING: turns server-assisted client-side caching on or off for this connection
   * (invalidations arrive as RESP3 pushes, or on the `redirect` connection). The caching layer
   * built on it manages this itself.
   */
  clientTracking(on: boolean, options: ClientTrackingOptions = {}): Out<M, boolean, this> {
    const args: RedisArg[] = ["CLIENT", "TRACKING", on ? "ON" : "OFF"];
    if (options.redirect !== undefined) args.push("REDIRECT", options.redirect);
    for (const prefix of options.prefixes ?? []) args.push("PREFIX", prefix);
    if (options.prefixes?.length && !options.bcast) {
      throw new TypeError("options.prefixes needs options.bcast");
    }
    if (options.optIn && options.optOut) {
      throw new TypeError("options: optIn and optOut exclude each other");
    }
    if (options.bcast) args.push("BCAST");
    if (options.optIn) args.push("OPTIN");
    if (options.optOut) args.push("OPTOUT");
    if (options.noLoop) args.push("NOLOOP");
    return this.call(args, asOk);
  }

  /** CLIENT CACHING YES/NO: whether the next command's keys are tracked (OPTIN/OPTOUT mode). */
  clientCaching(yes: boolean): Out<M, boolean, this> {
    return this.call(["CLIENT", "CACHING", yes ? "YES" : "NO"], asOk);
  }

  /**
   * CLIENT NO-TOUCH: commands of this connection leave keys' LRU/LFU untouched.
   *
   * @since Redis 7.2, Valkey 7.2
   */
  clientNoTouch(on: boolean): Out<M, boolean, this> {
    return this.call(["CLIENT", "NO-TOUCH", on ? "ON" : "OFF"], asOk);
  }

  /**
   * CLIENT CAPA: declares what the client handles (`redirect`: a standalone replica answers
   * data commands with `-REDIRECT host:port` until READONLY).
   *
   * @since Valkey 8.0
   */
  clientCapa(...capabilities: "redirect"[]): Out<M, boolean, this> {
    if (capabilities.length === 0) throw new RangeError("capabilities: give at least one");
    return this.call(["CLIENT", "CAPA", ...capabilities], asOk);
  }

  /**
   * CLIENT SETINFO: the library name or version CLIENT LIST shows for this connection.
   *
   * @since Redis 7.2, Valkey 7.2
   */
  clientSetInfo(attribute: "LIB-NAME" | "LIB-VER", value: string): Out<M, boolean, this> {
    return this.call(["CLIENT", "SETINFO", attribute, value], asOk);
  }
}
