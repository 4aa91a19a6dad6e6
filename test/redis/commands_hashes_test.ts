// Tests of the typed hash commands (src/redis/commands/hashes.ts) against a real redis-server,
// in RESP2 and RESP3, with bytes and decoded values (https://redis.io/docs/latest/commands/).

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, isWrongType, norm, prefix, redisModes, sorted } from "../_helpers/redis_modes.ts";

const { each } = redisModes("hashes");
const te = new TextEncoder();

// ---- tests ----

each(
  "hSet from an object, a Map and one field; hGet, hmGet, hGetAll",
  async ({ client, v, protocol }) => {
    assert.equal(client.protocol, protocol);
    const h = prefix() + "h";
    assert.equal(await client.hSet(h, { a: "1", b: 2 }), 2);
    assert.equal(
      await client.hSet(h, new Map<string, string | number>([["b", "two"], ["c", 3]])),
      1,
    );
    assert.equal(await client.hSet(h, "d", "4"), 1);
    assert.equal(await client.hSet(h, te.encode("d"), "four"), 0);
    eq(await client.hGet(h, "a"), v("1"));
    eq(await client.hGet(h, "b"), v("two"));
    assert.equal(await client.hGet(h, "nope"), null);
    assert.equal(await client.hGet(prefix() + "missing", "a"), null);
    eq(await client.hmGet(h, "a", "nope", "d"), [v("1"), null, v("four")]);
    eq(
      await client.hGetAll(h),
      new Map([["a", v("1")], ["b", v("two")], ["c", v("3")], ["d", v("four")]]),
    );
    const all = await client.hGetAll(h);
    assert.ok(all instanceof Map);
    assert.deepStrictEqual([...all.keys()].sort(), ["a", "b", "c", "d"]);
    eq(await client.hGetAll(prefix() + "missing"), new Map());
  },
);

each("hSetNx, hDel, hExists, hLen, hKeys, hVals, hStrLen", async ({ client, v }) => {
  const h = prefix() + "h";
  assert.equal(await client.hSetNx(h, "f", "x"), true);
  assert.equal(await client.hSetNx(h, "f", "y"), false);
  eq(await client.hGet(h, "f"), v("x"));
  await client.hSet(h, { g: "hello", k: "" });
  assert.equal(await client.hExists(h, "g"), true);
  assert.equal(await client.hExists(h, "zz"), false);
  assert.equal(await client.hLen(h), 3);
  assert.equal(await client.hLen(prefix() + "missing"), 0);
  eq(sorted(await client.hKeys(h)), [v("f"), v("g"), v("k")]);
  eq(sorted(await client.hVals(h)), [v(""), v("hello"), v("x")]);
  eq(await client.hKeys(prefix() + "missing"), []);
  assert.equal(await client.hStrLen(h, "g"), 5);
  assert.equal(await client.hStrLen(h, "zz"), 0);
  assert.equal(await client.hDel(h, "f", "zz"), 1);
  assert.equal(await client.hDel(h, "g", "k"), 2);
  assert.equal(await client.exists(h), 0, "deleting the last field deletes the key");
});

each("hIncrBy and hIncrByFloat", async ({ client, v }) => {
  const h = prefix() + "h";
  assert.equal(await client.hIncrBy(h, "n", 5), 5);
  assert.equal(await client.hIncrBy(h, "n", -7n), -2);
  assert.equal(await client.hIncrByFloat(h, "x", 1.5), 1.5);
  assert.equal(await client.hIncrByFloat(h, "x", 0.25), 1.75);
  assert.equal(await client.hIncrByFloat(h, "n", 0.5), -1.5);
  eq(await client.hGet(h, "x"), v("1.75"));
  await client.hSet(h, "s", "abc");
  await assert.rejects(client.hIncrBy(h, "s", 1), (e) => e instanceof RedisError);
});

each("hRandField: one, a count, with values, on a missing key", async ({ client, v }) => {
  const h = prefix() + "h";
  await client.hSet(h, { a: "1", b: "2", c: "3" });
  const one = await client.hRandField(h);
  assert.ok(one !== null);
  assert.ok(["a", "b", "c"].some((f) => JSON.stringify(norm(v(f))) === JSON.stringify(norm(one))));
  eq(sorted(await client.hRandField(h, 5)), [v("a"), v("b"), v("c")]);
  assert.equal((await client.hRandField(h, -5)).length, 5, "a negative count allows repeats");
  eq(
    sorted(await client.hRandField(h, 3, { withValues: true })),
    [[v("a"), v("1")], [v("b"), v("2")], [v("c"), v("3")]],
  );
  eq(await client.hRandField(h, 2, { withValues: false }).then((r) => r.length), 2);
  const missing = prefix() + "missing";
  assert.equal(await client.hRandField(missing), null);
  eq(await client.hRandField(missing, 2), []);
  eq(await client.hRandField(missing, 2, { withValues: true }), []);
});

each("hScan walks every field/value pair", async ({ client, v }) => {
  const h = prefix() + "h";
  const fields: Record<string, string> = {};
  for (let i = 0; i < 300; i++) fields[`f${i}`] = `v${i}`;
  await client.hSet(h, fields);
  const seen = new Map<string, unknown>();
  let cursor = "0";
  do {
    const page = await client.hScan(h, cursor, { count: 50 });
    assert.equal(typeof page.cursor, "string");
    for (const [f, value] of page.items) seen.set(JSON.stringify(norm(f)), norm(value));
    cursor = page.cursor;
  } while (cursor !== "0");
  assert.equal(seen.size, 300);
  assert.deepStrictEqual(seen.get(JSON.stringify(norm(v("f7")))), norm(v("v7")));
  const matched = await client.hScan(h, 0, { match: "f1?", count: 1000 });
  assert.equal(matched.cursor, "0");
  eq(sorted(matched.items).slice(0, 2), [[v("f10"), v("v10")], [v("f11"), v("v11")]]);
  assert.equal(matched.items.length, 10);
  eq(await client.hScan(prefix() + "missing", 0), { cursor: "0", items: [] });
});

each("hmSet, the deprecated HMSET, sets every field", async ({ client, v }) => {
  const k = prefix() + "h";
  assert.equal(await client.hmSet(k, { a: "1", b: 2 }), true);
  assert.equal(await client.hmSet(k, new Map([["b", "3"]])), true);
  eq(await client.hmGet(k, "a", "b"), [v("1"), v("3")]);
  assert.throws(() => client.hmSet(k, {}), TypeError);
});

each("WRONGTYPE surfaces as a rejected RedisError", async ({ client }) => {
  const k = prefix() + "str";
  await client.set(k, "x");
  await assert.rejects(client.hGet(k, "f"), isWrongType);
  await assert.rejects(client.hSet(k, { f: 1 }), isWrongType);
  await assert.rejects(client.hGetAll(k), isWrongType);
});

each("pipeline results are typed like direct calls", async ({ client, v }) => {
  const h = prefix() + "h";
  const results = await client.pipeline()
    .hSet(h, { a: "1", b: "2" })
    .hGet(h, "a")
    .hmGet(h, "a", "zz")
    .hGetAll(h)
    .hIncrByFloat(h, "b", 0.5)
    .hRandField(h, 2, { withValues: true })
    .hExists(h, "zz")
    .exec();
  assert.equal(results.length, 7);
  assert.equal(results[0], 2);
  eq(results[1], v("1"));
  eq(results[2], [v("1"), null]);
  eq(results[3], new Map([["a", v("1")], ["b", v("2")]]));
  assert.equal(results[4], 2.5);
  eq(sorted(results[5] as unknown[]), [[v("a"), v("1")], [v("b"), v("2.5")]]);
  assert.equal(results[6], false);
  const [all, values] = await client.pipeline().hGetAll(h).hmGet(h, "a", "zz").exec();
  eq(all, await client.hGetAll(h));
  eq(values, await client.hmGet(h, "a", "zz"));
  eq(all, new Map([["a", v("1")], ["b", v("2.5")]]));
});
