// Tests of the typed set commands (src/redis/commands/sets.ts) against a real redis-server, in
// RESP2 (arrays) and RESP3 (`~` sets), bytes and decoded (https://redis.io/docs/latest/commands/).

import assert from "node:assert/strict";
import { eq, isWrongType, norm, prefix, redisModes, sorted } from "../_helpers/redis_modes.ts";

const { each } = redisModes("sets");
const te = new TextEncoder();

// ---- tests ----

each("sAdd, sRem, sMembers, sIsMember, smIsMember, sCard", async ({ client, v, protocol }) => {
  assert.equal(client.protocol, protocol);
  const s = prefix() + "s";
  const missing = prefix() + "missing";
  assert.equal(await client.sAdd(s, "a", "b", "c", 1), 4);
  assert.equal(await client.sAdd(s, "a", te.encode("d")), 1);
  eq(sorted(await client.sMembers(s)), ["1", "a", "b", "c", "d"].map(v));
  eq(await client.sMembers(missing), []);
  assert.equal(await client.sIsMember(s, "a"), true);
  assert.equal(await client.sIsMember(s, "z"), false);
  assert.equal(await client.sIsMember(missing, "a"), false);
  assert.deepStrictEqual(await client.smIsMember(s, "a", "z", 1), [true, false, true]);
  assert.deepStrictEqual(await client.smIsMember(missing, "a"), [false]);
  assert.equal(await client.sCard(s), 5);
  assert.equal(await client.sCard(missing), 0);
  assert.equal(await client.sRem(s, "a", "z"), 1);
  assert.equal(await client.sRem(missing, "a"), 0);
  assert.equal(await client.sCard(s), 4);
});

each("sPop and sRandMember, with and without a count", async ({ client, v }) => {
  const s = prefix() + "s";
  const missing = prefix() + "missing";
  const all = ["a", "b", "c"].map(v);
  await client.sAdd(s, "a", "b", "c");
  const one = await client.sRandMember(s);
  assert.ok(all.some((x) => JSON.stringify(norm(x)) === JSON.stringify(norm(one))));
  eq(sorted(await client.sRandMember(s, 10)), all);
  assert.equal((await client.sRandMember(s, -7)).length, 7, "a negative count allows repeats");
  assert.equal(await client.sRandMember(missing), null);
  eq(await client.sRandMember(missing, 3), []);
  const popped = await client.sPop(s);
  assert.ok(popped !== null);
  const rest = await client.sPop(s, 10);
  eq(sorted([popped, ...rest]), all);
  assert.equal(await client.sPop(s), null);
  eq(
    await client.sPop(s, 2),
    [],
    "a count on a missing set gives an empty array in RESP2 and RESP3",
  );
});

each("sMove", async ({ client, v }) => {
  const p = prefix();
  await client.sAdd(p + "a", "x", "y");
  assert.equal(await client.sMove(p + "a", p + "b", "x"), true);
  assert.equal(await client.sMove(p + "a", p + "b", "x"), false);
  assert.equal(await client.sMove(p + "none", p + "b", "x"), false);
  eq(await client.sMembers(p + "a"), [v("y")]);
  eq(await client.sMembers(p + "b"), [v("x")]);
});

each("sDiff, sInter, sUnion, their STORE forms and sInterCard", async ({ client, v }) => {
  const p = prefix();
  await client.sAdd(p + "a", "1", "2", "3", "4");
  await client.sAdd(p + "b", "3", "4", "5");
  await client.sAdd(p + "c", "4", "6");
  eq(sorted(await client.sDiff(p + "a", p + "b")), [v("1"), v("2")]);
  eq(sorted(await client.sInter(p + "a", p + "b")), [v("3"), v("4")]);
  eq(await client.sInter(p + "a", p + "b", p + "c"), [v("4")]);
  eq(sorted(await client.sUnion(p + "b", p + "c")), ["3", "4", "5", "6"].map(v));
  eq(await client.sInter(p + "a", p + "none"), []);
  eq(sorted(await client.sDiff(p + "a", p + "none")), ["1", "2", "3", "4"].map(v));
  assert.equal(await client.sDiffStore(p + "d", p + "a", p + "b", p + "c"), 2);
  eq(sorted(await client.sMembers(p + "d")), [v("1"), v("2")]);
  assert.equal(await client.sInterStore(p + "i", p + "a", p + "b"), 2);
  eq(sorted(await client.sMembers(p + "i")), [v("3"), v("4")]);
  assert.equal(await client.sUnionStore(p + "u", p + "a", p + "c"), 5);
  assert.equal(await client.sInterStore(p + "i", p + "a", p + "none"), 0);
  assert.equal(await client.exists(p + "i"), 0, "an empty result deletes the destination");
  assert.equal(await client.sInterCard([p + "a", p + "b"]), 2);
  assert.equal(await client.sInterCard([p + "a", p + "b"], { limit: 1 }), 1);
  assert.equal(await client.sInterCard([p + "a", p + "none"]), 0);
});

each("sScan walks every member", async ({ client, v }) => {
  const s = prefix() + "s";
  const members = Array.from({ length: 300 }, (_, i) => `m${i}`);
  await client.sAdd(s, ...members);
  const seen = new Set<string>();
  let cursor: string = "0";
  do {
    const page = await client.sScan(s, cursor, { count: 40 });
    for (const m of page.items) seen.add(JSON.stringify(norm(m)));
    cursor = page.cursor;
  } while (cursor !== "0");
  assert.equal(seen.size, 300);
  assert.ok(seen.has(JSON.stringify(norm(v("m299")))));
  const matched = await client.sScan(s, 0, { match: "m1?", count: 1000 });
  assert.equal(matched.cursor, "0");
  eq(
    sorted(matched.items),
    ["m10", "m11", "m12", "m13", "m14", "m15", "m16", "m17", "m18", "m19"].map(v),
  );
  eq(await client.sScan(prefix() + "missing", 0), { cursor: "0", items: [] });
});

each("WRONGTYPE surfaces as a rejected RedisError", async ({ client }) => {
  const k = prefix() + "str";
  await client.set(k, "x");
  await assert.rejects(client.sAdd(k, "a"), isWrongType);
  await assert.rejects(client.sMembers(k), isWrongType);
  await assert.rejects(client.sInter(k, prefix() + "other"), isWrongType);
});

each("pipeline results are typed like direct calls", async ({ client, v }) => {
  const p = prefix();
  const results = await client.pipeline()
    .sAdd(p + "a", "x", "y")
    .sAdd(p + "b", "y", "z")
    .sMembers(p + "b")
    .smIsMember(p + "a", "x", "z")
    .sInter(p + "a", p + "b")
    .sPop(p + "none", 3)
    .sRandMember(p + "none")
    .sCard(p + "a")
    .exec();
  eq(
    [results[0], results[1], sorted(results[2] as unknown[]), ...results.slice(3)],
    [2, 2, [v("y"), v("z")], [true, false], [v("y")], [], null, 2],
  );
  const [members, union] = await client.pipeline().sMembers(p + "a").sUnion(p + "a", p + "b")
    .exec();
  eq(sorted(members as unknown[]), sorted(await client.sMembers(p + "a")));
  eq(sorted(union as unknown[]), sorted(await client.sUnion(p + "a", p + "b")));
});
