// Typed diagnostics commands: SLOWLOG, COMMANDLOG (Valkey 8.1), MEMORY and LATENCY.
// Spec: https://redis.io/docs/latest/commands/?group=server

import type { RedisArg } from "../resp_encoder.ts";
import { RespMap, type RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { ClientCommands } from "./client_commands.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asNumberOrNull,
  asOk,
  asReply,
  pairsOf,
  type ReplyContext,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** One SLOWLOG entry. */
export interface SlowLogEntry {
  id: number;
  /** Unix time in seconds when the command ran. */
  timestamp: number;
  durationMicros: number;
  /** The command and its arguments (possibly truncated by the server). */
  args: string[];
  clientAddress: string;
  clientName: string;
}

/** Which COMMANDLOG: commands slower than, requests or replies larger than a threshold. */
export type CommandLogType = "slow" | "large-request" | "large-reply";

/** One COMMANDLOG entry: `value` is the duration (µs) or the request or reply size (bytes). */
export interface CommandLogEntry extends Omit<SlowLogEntry, "durationMicros"> {
  value: number;
}

/** One event of LATENCY LATEST. */
export interface LatencyEvent {
  event: string;
  /** Unix time in seconds of the latest spike. */
  timestamp: number;
  latestMs: number;
  maxMs: number;
}

const TEXT = { decode: true } as const;

function rows(reply: RespValue, what: string): RespValue[][] {
  if (!Array.isArray(reply)) throw replyShapeError(`Expected an array of ${what}`);
  return reply.map((row) => {
    if (!Array.isArray(row)) throw replyShapeError(`Expected an array per ${what} entry`);
    return row;
  });
}

/** A MEMORY STATS figure: numbers whether RESP2 sends text or RESP3 a double; other text kept. */
function figure(reply: RespValue): unknown {
  const value = asReply(reply, TEXT);
  return typeof value === "string" && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)
    ? Number(value)
    : value;
}

/** Text replies (bulk, or RESP3 verbatim) as a string. */
const asText: Transform<string> = (reply) => asNonNullValue<string>(reply, TEXT);

/** A SLOWLOG or COMMANDLOG row: id, time, measure, arguments, client address and name. */
function logEntry(r: RespValue[], c: ReplyContext): CommandLogEntry {
  return {
    id: asNumber(r[0], c),
    timestamp: asNumber(r[1], c),
    value: asNumber(r[2], c),
    args: asNonNullValues<string>(r[3], TEXT),
    clientAddress: asText(r[4] ?? "", c),
    clientName: asText(r[5] ?? "", c),
  };
}

const asSlowLog: Transform<SlowLogEntry[]> = (reply, c) =>
  rows(reply, "slowlog").map((r) => {
    const { value, ...entry } = logEntry(r, c);
    return { ...entry, durationMicros: value };
  });

const asCommandLog: Transform<CommandLogEntry[]> = (reply, c) =>
  rows(reply, "commandlog").map((r) => logEntry(r, c));

/**
 * SLOWLOG, COMMANDLOG, MEMORY and LATENCY.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * await redis.slowlogGet(10); // [{ id, timestamp, durationMicros, args, ... }]
 * await redis.memoryUsage("k"); // bytes, or null when missing
 * ```
 */
export abstract class DiagnosticsCommands<V, M extends CommandMode> extends ClientCommands<V, M> {
  /** SLOWLOG GET: the latest entries (server default 10; -1: all). */
  slowlogGet(count?: number): Out<M, SlowLogEntry[], this> {
    const args: RedisArg[] = count === undefined ? ["SLOWLOG", "GET"] : ["SLOWLOG", "GET", count];
    return this.call(args, asSlowLog);
  }

  /** SLOWLOG LEN: entries in the slow log. */
  slowlogLen(): Out<M, number, this> {
    return this.call(["SLOWLOG", "LEN"], asNumber);
  }

  /** SLOWLOG RESET: empties the slow log. */
  slowlogReset(): Out<M, boolean, this> {
    return this.call(["SLOWLOG", "RESET"], asOk);
  }

  /**
   * COMMANDLOG GET: the latest entries of one command log (-1: all).
   *
   * @since Valkey 8.1
   */
  commandLogGet(count: number, type: CommandLogType): Out<M, CommandLogEntry[], this> {
    return this.call(["COMMANDLOG", "GET", count, type], asCommandLog);
  }

  /**
   * COMMANDLOG LEN: entries in one command log.
   *
   * @since Valkey 8.1
   */
  commandLogLen(type: CommandLogType): Out<M, number, this> {
    return this.call(["COMMANDLOG", "LEN", type], asNumber);
  }

  /**
   * COMMANDLOG RESET: empties one command log.
   *
   * @since Valkey 8.1
   */
  commandLogReset(type: CommandLogType): Out<M, boolean, this> {
    return this.call(["COMMANDLOG", "RESET", type], asOk);
  }

  /** MEMORY USAGE: bytes used by a key and its value (null when missing). */
  memoryUsage(key: RedisKey, options: { samples?: number } = {}): Out<M, number | null, this> {
    const args: RedisArg[] = ["MEMORY", "USAGE", key];
    if (options.samples !== undefined) args.push("SAMPLES", options.samples);
    return this.call(args, asNumberOrNull);
  }

  /** MEMORY STATS: the server's memory figures by name (nested figures as Maps). */
  memoryStats(): Out<M, Map<string, unknown>, this> {
    return this.call(["MEMORY", "STATS"], (reply) => {
      const out = new Map<string, unknown>();
      for (const [k, v] of pairsOf(reply)) {
        const nested = Array.isArray(v) || v instanceof RespMap;
        out.set(
          asText(k, TEXT),
          nested ? new Map(pairsOf(v).map(([a, b]) => [asText(a, TEXT), figure(b)])) : figure(v),
        );
      }
      return out;
    });
  }

  /** MEMORY DOCTOR: the server's advice on memory, as text. */
  memoryDoctor(): Out<M, string, this> {
    return this.call(["MEMORY", "DOCTOR"], asText);
  }

  /** MEMORY MALLOC-STATS: the allocator's statistics, as text. */
  memoryMallocStats(): Out<M, string, this> {
    return this.call(["MEMORY", "MALLOC-STATS"], asText);
  }

  /** MEMORY PURGE: asks the allocator to release memory. */
  memoryPurge(): Out<M, boolean, this> {
    return this.call(["MEMORY", "PURGE"], asOk);
  }

  /** LATENCY LATEST: the latest and worst spike of each event. */
  latencyLatest(): Out<M, LatencyEvent[], this> {
    return this.call(["LATENCY", "LATEST"], (reply, c) =>
      rows(reply, "latency").map((r) => ({
        event: asText(r[0], c),
        timestamp: asNumber(r[1], c),
        latestMs: asNumber(r[2], c),
        maxMs: asNumber(r[3], c),
      })));
  }

  /** LATENCY HISTORY of an event: `[unix seconds, milliseconds]` samples. */
  latencyHistory(event: string): Out<M, [timestamp: number, ms: number][], this> {
    return this.call(
      ["LATENCY", "HISTORY", event],
      (reply, c) => rows(reply, "latency").map((r) => [asNumber(r[0], c), asNumber(r[1], c)]),
    );
  }

  /** LATENCY RESET: clears the events named (all by default); how many were reset. */
  latencyReset(...events: string[]): Out<M, number, this> {
    return this.call(["LATENCY", "RESET", ...events], asNumber);
  }

  /** LATENCY DOCTOR: the server's analysis of latency, as text. */
  latencyDoctor(): Out<M, string, this> {
    return this.call(["LATENCY", "DOCTOR"], asText);
  }

  /** LATENCY GRAPH of an event, as ASCII art (an error when the event has no samples). */
  latencyGraph(event: string): Out<M, string, this> {
    return this.call(["LATENCY", "GRAPH", event], asText);
  }
}
