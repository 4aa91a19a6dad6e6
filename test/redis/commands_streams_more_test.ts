// Tests of the extra stream commands (src/redis/commands/streams_more.ts) against a real
// redis-server, in RESP2 (flat arrays) and RESP3 (maps): claiming, group info, XSETID.

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, prefix, redisModes } from "../_helpers/redis_modes.ts";

const { each } = redisModes("streams more");

/** A stream with two entries delivered to consumer `c1` of group `g`. */
async function pending(client: {
  xAdd(k: string, f: Record<string, string>, o: { id: string }): Promise<unknown>;
  xGroupCreate(k: string, g: string, id: string): Promise<unknown>;
  xReadGroup(g: string, c: string, o: { streams: Record<string, string> }): Promise<unknown>;
}): Promise<string> {
  const x = prefix() + "x";
  await client.xAdd(x, { a: "1" }, { id: "1-1" });
  await client.xAdd(x, { b: "2" }, { id: "2-1" });
  await client.xGroupCreate(x, "g", "0");
  await client.xReadGroup("g", "c1", { streams: { [x]: ">" } });
  return x;
}

each("xClaim and xClaimJustId move pending entries", async ({ client, v }) => {
  const x = await pending(client);
  const claimed = await client.xClaim(x, "g", "c2", 0, ["1-1", "9-9"], { retryCount: 5 });
  eq(claimed, [{ id: "1-1", fields: new Map([["a", v("1")]]) }]);
  eq(await client.xClaimJustId(x, "g", "c2", 0, ["2-1"], { idle: 1000 }), ["2-1"]);
  eq(await client.xClaim(x, "g", "c3", 3_600_000, ["1-1"]), [], "not idle long enough");
  const consumers = await client.xInfoConsumers(x, "g");
  const c2 = consumers.find((c) => c.name === "c2");
  assert.equal(c2?.pending, 2);
  assert.equal(typeof c2?.idle, "number");
  assert.equal(consumers.find((c) => c.name === "c1")?.pending, 0);
});

each("xAutoClaim and xAutoClaimJustId page through pending entries", async ({ client, v }) => {
  const x = await pending(client);
  const first = await client.xAutoClaim(x, "g", "c2", 0, "0-0", { count: 1 });
  eq(first.claimed, [{ id: "1-1", fields: new Map([["a", v("1")]]) }]);
  assert.equal(first.nextId, "2-1");
  assert.deepStrictEqual(first.deletedIds, []);
  await client.xDel(x, "2-1");
  const rest = await client.xAutoClaimJustId(x, "g", "c3", 0, first.nextId);
  assert.deepStrictEqual(rest, { nextId: "0-0", claimed: [], deletedIds: ["2-1"] });
  assert.deepStrictEqual((await client.xAutoClaimJustId(x, "g", "c3", 0, "0-0")).claimed, ["1-1"]);
});

each("xInfoGroups and xSetId", async ({ client }) => {
  const x = await pending(client);
  assert.deepStrictEqual(await client.xInfoGroups(x), [{
    name: "g",
    consumers: 1,
    pending: 2,
    lastDeliveredId: "2-1",
    entriesRead: 2,
    lag: 0,
  }]);
  assert.equal(await client.xSetId(x, "5-0", { entriesAdded: 10, maxDeletedId: "3-0" }), true);
  const info = await client.xInfoStream(x);
  assert.equal(info.lastGeneratedId, "5-0");
  await assert.rejects(client.xSetId(x, "1-0"), RedisError, "smaller than the top item");
});
