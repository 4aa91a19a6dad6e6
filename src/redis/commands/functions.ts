// Typed scripting commands of Redis 7: functions (FUNCTION *, FCALL, FCALL_RO), read-only
// scripts (EVAL_RO, EVALSHA_RO) and SCRIPT KILL. Spec: https://redis.io/docs/latest/commands/?group=scripting

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { asPayload } from "./keys_more.ts";
import { StringMoreCommands } from "./strings_more.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asOk,
  asReply,
  asValue,
  pairsOf,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** One function of a library. */
export interface FunctionInfo {
  name: string;
  description: string | null;
  /** Such as `"no-writes"`, `"allow-oom"`. */
  flags: string[];
}

/** One library of FUNCTION LIST. */
export interface FunctionLibrary {
  libraryName: string;
  engine: string;
  functions: FunctionInfo[];
  /** The source, with `withCode`. */
  libraryCode?: string;
}

/** FUNCTION STATS: the running function, if any, and counts per engine. */
export interface FunctionStats {
  runningScript: { name: string; command: string[]; durationMs: number } | null;
  engines: Record<string, { librariesCount: number; functionsCount: number }>;
}

const TEXT = { decode: true } as const;

/** The fields of a RESP3 map or a flat RESP2 array, keyed by name. */
function fieldsOf(reply: RespValue): Map<string, RespValue> {
  return new Map(pairsOf(reply).map(([k, v]) => [asNonNullValue<string>(k, TEXT), v]));
}

function listOf(reply: RespValue | undefined, what: string): RespValue[] {
  if (!Array.isArray(reply)) throw replyShapeError(`Expected ${what} in the reply`);
  return reply;
}

const asLibraries: Transform<FunctionLibrary[]> = (reply) =>
  listOf(reply, "an array of libraries").map((item) => {
    const lib = fieldsOf(item);
    const out: FunctionLibrary = {
      libraryName: asNonNullValue<string>(lib.get("library_name") ?? null, TEXT),
      engine: asNonNullValue<string>(lib.get("engine") ?? null, TEXT),
      functions: listOf(lib.get("functions"), "functions").map((f) => {
        const fn = fieldsOf(f);
        return {
          name: asNonNullValue<string>(fn.get("name") ?? null, TEXT),
          description: asValue<string>(fn.get("description") ?? null, TEXT),
          flags: asNonNullValues<string>(fn.get("flags") ?? [], TEXT),
        };
      }),
    };
    const code = lib.get("library_code");
    if (code !== undefined) out.libraryCode = asNonNullValue<string>(code, TEXT);
    return out;
  });

const asFunctionStats: Transform<FunctionStats> = (reply, context) => {
  const stats = fieldsOf(reply);
  const running = stats.get("running_script") ?? null;
  const engines: FunctionStats["engines"] = {};
  for (const [engine, counts] of fieldsOf(stats.get("engines") ?? [])) {
    const c = fieldsOf(counts);
    engines[engine] = {
      librariesCount: asNumber(c.get("libraries_count") ?? null, context),
      functionsCount: asNumber(c.get("functions_count") ?? null, context),
    };
  }
  if (running === null) return { runningScript: null, engines };
  const r = fieldsOf(running);
  return {
    runningScript: {
      name: asNonNullValue<string>(r.get("name") ?? null, TEXT),
      command: asNonNullValues<string>(r.get("command") ?? [], TEXT),
      durationMs: asNumber(r.get("duration_ms") ?? null, context),
    },
    engines,
  };
};

/**
 * Functions and read-only scripts.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.functionLoad(
 *   "#!lua name=lib\nredis.register_function('echo1', function(k, a) return a[1] end)",
 *   { replace: true },
 * ); // "lib"
 * await redis.fcall("echo1", [], ["hi"]); // "hi"
 * ```
 */
export abstract class FunctionCommands<V, M extends CommandMode> extends StringMoreCommands<V, M> {
  /** EVAL_RO: EVAL of a script that must not write (runs on replicas). */
  evalRo(script: string, keys: RedisKey[] = [], args: RedisValue[] = []): Out<M, unknown, this> {
    return this.call(["EVAL_RO", script, keys.length, ...keys, ...args], asReply);
  }

  /** EVALSHA_RO: EVALSHA of a read-only script. */
  evalShaRo(sha1: string, keys: RedisKey[] = [], args: RedisValue[] = []): Out<M, unknown, this> {
    return this.call(["EVALSHA_RO", sha1, keys.length, ...keys, ...args], asReply);
  }

  /**
   * SCRIPT SHOW: the source of a cached script by its SHA1.
   *
   * @since Valkey 8.0
   */
  scriptShow(sha1: string): Out<M, string, this> {
    return this.call(["SCRIPT", "SHOW", sha1], (r) => asNonNullValue<string>(r, { decode: true }));
  }

  /** SCRIPT KILL: stops the running read-only script (an error when none runs). */
  scriptKill(): Out<M, boolean, this> {
    return this.call(["SCRIPT", "KILL"], asOk);
  }

  /** FCALL: calls a loaded function; the raw reply (decoded when the client decodes). */
  fcall(name: string, keys: RedisKey[] = [], args: RedisValue[] = []): Out<M, unknown, this> {
    return this.call(["FCALL", name, keys.length, ...keys, ...args], asReply);
  }

  /** FCALL_RO: FCALL of a function flagged `no-writes`. */
  fcallRo(name: string, keys: RedisKey[] = [], args: RedisValue[] = []): Out<M, unknown, this> {
    return this.call(["FCALL_RO", name, keys.length, ...keys, ...args], asReply);
  }

  /** FUNCTION LOAD: loads a library (`#!lua name=...` header); its name. */
  functionLoad(code: string, options: { replace?: boolean } = {}): Out<M, string, this> {
    const args: RedisArg[] = options.replace
      ? ["FUNCTION", "LOAD", "REPLACE", code]
      : ["FUNCTION", "LOAD", code];
    return this.call(args, (r) => asNonNullValue<string>(r, TEXT));
  }

  /** FUNCTION DELETE a library. */
  functionDelete(libraryName: string): Out<M, boolean, this> {
    return this.call(["FUNCTION", "DELETE", libraryName], asOk);
  }

  /** FUNCTION FLUSH: deletes every library. */
  functionFlush(mode?: "ASYNC" | "SYNC"): Out<M, boolean, this> {
    return this.call(mode ? ["FUNCTION", "FLUSH", mode] : ["FUNCTION", "FLUSH"], asOk);
  }

  /** FUNCTION KILL: stops the running read-only function (an error when none runs). */
  functionKill(): Out<M, boolean, this> {
    return this.call(["FUNCTION", "KILL"], asOk);
  }

  /** FUNCTION LIST: the libraries, optionally matching a name pattern, with their code. */
  functionList(
    options: { libraryName?: string; withCode?: boolean } = {},
  ): Out<M, FunctionLibrary[], this> {
    const args: RedisArg[] = ["FUNCTION", "LIST"];
    if (options.libraryName !== undefined) args.push("LIBRARYNAME", options.libraryName);
    if (options.withCode) args.push("WITHCODE");
    return this.call(args, asLibraries);
  }

  /** FUNCTION DUMP: every library serialised (bytes; needs a client without `decode`). */
  functionDump(): Out<M, Uint8Array, this> {
    return this.call(["FUNCTION", "DUMP"], (r, c) => asPayload(r, c) ?? new Uint8Array());
  }

  /** FUNCTION RESTORE a FUNCTION DUMP payload (policy default `APPEND`). */
  functionRestore(
    payload: Uint8Array,
    policy?: "FLUSH" | "APPEND" | "REPLACE",
  ): Out<M, boolean, this> {
    const args: RedisArg[] = ["FUNCTION", "RESTORE", payload];
    if (policy) args.push(policy);
    return this.call(args, asOk);
  }

  /** FUNCTION STATS: the running function and per-engine counts. */
  functionStats(): Out<M, FunctionStats, this> {
    return this.call(["FUNCTION", "STATS"], asFunctionStats);
  }
}
