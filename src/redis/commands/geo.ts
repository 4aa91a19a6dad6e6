// Typed geospatial commands: coordinates and distances are numbers, whether RESP2 sends them
// as bulk text or RESP3 as doubles. Spec: https://redis.io/docs/latest/commands/?group=geo

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { ServerCommands } from "./server.ts";
import {
  asFloat,
  asFloatOrNull,
  asNonNullValue,
  asNumber,
  asValue,
  type ReplyContext,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** A distance unit. */
export type GeoUnit = "m" | "km" | "mi" | "ft";

/** A member at a position. */
export interface GeoMember {
  longitude: number;
  latitude: number;
  member: RedisValue;
}

/** Where a search starts: at a member, or at a position. */
export type GeoFrom = { member: RedisValue } | { longitude: number; latitude: number };

/** The search area: a circle, or a box centred on the origin. */
export type GeoShape =
  | { radius: number; unit: GeoUnit }
  | { width: number; height: number; unit: GeoUnit };

/** Ordering and limits of a search. */
export interface GeoSearchOptions {
  /** Nearest first (`ASC`) or farthest first (`DESC`); default: unordered. */
  order?: "ASC" | "DESC";
  /** At most this many results. */
  count?: number;
  /** With `count`: stop at the first `count` matches, not the nearest ones. */
  any?: boolean;
}

/** What each search result carries besides the member. */
export interface GeoWithOptions extends GeoSearchOptions {
  /** Include the distance to the origin (in the shape's unit). */
  withDist?: boolean;
  /** Include the raw 52-bit geohash integer. */
  withHash?: boolean;
  /** Include the member's position. */
  withCoord?: boolean;
}

/** A search result: the member, and what was asked for. */
export interface GeoResult<V> {
  member: V;
  distance?: number;
  hash?: number;
  longitude?: number;
  latitude?: number;
}

function fromArgs(from: GeoFrom): RedisArg[] {
  return "member" in from
    ? ["FROMMEMBER", from.member]
    : ["FROMLONLAT", from.longitude, from.latitude];
}

function shapeArgs(shape: GeoShape): RedisArg[] {
  return "radius" in shape
    ? ["BYRADIUS", shape.radius, shape.unit]
    : ["BYBOX", shape.width, shape.height, shape.unit];
}

function orderArgs(o: GeoSearchOptions): RedisArg[] {
  const args: RedisArg[] = [];
  if (o.order) args.push(o.order);
  if (o.count !== undefined) args.push("COUNT", o.count);
  if (o.any) {
    if (o.count === undefined) throw new TypeError("options.any needs options.count");
    args.push("ANY");
  }
  return args;
}

function withArgs(o: GeoWithOptions): RedisArg[] {
  const args = orderArgs(o);
  if (o.withCoord) args.push("WITHCOORD");
  if (o.withDist) args.push("WITHDIST");
  if (o.withHash) args.push("WITHHASH");
  return args;
}

function asPosition(reply: RespValue, context: ReplyContext): [number, number] {
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw replyShapeError("Expected a [longitude, latitude] pair in the reply");
  }
  return [asFloat(reply[0], context), asFloat(reply[1], context)];
}

/** Search results: plain members, or `[member, dist?, hash?, [lon, lat]?]` items. */
const asGeoResults = <V>(o: GeoWithOptions): Transform<GeoResult<V>[]> => (reply, context) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array of geo results");
  const extras = Boolean(o.withDist || o.withHash || o.withCoord);
  return reply.map((item) => {
    if (!extras) return { member: asNonNullValue<V>(item, context) };
    if (!Array.isArray(item)) throw replyShapeError("Expected an array per geo result");
    const result: GeoResult<V> = { member: asNonNullValue<V>(item[0], context) };
    let i = 1;
    if (o.withDist) result.distance = asFloat(item[i++], context);
    if (o.withHash) result.hash = asNumber(item[i++], context);
    if (o.withCoord) [result.longitude, result.latitude] = asPosition(item[i++], context);
    return result;
  });
};

/**
 * Geospatial commands on sorted sets of positions.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.geoAdd("cities", [{ longitude: 2.35, latitude: 48.86, member: "paris" }]); // 1
 * await redis.geoSearch("cities", { longitude: 2.3, latitude: 48.8 }, { radius: 50, unit: "km" });
 * // [{ member: "paris" }]
 * ```
 */
export abstract class GeoCommands<V, M extends CommandMode> extends ServerCommands<V, M> {
  /** GEOADD: how many members were added (or changed, with `ch`). */
  geoAdd(
    key: RedisKey,
    members: GeoMember[],
    options: { nx?: boolean; xx?: boolean; ch?: boolean } = {},
  ): Out<M, number, this> {
    if (members.length === 0) throw new TypeError("members: GEOADD needs at least one member");
    const args: RedisArg[] = ["GEOADD", key];
    if (options.nx) args.push("NX");
    if (options.xx) args.push("XX");
    if (options.ch) args.push("CH");
    for (const m of members) args.push(m.longitude, m.latitude, m.member);
    return this.call(args, asNumber);
  }

  /** GEODIST: the distance between two members (default unit `m`), null if one is missing. */
  geoDist(
    key: RedisKey,
    member1: RedisValue,
    member2: RedisValue,
    unit?: GeoUnit,
  ): Out<M, number | null, this> {
    const args: RedisArg[] = ["GEODIST", key, member1, member2];
    if (unit) args.push(unit);
    return this.call(args, asFloatOrNull);
  }

  /** GEOHASH: the 11-character geohash of each member, null for missing ones. */
  geoHash(key: RedisKey, ...members: RedisValue[]): Out<M, (string | null)[], this> {
    return this.call(["GEOHASH", key, ...members], (r) => {
      if (!Array.isArray(r)) throw replyShapeError("Expected an array of geohashes");
      return r.map((x) => asValue<string>(x, { decode: true }));
    });
  }

  /** GEOPOS: `[longitude, latitude]` of each member, null for missing ones. */
  geoPos(key: RedisKey, ...members: RedisValue[]): Out<M, ([number, number] | null)[], this> {
    return this.call(["GEOPOS", key, ...members], (r, c) => {
      if (!Array.isArray(r)) throw replyShapeError("Expected an array of positions");
      return r.map((x) => (x === null ? null : asPosition(x, c)));
    });
  }

  /** GEOSEARCH: members within a circle or box around a member or a position. */
  geoSearch(
    key: RedisKey,
    from: GeoFrom,
    shape: GeoShape,
    options: GeoWithOptions = {},
  ): Out<M, GeoResult<V>[], this> {
    const args = ["GEOSEARCH", key, ...fromArgs(from), ...shapeArgs(shape), ...withArgs(options)];
    return this.call(args, asGeoResults<V>(options));
  }

  /** GEOSEARCHSTORE: stores the matches at `destination` (distances with `storeDist`); count. */
  geoSearchStore(
    destination: RedisKey,
    source: RedisKey,
    from: GeoFrom,
    shape: GeoShape,
    options: GeoSearchOptions & { storeDist?: boolean } = {},
  ): Out<M, number, this> {
    const args: RedisArg[] = ["GEOSEARCHSTORE", destination, source, ...fromArgs(from)];
    args.push(...shapeArgs(shape), ...orderArgs(options));
    if (options.storeDist) args.push("STOREDIST");
    return this.call(args, asNumber);
  }

  /** GEORADIUS (deprecated since 6.2 for GEOSEARCH), without STORE: results around a position. */
  geoRadius(
    key: RedisKey,
    longitude: number,
    latitude: number,
    radius: number,
    unit: GeoUnit,
    options: GeoWithOptions = {},
  ): Out<M, GeoResult<V>[], this> {
    return this.#radius("GEORADIUS", [key, longitude, latitude, radius, unit], options);
  }

  /** GEORADIUS_RO: the read-only GEORADIUS (runs on replicas). */
  geoRadiusRo(
    key: RedisKey,
    longitude: number,
    latitude: number,
    radius: number,
    unit: GeoUnit,
    options: GeoWithOptions = {},
  ): Out<M, GeoResult<V>[], this> {
    return this.#radius("GEORADIUS_RO", [key, longitude, latitude, radius, unit], options);
  }

  /** GEORADIUSBYMEMBER (deprecated since 6.2), without STORE: results around a member. */
  geoRadiusByMember(
    key: RedisKey,
    member: RedisValue,
    radius: number,
    unit: GeoUnit,
    options: GeoWithOptions = {},
  ): Out<M, GeoResult<V>[], this> {
    return this.#radius("GEORADIUSBYMEMBER", [key, member, radius, unit], options);
  }

  /** GEORADIUSBYMEMBER_RO: the read-only GEORADIUSBYMEMBER. */
  geoRadiusByMemberRo(
    key: RedisKey,
    member: RedisValue,
    radius: number,
    unit: GeoUnit,
    options: GeoWithOptions = {},
  ): Out<M, GeoResult<V>[], this> {
    return this.#radius("GEORADIUSBYMEMBER_RO", [key, member, radius, unit], options);
  }

  #radius(command: string, head: RedisArg[], o: GeoWithOptions): Out<M, GeoResult<V>[], this> {
    return this.call([command, ...head, ...withArgs(o)], asGeoResults<V>(o));
  }
}
