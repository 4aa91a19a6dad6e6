// Typed COMMAND subcommands: COUNT, LIST, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, with replies
// shaped alike in RESP2 and RESP3. Spec: https://redis.io/docs/latest/commands/command/

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisValue } from "./base.ts";
import { DiagnosticsCommands } from "./diagnostics.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asReply,
  pairsOf,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** COMMAND INFO of one command. */
export interface CommandInfoEntry {
  name: string;
  /** Argument count including the name; negative: at least that many. */
  arity: number;
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  aclCategories: string[];
}

/**
 * COMMAND DOCS of one command: `summary`, `since`, `group`, `complexity`, `arguments` (each a
 * doc-like object), `subcommands` (a Map of docs), `history`...
 */
export type CommandDoc = Record<string, unknown>;

const TEXT = { decode: true } as const;

function asDoc(reply: RespValue): CommandDoc {
  const doc: CommandDoc = {};
  for (const [k, v] of pairsOf(reply)) {
    const key = asNonNullValue<string>(k, TEXT);
    if (key === "arguments" && Array.isArray(v)) doc[key] = v.map(asDoc);
    else if (key === "subcommands") doc[key] = asDocs(v);
    else doc[key] = asReply(v, TEXT);
  }
  return doc;
}

const asDocs = (reply: RespValue): Map<string, CommandDoc> =>
  new Map(pairsOf(reply).map(([k, v]) => [asNonNullValue<string>(k, TEXT), asDoc(v)]));

const asCommandInfos: Transform<(CommandInfoEntry | null)[]> = (reply, c) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array in the COMMAND INFO reply");
  return reply.map((item) => {
    if (item === null) return null;
    if (!Array.isArray(item) || item.length < 7) throw replyShapeError("Expected a command info");
    return {
      name: asNonNullValue<string>(item[0], TEXT),
      arity: asNumber(item[1], c),
      flags: asNonNullValues<string>(item[2], TEXT),
      firstKey: asNumber(item[3], c),
      lastKey: asNumber(item[4], c),
      step: asNumber(item[5], c),
      aclCategories: asNonNullValues<string>(item[6], TEXT),
    };
  });
};

/**
 * Command introspection.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * (await redis.commandInfo("get"))[0]?.arity; // 2
 * await redis.commandGetKeys("SET", "k", "v"); // [Uint8Array "k"]
 * ```
 */
export abstract class IntrospectionCommands<V, M extends CommandMode>
  extends DiagnosticsCommands<V, M> {
  /** COMMAND COUNT: how many commands the server has. */
  commandCount(): Out<M, number, this> {
    return this.call(["COMMAND", "COUNT"], asNumber);
  }

  /** COMMAND LIST: command names (with subcommands as `container|sub`), optionally filtered. */
  commandList(
    filter: { module?: string; aclCategory?: string; pattern?: string } = {},
  ): Out<M, string[], this> {
    const given = Object.entries(filter).filter(([, value]) => value !== undefined);
    if (given.length > 1) throw new TypeError("filter: COMMAND LIST takes one filter at most");
    const args: RedisArg[] = ["COMMAND", "LIST"];
    if (filter.module !== undefined) args.push("FILTERBY", "MODULE", filter.module);
    if (filter.aclCategory !== undefined) args.push("FILTERBY", "ACLCAT", filter.aclCategory);
    if (filter.pattern !== undefined) args.push("FILTERBY", "PATTERN", filter.pattern);
    return this.call(args, (r) => asNonNullValues<string>(r, TEXT));
  }

  /** COMMAND INFO of the commands named: one entry each, null for unknown names. */
  commandInfo(...names: string[]): Out<M, (CommandInfoEntry | null)[], this> {
    return this.call(["COMMAND", "INFO", ...names], asCommandInfos);
  }

  /** COMMAND DOCS of the commands named (all without names), keyed by command name. */
  commandDocs(...names: string[]): Out<M, Map<string, CommandDoc>, this> {
    return this.call(["COMMAND", "DOCS", ...names], asDocs);
  }

  /** COMMAND GETKEYS: the keys of a full command line. */
  commandGetKeys(command: string, ...args: RedisValue[]): Out<M, V[], this> {
    return this.call(["COMMAND", "GETKEYS", command, ...args], asNonNullValues<V>);
  }

  /** COMMAND GETKEYSANDFLAGS: the keys of a command line with their access flags. */
  commandGetKeysAndFlags(
    command: string,
    ...args: RedisValue[]
  ): Out<M, [key: V, flags: string[]][], this> {
    return this.call(["COMMAND", "GETKEYSANDFLAGS", command, ...args], (reply, c) => {
      if (!Array.isArray(reply)) throw replyShapeError("Expected an array of keys and flags");
      return reply.map((item) => {
        if (!Array.isArray(item) || item.length !== 2) {
          throw replyShapeError("Expected a key and flags");
        }
        return [asNonNullValue<V>(item[0], c), asNonNullValues<string>(item[1], TEXT)];
      });
    });
  }
}
