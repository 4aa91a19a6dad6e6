// Tests of the commands added after Redis 7.0 (absent from the redis-server 7.0 in CI): the
// bytes each typed method writes, and its reply shaped from recorded RESP2 and RESP3 replies,
// with Uint8Array values and decoded strings.

import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { COMMANDS_SINCE } from "../../src/redis/commands/coverage.ts";
import { eq } from "../_helpers/redis_modes.ts";
import { Recorded } from "./_recorded.ts";

/** One command: what the method writes, the replies of both protocols, the shaped result. */
interface Case {
  command: string;
  run: (r: Recorded<unknown>) => Promise<unknown>;
  written: string[];
  resp2: string;
  resp3?: string;
  /** The result; `bytes` marks values that come as Uint8Array unless decoding. */
  result: (v: (text: string) => unknown) => unknown;
}

const bulk = (text: string): string => `$${new TextEncoder().encode(text).length}\r\n${text}\r\n`;
const SHARD_ID = "1".repeat(40);
/** One FP32 component whose little-endian bytes are the ASCII "ABCD" (readable on the wire). */
const ABCD_VECTOR = new Float32Array([
  new DataView(new TextEncoder().encode("ABCD").buffer).getFloat32(0, true),
]);

const CASES: Case[] = [
  {
    command: "CLIENT NO-TOUCH",
    run: (r) => r.clientNoTouch(true),
    written: ["CLIENT", "NO-TOUCH", "ON"],
    resp2: "+OK\r\n",
    result: () => true,
  },
  {
    command: "CLIENT SETINFO",
    run: (r) => r.clientSetInfo("LIB-NAME", "kvwire"),
    written: ["CLIENT", "SETINFO", "LIB-NAME", "kvwire"],
    resp2: "+OK\r\n",
    result: () => true,
  },
  {
    command: "CLUSTER MYSHARDID",
    run: (r) => r.clusterMyShardId(),
    written: ["CLUSTER", "MYSHARDID"],
    resp2: bulk(SHARD_ID),
    result: () => SHARD_ID,
  },
  {
    command: "WAITAOF",
    run: (r) => r.waitAof(1, 2, 500),
    written: ["WAITAOF", "1", "2", "500"],
    resp2: "*2\r\n:1\r\n:0\r\n",
    result: () => ({ local: 1, replicas: 0 }),
  },
  {
    command: "HEXPIRE",
    run: (r) => r.hExpire("h", 60, ["a", "b", "c"], "NX"),
    written: ["HEXPIRE", "h", "60", "NX", "FIELDS", "3", "a", "b", "c"],
    resp2: "*3\r\n:1\r\n:0\r\n:-2\r\n",
    result: () => [1, 0, -2],
  },
  {
    command: "HPEXPIRE",
    run: (r) => r.hpExpire("h", 1500, ["a"]),
    written: ["HPEXPIRE", "h", "1500", "FIELDS", "1", "a"],
    resp2: "*1\r\n:1\r\n",
    result: () => [1],
  },
  {
    command: "HEXPIREAT",
    run: (r) => r.hExpireAt("h", 1, ["a"], "GT"),
    written: ["HEXPIREAT", "h", "1", "GT", "FIELDS", "1", "a"],
    resp2: "*1\r\n:2\r\n",
    result: () => [2],
  },
  {
    command: "HPEXPIREAT",
    run: (r) => r.hpExpireAt("h", 1_900_000_000_000, ["a", "b"], "LT"),
    written: ["HPEXPIREAT", "h", "1900000000000", "LT", "FIELDS", "2", "a", "b"],
    resp2: "*2\r\n:1\r\n:1\r\n",
    result: () => [1, 1],
  },
  {
    command: "HTTL",
    run: (r) => r.hTtl("h", ["a", "b", "c"]),
    written: ["HTTL", "h", "FIELDS", "3", "a", "b", "c"],
    resp2: "*3\r\n:59\r\n:-1\r\n:-2\r\n",
    result: () => [59, -1, -2],
  },
  {
    command: "HPTTL",
    run: (r) => r.hpTtl("h", ["a"]),
    written: ["HPTTL", "h", "FIELDS", "1", "a"],
    resp2: "*1\r\n:59000\r\n",
    result: () => [59000],
  },
  {
    command: "HEXPIRETIME",
    run: (r) => r.hExpireTime("h", ["a"]),
    written: ["HEXPIRETIME", "h", "FIELDS", "1", "a"],
    resp2: "*1\r\n:1900000000\r\n",
    result: () => [1_900_000_000],
  },
  {
    command: "HPEXPIRETIME",
    run: (r) => r.hpExpireTime("h", ["a", "b"]),
    written: ["HPEXPIRETIME", "h", "FIELDS", "2", "a", "b"],
    resp2: "*2\r\n:1900000000000\r\n:-1\r\n",
    result: () => [1_900_000_000_000, -1],
  },
  {
    command: "HPERSIST",
    run: (r) => r.hPersist("h", ["a", "b", "c"]),
    written: ["HPERSIST", "h", "FIELDS", "3", "a", "b", "c"],
    resp2: "*3\r\n:1\r\n:-1\r\n:-2\r\n",
    result: () => [1, -1, -2],
  },
  {
    command: "HGETDEL",
    run: (r) => r.hGetDel("h", ["a", "nope"]),
    written: ["HGETDEL", "h", "FIELDS", "2", "a", "nope"],
    resp2: "*2\r\n$3\r\nada\r\n$-1\r\n",
    resp3: "*2\r\n$3\r\nada\r\n_\r\n",
    result: (v) => [v("ada"), null],
  },
  {
    command: "HGETEX",
    run: (r) => r.hGetEx("h", ["a"], { px: 250 }),
    written: ["HGETEX", "h", "PX", "250", "FIELDS", "1", "a"],
    resp2: "*1\r\n$1\r\n1\r\n",
    result: (v) => [v("1")],
  },
  {
    command: "HGETEX",
    run: (r) => r.hGetEx("h", ["a", "b"], { persist: true }),
    written: ["HGETEX", "h", "PERSIST", "FIELDS", "2", "a", "b"],
    resp2: "*2\r\n$-1\r\n$1\r\n2\r\n",
    resp3: "*2\r\n_\r\n$1\r\n2\r\n",
    result: (v) => [null, v("2")],
  },
  {
    command: "HSETEX",
    run: (r) => r.hSetEx("h", { a: "1", b: 2 }, { fnx: true, ex: 30 }),
    written: ["HSETEX", "h", "FNX", "EX", "30", "FIELDS", "2", "a", "1", "b", "2"],
    resp2: ":1\r\n",
    result: () => true,
  },
  {
    command: "HSETEX",
    run: (r) => r.hSetEx("h", new Map([["a", "1"]]), { fxx: true, keepTtl: true }),
    written: ["HSETEX", "h", "FXX", "KEEPTTL", "FIELDS", "1", "a", "1"],
    resp2: ":0\r\n",
    result: () => false,
  },
  {
    command: "XDELEX",
    run: (r) => r.xDelEx("s", ["1-0", "2-0", "3-0"], "ACKED"),
    written: ["XDELEX", "s", "ACKED", "IDS", "3", "1-0", "2-0", "3-0"],
    resp2: "*3\r\n:1\r\n:-1\r\n:2\r\n",
    result: () => [1, -1, 2],
  },
  {
    command: "XACKDEL",
    run: (r) => r.xAckDel("s", "g", ["1-0"]),
    written: ["XACKDEL", "s", "g", "IDS", "1", "1-0"],
    resp2: "*1\r\n:1\r\n",
    result: () => [1],
  },
  {
    command: "CLUSTER SLOT-STATS",
    run: (r) => r.clusterSlotStats({ start: 100, end: 101 }),
    written: ["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "100", "101"],
    resp2: "*2\r\n*2\r\n:100\r\n*2\r\n$9\r\nkey-count\r\n:3\r\n" +
      "*2\r\n:101\r\n*2\r\n$9\r\nkey-count\r\n:0\r\n",
    resp3: "*2\r\n*2\r\n:100\r\n%1\r\n$9\r\nkey-count\r\n:3\r\n" +
      "*2\r\n:101\r\n%1\r\n$9\r\nkey-count\r\n:0\r\n",
    result: () => [{ slot: 100, stats: { "key-count": 3 } }, {
      slot: 101,
      stats: { "key-count": 0 },
    }],
  },
  {
    command: "CLUSTER SLOT-STATS",
    run: (r) => r.clusterSlotStats({ orderBy: "cpu-usec", limit: 1, order: "DESC" }),
    written: ["CLUSTER", "SLOT-STATS", "ORDERBY", "cpu-usec", "LIMIT", "1", "DESC"],
    resp2: "*1\r\n*2\r\n:7\r\n*4\r\n$9\r\nkey-count\r\n:1\r\n$8\r\ncpu-usec\r\n:42\r\n",
    resp3: "*1\r\n*2\r\n:7\r\n%2\r\n$9\r\nkey-count\r\n:1\r\n$8\r\ncpu-usec\r\n:42\r\n",
    result: () => [{ slot: 7, stats: { "key-count": 1, "cpu-usec": 42 } }],
  },
  {
    command: "CLIENT CAPA",
    run: (r) => r.clientCapa("redirect"),
    written: ["CLIENT", "CAPA", "redirect"],
    resp2: "+OK\r\n",
    result: () => true,
  },
  {
    command: "SCRIPT SHOW",
    run: (r) => r.scriptShow("a".repeat(40)),
    written: ["SCRIPT", "SHOW", "a".repeat(40)],
    resp2: bulk("return 1"),
    result: () => "return 1",
  },
  {
    command: "COMMANDLOG GET",
    run: (r) => r.commandLogGet(1, "large-reply"),
    written: ["COMMANDLOG", "GET", "1", "large-reply"],
    resp2: "*1\r\n*6\r\n:7\r\n:1700000000\r\n:2048\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" +
      bulk("127.0.0.1:5000") + bulk("app"),
    result: () => [{
      id: 7,
      timestamp: 1_700_000_000,
      value: 2048,
      args: ["GET", "k"],
      clientAddress: "127.0.0.1:5000",
      clientName: "app",
    }],
  },
  {
    command: "COMMANDLOG LEN",
    run: (r) => r.commandLogLen("slow"),
    written: ["COMMANDLOG", "LEN", "slow"],
    resp2: ":4\r\n",
    result: () => 4,
  },
  {
    command: "COMMANDLOG RESET",
    run: (r) => r.commandLogReset("large-request"),
    written: ["COMMANDLOG", "RESET", "large-request"],
    resp2: "+OK\r\n",
    result: () => true,
  },
  {
    command: "VADD",
    run: (r) =>
      r.vAdd("v", [1, 0.5], "e", {
        reduce: 2,
        cas: true,
        quantization: "NOQUANT",
        ef: 200,
        attributes: '{"a":1}',
        m: 16,
      }),
    written: [
      "VADD",
      "v",
      "REDUCE",
      "2",
      "VALUES",
      "2",
      "1",
      "0.5",
      "e",
      "CAS",
      "NOQUANT",
      "EF",
      "200",
      "SETATTR",
      '{"a":1}',
      "M",
      "16",
    ],
    resp2: ":1\r\n",
    result: () => true,
  },
  {
    command: "VADD",
    run: (r) => r.vAdd("v", ABCD_VECTOR, "e"),
    written: ["VADD", "v", "FP32", "ABCD", "e"],
    resp2: ":0\r\n",
    result: () => false,
  },
  {
    command: "VSIM",
    run: (r) => r.vSim("v", { element: "e" }, { count: 2, filter: ".a > 0", truth: true }),
    written: ["VSIM", "v", "ELE", "e", "COUNT", "2", "FILTER", ".a > 0", "TRUTH"],
    resp2: "*2\r\n$1\r\ne\r\n$1\r\nf\r\n",
    result: (v) => [{ element: v("e") }, { element: v("f") }],
  },
  {
    command: "VSIM",
    run: (r) => r.vSim("v", { vector: [0, 1] }, { withScores: true, epsilon: 0.5, ef: 10 }),
    written: ["VSIM", "v", "VALUES", "2", "0", "1", "WITHSCORES", "EPSILON", "0.5", "EF", "10"],
    resp2: "*4\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\nf\r\n$4\r\n0.75\r\n",
    resp3: "%2\r\n$1\r\ne\r\n,1\r\n$1\r\nf\r\n,0.75\r\n",
    result: (v) => [{ element: v("e"), score: 1 }, { element: v("f"), score: 0.75 }],
  },
  {
    command: "VSIM",
    run: (r) =>
      r.vSim("v", { element: "e" }, {
        withScores: true,
        withAttributes: true,
        filterEf: 5,
        noThread: true,
      }),
    written: ["VSIM", "v", "ELE", "e", "WITHSCORES", "WITHATTRIBS", "FILTER-EF", "5", "NOTHREAD"],
    resp2: '*6\r\n$1\r\ne\r\n$1\r\n1\r\n$7\r\n{"a":1}\r\n$1\r\nf\r\n$3\r\n0.5\r\n$-1\r\n',
    resp3: '%2\r\n$1\r\ne\r\n*2\r\n,1\r\n$7\r\n{"a":1}\r\n$1\r\nf\r\n*2\r\n,0.5\r\n_\r\n',
    result: (v) => [
      { element: v("e"), score: 1, attributes: '{"a":1}' },
      { element: v("f"), score: 0.5, attributes: null },
    ],
  },
  {
    command: "VREM",
    run: (r) => r.vRem("v", "e"),
    written: ["VREM", "v", "e"],
    resp2: ":1\r\n",
    result: () => true,
  },
  {
    command: "VCARD",
    run: (r) => r.vCard("v"),
    written: ["VCARD", "v"],
    resp2: ":3\r\n",
    result: () => 3,
  },
  {
    command: "VDIM",
    run: (r) => r.vDim("v"),
    written: ["VDIM", "v"],
    resp2: ":2\r\n",
    result: () => 2,
  },
  {
    command: "VEMB",
    run: (r) => r.vEmb("v", "e"),
    written: ["VEMB", "v", "e"],
    resp2: "*2\r\n$1\r\n1\r\n$4\r\n-0.5\r\n",
    resp3: "*2\r\n,1\r\n,-0.5\r\n",
    result: () => [1, -0.5],
  },
  {
    command: "VGETATTR",
    run: (r) => r.vGetAttr("v", "e"),
    written: ["VGETATTR", "v", "e"],
    resp2: '$7\r\n{"a":1}\r\n',
    result: () => '{"a":1}',
  },
  {
    command: "VSETATTR",
    run: (r) => r.vSetAttr("v", "e", ""),
    written: ["VSETATTR", "v", "e", ""],
    resp2: ":1\r\n",
    result: () => true,
  },
  {
    command: "VINFO",
    run: (r) => r.vInfo("v"),
    written: ["VINFO", "v"],
    resp2: "*4\r\n$10\r\nquant-type\r\n$4\r\nint8\r\n$4\r\nsize\r\n:3\r\n",
    resp3: "%2\r\n$10\r\nquant-type\r\n+int8\r\n$4\r\nsize\r\n:3\r\n",
    result: () => ({ "quant-type": "int8", size: 3 }),
  },
  {
    command: "VLINKS",
    run: (r) => r.vLinks("v", "e", { withScores: true }),
    written: ["VLINKS", "v", "e", "WITHSCORES"],
    resp2: "*1\r\n*2\r\n$1\r\nf\r\n$3\r\n0.5\r\n",
    resp3: "*1\r\n%1\r\n$1\r\nf\r\n,0.5\r\n",
    result: (v) => [[{ element: v("f"), score: 0.5 }]],
  },
  {
    command: "VLINKS",
    run: (r) => r.vLinks("v", "nope"),
    written: ["VLINKS", "v", "nope"],
    resp2: "$-1\r\n",
    resp3: "_\r\n",
    result: () => null,
  },
  {
    command: "VRANDMEMBER",
    run: (r) => r.vRandMember("v", -2),
    written: ["VRANDMEMBER", "v", "-2"],
    resp2: "*2\r\n$1\r\ne\r\n$1\r\ne\r\n",
    result: (v) => [v("e"), v("e")],
  },
  {
    command: "VISMEMBER",
    run: (r) => r.vIsMember("v", "e"),
    written: ["VISMEMBER", "v", "e"],
    resp2: ":0\r\n",
    result: () => false,
  },
  {
    command: "BITOP",
    run: (r) => r.bitOp("ANDOR", "dest", "x", "y", "z"),
    written: ["BITOP", "ANDOR", "dest", "x", "y", "z"],
    resp2: ":4\r\n",
    result: () => 4,
  },
];

for (const decode of [false, true]) {
  const v = (text: string): unknown => decode ? text : new TextEncoder().encode(text);
  for (const protocol of [2, 3] as const) {
    const mode = `RESP${protocol} ${decode ? "text" : "bytes"}`;
    test(`redis since 7.0 [${mode}]: each method writes its command and shapes its reply`, async () => {
      for (const c of CASES) {
        const r = new Recorded<unknown>(decode, protocol === 3 ? c.resp3 ?? c.resp2 : c.resp2);
        eq(await c.run(r), c.result(v), `${c.command}: ${c.written.join(" ")}`);
        assert.deepStrictEqual(r.written, [c.written], c.command);
      }
    });
  }
}

test("redis since 7.0: every COMMANDS_SINCE entry has a case, under its own command", () => {
  const tested = new Set(CASES.map((c) => c.command));
  const untested = Object.keys(COMMANDS_SINCE).filter((name) => !tested.has(name));
  assert.deepStrictEqual(untested, []);
  for (const c of CASES) {
    if (c.command === "BITOP") continue; // an 8.2 operation of a 1.x command
    assert.equal(c.written.slice(0, c.command.split(" ").length).join(" "), c.command);
  }
});

test("redis since 7.0: bad arguments are refused before anything is written", () => {
  const r = new Recorded<string>(true);
  assert.throws(() => r.hExpire("h", 1, []), RangeError);
  assert.throws(() => r.hTtl("h", []), RangeError);
  assert.throws(() => r.hGetDel("h", []), RangeError);
  assert.throws(() => r.hSetEx("h", {}), TypeError);
  assert.throws(() => r.hSetEx("h", { a: 1 }, { fnx: true, fxx: true }), TypeError);
  assert.throws(() => r.xDelEx("s", []), RangeError);
  assert.throws(() => r.xAckDel("s", "g", []), RangeError);
  assert.throws(() => r.clusterSlotStats({ start: 5, end: 4 }), RangeError);
  assert.throws(() => r.clusterSlotStats({ start: 0, end: 16384 }), RangeError);
  assert.throws(() => r.vAdd("v", [], "e"), RangeError);
  assert.throws(() => r.clientCapa(), RangeError);
  assert.throws(() => r.vAdd("v", [1, Number.NaN], "e"), RangeError);
  assert.throws(() => r.vSim("v", { vector: new Float32Array([Infinity]) }), RangeError);
  assert.deepStrictEqual(r.written, []);
});

test("redis since 7.0: error and malformed replies reject typed", async () => {
  const errors = new Recorded<string>(true, "-ERR unknown command 'HGETDEL'\r\n");
  await assert.rejects(errors.hGetDel("h", ["a"]), RedisError);
  const malformed = new Recorded<string>(true, ":3\r\n", "*1\r\n:1\r\n", "+OK\r\n");
  await assert.rejects(malformed.hTtl("h", ["a"]), RemoteProtocolError);
  await assert.rejects(malformed.waitAof(1, 0, 0), RemoteProtocolError);
  await assert.rejects(malformed.clusterSlotStats({ start: 0, end: 0 }), RemoteProtocolError);
});
