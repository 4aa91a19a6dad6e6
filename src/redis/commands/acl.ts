// Typed ACL subcommands: users, rules, categories, dry runs and the security log.
// Spec: https://redis.io/docs/latest/commands/?group=server (ACL *)

import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import type { CommandMode, Out, RedisValue } from "./base.ts";
import { IntrospectionCommands } from "./introspection.ts";
import {
  asFloat,
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asOk,
  asStatus,
  pairsOf,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** ACL GETUSER: a user's rules as the server stores them (passwords as SHA-256 hashes). */
export interface AclUser {
  flags: string[];
  passwordHashes: string[];
  commands: string;
  keys: string;
  channels: string;
  /** Extra rule sets (`(~x* +get)`), each with its `commands`, `keys`, `channels`. */
  selectors: Record<string, string>[];
}

/** One ACL LOG entry. */
export interface AclLogEntry {
  count: number;
  /** `command`, `key`, `channel` or `auth`. */
  reason: string;
  context: string;
  object: string;
  username: string;
  ageSeconds: number;
  clientInfo: string;
}

const TEXT = { decode: true } as const;

function fields(reply: RespValue): Map<string, RespValue> {
  return new Map(pairsOf(reply).map(([k, v]) => [asNonNullValue<string>(k, TEXT), v]));
}

const text = (value: RespValue | undefined): string => asNonNullValue<string>(value ?? "", TEXT);

const asAclUser: Transform<AclUser | null> = (reply) => {
  if (reply === null) return null;
  const f = fields(reply);
  const selectors = f.get("selectors") ?? [];
  if (!Array.isArray(selectors)) throw replyShapeError("Expected an array of ACL selectors");
  return {
    flags: asNonNullValues<string>(f.get("flags") ?? [], TEXT),
    passwordHashes: asNonNullValues<string>(f.get("passwords") ?? [], TEXT),
    commands: text(f.get("commands")),
    keys: text(f.get("keys")),
    channels: text(f.get("channels")),
    selectors: selectors.map((s) =>
      Object.fromEntries([...fields(s)].map(([k, v]) => [k, text(v)]))
    ),
  };
};

const asAclLog: Transform<AclLogEntry[]> = (reply, c) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array in the ACL LOG reply");
  return reply.map((entry) => {
    const f = fields(entry);
    return {
      count: asNumber(f.get("count") ?? null, c),
      reason: text(f.get("reason")),
      context: text(f.get("context")),
      object: text(f.get("object")),
      username: text(f.get("username")),
      ageSeconds: asFloat(f.get("age-seconds") ?? null, c),
      clientInfo: text(f.get("client-info")),
    };
  });
};

const asTexts: Transform<string[]> = (r) => asNonNullValues<string>(r, TEXT);

/**
 * ACL commands. Rules passed to `aclSetUser` may hold passwords (`>secret`): they are sent as
 * arguments and never logged by the client.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * await redis.aclSetUser("reader", "on", ">s3cret", "~cache:*", "+get"); // true
 * await redis.aclDryRun("reader", "SET", "cache:a", "1"); // "This user has no permissions..."
 * ```
 */
export abstract class AclCommands<V, M extends CommandMode> extends IntrospectionCommands<V, M> {
  /** ACL WHOAMI: the user of the connection the command ran on. */
  aclWhoAmI(): Out<M, string, this> {
    return this.call(["ACL", "WHOAMI"], (r) => asNonNullValue<string>(r, TEXT));
  }

  /** ACL USERS: every user name. */
  aclUsers(): Out<M, string[], this> {
    return this.call(["ACL", "USERS"], asTexts);
  }

  /** ACL LIST: every user as an ACL rule line. */
  aclList(): Out<M, string[], this> {
    return this.call(["ACL", "LIST"], asTexts);
  }

  /** ACL CAT: the command categories, or the commands of one category. */
  aclCat(category?: string): Out<M, string[], this> {
    return this.call(category === undefined ? ["ACL", "CAT"] : ["ACL", "CAT", category], asTexts);
  }

  /** ACL GENPASS: a random password from the server (default 256 bits, as hex). */
  aclGenPass(bits?: number): Out<M, string, this> {
    const args: RedisArg[] = bits === undefined ? ["ACL", "GENPASS"] : ["ACL", "GENPASS", bits];
    return this.call(args, (r) => asNonNullValue<string>(r, TEXT));
  }

  /** ACL SETUSER: creates or modifies a user with rules (`on`, `>password`, `~keys*`, `+@read`...). */
  aclSetUser(username: string, ...rules: string[]): Out<M, boolean, this> {
    return this.call(["ACL", "SETUSER", username, ...rules], asOk);
  }

  /** ACL DELUSER: how many of the users existed and were deleted. */
  aclDelUser(...usernames: string[]): Out<M, number, this> {
    if (usernames.length === 0) throw new TypeError("usernames: ACL DELUSER needs a user name");
    return this.call(["ACL", "DELUSER", ...usernames], asNumber);
  }

  /** ACL GETUSER: the user's rules, or null when there is no such user. */
  aclGetUser(username: string): Out<M, AclUser | null, this> {
    return this.call(["ACL", "GETUSER", username], asAclUser);
  }

  /** ACL DRYRUN: `"OK"` when the user may run the command line, else the reason. */
  aclDryRun(username: string, command: string, ...args: RedisValue[]): Out<M, string, this> {
    return this.call(
      ["ACL", "DRYRUN", username, command, ...args],
      (r, c) =>
        r instanceof Uint8Array || typeof r === "string"
          ? asNonNullValue<string>(r, TEXT)
          : asStatus(r, c),
    );
  }

  /** ACL LOG: the latest security events, newest first (server default 10). */
  aclLog(count?: number): Out<M, AclLogEntry[], this> {
    return this.call(count === undefined ? ["ACL", "LOG"] : ["ACL", "LOG", count], asAclLog);
  }

  /** ACL LOG RESET: empties the security log. */
  aclLogReset(): Out<M, boolean, this> {
    return this.call(["ACL", "LOG", "RESET"], asOk);
  }

  /** ACL LOAD: reloads the users from the server's ACL file (an error without one). */
  aclLoad(): Out<M, boolean, this> {
    return this.call(["ACL", "LOAD"], asOk);
  }

  /** ACL SAVE: writes the users to the server's ACL file (an error without one). */
  aclSave(): Out<M, boolean, this> {
    return this.call(["ACL", "SAVE"], asOk);
  }
}
