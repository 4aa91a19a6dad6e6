// Redis Cluster pieces without a server: CRC16 and hash-tag vectors from the cluster spec,
// key positions of commands, slot map parsing of CLUSTER SHARDS / CLUSTER SLOTS replies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { commandKeys, commandSlot, CROSS_SLOT, NO_KEYS } from "../../src/redis/command_keys.ts";
import { crc16, keySlot } from "../../src/redis/cluster/slot.ts";
import { parseClusterShards, parseClusterSlots } from "../../src/redis/cluster/slot_map.ts";
import { splitBySlot } from "../../src/redis/cluster/split_request.ts";
import { RespMap } from "../../src/redis/resp_types.ts";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test("cluster crc16: the XMODEM check value of 123456789 is 0x31C3", () => {
  assert.equal(crc16(bytes("123456789")), 0x31c3);
  assert.equal(keySlot("123456789"), 0x31c3 % 16384);
  assert.equal(keySlot(bytes("123456789")), 0x31c3 % 16384);
});

test("cluster keySlot: hash tags of the spec", () => {
  assert.equal(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
  assert.equal(keySlot("{user1000}.following"), keySlot("user1000"));
  assert.equal(keySlot("foo{}{bar}"), keySlot("foo{}{bar}"), "empty tag: whole key");
  assert.notEqual(keySlot("foo{}{bar}"), keySlot("bar"));
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  assert.equal(keySlot("foo{bar}{zap}"), keySlot("bar"));
  assert.equal(keySlot("foo"), 12182); // CLUSTER KEYSLOT foo
  assert.equal(keySlot(""), 0);
});

test("cluster keySlot: text keys hash their UTF-8 bytes, with or without a tag", () => {
  for (const key of ["é", "ключ", "{ключ}x", "x{é}", "{a}é", "😀{b}"]) {
    assert.equal(keySlot(key), keySlot(bytes(key)), key);
  }
  assert.equal(keySlot(42), keySlot("42"));
});

test("cluster keySlot: the one-pass ASCII path agrees with the byte path on keys with braces", () => {
  const alphabet = "ab{}{}x:";
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let n = 0; n < 5000; n++) {
    let key = "";
    const length = next() % 12;
    while (key.length < length) key += alphabet[next() % alphabet.length];
    assert.equal(keySlot(key), keySlot(bytes(key)), key);
  }
});

test("cluster commandKeys: fixed ranges, counted keys, streams", () => {
  assert.deepEqual(commandKeys(["GET", "k"]), ["k"]);
  assert.deepEqual(commandKeys(["MSET", "a", 1, "b", 2]), ["a", "b"]);
  assert.deepEqual(commandKeys(["BLPOP", "a", "b", 5]), ["a", "b"]);
  assert.deepEqual(commandKeys(["EVALSHA", "sha", 2, "k1", "k2", "arg"]), ["k1", "k2"]);
  assert.deepEqual(commandKeys(["ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2]), [
    "d",
    "a",
    "b",
  ]);
  assert.deepEqual(commandKeys(["XREAD", "COUNT", 2, "STREAMS", "s1", "s2", "0", "0"]), [
    "s1",
    "s2",
  ]);
  assert.deepEqual(commandKeys(["PING"]), []);
  assert.deepEqual(commandKeys(["LMOVE", "a", "b", "LEFT", "RIGHT"]), ["a", "b"]);
});

test("cluster commandSlot: keyless, one slot, cross-slot", () => {
  assert.equal(commandSlot(["PING"], "PING"), NO_KEYS);
  assert.equal(commandSlot(["GET", "123456789"], "GET"), 12739);
  assert.equal(commandSlot(["MGET", "{t}a", "{t}b"], "MGET"), keySlot("t"));
  assert.equal(commandSlot(["MGET", "a", "b"], "MGET"), CROSS_SLOT);
});

test("cluster splitBySlot: keys grouped per slot in order, MSET in pairs", () => {
  const parts = splitBySlot(["MGET", "a", "b", "{a}x"]);
  assert.equal(parts.length, 2);
  assert.deepEqual(parts[0].command, ["MGET", "a", "{a}x"]);
  assert.deepEqual(parts[0].positions, [0, 2]);
  assert.deepEqual(parts[1].command, ["MGET", "b"]);
  const mset = splitBySlot(["MSET", "a", "1", "b", "2"]);
  assert.deepEqual(mset.map((p) => p.command), [["MSET", "a", "1"], ["MSET", "b", "2"]]);
});

test("cluster slot map: CLUSTER SHARDS in RESP2 lists and RESP3 maps", () => {
  const node = (port: number, role: string, health = "online"): unknown[] => [
    "id",
    `n${port}`,
    "port",
    port,
    "ip",
    "10.0.0.1",
    "endpoint",
    "10.0.0.1",
    "role",
    role,
    "replication-offset",
    1,
    "health",
    health,
  ];
  const resp2 = [
    ["slots", [0, 5460], "nodes", [node(7000, "master"), node(7003, "replica")]],
    ["slots", [5461, 10922, 16000, 16383], "nodes", [
      node(7001, "master"),
      node(7004, "replica", "loading"),
    ]],
    ["slots", [10923, 15999], "nodes", [node(7002, "master", "failed"), node(7005, "replica")]],
  ];
  const map = parseClusterShards(resp2 as never, "127.0.0.1");
  assert.equal(map.shardOf(0)?.master, "10.0.0.1:7000");
  assert.deepEqual(map.shardOf(5460)?.replicas, ["10.0.0.1:7003"]);
  assert.equal(map.shardOf(16383)?.master, "10.0.0.1:7001");
  assert.deepEqual(map.shardOf(5461)?.replicas, ["10.0.0.1:7004"], "a loading replica is kept");
  assert.equal(map.shardOf(12000), undefined, "a failed master serves nothing");
  const toMap = (list: unknown[]): RespMap => {
    const entries: [never, never][] = [];
    for (let i = 0; i < list.length; i += 2) entries.push([list[i] as never, list[i + 1] as never]);
    return new RespMap(entries);
  };
  const resp3 = resp2.map((shard) => {
    const m = toMap(shard);
    return toMap(["slots", m.get("slots"), "nodes", (m.get("nodes") as unknown[][]).map(toMap)]);
  });
  assert.equal(
    parseClusterShards(resp3 as never, "127.0.0.1").shardOf(16000)?.master,
    "10.0.0.1:7001",
  );
});

test("cluster slot map: CLUSTER SLOTS, empty hosts mean the seed's", () => {
  const map = parseClusterSlots(
    [[0, 8191, ["", 7000, "a"], ["10.0.0.2", 7003, "d"]], [8192, 16383, [
      "10.0.0.3",
      7001,
      "b",
    ]]] as never,
    "127.0.0.1",
  );
  assert.equal(map.shardOf(100)?.master, "127.0.0.1:7000");
  assert.deepEqual(map.shardOf(100)?.replicas, ["10.0.0.2:7003"]);
  assert.equal(map.shardOf(9000)?.master, "10.0.0.3:7001");
  assert.equal(map.uncovered, 0);
});

test("cluster slot map: malformed replies are a RemoteProtocolError", () => {
  for (const bad of ["OK", [["slots", [0, 99999], "nodes", []]], [[0, 1]], [["slots"]]]) {
    assert.throws(
      () => {
        const map = parseClusterShards(bad as never, "h");
        parseClusterSlots(bad as never, "h");
        return map;
      },
      RemoteProtocolError,
      JSON.stringify(bad),
    );
  }
});
