// Tests of the extra server commands (src/redis/commands/server_more.ts) against a real
// redis-server, in RESP2 and RESP3: HELP of every container, LASTSAVE, ROLE, CONFIG.

import assert from "node:assert/strict";
import { RedisError } from "../../src/redis/errors.ts";
import { type HelpContainer } from "../../src/redis/commands/server_more.ts";
import { redisModes } from "../_helpers/redis_modes.ts";

const { each } = redisModes("server more");

const CONTAINERS: HelpContainer[] = [
  "ACL",
  "CLIENT",
  "CLUSTER",
  "COMMAND",
  "CONFIG",
  "FUNCTION",
  "LATENCY",
  "MEMORY",
  "MODULE",
  "OBJECT",
  "PUBSUB",
  "SCRIPT",
  "SLOWLOG",
  "XGROUP",
  "XINFO",
];

each("helpOf answers the usage lines of every container", async ({ client }) => {
  for (const container of CONTAINERS) {
    if (container === "CLUSTER") {
      await assert.rejects(
        client.helpOf(container),
        /cluster support disabled/,
        "CLUSTER HELP ran",
      );
      continue;
    }
    const lines = await client.helpOf(container);
    assert.ok(lines[0].startsWith(`${container} <subcommand>`), `${container}: ${lines[0]}`);
    assert.ok(lines.some((l) => l.startsWith("HELP")), container);
  }
});

each("lastSave, role, configResetStat, configRewrite", async ({ client }) => {
  const saved = await client.lastSave();
  assert.ok(saved > 1_600_000_000 && saved <= Date.now() / 1000 + 1);
  assert.deepStrictEqual(await client.role(), {
    role: "master",
    replicationOffset: 0,
    replicas: [],
  });
  await client.get("k");
  assert.equal(await client.configResetStat(), true);
  assert.equal(
    (await client.info("stats")).stats.total_commands_processed,
    1,
    "counting INFO only",
  );
  await assert.rejects(
    client.configRewrite(),
    (e) => e instanceof RedisError && /config file/.test(e.message),
  );
});
