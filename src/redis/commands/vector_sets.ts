// Typed vector set commands (Redis 8.0): VADD, VSIM, VREM, VCARD, VDIM, VEMB, VGETATTR,
// VSETATTR, VINFO, VLINKS, VRANDMEMBER, VISMEMBER.
// Spec: https://redis.io/docs/latest/commands/?group=vector_set

import type { RedisArg } from "../resp_encoder.ts";
import { RespMap, type RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { HashExpiryCommands } from "./hash_expiry.ts";
import {
  asBoolean,
  asFloat,
  asNonNullValue,
  asNumber,
  asRecord,
  asValue,
  asValues,
  pairItems,
  type ReplyContext,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** A vector: numbers (sent as `VALUES n ...`) or a `Float32Array` (sent as an FP32 blob). */
export type VectorInput = number[] | Float32Array;

/** Options of VADD. */
export interface VAddOptions {
  /** Project vectors to this many dimensions (random projection; only when the set is created). */
  reduce?: number;
  /** Run part of the insertion in a thread (check-and-set style). */
  cas?: boolean;
  /** How vectors are stored; the server's default is `Q8`. */
  quantization?: "NOQUANT" | "Q8" | "BIN";
  /** Build exploration factor. */
  ef?: number;
  /** JSON attributes of the element (used by VSIM's `filter`). */
  attributes?: string;
  /** Links per node in the graph. */
  m?: number;
}

/** Options of VSIM. */
export interface VSimOptions {
  /** Also return each result's similarity (1 identical, 0 opposite). */
  withScores?: boolean;
  /** Also return each result's JSON attributes (Redis 8.2). */
  withAttributes?: boolean;
  count?: number;
  /** Only results closer than this distance (0..1; Redis 8.2). */
  epsilon?: number;
  /** Search exploration factor. */
  ef?: number;
  /** A filter expression over the attributes, such as `.year > 1950`. */
  filter?: string;
  /** How many candidates the filter may examine. */
  filterEf?: number;
  /** Exact linear scan instead of the graph. */
  truth?: boolean;
  /** Run in the main thread. */
  noThread?: boolean;
}

/** A VSIM result: the element, and its score and attributes when asked for. */
export interface VSimResult<V> {
  element: V;
  score?: number;
  attributes?: string | null;
}

/** The `FP32 <blob>` or `VALUES n ...` arguments of a vector, checked before sending. */
function vectorArgs(vector: VectorInput): RedisArg[] {
  if (vector.length === 0) throw new RangeError("vector: give at least one component");
  for (const x of vector) {
    if (!Number.isFinite(x)) throw new RangeError(`vector: ${x} is not a finite number`);
  }
  if (Array.isArray(vector)) return ["VALUES", vector.length, ...vector];
  const blob = new Uint8Array(vector.length * 4);
  const view = new DataView(blob.buffer);
  vector.forEach((x, i) => view.setFloat32(i * 4, x, true)); // the server reads little-endian
  return ["FP32", blob];
}

function list(reply: RespValue, what: string): RespValue[] {
  if (!Array.isArray(reply)) throw replyShapeError(`Expected an array in the ${what} reply`);
  return reply;
}

const asVector: Transform<number[] | null> = (reply, c) =>
  reply === null ? null : list(reply, "VEMB").map((x) => asFloat(x, c));

const asJson: Transform<string | null> = (reply) => asValue<string>(reply, { decode: true });

/**
 * VSIM results. Plain: elements. With scores or attributes, RESP3 sends a map (element → score,
 * attributes, or `[score, attributes]`), RESP2 a flat list of element, score?, attributes?.
 */
const asSimilar = <V>(o: VSimOptions): Transform<VSimResult<V>[]> => (reply, c) => {
  const extras = (o.withScores ? 1 : 0) + (o.withAttributes ? 1 : 0);
  if (extras === 0) {
    return list(reply, "VSIM").map((x) => ({ element: asNonNullValue<V>(x, c) }));
  }
  const rows: [RespValue, RespValue[]][] = [];
  if (reply instanceof RespMap) {
    for (const [k, v] of reply.entries) rows.push([k, extras === 2 ? list(v, "VSIM") : [v]]);
  } else {
    const flat = list(reply, "VSIM");
    if (flat.length % (1 + extras) !== 0) throw replyShapeError("Malformed VSIM reply");
    for (let i = 0; i < flat.length; i += 1 + extras) {
      rows.push([flat[i], flat.slice(i + 1, i + 1 + extras)]);
    }
  }
  return rows.map(([element, values]) => {
    const result: VSimResult<V> = { element: asNonNullValue<V>(element, c) };
    let i = 0;
    if (o.withScores) result.score = asFloat(values[i++], c);
    if (o.withAttributes) result.attributes = asJson(values[i++] ?? null, c);
    return result;
  });
};

function asLinkLevel<V>(level: RespValue, c: ReplyContext, withScores: boolean): VSimResult<V>[] {
  if (!withScores) {
    return list(level, "VLINKS").map((x) => ({ element: asNonNullValue<V>(x, c) }));
  }
  return pairItems(level).map(([element, score]) => ({
    element: asNonNullValue<V>(element, c),
    score: asFloat(score, c),
  }));
}

/**
 * Vector sets: elements with vectors, searched by similarity (HNSW graph, quantized).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.vAdd("points", [1, 0], "east"); // true
 * await redis.vAdd("points", [0, 1], "north", { attributes: '{"kind":"pole"}' });
 * await redis.vSim("points", { element: "east" }, { withScores: true, count: 2 });
 * // [{ element: "east", score: 1 }, { element: "north", score: 0.5 }]
 * ```
 */
export abstract class VectorSetCommands<V, M extends CommandMode> extends HashExpiryCommands<V, M> {
  /**
   * VADD: adds an element with its vector (or updates it); true when it was added.
   *
   * @since Redis 8.0
   */
  vAdd(
    key: RedisKey,
    vector: VectorInput,
    element: RedisValue,
    options: VAddOptions = {},
  ): Out<M, boolean, this> {
    const args: RedisArg[] = ["VADD", key];
    if (options.reduce !== undefined) args.push("REDUCE", options.reduce);
    args.push(...vectorArgs(vector), element);
    if (options.cas) args.push("CAS");
    if (options.quantization) args.push(options.quantization);
    if (options.ef !== undefined) args.push("EF", options.ef);
    if (options.attributes !== undefined) args.push("SETATTR", options.attributes);
    if (options.m !== undefined) args.push("M", options.m);
    return this.call(args, asBoolean);
  }

  /**
   * VSIM: the elements most similar to a vector or to an element of the set, nearest first.
   *
   * @since Redis 8.0 (`withAttributes` and `epsilon`: 8.2)
   */
  vSim(
    key: RedisKey,
    query: { vector: VectorInput } | { element: RedisValue },
    options: VSimOptions = {},
  ): Out<M, VSimResult<V>[], this> {
    const args: RedisArg[] = ["VSIM", key];
    args.push(...("element" in query ? ["ELE", query.element] : vectorArgs(query.vector)));
    if (options.withScores) args.push("WITHSCORES");
    if (options.withAttributes) args.push("WITHATTRIBS");
    if (options.count !== undefined) args.push("COUNT", options.count);
    if (options.epsilon !== undefined) args.push("EPSILON", options.epsilon);
    if (options.ef !== undefined) args.push("EF", options.ef);
    if (options.filter !== undefined) args.push("FILTER", options.filter);
    if (options.filterEf !== undefined) args.push("FILTER-EF", options.filterEf);
    if (options.truth) args.push("TRUTH");
    if (options.noThread) args.push("NOTHREAD");
    return this.call(args, asSimilar<V>(options));
  }

  /**
   * VREM: removes an element; true when it was there.
   *
   * @since Redis 8.0
   */
  vRem(key: RedisKey, element: RedisValue): Out<M, boolean, this> {
    return this.call(["VREM", key, element], asBoolean);
  }

  /**
   * VCARD: how many elements the set has (0 for a missing key).
   *
   * @since Redis 8.0
   */
  vCard(key: RedisKey): Out<M, number, this> {
    return this.call(["VCARD", key], asNumber);
  }

  /**
   * VDIM: the dimension of the set's vectors (after any `reduce`).
   *
   * @since Redis 8.0
   */
  vDim(key: RedisKey): Out<M, number, this> {
    return this.call(["VDIM", key], asNumber);
  }

  /**
   * VEMB: an element's vector as stored (approximate when quantized); null when missing.
   *
   * @since Redis 8.0
   */
  vEmb(key: RedisKey, element: RedisValue): Out<M, number[] | null, this> {
    return this.call(["VEMB", key, element], asVector);
  }

  /**
   * VGETATTR: an element's JSON attributes, or null.
   *
   * @since Redis 8.0
   */
  vGetAttr(key: RedisKey, element: RedisValue): Out<M, string | null, this> {
    return this.call(["VGETATTR", key, element], asJson);
  }

  /**
   * VSETATTR: sets (an empty string: removes) an element's JSON attributes; false when missing.
   *
   * @since Redis 8.0
   */
  vSetAttr(key: RedisKey, element: RedisValue, attributes: string): Out<M, boolean, this> {
    return this.call(["VSETATTR", key, element, attributes], asBoolean);
  }

  /**
   * VINFO: the set's figures (`quant-type`, `vector-dim`, `size`, `max-level`...); null when
   * the key is missing.
   *
   * @since Redis 8.0
   */
  vInfo(key: RedisKey): Out<M, Record<string, unknown> | null, this> {
    return this.call(["VINFO", key], (r) => r === null ? null : asRecord(r));
  }

  /**
   * VLINKS: an element's neighbours in the graph, per level (with their scores when asked);
   * null when the element is missing.
   *
   * @since Redis 8.0
   */
  vLinks(
    key: RedisKey,
    element: RedisValue,
    options: { withScores?: boolean } = {},
  ): Out<M, VSimResult<V>[][] | null, this> {
    const args: RedisArg[] = ["VLINKS", key, element];
    if (options.withScores) args.push("WITHSCORES");
    return this.call(
      args,
      (r, c) =>
        r === null
          ? null
          : list(r, "VLINKS").map((level) => asLinkLevel<V>(level, c, Boolean(options.withScores))),
    );
  }

  /**
   * VRANDMEMBER: random elements (a negative count may repeat them).
   *
   * @since Redis 8.0
   */
  vRandMember(key: RedisKey, count: number): Out<M, V[], this> {
    return this.call(["VRANDMEMBER", key, count], (r, c) => asValues<V>(r, c) as V[]);
  }

  /**
   * VISMEMBER: whether the element is in the set.
   *
   * @since Redis 8.0
   */
  vIsMember(key: RedisKey, element: RedisValue): Out<M, boolean, this> {
    return this.call(["VISMEMBER", key, element], asBoolean);
  }
}
