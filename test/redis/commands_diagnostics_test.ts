// Tests of SLOWLOG, MEMORY and LATENCY (src/redis/commands/diagnostics.ts) against a real
// redis-server, in RESP2 and RESP3 (numbers and text shaped the same in both).

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { prefix, redisModes } from "../_helpers/redis_modes.ts";

const { each } = redisModes("diagnostics");

/** A script that keeps the server busy for 10 ms (DEBUG SLEEP is disabled on the server). */
const BUSY_10MS = "local t = redis.call('TIME') repeat local n = redis.call('TIME') " +
  "until (n[1] - t[1]) * 1000000 + (n[2] - t[2]) >= 10000";

each("slowlogGet, slowlogLen, slowlogReset", async ({ client }) => {
  const before = await client.configGet("slowlog-log-slower-than");
  const maxLen = await client.configGet("slowlog-max-len");
  await client.configSet("slowlog-log-slower-than", 0);
  await client.configSet("slowlog-max-len", 100_000); // concurrent files must not push it out
  try {
    assert.equal(await client.slowlogReset(), true);
    // Other test files share the server and log their commands too: find this SET by its key.
    const key = prefix() + "slow";
    await client.set(key, "x");
    const entries = await client.slowlogGet(-1);
    const set = entries.find((e) => e.args[0] === "SET" && e.args[1] === key);
    assert.ok(set, "the SET was logged");
    assert.equal(set.args[2], "x");
    assert.equal(typeof set.id, "number");
    assert.ok(set.timestamp > 1_600_000_000 && set.durationMicros >= 0);
    assert.match(set.clientAddress, /:\d+$/);
    assert.equal(typeof set.clientName, "string");
    assert.ok((await client.slowlogLen()) >= 1);
    assert.equal((await client.slowlogGet(1)).length, 1);
  } finally {
    await client.configSet("slowlog-log-slower-than", before.get("slowlog-log-slower-than")!);
    await client.configSet("slowlog-max-len", maxLen.get("slowlog-max-len")!);
  }
});

each(
  "memoryUsage, memoryStats, memoryDoctor, memoryMallocStats, memoryPurge",
  async ({ client }) => {
    const k = prefix() + "k";
    await client.set(k, "x".repeat(1000));
    const usage = await client.memoryUsage(k, { samples: 0 });
    assert.ok(usage !== null && usage >= 1000);
    assert.equal(await client.memoryUsage(prefix() + "none"), null);
    const stats = await client.memoryStats();
    assert.equal(typeof stats.get("peak.allocated"), "number");
    assert.equal(typeof stats.get("dataset.percentage"), "number", "a double in RESP2 and RESP3");
    const db0 = stats.get("db.0");
    assert.ok(db0 instanceof Map && typeof db0.get("overhead.hashtable.main") === "number");
    assert.equal(typeof await client.memoryDoctor(), "string");
    assert.ok((await client.memoryMallocStats()).length > 0);
    assert.equal(await client.memoryPurge(), true);
  },
);

each(
  "latencyLatest, latencyHistory, latencyReset, latencyDoctor, latencyGraph",
  async ({ client }) => {
    const before = await client.configGet("latency-monitor-threshold");
    await client.configSet("latency-monitor-threshold", 1);
    try {
      await client.latencyReset();
      await client.eval(BUSY_10MS);
      const [event] = (await client.latencyLatest()).filter((e) => e.event === "command");
      assert.ok(event, "a 10 ms script shows as a command spike");
      assert.ok(event.latestMs >= 10 && event.maxMs >= event.latestMs);
      assert.ok(event.timestamp > 1_600_000_000);
      const history = await client.latencyHistory("command");
      assert.ok(history.length >= 1 && history[0][1] >= 10);
      assert.match(await client.latencyGraph("command"), /command/);
      assert.equal(typeof await client.latencyDoctor(), "string");
      assert.equal(await client.latencyReset("command"), 1);
      assert.deepStrictEqual(await client.latencyHistory("command"), []);
      await assert.rejects(client.latencyGraph("command"), RedisError);
    } finally {
      await client.configSet("latency-monitor-threshold", before.get("latency-monitor-threshold")!);
    }
  },
);

each("pipelines", async ({ client }) => {
  const [len, usage] = await client.pipeline().slowlogLen().memoryUsage(prefix() + "none").exec();
  assert.equal(typeof len, "number");
  assert.equal(usage, null);
});
