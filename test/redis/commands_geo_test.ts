// Tests of the typed geo commands (src/redis/commands/geo.ts) against a real redis-server:
// positions and distances are numbers in RESP2 (bulk text) and RESP3 alike.

import assert from "node:assert/strict";
import { eq, isWrongType, prefix, redisModes, sorted } from "../_helpers/redis_modes.ts";

const { each } = redisModes("geo");

const PLACES = [
  { longitude: 13.361389, latitude: 38.115556, member: "Palermo" },
  { longitude: 15.087269, latitude: 37.502669, member: "Catania" },
];

const near = (actual: number | undefined, expected: number, digits = 3): void =>
  assert.ok(Math.abs((actual ?? NaN) - expected) < 10 ** -digits, `${actual} ≈ ${expected}`);

each("geoAdd, geoDist, geoHash, geoPos", async ({ client }) => {
  const k = prefix() + "g";
  assert.equal(await client.geoAdd(k, PLACES), 2);
  assert.equal(await client.geoAdd(k, [{ ...PLACES[0], longitude: 13.4 }], { ch: true }), 1);
  assert.equal(await client.geoAdd(k, [PLACES[0]], { xx: true }), 0);
  assert.equal(await client.geoAdd(k, [{ ...PLACES[1], member: "x" }], { nx: true }), 1);
  near((await client.geoDist(k, "Palermo", "Catania", "km"))!, 166.2742, 3);
  near((await client.geoDist(k, "Palermo", "Catania"))!, 166274.1516, 2);
  assert.equal(await client.geoDist(k, "Palermo", "nowhere"), null);
  assert.deepStrictEqual(await client.geoHash(k, "Palermo", "nowhere"), ["sqc8b49rny0", null]);
  const [pos, missing] = await client.geoPos(k, "Palermo", "nowhere");
  near(pos![0], 13.361389, 5);
  near(pos![1], 38.115556, 5);
  assert.equal(missing, null);
  assert.throws(() => client.geoAdd(k, []), TypeError);
});

each("geoSearch by radius and box, with dist, hash and coordinates", async ({ client, v }) => {
  const k = prefix() + "g";
  await client.geoAdd(k, PLACES);
  const circle = { radius: 200, unit: "km" } as const;
  const origin = { longitude: 15, latitude: 37 };
  eq(sorted((await client.geoSearch(k, origin, circle)).map((r) => r.member)), [
    v("Catania"),
    v("Palermo"),
  ]);
  const full = await client.geoSearch(k, origin, circle, {
    order: "ASC",
    withDist: true,
    withHash: true,
    withCoord: true,
  });
  eq(full.map((r) => r.member), [v("Catania"), v("Palermo")]);
  near(full[0].distance, 56.4413, 3);
  assert.equal(full[0].hash, 3479447370796909);
  near(full[0].longitude, 15.087269, 5);
  near(full[1].latitude, 38.115556, 5);
  const box = await client.geoSearch(
    k,
    { member: "Palermo" },
    { width: 400, height: 400, unit: "km" },
    { order: "DESC", count: 1, withDist: true },
  );
  eq(box.map((r) => r.member), [v("Catania")]);
  near(box[0].distance, 166.2742, 3);
  assert.equal(box[0].hash, undefined);
  assert.throws(() => client.geoSearch(k, origin, circle, { any: true }), TypeError);
});

each("geoSearchStore, geoRadius and the _RO forms", async ({ client, v }) => {
  const p = prefix();
  await client.geoAdd(p + "g", PLACES);
  const origin = { longitude: 15, latitude: 37 };
  assert.equal(
    await client.geoSearchStore(p + "d", p + "g", origin, { radius: 100, unit: "km" }),
    1,
  );
  eq(await client.zRange(p + "d", 0, -1), [v("Catania")]);
  assert.equal(
    await client.geoSearchStore(p + "s", p + "g", origin, { radius: 200, unit: "km" }, {
      order: "ASC",
      storeDist: true,
    }),
    2,
  );
  near((await client.zScore(p + "s", "Catania"))!, 56.4413, 3);
  const ro = await client.geoRadiusRo(p + "g", 15, 37, 200, "km", { order: "ASC", withDist: true });
  eq(ro.map((r) => r.member), [v("Catania"), v("Palermo")]);
  near(ro[1].distance, 190.4424, 3);
  eq(await client.geoRadius(p + "g", 15, 37, 100, "km"), [{ member: v("Catania") }]);
  const byMember = await client.geoRadiusByMemberRo(p + "g", "Palermo", 200, "km", {
    order: "ASC",
    withCoord: true,
  });
  eq(byMember.map((r) => r.member), [v("Palermo"), v("Catania")]);
  near(byMember[1].longitude, 15.087269, 5);
  eq(await client.geoRadiusByMember(p + "g", "Catania", 1, "km"), [{ member: v("Catania") }]);
});

each("WRONGTYPE and pipelines", async ({ client, v }) => {
  const p = prefix();
  await client.set(p + "s", "x");
  await assert.rejects(client.geoAdd(p + "s", PLACES), isWrongType);
  const [added, dist, found] = await client.pipeline()
    .geoAdd(p + "g", PLACES)
    .geoDist(p + "g", "Palermo", "Catania", "km")
    .geoSearch(p + "g", { member: "Catania" }, { radius: 1, unit: "km" })
    .exec();
  assert.equal(added, 2);
  near(dist as number, 166.2742, 3);
  eq(found, [{ member: v("Catania") }]);
});
