// Tests of the extra string commands (src/redis/commands/strings_more.ts) against a real
// redis-server, in RESP2 (flat arrays) and RESP3 (maps): LCS, BITFIELD, BITFIELD_RO, SUBSTR.

import assert from "node:assert/strict";
import { eq, isWrongType, prefix, redisModes } from "../_helpers/redis_modes.ts";

const { each } = redisModes("strings more");

each("lcs, lcsLen, lcsIdx with minMatchLen and withMatchLen", async ({ client, v }) => {
  const p = prefix();
  await client.mSet({ [p + "a"]: "ohmytext", [p + "b"]: "mynewtext" });
  eq(await client.lcs(p + "a", p + "b"), v("mytext"));
  assert.equal(await client.lcsLen(p + "a", p + "b"), 6);
  assert.deepStrictEqual(await client.lcsIdx(p + "a", p + "b"), {
    matches: [{ a: [4, 7], b: [5, 8] }, { a: [2, 3], b: [0, 1] }],
    length: 6,
  });
  assert.deepStrictEqual(
    await client.lcsIdx(p + "a", p + "b", { minMatchLen: 4, withMatchLen: true }),
    {
      matches: [{ a: [4, 7], b: [5, 8], length: 4 }],
      length: 6,
    },
  );
  eq(await client.lcs(p + "a", p + "none"), v(""));
});

each("bitField: set, get, incrby, overflow; bitFieldRo", async ({ client }) => {
  const k = prefix() + "f";
  assert.deepStrictEqual(await client.bitField(k, [["SET", "u8", 0, 200], ["GET", "u8", 0]]), [
    0,
    200,
  ]);
  assert.deepStrictEqual(
    await client.bitField(k, [["INCRBY", "u8", 0, 100]]),
    [44],
    "wraps by default",
  );
  assert.deepStrictEqual(
    await client.bitField(k, [["OVERFLOW", "FAIL"], ["INCRBY", "u8", 0, 250], ["OVERFLOW", "SAT"], [
      "INCRBY",
      "u8",
      "#1",
      300,
    ]]),
    [null, 255],
  );
  assert.deepStrictEqual(
    await client.bitField(k, [["SET", "i64", 64, 2n ** 62n], ["GET", "i64", 64]]),
    [
      0,
      2n ** 62n,
    ],
  );
  assert.deepStrictEqual(await client.bitFieldRo(k, [["u8", 0], ["u8", "#1"], ["i64", 64]]), [
    44,
    255,
    2n ** 62n,
  ]);
  assert.deepStrictEqual(await client.bitFieldRo(prefix() + "none", [["u4", 0]]), [0]);
});

each("substr", async ({ client, v }) => {
  const k = prefix() + "s";
  await client.set(k, "This is a string");
  eq(await client.substr(k, 0, 3), v("This"));
  eq(await client.substr(k, -3, -1), v("ing"));
});

each("WRONGTYPE and pipelines", async ({ client, v }) => {
  const p = prefix();
  await client.lPush(p + "l", "x");
  await assert.rejects(client.lcs(p + "l", p + "l"), /must contain string values/);
  await assert.rejects(client.bitField(p + "l", [["GET", "u8", 0]]), isWrongType);
  const results = await client.pipeline()
    .mSet({ [p + "a"]: "abc", [p + "b"]: "xbc" })
    .lcs(p + "a", p + "b")
    .lcsIdx(p + "a", p + "b")
    .bitField(p + "f", [["INCRBY", "i8", 0, -1]])
    .exec();
  eq(results, [true, v("bc"), { matches: [{ a: [1, 2], b: [1, 2] }], length: 2 }, [-1]]);
});
