// Tests of the CLIENT subcommands (src/redis/commands/client_commands.ts) against a real
// redis-server, in RESP2 and RESP3 (CLIENT INFO comes as a verbatim string in RESP3).

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { prefix, redisModes } from "../_helpers/redis_modes.ts";
import { waitUntilBlocked } from "../_helpers/redis_blocked.ts";

const { each, observer } = redisModes("client");

each("clientInfo and clientList parse the connection lines", async ({ client, protocol }) => {
  const info = await client.clientInfo();
  assert.equal(info.id, await client.clientId());
  assert.equal(info.resp, protocol);
  assert.equal(info.db, 0);
  assert.equal(info.cmd, "client|info");
  assert.equal(typeof info.addr, "string");
  assert.equal(typeof info["qbuf-free"], "number");
  const all = await client.clientList();
  assert.ok(all.some((e) => e.id === info.id));
  const mine = await client.clientList({ ids: [info.id] });
  assert.deepStrictEqual(mine.map((e) => e.id), [info.id]);
  assert.equal(mine[0].cmd, "client|list");
  assert.ok((await client.clientList({ type: "normal" })).length >= 1);
  assert.deepStrictEqual(await client.clientList({ type: "pubsub" }), []);
  assert.throws(() => client.clientList({ ids: [] }), RangeError);
});

each("clientKill by id and by filters", async ({ client, fresh }) => {
  const victim = await fresh();
  try {
    const name = "victim" + crypto.randomUUID().slice(0, 8);
    await victim.clientSetName(name);
    const [entry] = (await client.clientList()).filter((e) => e.name === name);
    assert.ok(entry, "the victim is listed under its name");
    assert.equal(await client.clientKill({ id: entry.id, type: "normal", skipMe: true }), 1);
    assert.equal(await client.clientKill({ id: entry.id }), 0, "already gone");
    assert.equal(await client.clientKill({ id: await client.clientId() }), 0, "SKIPME spares us");
    assert.throws(() => client.clientKill({}), TypeError);
    assert.equal(await victim.ping(), "PONG", "the victim reconnects");
  } finally {
    await victim.close();
  }
});

each(
  "clientUnblock wakes a blocked command with a timeout or an error",
  async ({ client, fresh }) => {
    const blocker = await fresh();
    try {
      const k = prefix() + "l";
      const waiting = blocker.blPop(k, 30);
      await waitUntilBlocked(observer(), "blpop");
      const [blocked] = (await client.clientList()).filter((e) => e.cmd === "blpop");
      assert.equal(await client.clientUnblock(blocked.id), true);
      assert.equal(await waiting, null, "unblocked as by a timeout");
      assert.equal(await client.clientUnblock(blocked.id), false, "not blocked any more");
      const failing = blocker.blPop(k, 30);
      await waitUntilBlocked(observer(), "blpop");
      const [again] = (await client.clientList()).filter((e) => e.cmd === "blpop");
      assert.equal(await client.clientUnblock(again.id, "ERROR"), true);
      await assert.rejects(failing, (e) => e instanceof RedisError && e.serverCode === "UNBLOCKED");
    } finally {
      await blocker.close();
    }
  },
);

each(
  "clientPause, clientUnpause, clientNoEvict, clientGetRedir, clientTrackingInfo",
  async ({ client }) => {
    try {
      assert.equal(await client.clientPause(10_000, "WRITE"), true);
      assert.equal(await client.get(prefix() + "k"), null, "reads run during a WRITE pause");
    } finally {
      assert.equal(await client.clientUnpause(), true);
    }
    assert.equal(await client.set(prefix() + "k", "v"), true);
    assert.equal(await client.clientNoEvict(true), true);
    assert.equal(await client.clientNoEvict(false), true);
    assert.equal(await client.clientGetRedir(), -1);
    assert.deepStrictEqual(await client.clientTrackingInfo(), {
      flags: ["off"],
      redirect: -1,
      prefixes: [],
    });
  },
);

each(
  "clientTracking and clientCaching on a connection of their own",
  async ({ client, fresh, protocol }) => {
    const tracked = await fresh();
    try {
      const redirect = protocol === 2 ? { redirect: await client.clientId() } : {};
      assert.equal(
        await tracked.clientTracking(true, { ...redirect, optIn: true, noLoop: true }),
        true,
      );
      const info = await tracked.clientTrackingInfo();
      assert.deepStrictEqual([...info.flags].sort(), ["noloop", "on", "optin"]);
      assert.equal(info.redirect, protocol === 2 ? await client.clientId() : 0);
      assert.equal(await tracked.clientCaching(true), true);
      assert.equal(await tracked.clientTracking(false), true);
      await assert.rejects(tracked.clientCaching(true), /CLIENT CACHING can be called only/);
      const p = prefix();
      assert.equal(
        await tracked.clientTracking(true, {
          ...redirect,
          bcast: true,
          prefixes: [p + "a", p + "b"],
        }),
        true,
      );
      const broadcast = await tracked.clientTrackingInfo();
      assert.ok(broadcast.flags.includes("bcast"));
      assert.deepStrictEqual([...broadcast.prefixes].sort(), [p + "a", p + "b"]);
      assert.equal(await tracked.clientTracking(false), true);
      assert.throws(() => tracked.clientTracking(true, { prefixes: ["x"] }), TypeError);
      assert.throws(() => tracked.clientTracking(true, { optIn: true, optOut: true }), TypeError);
    } finally {
      await tracked.close();
    }
  },
);

each("pipelines", async ({ client }) => {
  const [info, list] = await client.pipeline().clientInfo().clientList({ type: "normal" }).exec();
  assert.equal(typeof (info as { id: number }).id, "number");
  assert.ok(Array.isArray(list));
});
