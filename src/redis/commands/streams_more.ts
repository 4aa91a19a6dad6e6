// Stream commands beyond the basics: XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS, XSETID, and
// XDELEX/XACKDEL (Redis 8.2).
// Spec: https://redis.io/docs/latest/commands/?group=stream

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { ServerMoreCommands } from "./server_more.ts";
import { streamEntryOf, type StreamGroupEntry } from "./streams.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asNumberOrNull,
  asOk,
  fieldsOf,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Options of XCLAIM. */
export interface XClaimOptions {
  /** Set the entries' idle time (ms) instead of resetting it. */
  idle?: number;
  /** Set the entries' last delivery to this Unix time in ms. */
  time?: number;
  /** Set the delivery counter. */
  retryCount?: number;
  /** Claim ids even when they are not pending (they must exist in the stream). */
  force?: boolean;
}

/** A page of XAUTOCLAIM. */
export interface XAutoClaimPage<T> {
  /** Where the next call starts; `"0-0"` when the scan is complete. */
  nextId: string;
  claimed: T[];
  /** Pending ids whose entries no longer exist (removed from the pending list). */
  deletedIds: string[];
}

/** One consumer group of XINFO GROUPS. */
export interface StreamGroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
  /** Entries read by the group (null when the server cannot tell). */
  entriesRead: number | null;
  /** Entries not yet delivered (null when the server cannot tell). */
  lag: number | null;
}

/** One consumer of XINFO CONSUMERS. */
export interface StreamConsumerInfo {
  name: string;
  pending: number;
  /** Milliseconds since the consumer's last attempted interaction. */
  idle: number;
}

const TEXT = { decode: true } as const;

function list(reply: RespValue, what: string): RespValue[] {
  if (!Array.isArray(reply)) throw replyShapeError(`Expected an array of ${what}`);
  return reply;
}

/** What XDELEX / XACKDEL do with consumer groups' references to deleted entries. */
export type StreamRefPolicy = "KEEPREF" | "DELREF" | "ACKED";

/** `[policy] IDS numids id...`, checked before sending. */
function refsArgs(ids: string[], refs: StreamRefPolicy | undefined): RedisArg[] {
  if (ids.length === 0) throw new RangeError("ids: give at least one id");
  return [...(refs ? [refs] : []), "IDS", ids.length, ...ids];
}

const asIdCodes: Transform<number[]> = (r, c) => list(r, "codes").map((x) => asNumber(x, c));

const asIds: Transform<string[]> = (r) => asNonNullValues<string>(r, TEXT);

const asClaimed = <V>(): Transform<StreamGroupEntry<V>[]> => (reply, c) =>
  list(reply, "stream entries").filter((e) => e !== null).map((e) => streamEntryOf<V>(e, c));

function asAutoClaim<T>(claimed: Transform<T[]>): Transform<XAutoClaimPage<T>> {
  return (reply, c) => {
    const [next, items, deleted] = list(reply, "XAUTOCLAIM parts");
    return {
      nextId: asNonNullValue<string>(next, TEXT),
      claimed: claimed(items, c),
      deletedIds: deleted === undefined ? [] : asIds(deleted, c),
    };
  };
}

function claimArgs(o: XClaimOptions): RedisArg[] {
  const args: RedisArg[] = [];
  if (o.idle !== undefined) args.push("IDLE", o.idle);
  if (o.time !== undefined) args.push("TIME", o.time);
  if (o.retryCount !== undefined) args.push("RETRYCOUNT", o.retryCount);
  if (o.force) args.push("FORCE");
  return args;
}

/**
 * Claiming pending entries and inspecting consumer groups.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.xAutoClaim("jobs", "workers", "w2", 60_000, "0-0"); // { nextId, claimed, deletedIds }
 * await redis.xInfoGroups("jobs"); // [{ name: "workers", consumers: 2, pending: 1, ... }]
 * ```
 */
export abstract class StreamMoreCommands<V, M extends CommandMode>
  extends ServerMoreCommands<V, M> {
  /** XCLAIM: takes pending entries idle for at least `minIdleMs` for `consumer`; the entries. */
  xClaim(
    key: RedisKey,
    group: string,
    consumer: string,
    minIdleMs: number,
    ids: string[],
    options: XClaimOptions = {},
  ): Out<M, StreamGroupEntry<V>[], this> {
    const args = ["XCLAIM", key, group, consumer, minIdleMs, ...ids, ...claimArgs(options)];
    return this.call(args, asClaimed<V>());
  }

  /** XCLAIM ... JUSTID: claims like xClaim, returns the ids only (the counter is not raised). */
  xClaimJustId(
    key: RedisKey,
    group: string,
    consumer: string,
    minIdleMs: number,
    ids: string[],
    options: XClaimOptions = {},
  ): Out<M, string[], this> {
    const args = [
      "XCLAIM",
      key,
      group,
      consumer,
      minIdleMs,
      ...ids,
      ...claimArgs(options),
      "JUSTID",
    ];
    return this.call(args, asIds);
  }

  /** XAUTOCLAIM: claims pending entries idle for `minIdleMs`, scanning from `start`. */
  xAutoClaim(
    key: RedisKey,
    group: string,
    consumer: string,
    minIdleMs: number,
    start: string,
    options: { count?: number } = {},
  ): Out<M, XAutoClaimPage<StreamGroupEntry<V>>, this> {
    const args: RedisArg[] = ["XAUTOCLAIM", key, group, consumer, minIdleMs, start];
    if (options.count !== undefined) args.push("COUNT", options.count);
    return this.call(args, asAutoClaim(asClaimed<V>()));
  }

  /** XAUTOCLAIM ... JUSTID: like xAutoClaim, with ids only. */
  xAutoClaimJustId(
    key: RedisKey,
    group: string,
    consumer: string,
    minIdleMs: number,
    start: string,
    options: { count?: number } = {},
  ): Out<M, XAutoClaimPage<string>, this> {
    const args: RedisArg[] = ["XAUTOCLAIM", key, group, consumer, minIdleMs, start];
    if (options.count !== undefined) args.push("COUNT", options.count);
    return this.call([...args, "JUSTID"], asAutoClaim(asIds));
  }

  /** XINFO GROUPS: the consumer groups of a stream. */
  xInfoGroups(key: RedisKey): Out<M, StreamGroupInfo[], this> {
    return this.call(["XINFO", "GROUPS", key], (reply, c) =>
      list(reply, "groups").map((item) => {
        const f = fieldsOf(item);
        return {
          name: asNonNullValue<string>(f.get("name") ?? null, TEXT),
          consumers: asNumber(f.get("consumers") ?? null, c),
          pending: asNumber(f.get("pending") ?? null, c),
          lastDeliveredId: asNonNullValue<string>(f.get("last-delivered-id") ?? null, TEXT),
          entriesRead: asNumberOrNull(f.get("entries-read") ?? null, c),
          lag: asNumberOrNull(f.get("lag") ?? null, c),
        };
      }));
  }

  /** XINFO CONSUMERS: the consumers of a group. */
  xInfoConsumers(key: RedisKey, group: string): Out<M, StreamConsumerInfo[], this> {
    return this.call(
      ["XINFO", "CONSUMERS", key, group],
      (reply, c) =>
        list(reply, "consumers").map((item) => {
          const f = fieldsOf(item);
          return {
            name: asNonNullValue<string>(f.get("name") ?? null, TEXT),
            pending: asNumber(f.get("pending") ?? null, c),
            idle: asNumber(f.get("idle") ?? null, c),
          };
        }),
    );
  }

  /** XSETID: sets the stream's last id (and, optionally, its added-entries counter and max deleted id). */
  xSetId(
    key: RedisKey,
    lastId: string,
    options: { entriesAdded?: number; maxDeletedId?: string } = {},
  ): Out<M, boolean, this> {
    const args: RedisArg[] = ["XSETID", key, lastId];
    if (options.entriesAdded !== undefined) args.push("ENTRIESADDED", options.entriesAdded);
    if (options.maxDeletedId !== undefined) args.push("MAXDELETEDID", options.maxDeletedId);
    return this.call(args, asOk);
  }

  /**
   * XDELEX: deletes entries, choosing what happens to consumer groups' references (`KEEPREF`
   * default, `DELREF`, `ACKED`); per id `-1` no such entry, `1` deleted, `2` kept (still
   * referenced, with `ACKED`).
   *
   * @since Redis 8.2
   */
  xDelEx(key: RedisKey, ids: string[], refs?: StreamRefPolicy): Out<M, number[], this> {
    return this.call(["XDELEX", key, ...refsArgs(ids, refs)], asIdCodes);
  }

  /**
   * XACKDEL: acknowledges entries in a group and deletes them; per id `-1` not found, `1`
   * acknowledged and deleted, `2` acknowledged but kept (still referenced, with `ACKED`).
   *
   * @since Redis 8.2
   */
  xAckDel(
    key: RedisKey,
    group: string,
    ids: string[],
    refs?: StreamRefPolicy,
  ): Out<M, number[], this> {
    return this.call(["XACKDEL", key, group, ...refsArgs(ids, refs)], asIdCodes);
  }
}
