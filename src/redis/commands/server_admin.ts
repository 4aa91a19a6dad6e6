// Typed server administration: persistence (SAVE, BGSAVE, BGREWRITEAOF), SHUTDOWN, replication
// (REPLICAOF, SLAVEOF, FAILOVER, WAITAOF), SWAPDB, MIGRATE, MODULE, LATENCY HISTOGRAM, LOLWUT,
// DEBUG, PFDEBUG and PFSELFTEST. Spec: https://redis.io/docs/latest/commands/?group=server

import type { RedisArg } from "../resp_encoder.ts";
import { ClusterAdminCommands } from "./cluster_admin.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import {
  asBoolean,
  asNonNullValue,
  asNumber,
  asOk,
  asRecord,
  asStatus,
  fieldsOf,
  pairsOf,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Options of SHUTDOWN. */
export interface ShutdownOptions {
  /** Save the dataset first (`SAVE`) or never (`NOSAVE`); default: as the `save` config says. */
  save?: boolean;
  /** Do not wait for lagging replicas (`NOW`). */
  now?: boolean;
  /** Exit even if saving or writing the AOF fails (`FORCE`). */
  force?: boolean;
}

/** Options of FAILOVER (a master handing over to one of its replicas). */
export interface FailoverOptions {
  /** The replica to promote; `force` promotes it even if it never caught up by the timeout. */
  to?: { host: string; port: number; force?: boolean };
  /** Give up (and resume as master) after this many milliseconds. */
  timeoutMs?: number;
}

/** Options of MIGRATE. */
export interface MigrateOptions {
  /** The database on the target; default 0. */
  db?: number;
  /** The transfer deadline in milliseconds; default 5000. */
  timeoutMs?: number;
  /** Keep the keys on this server (`COPY`). */
  copy?: boolean;
  /** Overwrite keys existing on the target (`REPLACE`). */
  replace?: boolean;
  /** Credentials on the target (`AUTH` or, with a username, `AUTH2`). */
  auth?: { username?: string; password: string };
}

/** A loaded module as MODULE LIST describes it. */
export interface ModuleEntry {
  name: string;
  ver: number;
  path?: string;
  args?: unknown[];
  [field: string]: unknown;
}

/** LATENCY HISTOGRAM of one command: its calls and their count per latency bucket (µs). */
export interface LatencyHistogram {
  calls: number;
  /** Upper bound of each bucket in microseconds → calls at most that slow (cumulative). */
  histogramUsec: Map<number, number>;
}

const TEXT = { decode: true } as const;

const asText: Transform<string> = (reply) => asNonNullValue<string>(reply, TEXT);

const asHistograms: Transform<Map<string, LatencyHistogram>> = (reply, c) => {
  const out = new Map<string, LatencyHistogram>();
  for (const [name, value] of pairsOf(reply)) {
    const fields = fieldsOf(value);
    const buckets = fields.get("histogram_usec");
    if (buckets === undefined) throw replyShapeError("Expected histogram_usec in the reply");
    out.set(asText(name, c), {
      calls: asNumber(fields.get("calls") ?? null, c),
      histogramUsec: new Map(pairsOf(buckets).map(([k, v]) => [asNumber(k, c), asNumber(v, c)])),
    });
  }
  return out;
};

/** `Value at:0x7f refcount:1 encoding:listpack serializedlength:9 lru:1 lru_seconds_idle:2`. */
const asDebugObject: Transform<Record<string, string | number>> = (reply, c) => {
  const out: Record<string, string | number> = {};
  for (const token of asStatus(reply, c).replace(/^Value at:/, "at:").split(" ")) {
    const colon = token.indexOf(":");
    if (colon <= 0) continue;
    const value = token.slice(colon + 1);
    out[token.slice(0, colon)] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return out;
};

/**
 * Server administration. SHUTDOWN, REPLICAOF, FAILOVER and SWAPDB change
 * the whole server: run them where that is meant.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * await redis.bgSave(); // "Background saving started"
 * await redis.replicaOf({ host: "10.0.0.1", port: 6379 }); // true
 * await redis.replicaOf("NO ONE"); // true
 * ```
 */
export abstract class ServerAdminCommands<V, M extends CommandMode>
  extends ClusterAdminCommands<V, M> {
  /** SAVE: writes the dataset to disk synchronously (blocks the server). */
  save(): Out<M, boolean, this> {
    return this.call(["SAVE"], asOk);
  }

  /** BGSAVE: starts (`schedule`: or schedules after an AOF rewrite) a background save. */
  bgSave(options: { schedule?: boolean } = {}): Out<M, string, this> {
    return this.call(options.schedule ? ["BGSAVE", "SCHEDULE"] : ["BGSAVE"], asStatus);
  }

  /** BGREWRITEAOF: starts (or schedules) an append-only file rewrite; the server's status. */
  bgRewriteAof(): Out<M, string, this> {
    return this.call(["BGREWRITEAOF"], asStatus);
  }

  /**
   * SHUTDOWN: stops the server. On a `RedisClient` it resolves `true` when the server closed
   * the connection after receiving the command (that is its success); a refusal (a failed save,
   * a shutdown in progress) rejects with the `RedisError`. Elsewhere (pipelines, transactions,
   * the cluster client) the connection closing rejects as it would for any command.
   */
  shutdown(options: ShutdownOptions = {}): Out<M, true, this> {
    const args: RedisArg[] = ["SHUTDOWN"];
    if (options.save !== undefined) args.push(options.save ? "SAVE" : "NOSAVE");
    if (options.now) args.push("NOW");
    if (options.force) args.push("FORCE");
    return this.callClosing(args, (r, c) => asOk(r, c) as true, true);
  }

  /** SHUTDOWN ABORT: cancels a shutdown waiting for replicas. */
  shutdownAbort(): Out<M, boolean, this> {
    return this.call(["SHUTDOWN", "ABORT"], asOk);
  }

  /** REPLICAOF: replicates the given master, or stops replicating (`"NO ONE"`). */
  replicaOf(master: { host: string; port: number } | "NO ONE"): Out<M, boolean, this> {
    const target = master === "NO ONE" ? ["NO", "ONE"] : [master.host, master.port];
    return this.call(["REPLICAOF", ...target], asOk);
  }

  /** SLAVEOF: the deprecated name of {@link replicaOf}. */
  slaveOf(master: { host: string; port: number } | "NO ONE"): Out<M, boolean, this> {
    const target = master === "NO ONE" ? ["NO", "ONE"] : [master.host, master.port];
    return this.call(["SLAVEOF", ...target], asOk);
  }

  /** FAILOVER: this master hands over to a replica (true once the failover started). */
  failover(options: FailoverOptions = {}): Out<M, boolean, this> {
    const args: RedisArg[] = ["FAILOVER"];
    if (options.to) {
      args.push("TO", options.to.host, options.to.port);
      if (options.to.force) {
        if (options.timeoutMs === undefined) {
          throw new TypeError("to.force needs options.timeoutMs");
        }
        args.push("FORCE");
      }
    }
    if (options.timeoutMs !== undefined) args.push("TIMEOUT", options.timeoutMs);
    return this.call(args, asOk);
  }

  /** FAILOVER ABORT: cancels a failover in progress. */
  failoverAbort(): Out<M, boolean, this> {
    return this.call(["FAILOVER", "ABORT"], asOk);
  }

  /**
   * WAITAOF: waits until the writes of this connection are fsynced to the local AOF (when
   * `numLocal` is 1) and to `numReplicas` replicas' AOFs, or `timeoutMs` passes (0: forever);
   * how many of each acknowledged.
   *
   * @since Redis 7.2, Valkey 7.2
   */
  waitAof(
    numLocal: 0 | 1,
    numReplicas: number,
    timeoutMs: number,
  ): Out<M, { local: number; replicas: number }, this> {
    // On the shared connection, like WAIT: it waits for the writes of the connection it runs on.
    return this.call(["WAITAOF", numLocal, numReplicas, timeoutMs], (r, c) => {
      if (!Array.isArray(r) || r.length !== 2) throw replyShapeError("Expected two counts");
      return { local: asNumber(r[0], c), replicas: asNumber(r[1], c) };
    });
  }

  /** SWAPDB: swaps two databases for every client. */
  swapDb(index1: number, index2: number): Out<M, boolean, this> {
    return this.call(["SWAPDB", index1, index2], asOk);
  }

  /**
   * MIGRATE one key or several to another server: `"OK"`, or `"NOKEY"` when none existed.
   */
  migrate(
    host: string,
    port: number,
    keys: RedisKey | RedisKey[],
    options: MigrateOptions = {},
  ): Out<M, "OK" | "NOKEY", this> {
    const many = Array.isArray(keys);
    if (many && keys.length === 0) throw new RangeError("keys: give at least one key");
    const args: RedisArg[] = ["MIGRATE", host, port, many ? "" : keys];
    args.push(options.db ?? 0, options.timeoutMs ?? 5000);
    if (options.copy) args.push("COPY");
    if (options.replace) args.push("REPLACE");
    const auth = options.auth;
    if (auth?.username !== undefined) args.push("AUTH2", auth.username, auth.password);
    else if (auth) args.push("AUTH", auth.password);
    if (many) args.push("KEYS", ...keys);
    return this.call(args, (r, c) => {
      const status = asStatus(r, c);
      if (status !== "OK" && status !== "NOKEY") {
        throw replyShapeError(`Unexpected MIGRATE reply "${status}"`);
      }
      return status;
    });
  }

  /** MODULE LIST: the loaded modules. */
  moduleList(): Out<M, ModuleEntry[], this> {
    return this.call(["MODULE", "LIST"], (reply) => {
      if (!Array.isArray(reply)) throw replyShapeError("Expected an array of modules");
      return reply.map((m) => asRecord(m) as ModuleEntry);
    });
  }

  /** MODULE LOAD: loads a module from a path on the server, with its arguments. */
  moduleLoad(path: string, ...args: RedisArg[]): Out<M, boolean, this> {
    return this.call(["MODULE", "LOAD", path, ...args], asOk);
  }

  /** MODULE LOADEX: loads a module with configuration values and arguments. */
  moduleLoadEx(
    path: string,
    options: { config?: Record<string, RedisArg>; args?: RedisArg[] } = {},
  ): Out<M, boolean, this> {
    const args: RedisArg[] = ["MODULE", "LOADEX", path];
    for (const [name, value] of Object.entries(options.config ?? {})) {
      args.push("CONFIG", name, value);
    }
    if (options.args?.length) args.push("ARGS", ...options.args);
    return this.call(args, asOk);
  }

  /** MODULE UNLOAD: unloads a module by name. */
  moduleUnload(name: string): Out<M, boolean, this> {
    return this.call(["MODULE", "UNLOAD", name], asOk);
  }

  /** LATENCY HISTOGRAM: per-command latency distributions (all commands, or the named ones). */
  latencyHistogram(...commands: string[]): Out<M, Map<string, LatencyHistogram>, this> {
    return this.call(["LATENCY", "HISTOGRAM", ...commands], asHistograms);
  }

  /** LOLWUT: the server's version art (of a given art version). */
  lolwut(version?: number): Out<M, string, this> {
    return this.call(version === undefined ? ["LOLWUT"] : ["LOLWUT", "VERSION", version], asText);
  }

  /**
   * DEBUG OBJECT parsed (`refcount`, `encoding`, `serializedlength`...). DEBUG is refused
   * unless the server runs with `enable-debug-command` (the error is a `RedisError`).
   */
  debugObject(key: RedisKey): Out<M, Record<string, string | number>, this> {
    return this.call(["DEBUG", "OBJECT", key], asDebugObject);
  }

  /** DEBUG SLEEP: blocks the server for `seconds` (tests of timeouts only). */
  debugSleep(seconds: number): Out<M, boolean, this> {
    return this.call(["DEBUG", "SLEEP", seconds], asOk);
  }

  /** PFDEBUG ENCODING: how a HyperLogLog is stored. */
  pfDebugEncoding(key: RedisKey): Out<M, "sparse" | "dense", this> {
    return this.call(["PFDEBUG", "ENCODING", key], (r, c) => asStatus(r, c) as "sparse" | "dense");
  }

  /** PFDEBUG GETREG: the 16384 registers of a HyperLogLog (converting it to dense). */
  pfDebugGetReg(key: RedisKey): Out<M, number[], this> {
    return this.call(["PFDEBUG", "GETREG", key], (r, c) => {
      if (!Array.isArray(r)) throw replyShapeError("Expected an array of registers");
      return r.map((x) => asNumber(x, c));
    });
  }

  /** PFDEBUG TODENSE: converts a HyperLogLog to dense; true when it was sparse. */
  pfDebugToDense(key: RedisKey): Out<M, boolean, this> {
    return this.call(["PFDEBUG", "TODENSE", key], asBoolean);
  }

  /** PFSELFTEST: runs the server's HyperLogLog self test. */
  pfSelfTest(): Out<M, boolean, this> {
    return this.call(["PFSELFTEST"], asOk);
  }
}
