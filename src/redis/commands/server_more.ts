// Server commands beyond the basics: every container's HELP, LASTSAVE, ROLE, CONFIG RESETSTAT
// and CONFIG REWRITE. Spec: https://redis.io/docs/latest/commands/?group=server

import type { RespValue } from "../resp_types.ts";
import { AclCommands } from "./acl.ts";
import type { CommandMode, Out } from "./base.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asOk,
  type ReplyContext,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Commands with a HELP subcommand. */
export type HelpContainer =
  | "ACL"
  | "CLIENT"
  | "CLUSTER"
  | "COMMAND"
  | "CONFIG"
  | "FUNCTION"
  | "LATENCY"
  | "MEMORY"
  | "MODULE"
  | "OBJECT"
  | "PUBSUB"
  | "SCRIPT"
  | "SLOWLOG"
  | "XGROUP"
  | "XINFO";

/** ROLE: what the server is in replication. */
export type RoleInfo =
  | {
    role: "master";
    replicationOffset: number;
    replicas: { host: string; port: number; offset: number }[];
  }
  | { role: "slave"; masterHost: string; masterPort: number; state: string; offset: number }
  | { role: "sentinel"; masterNames: string[] };

const TEXT = { decode: true } as const;

function items(reply: RespValue): RespValue[] {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array in the ROLE reply");
  return reply;
}

function asReplica(
  reply: RespValue,
  c: ReplyContext,
): { host: string; port: number; offset: number } {
  const [host, port, offset] = items(reply);
  return {
    host: asNonNullValue<string>(host, TEXT),
    port: asNumber(port, c),
    offset: asNumber(offset, c),
  };
}

const asRole: Transform<RoleInfo> = (reply, c) => {
  const r = items(reply);
  const role = asNonNullValue<string>(r[0], TEXT);
  if (role === "master") {
    return {
      role,
      replicationOffset: asNumber(r[1], c),
      replicas: items(r[2]).map((x) => asReplica(x, c)),
    };
  }
  if (role === "slave") {
    return {
      role,
      masterHost: asNonNullValue<string>(r[1], TEXT),
      masterPort: asNumber(r[2], c),
      state: asNonNullValue<string>(r[3], TEXT),
      offset: asNumber(r[4], c),
    };
  }
  if (role === "sentinel") return { role, masterNames: asNonNullValues<string>(r[1], TEXT) };
  throw replyShapeError(`Unknown role "${role}" in the ROLE reply`);
};

/**
 * More server commands.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * (await redis.role()).role; // "master"
 * (await redis.helpOf("CLIENT"))[0]; // "CLIENT <subcommand> [<arg> [value] [opt] ...]. ..."
 * ```
 */
export abstract class ServerMoreCommands<V, M extends CommandMode> extends AclCommands<V, M> {
  /** `<container> HELP` (CLIENT HELP, XINFO HELP...): the server's usage lines. */
  helpOf(container: HelpContainer): Out<M, string[], this> {
    return this.call([container, "HELP"], (r) => asNonNullValues<string>(r, TEXT));
  }

  /** LASTSAVE: Unix time in seconds of the last successful save to disk. */
  lastSave(): Out<M, number, this> {
    return this.call(["LASTSAVE"], asNumber);
  }

  /** ROLE: master (with its replicas), replica (with its master) or sentinel. */
  role(): Out<M, RoleInfo, this> {
    return this.call(["ROLE"], asRole);
  }

  /** CONFIG RESETSTAT: resets the statistics INFO reports. */
  configResetStat(): Out<M, boolean, this> {
    return this.call(["CONFIG", "RESETSTAT"], asOk);
  }

  /** CONFIG REWRITE: writes the running configuration to the config file (error without one). */
  configRewrite(): Out<M, boolean, this> {
    return this.call(["CONFIG", "REWRITE"], asOk);
  }
}
