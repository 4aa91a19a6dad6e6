// Typed server, connection, pub/sub publishing and scripting commands.
// Spec: https://redis.io/docs/latest/commands/?group=server (connection, pubsub, scripting)

import { utf8Decode } from "../../core/bytes.ts";
import type { RedisArg } from "../resp_encoder.ts";
import { RespVerbatim } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { parseInfo, type RedisInfo } from "./info.ts";
import { StreamCommands } from "./streams.ts";
import {
  asBoolean,
  asMap,
  asNumber,
  asOk,
  asReply,
  asStatus,
  asValue,
  asValues,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

const asInfo: Transform<RedisInfo> = (reply) => {
  const text = reply instanceof RespVerbatim
    ? utf8Decode(reply.text)
    : reply instanceof Uint8Array
    ? utf8Decode(reply)
    : asStatus(reply, { decode: true });
  return parseInfo(text);
};

/** `[channel, count, ...]` (RESP2) or a map (RESP3) of subscriber counts. */
const asCounts: Transform<Map<string, number>> = (r, c) => {
  const counts = new Map<string, number>();
  const flat = asReply(r, { ...c, decode: true });
  const items = flat instanceof Map ? [...flat].flat() : flat as unknown[];
  for (let i = 0; i < items.length; i += 2) counts.set(String(items[i]), Number(items[i + 1]));
  return counts;
};

/**
 * Server, connection, publishing and scripting commands.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * await redis.ping(); // "PONG"
 * (await redis.info("server")).server.redis_version; // "7.0.15"
 * ```
 */
export abstract class ServerCommands<V, M extends CommandMode> extends StreamCommands<V, M> {
  /** PING, or PING with a message echoed back. */
  ping(message?: RedisValue): Out<M, string, this> {
    const args: RedisArg[] = message === undefined ? ["PING"] : ["PING", message];
    return this.call(args, (r, c) => asStatus(r, c));
  }

  /** ECHO. */
  echo(message: RedisValue): Out<M, V, this> {
    return this.call(["ECHO", message], (r, c) => asValue<V>(r, c) as V);
  }

  /** INFO parsed into sections (all sections, or the ones named). */
  info(...sections: string[]): Out<M, RedisInfo, this> {
    return this.call(["INFO", ...sections], asInfo);
  }

  /** DBSIZE: keys in the selected database. */
  dbSize(): Out<M, number, this> {
    return this.call(["DBSIZE"], asNumber);
  }

  /** FLUSHDB, optionally ASYNC. */
  flushDb(mode?: "ASYNC" | "SYNC"): Out<M, boolean, this> {
    return this.call(mode ? ["FLUSHDB", mode] : ["FLUSHDB"], asOk);
  }

  /** FLUSHALL, optionally ASYNC. */
  flushAll(mode?: "ASYNC" | "SYNC"): Out<M, boolean, this> {
    return this.call(mode ? ["FLUSHALL", mode] : ["FLUSHALL"], asOk);
  }

  /** CLIENT SETNAME for this connection (prefer the `clientName` option: it survives reconnects). */
  clientSetName(name: string): Out<M, boolean, this> {
    return this.call(["CLIENT", "SETNAME", name], asOk);
  }

  /** CLIENT GETNAME. */
  clientGetName(): Out<M, string | null, this> {
    return this.call(["CLIENT", "GETNAME"], (r, c) => asValue<string>(r, { ...c, decode: true }));
  }

  /** CLIENT ID. */
  clientId(): Out<M, number, this> {
    return this.call(["CLIENT", "ID"], asNumber);
  }

  /** TIME as milliseconds since the Unix epoch (with microsecond fraction). */
  time(): Out<M, number, this> {
    return this.call(["TIME"], (r, c) => {
      const [seconds, micros] = asValues<string>(r, { ...c, decode: true });
      return Number(seconds) * 1000 + Number(micros) / 1000;
    });
  }

  /** CONFIG GET: matching parameters and values. */
  configGet(pattern: string): Out<M, Map<string, string>, this> {
    return this.call(
      ["CONFIG", "GET", pattern],
      (r, c) => asMap<string>(r, { ...c, decode: true }),
    );
  }

  /** CONFIG SET one parameter. */
  configSet(parameter: string, value: RedisValue): Out<M, boolean, this> {
    return this.call(["CONFIG", "SET", parameter, value], asOk);
  }

  /** PUBLISH: how many subscribers received the message. */
  publish(channel: RedisKey, message: RedisValue): Out<M, number, this> {
    return this.call(["PUBLISH", channel, message], asNumber);
  }

  /** SPUBLISH to a shard channel. */
  sPublish(channel: RedisKey, message: RedisValue): Out<M, number, this> {
    return this.call(["SPUBLISH", channel, message], asNumber);
  }

  /** PUBSUB CHANNELS: active channels, optionally matching a pattern. */
  pubsubChannels(pattern?: string): Out<M, V[], this> {
    const args: RedisArg[] = ["PUBSUB", "CHANNELS"];
    if (pattern !== undefined) args.push(pattern);
    return this.call(args, (r, c) => asValues<V>(r, c) as V[]);
  }

  /** PUBSUB NUMSUB: subscriber counts per channel. */
  pubsubNumSub(...channels: RedisKey[]): Out<M, Map<string, number>, this> {
    return this.call(["PUBSUB", "NUMSUB", ...channels], asCounts);
  }

  /** PUBSUB SHARDCHANNELS: active shard channels (of this node), optionally matching a pattern. */
  pubsubShardChannels(pattern?: string): Out<M, V[], this> {
    const args: RedisArg[] = ["PUBSUB", "SHARDCHANNELS"];
    if (pattern !== undefined) args.push(pattern);
    return this.call(args, (r, c) => asValues<V>(r, c) as V[]);
  }

  /** PUBSUB SHARDNUMSUB: subscriber counts per shard channel (of this node). */
  pubsubShardNumSub(...channels: RedisKey[]): Out<M, Map<string, number>, this> {
    return this.call(["PUBSUB", "SHARDNUMSUB", ...channels], asCounts);
  }

  /** PUBSUB NUMPAT: pattern subscriptions across all clients. */
  pubsubNumPat(): Out<M, number, this> {
    return this.call(["PUBSUB", "NUMPAT"], asNumber);
  }

  /** EVAL a Lua script. Prefer `registerScript`, which uses EVALSHA. */
  eval(script: string, keys: RedisKey[] = [], args: RedisValue[] = []): Out<M, unknown, this> {
    return this.call(["EVAL", script, keys.length, ...keys, ...args], asReply);
  }

  /** EVALSHA a loaded script. */
  evalSha(sha1: string, keys: RedisKey[] = [], args: RedisValue[] = []): Out<M, unknown, this> {
    return this.call(["EVALSHA", sha1, keys.length, ...keys, ...args], asReply);
  }

  /** SCRIPT LOAD: the script's SHA1. */
  scriptLoad(script: string): Out<M, string, this> {
    return this.call(
      ["SCRIPT", "LOAD", script],
      (r, c) => asValue<string>(r, { ...c, decode: true })!,
    );
  }

  /** SCRIPT EXISTS: whether each SHA1 is loaded. */
  scriptExists(...sha1s: string[]): Out<M, boolean[], this> {
    return this.call(["SCRIPT", "EXISTS", ...sha1s], (r, c) => {
      if (!Array.isArray(r)) throw replyShapeError("Expected an array in the SCRIPT EXISTS reply");
      return r.map((x) => asBoolean(x, c));
    });
  }

  /** SCRIPT FLUSH. */
  scriptFlush(): Out<M, boolean, this> {
    return this.call(["SCRIPT", "FLUSH"], asOk);
  }

  /** WAIT for replicas: how many acknowledged. */
  wait(replicas: number, timeoutMs: number): Out<M, number, this> {
    return this.call(["WAIT", replicas, timeoutMs], asNumber);
  }
}
