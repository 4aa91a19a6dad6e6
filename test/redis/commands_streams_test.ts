// Tests of the typed stream and consumer group commands (src/redis/commands/streams.ts) against
// a real redis-server: RESP3 answers XREAD with a map, RESP2 with an array of [key, entries].

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, isWrongType, prefix, redisModes } from "../_helpers/redis_modes.ts";
import { waitUntilBlocked } from "../_helpers/redis_blocked.ts";

const { each, observer } = redisModes("streams");
const te = new TextEncoder();

const ID = /^\d+-\d+$/;

/** An expected entry. */
function entry<V>(id: string, v: (s: string) => V, fields: Record<string, string>) {
  return { id, fields: new Map(Object.entries(fields).map(([k, x]) => [k, v(x)])) };
}

// ---- tests ----

each(
  "xAdd with generated and explicit ids, trimming, noMkStream; xLen",
  async ({ client, v, protocol }) => {
    assert.equal(client.protocol, protocol);
    const x = prefix() + "x";
    const missing = prefix() + "missing";
    const generated = await client.xAdd(x, { a: "1", b: 2 });
    assert.match(generated, ID);
    assert.equal(
      await client.xAdd(x, new Map([["c", te.encode("3")]]), { id: "99999999999999-1" }),
      "99999999999999-1",
    );
    assert.equal(await client.xAdd(x, { d: "4" }, { id: "99999999999999-*" }), "99999999999999-2");
    await assert.rejects(client.xAdd(x, { e: "5" }, { id: "1-1" }), RedisError);
    assert.equal(await client.xLen(x), 3);
    assert.equal(await client.xLen(missing), 0);
    assert.equal(await client.xAdd(missing, { a: "1" }, { noMkStream: true }), null);
    assert.equal(await client.exists(missing), 0);
    assert.match((await client.xAdd(x, { a: "1" }, { noMkStream: true }))!, ID);
    assert.match(await client.xAdd(x, { f: "x" }, { maxLen: 2 }), ID);
    assert.equal(await client.xLen(x), 2);
    const y = prefix() + "y";
    for (let i = 1; i <= 5; i++) await client.xAdd(y, { i }, { id: `${i}-0` });
    assert.equal(await client.xAdd(y, { i: 6 }, { id: "6-0", minId: "3" }), "6-0");
    eq(
      await client.xRange(y),
      ["3-0", "4-0", "5-0", "6-0"].map((id) => entry(id, v, { i: id[0] })),
    );
    assert.match(await client.xAdd(y, { i: 7 }, { maxLen: 1, approximate: true, limit: 10 }), ID);
    assert.ok(await client.xLen(y) >= 1);
  },
);

each("xRange and xRevRange with bounds and counts", async ({ client, v }) => {
  const x = prefix() + "x";
  for (let i = 1; i <= 4; i++) {
    await client.xAdd(x, { n: `${i}`, sq: `${i * i}` }, { id: `${i}-0` });
  }
  eq(
    await client.xRange(x),
    [1, 2, 3, 4].map((i) => entry(`${i}-0`, v, { n: `${i}`, sq: `${i * i}` })),
  );
  eq(
    await client.xRange(x, "2", "3"),
    [2, 3].map((i) => entry(`${i}-0`, v, { n: `${i}`, sq: `${i * i}` })),
  );
  eq(await client.xRange(x, "(2-0", "+", { count: 1 }), [entry("3-0", v, { n: "3", sq: "9" })]);
  eq(await client.xRevRange(x, "+", "-", { count: 2 }).then((r) => r.map((e) => e.id)), [
    "4-0",
    "3-0",
  ]);
  eq(await client.xRevRange(x, "2-0").then((r) => r.map((e) => e.id)), ["2-0", "1-0"]);
  eq(await client.xRange(x, "5", "+"), []);
  eq(await client.xRange(prefix() + "missing"), []);
  const [first] = await client.xRange(x, "-", "+", { count: 1 });
  assert.ok(first.fields instanceof Map);
  assert.deepStrictEqual([...first.fields.keys()], ["n", "sq"], "field order is kept");
});

each("xRead from several streams; null when there is nothing", async ({ client, v }) => {
  const p = prefix();
  await client.xAdd(p + "a", { k: "a1" }, { id: "1-0" });
  await client.xAdd(p + "a", { k: "a2" }, { id: "2-0" });
  await client.xAdd(p + "b", { k: "b1" }, { id: "1-0" });
  eq(
    await client.xRead({ streams: { [p + "a"]: "0", [p + "b"]: "0" } }),
    new Map([
      [p + "a", [entry("1-0", v, { k: "a1" }), entry("2-0", v, { k: "a2" })]],
      [p + "b", [entry("1-0", v, { k: "b1" })]],
    ]),
  );
  eq(
    await client.xRead({ streams: new Map([[p + "a", "1-0"], [p + "b", "1-0"]]), count: 5 }),
    new Map([[p + "a", [entry("2-0", v, { k: "a2" })]]]),
    "streams without new entries are left out",
  );
  eq(
    await client.xRead({ streams: { [p + "a"]: "0" }, count: 1 }),
    new Map([[p + "a", [entry("1-0", v, { k: "a1" })]]]),
  );
  assert.equal(await client.xRead({ streams: { [p + "a"]: "$", [p + "none"]: "0" } }), null);
  assert.throws(() => client.xRead({ streams: {} }), TypeError);
});

each(
  "xRead with block wakes on xAdd from another client; null on timeout",
  async ({ client, v, fresh }) => {
    const x = prefix() + "x";
    const blocker = await fresh();
    try {
      const pending = blocker.xRead({ streams: { [x]: "$" }, block: 5000 });
      await waitUntilBlocked(observer(), "xread");
      await client.xAdd(x, { hello: "world" }, { id: "7-1" });
      eq(await pending, new Map([[x, [entry("7-1", v, { hello: "world" })]]]));
      const started = Date.now();
      assert.equal(await blocker.xRead({ streams: { [x]: "$" }, block: 100 }), null);
      assert.ok(Date.now() - started >= 80);
      eq(
        await blocker.xRead({ streams: { [x]: "0" }, block: 0 }),
        new Map([[x, [entry("7-1", v, { hello: "world" })]]]),
      );
    } finally {
      await blocker.close();
    }
  },
);

each(
  "consumer groups: create, read, pending, ack, consumers, setid, destroy",
  async ({ client, v }) => {
    const x = prefix() + "x";
    assert.equal(await client.xGroupCreate(x, "g", "0", { mkStream: true }), true);
    await assert.rejects(
      client.xGroupCreate(x, "g"),
      (e) => e instanceof RedisError && e.serverCode === "BUSYGROUP",
    );
    await assert.rejects(client.xGroupCreate(prefix() + "missing", "g"), RedisError);
    assert.deepStrictEqual(await client.xPending(x, "g"), {
      count: 0,
      minId: null,
      maxId: null,
      consumers: [],
    });
    for (let i = 1; i <= 3; i++) {
      await client.xAdd(x, { n: `${i}` }, { id: `${i}-0` });
    }
    eq(
      await client.xReadGroup("g", "alice", { streams: { [x]: ">" }, count: 2 }),
      new Map([[x, [entry("1-0", v, { n: "1" }), entry("2-0", v, { n: "2" })]]]),
    );
    eq(
      await client.xReadGroup("g", "bob", { streams: { [x]: ">" } }),
      new Map([[x, [entry("3-0", v, { n: "3" })]]]),
    );
    assert.equal(await client.xReadGroup("g", "bob", { streams: { [x]: ">" } }), null);
    assert.deepStrictEqual(await client.xPending(x, "g"), {
      count: 3,
      minId: "1-0",
      maxId: "3-0",
      consumers: [{ name: "alice", pending: 2 }, { name: "bob", pending: 1 }],
    });
    assert.equal(await client.xAck(x, "g", "1-0", "9-0"), 1);
    assert.equal(await client.xDel(x, "2-0"), 1);
    eq(
      await client.xReadGroup("g", "alice", { streams: { [x]: "0" } }),
      new Map([[x, [{ id: "2-0", fields: null }]]]),
      "a deleted pending entry comes back with null fields",
    );
    assert.equal(await client.xGroupCreateConsumer(x, "g", "carol"), true);
    assert.equal(await client.xGroupCreateConsumer(x, "g", "carol"), false);
    assert.equal(await client.xGroupDelConsumer(x, "g", "bob"), 1);
    assert.equal(await client.xGroupDelConsumer(x, "g", "carol"), 0);
    assert.equal(await client.xGroupSetId(x, "g", "0"), true);
    eq(
      await client.xReadGroup("g", "dave", { streams: { [x]: ">" }, noAck: true }),
      new Map([[x, [entry("1-0", v, { n: "1" }), entry("3-0", v, { n: "3" })]]]),
    );
    assert.equal((await client.xPending(x, "g")).count, 1, "noAck entries are not pending");
    assert.equal(await client.xGroupDestroy(x, "g"), true);
    assert.equal(await client.xGroupDestroy(x, "g"), false);
    await assert.rejects(
      client.xReadGroup("g", "a", { streams: { [x]: ">" } }),
      (e) => e instanceof RedisError && e.serverCode === "NOGROUP",
    );
  },
);

each(
  "xReadGroup with block wakes on xAdd from another client; null on timeout",
  async ({ client, v, fresh }) => {
    const x = prefix() + "x";
    await client.xGroupCreate(x, "g", "$", { mkStream: true });
    const blocker = await fresh();
    try {
      const pending = blocker.xReadGroup("g", "c", { streams: { [x]: ">" }, block: 0 });
      await waitUntilBlocked(observer(), "xreadgroup");
      await client.xAdd(x, { job: "1" }, { id: "5-0" });
      eq(await pending, new Map([[x, [entry("5-0", v, { job: "1" })]]]));
      assert.equal(await blocker.xReadGroup("g", "c", { streams: { [x]: ">" }, block: 50 }), null);
    } finally {
      await blocker.close();
    }
  },
);

each("xDel and xTrim", async ({ client }) => {
  const x = prefix() + "x";
  for (let i = 1; i <= 6; i++) await client.xAdd(x, { i }, { id: `${i}-0` });
  assert.equal(await client.xDel(x, "1-0", "9-0"), 1);
  assert.equal(await client.xDel(prefix() + "missing", "1-0"), 0);
  assert.equal(await client.xTrim(x, { maxLen: 3 }), 2);
  assert.equal(await client.xTrim(x, { minId: "5-0" }), 1);
  assert.equal(await client.xTrim(x, { maxLen: 1, approximate: true }), 0, "~ keeps whole nodes");
  assert.equal(await client.xTrim(x, { maxLen: 1, approximate: true, limit: 10 }), 0);
  assert.deepStrictEqual((await client.xRange(x)).map((e) => e.id), ["5-0", "6-0"]);
  assert.throws(() => client.xTrim(x, {}), TypeError);
});

each("xInfoStream", async ({ client, v }) => {
  const x = prefix() + "x";
  await client.xAdd(x, { a: "1" }, { id: "1-0" });
  await client.xAdd(x, { b: "2" }, { id: "2-0" });
  await client.xGroupCreate(x, "g", "0");
  const info = await client.xInfoStream(x);
  assert.equal(info.length, 2);
  assert.equal(info.groups, 1);
  assert.equal(info.lastGeneratedId, "2-0");
  eq(info.firstEntry, entry("1-0", v, { a: "1" }));
  eq(info.lastEntry, entry("2-0", v, { b: "2" }));
  assert.equal(info.raw.get("length"), 2);
  assert.ok(info.raw.has("radix-tree-keys"));
  await client.xDel(x, "1-0", "2-0");
  const empty = await client.xInfoStream(x);
  assert.equal(empty.length, 0);
  assert.equal(empty.firstEntry, null);
  assert.equal(empty.lastEntry, null);
  await assert.rejects(client.xInfoStream(prefix() + "missing"), RedisError);
});

each("WRONGTYPE surfaces as a rejected RedisError", async ({ client }) => {
  const k = prefix() + "str";
  await client.set(k, "x");
  await assert.rejects(client.xAdd(k, { a: 1 }), isWrongType);
  await assert.rejects(client.xRange(k), isWrongType);
  await assert.rejects(client.xRead({ streams: { [k]: "0" } }), isWrongType);
});

each("pipeline results are typed like direct calls", async ({ client, v }) => {
  const x = prefix() + "x";
  const results = await client.pipeline()
    .xAdd(x, { a: "1" }, { id: "1-0" })
    .xAdd(x, { b: "2" }, { id: "2-0" })
    .xLen(x)
    .xRange(x, "-", "+", { count: 1 })
    .xRead({ streams: { [x]: "1-0" } })
    .xRead({ streams: { [x]: "$" }, block: 10 })
    .xGroupCreate(x, "g", "0")
    .xReadGroup("g", "c", { streams: { [x]: ">" }, count: 1 })
    .xPending(x, "g")
    .xAck(x, "g", "1-0")
    .exec();
  eq(results, [
    "1-0",
    "2-0",
    2,
    [entry("1-0", v, { a: "1" })],
    new Map([[x, [entry("2-0", v, { b: "2" })]]]),
    null,
    true,
    new Map([[x, [entry("1-0", v, { a: "1" })]]]),
    { count: 1, minId: "1-0", maxId: "1-0", consumers: [{ name: "c", pending: 1 }] },
    1,
  ]);
  const [range, read] = await client.pipeline().xRevRange(x).xRead({ streams: { [x]: "0" } })
    .exec();
  eq(range, await client.xRevRange(x));
  eq(read, await client.xRead({ streams: { [x]: "0" } }));
});
