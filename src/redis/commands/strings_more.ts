// String commands beyond the basics: LCS, BITFIELD/BITFIELD_RO and SUBSTR.
// Spec: https://redis.io/docs/latest/commands/?group=string (and group=bitmap)

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { KeyMoreCommands } from "./keys_more.ts";
import {
  asInteger,
  asNonNullValue,
  asNumber,
  pairsOf,
  type ReplyContext,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** A BITFIELD integer type: `i8`…`i64` signed, `u1`…`u63` unsigned. */
export type BitFieldEncoding = `${"i" | "u"}${number}`;

/** A bit offset: a number of bits, or `"#n"` for the n-th field of the type's width. */
export type BitFieldOffset = number | `#${number}`;

/** One BITFIELD operation, in the server's argument order. */
export type BitFieldOp =
  | ["GET", BitFieldEncoding, BitFieldOffset]
  | ["SET", BitFieldEncoding, BitFieldOffset, number | bigint]
  | ["INCRBY", BitFieldEncoding, BitFieldOffset, number | bigint]
  | ["OVERFLOW", "WRAP" | "SAT" | "FAIL"];

/** One common substring found by LCS IDX: inclusive ranges in each string. */
export interface LcsMatch {
  a: [start: number, end: number];
  b: [start: number, end: number];
  /** The match's length (with `withMatchLen`). */
  length?: number;
}

/** The reply of LCS IDX. */
export interface LcsIndexes {
  matches: LcsMatch[];
  /** The length of the longest common subsequence. */
  length: number;
}

const asIntegersOrNull: Transform<(number | bigint | null)[]> = (reply, context) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array in the BITFIELD reply");
  return reply.map((x) => (x === null ? null : asInteger(x, context)));
};

function asRange(reply: RespValue, context: ReplyContext): [number, number] {
  if (!Array.isArray(reply) || reply.length !== 2) throw replyShapeError("Expected an LCS range");
  return [asNumber(reply[0], context), asNumber(reply[1], context)];
}

const asLcsIndexes: Transform<LcsIndexes> = (reply, context) => {
  const fields = new Map(
    pairsOf(reply).map(([k, v]) => [asNonNullValue<string>(k, { decode: true }), v]),
  );
  const matches = fields.get("matches");
  if (!Array.isArray(matches)) throw replyShapeError("Expected matches in the LCS IDX reply");
  return {
    matches: matches.map((m) => {
      if (!Array.isArray(m) || m.length < 2) throw replyShapeError("Expected an LCS match");
      const match: LcsMatch = { a: asRange(m[0], context), b: asRange(m[1], context) };
      if (m.length > 2) match.length = asNumber(m[2], context);
      return match;
    }),
    length: asNumber(fields.get("len") ?? null, context),
  };
};

/**
 * More string commands: longest common subsequence and bit fields.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.mSet({ a: "ohmytext", b: "mynewtext" });
 * await redis.lcs("a", "b"); // "mytext"
 * await redis.bitField("f", [["INCRBY", "u8", 0, 300], ["GET", "u8", 0]]); // [44, 44]
 * ```
 */
export abstract class StringMoreCommands<V, M extends CommandMode> extends KeyMoreCommands<V, M> {
  /** LCS: the longest common subsequence of two strings. */
  lcs(key1: RedisKey, key2: RedisKey): Out<M, V, this> {
    return this.call(["LCS", key1, key2], asNonNullValue<V>);
  }

  /** LCS LEN: the length of the longest common subsequence. */
  lcsLen(key1: RedisKey, key2: RedisKey): Out<M, number, this> {
    return this.call(["LCS", key1, key2, "LEN"], asNumber);
  }

  /** LCS IDX: where the common substrings are, longest last-first as the server sends them. */
  lcsIdx(
    key1: RedisKey,
    key2: RedisKey,
    options: { minMatchLen?: number; withMatchLen?: boolean } = {},
  ): Out<M, LcsIndexes, this> {
    const args: RedisArg[] = ["LCS", key1, key2, "IDX"];
    if (options.minMatchLen !== undefined) args.push("MINMATCHLEN", options.minMatchLen);
    if (options.withMatchLen) args.push("WITHMATCHLEN");
    return this.call(args, asLcsIndexes);
  }

  /**
   * BITFIELD: runs the operations in order; one result per GET/SET/INCRBY (the old value for
   * SET), null where OVERFLOW FAIL prevented it. Values beyond 2^53 come back as bigint.
   */
  bitField(key: RedisKey, operations: BitFieldOp[]): Out<M, (number | bigint | null)[], this> {
    return this.call(["BITFIELD", key, ...operations.flat()], asIntegersOrNull);
  }

  /** BITFIELD_RO: GET operations only (runs on replicas). */
  bitFieldRo(
    key: RedisKey,
    gets: [BitFieldEncoding, BitFieldOffset][],
  ): Out<M, (number | bigint)[], this> {
    const args: RedisArg[] = ["BITFIELD_RO", key];
    for (const [encoding, offset] of gets) args.push("GET", encoding, offset);
    return this.call(args, asIntegersOrNull as Transform<(number | bigint)[]>);
  }

  /** SUBSTR: the deprecated alias of GETRANGE (inclusive offsets). */
  substr(key: RedisKey, start: number, end: number): Out<M, V, this> {
    return this.call(["SUBSTR", key, start, end], asNonNullValue<V>);
  }
}
