// keyPrefix's rewriting of commands, checked against the server's own key specs: COMMAND GETKEYS
// for each command shape, and COMMAND's list for the commands kvwire calls keyless.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { commandKeys, keyIndexes } from "../../src/redis/command_keys.ts";
import { COMMAND_METHODS } from "../../src/redis/commands/coverage.ts";
import { KeyPrefix } from "../../src/redis/key_prefix.ts";
import type { RedisArg } from "../../src/redis/resp_encoder.ts";
import { redisAddress } from "../_helpers/servers.ts";

const te = new TextEncoder();
let redis: RedisClient<string>;
before(async () => {
  redis = await RedisClient.connect({ ...await redisAddress(), decode: true });
});
after(async () => {
  await redis.close();
});

/** Command shapes with keys at every kind of position (fixed, interleaved, counted, optional). */
const SHAPES: RedisArg[][] = [
  ["GET", "k"],
  ["SET", "k", "v", "EX", 10],
  ["MSET", "a", "1", "b", "2", "c", "3"],
  ["MGET", "a", "b", "c"],
  ["DEL", "a", "b"],
  ["BLPOP", "a", "b", 5],
  ["BITOP", "AND", "dst", "a", "b"],
  ["COPY", "a", "b", "REPLACE"],
  ["LMOVE", "a", "b", "LEFT", "RIGHT"],
  ["ZUNIONSTORE", "dst", 2, "a", "b", "WEIGHTS", 1, 2],
  ["ZINTER", 2, "a", "b", "WITHSCORES"],
  ["ZDIFFSTORE", "dst", 1, "a"],
  ["SINTERCARD", 2, "a", "b", "LIMIT", 1],
  ["LMPOP", 2, "a", "b", "LEFT"],
  ["BZMPOP", 1, 2, "a", "b", "MIN"],
  ["XREAD", "COUNT", 2, "STREAMS", "s1", "s2", "0", "0"],
  ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", ">"],
  ["EVAL", "return 1", 2, "k1", "k2", "argv1", "argv2"],
  ["EVALSHA_RO", "a".repeat(40), 1, "k1", "argv1"],
  ["FCALL", "f", 1, "k1", "argv1"],
  ["SORT", "ids", "BY", "w_*", "LIMIT", 0, 5, "GET", "#", "GET", "o_*->f", "ALPHA", "STORE", "out"],
  ["SORT_RO", "ids", "BY", "nosort"],
  ["MIGRATE", "127.0.0.1", 6380, "k", 0, 1000],
  ["MIGRATE", "127.0.0.1", 6380, "", 0, 1000, "COPY", "AUTH2", "u", "pw", "KEYS", "a", "b"],
  ["MIGRATE", "127.0.0.1", 6380, "", 0, 1000, "AUTH2", "u", "KEYS"], // "KEYS" is the password
  ["MIGRATE", "127.0.0.1", 6380, "", 0, 1000, "AUTH", "KEYS", "KEYS", "a"],
  ["OBJECT", "ENCODING", "k"],
  ["MEMORY", "USAGE", "k", "SAMPLES", 5],
  ["XGROUP", "CREATE", "s", "g", "$"],
  ["XINFO", "STREAM", "s"],
  ["GEORADIUS", "g", 0, 0, 10, "km", "COUNT", 3, "STORE", "dst"],
  ["GEORADIUSBYMEMBER", "g", "m", 10, "km", "STOREDIST", "dst"],
  ["GEOSEARCHSTORE", "dst", "src", "FROMMEMBER", "m", "BYRADIUS", 1, "km"],
  ["MOVE", "k", 1],
  ["RESTORE", "k", 0, "payload"],
  ["WATCH", "a", "b"],
];

test("keyIndexes finds the keys COMMAND GETKEYS finds, for every command shape", async () => {
  for (const shape of SHAPES) {
    const server = await redis.send("COMMAND", "GETKEYS", ...shape) as string[];
    const ours = commandKeys(shape).map(String);
    assert.deepEqual(ours, server.map(String), JSON.stringify(shape));
  }
});

test("keyPrefix puts the prefix on exactly the keys, never on values, ARGV or options", () => {
  const prefix = new KeyPrefix("p:");
  assert.deepEqual(prefix.apply(["MSET", "a", "1", "b", "2"]), ["MSET", "p:a", "1", "p:b", "2"]);
  assert.deepEqual(
    prefix.apply(["EVAL", "return 1", 2, "k1", "k2", "k3"]),
    ["EVAL", "return 1", 2, "p:k1", "p:k2", "k3"],
  );
  assert.deepEqual(
    prefix.apply(["ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2]),
    ["ZUNIONSTORE", "p:d", 2, "p:a", "p:b", "WEIGHTS", 1, 2],
  );
  assert.deepEqual(
    prefix.apply(["XREAD", "STREAMS", "s1", "s2", "0", "0"]),
    ["XREAD", "STREAMS", "p:s1", "p:s2", "0", "0"],
  );
  assert.deepEqual(
    prefix.apply(["MIGRATE", "h", 1, "", 0, 10, "AUTH", "KEYS", "KEYS", "a"]),
    ["MIGRATE", "h", 1, "", 0, 10, "AUTH", "KEYS", "KEYS", "p:a"],
    "the empty key of MIGRATE ... KEYS and the password stay",
  );
  assert.deepEqual(
    prefix.apply(["SORT", "ids", "BY", "w_*", "GET", "#", "GET", "o_*->f", "STORE", "out"]),
    ["SORT", "p:ids", "BY", "p:w_*", "GET", "#", "GET", "p:o_*->f", "STORE", "p:out"],
  );
  assert.deepEqual(
    prefix.apply(["GEORADIUS", "g", 0, 0, 1, "km", "STORE", "d", "STOREDIST", "e"]),
    ["GEORADIUS", "p:g", 0, 0, 1, "km", "STORE", "p:d", "STOREDIST", "p:e"],
  );
  assert.deepEqual(prefix.apply(["OBJECT", "ENCODING", "k"]), ["OBJECT", "ENCODING", "p:k"]);
  assert.deepEqual(prefix.apply(["OBJECT", "HELP"]), ["OBJECT", "HELP"]);
  assert.deepEqual(prefix.apply(["INCR", 7]), ["INCR", "p:7"], "a number key");
});

test("keyPrefix leaves channels alone and refuses commands whose keys it cannot find", () => {
  const prefix = new KeyPrefix("p:");
  assert.deepEqual(prefix.apply(["PUBLISH", "ch", "m"]), ["PUBLISH", "ch", "m"]);
  assert.deepEqual(prefix.apply(["SPUBLISH", "ch", "m"]), ["SPUBLISH", "ch", "m"]);
  assert.deepEqual(prefix.apply(["PING"]), ["PING"]);
  assert.throws(() => prefix.apply(["JSON.GET", "k"]), /keyPrefix: .*JSON\.GET/);
  assert.deepEqual(prefix.apply(["DEBUG", "OBJECT", "k"]), ["DEBUG", "OBJECT", "p:k"]);
  assert.deepEqual(prefix.apply(["DEBUG", "SLEEP", "0"]), ["DEBUG", "SLEEP", "0"]);
  assert.deepEqual(prefix.apply(["HGETEX", "h", "EX", 5, "FIELDS", 1, "f"]), [
    "HGETEX",
    "p:h",
    "EX",
    5,
    "FIELDS",
    1,
    "f",
  ]);
  assert.ok(prefix.tryApply(["JSON.GET", "k"]) instanceof TypeError);
  assert.throws(() => new KeyPrefix(""), TypeError);
});

test("keyPrefix on patterns: SCAN MATCH (added when missing), KEYS, glob characters escaped", () => {
  const prefix = new KeyPrefix("a*[b]?\\:");
  const escaped = "a\\*\\[b\\]\\?\\\\:";
  assert.deepEqual(prefix.apply(["SCAN", "0", "MATCH", "u:*", "COUNT", 10]), [
    "SCAN",
    "0",
    "MATCH",
    `${escaped}u:*`,
    "COUNT",
    10,
  ]);
  assert.deepEqual(prefix.apply(["SCAN", "0", "COUNT", 10]), [
    "SCAN",
    "0",
    "COUNT",
    10,
    "MATCH",
    `${escaped}*`,
  ]);
  assert.deepEqual(prefix.apply(["KEYS", "u:*"]), ["KEYS", `${escaped}u:*`]);
  assert.deepEqual(prefix.apply(["GET", "k"]), ["GET", "a*[b]?\\:k"], "keys are not escaped");
});

test("keyPrefix with bytes: byte keys and byte prefixes are joined as bytes", () => {
  const bytes = new Uint8Array([0xff, 0x00, 0x3a]);
  assert.deepEqual(new KeyPrefix("p:").apply(["GET", bytes]), [
    "GET",
    new Uint8Array([0x70, 0x3a, 0xff, 0x00, 0x3a]),
  ]);
  const prefix = new KeyPrefix(new Uint8Array([0xfe, 0x2a]));
  assert.deepEqual(prefix.apply(["GET", "é"]), [
    "GET",
    new Uint8Array([0xfe, 0x2a, ...te.encode("é")]),
  ]);
  assert.deepEqual(prefix.apply(["KEYS", "*"]), ["KEYS", new Uint8Array([0xfe, 0x5c, 0x2a, 0x2a])]);
});

test("the commands kvwire calls keyless have no keys in COMMAND; every typed method's is known", async () => {
  const reply = await redis.send("COMMAND") as unknown[][];
  const serverKeyed = new Set<string>();
  const visit = (entry: unknown[], parent?: string): void => {
    const name = String(entry[0]).toUpperCase().replace("|", " ");
    const subcommands = (entry[9] ?? []) as unknown[][];
    for (const sub of subcommands) visit(sub, name);
    const flags = (entry[2] as unknown[]).map(String);
    const keyed = Number(entry[3]) !== 0 || (entry[8] as unknown[]).length > 0 ||
      flags.includes("movablekeys");
    if (keyed) {
      serverKeyed.add(name);
      if (parent) serverKeyed.add(parent);
    }
  };
  for (const entry of reply) visit(entry);
  const patterns = new Set(["KEYS", "SCAN"]); // keyless to the server; their pattern is prefixed
  const channels = new Set(["SSUBSCRIBE", "SUNSUBSCRIBE"]); // key specs flagged not_key
  for (const name of serverKeyed) {
    if (channels.has(name)) continue;
    const args = name.split(" ");
    const fillers = [[], [1, 1, "x", "y"], ["STREAMS", "x", "y"]];
    if (fillers.every((more) => keyIndexes([...args, ...more])?.length === 0)) {
      assert.fail(`${name} has keys, but kvwire calls it keyless`);
    }
  }
  for (const command of Object.keys(COMMAND_METHODS)) {
    const args = command.split(" ");
    assert.notEqual(keyIndexes(args), undefined, `${command} (a typed method) must be known`);
    if (patterns.has(command)) assert.ok(!serverKeyed.has(command));
  }
});
