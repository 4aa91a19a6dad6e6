// Tests of the ACL subcommands (src/redis/commands/acl.ts) against a real redis-server, in
// RESP2 (flat arrays) and RESP3 (maps): users, rules, dry runs and the security log.

import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { redisModes } from "../_helpers/redis_modes.ts";
import { redisAddress } from "../_helpers/servers.ts";

const { each } = redisModes("acl");

const userName = (): string => "u" + crypto.randomUUID().replaceAll("-", "").slice(0, 12);

each("aclSetUser, aclGetUser, aclUsers, aclList, aclDryRun, aclDelUser", async ({ client }) => {
  const user = userName();
  try {
    assert.equal(
      await client.aclSetUser(user, "on", ">pw-" + user, "~k:*", "+get", "(~s:* +set)"),
      true,
    );
    const got = await client.aclGetUser(user);
    assert.ok(got);
    assert.ok(got.flags.includes("on"));
    assert.equal(got.passwordHashes.length, 1);
    assert.match(got.passwordHashes[0], /^[0-9a-f]{64}$/, "a SHA-256, not the password");
    assert.equal(got.commands, "-@all +get");
    assert.equal(got.keys, "~k:*");
    assert.equal(got.channels, "");
    assert.deepStrictEqual(got.selectors, [{ commands: "-@all +set", keys: "~s:*", channels: "" }]);
    assert.equal(await client.aclGetUser(userName()), null);
    assert.ok((await client.aclUsers()).includes(user));
    assert.ok((await client.aclList()).some((line) => line.startsWith(`user ${user} on`)));
    assert.equal(await client.aclDryRun(user, "GET", "k:1"), "OK");
    assert.match(await client.aclDryRun(user, "SET", "k:1", "v"), /no permissions/);
    assert.equal(await client.aclDryRun(user, "SET", "s:1", "v"), "OK");
    await assert.rejects(client.aclSetUser(user, "+nosuchcommand"), RedisError);
  } finally {
    assert.equal(await client.aclDelUser(user, userName()), 1);
  }
  assert.throws(() => client.aclDelUser(), TypeError);
});

each(
  "aclWhoAmI, aclCat, aclGenPass, aclLoad and aclSave without an ACL file",
  async ({ client }) => {
    assert.equal(await client.aclWhoAmI(), "default");
    const categories = await client.aclCat();
    assert.ok(categories.includes("geo") && categories.includes("read"));
    assert.ok((await client.aclCat("geo")).includes("geoadd"));
    assert.match(await client.aclGenPass(), /^[0-9a-f]{64}$/);
    assert.match(await client.aclGenPass(32), /^[0-9a-f]{8}$/);
    await assert.rejects(client.aclLoad(), RedisError);
    await assert.rejects(client.aclSave(), RedisError);
  },
);

each("aclLog records a denied command; aclLogReset empties it", async ({ client, protocol }) => {
  const user = userName();
  await client.aclSetUser(user, "on", ">pw-" + user, "~*", "+@all", "-set");
  const limited = await RedisClient.connect({
    ...(await redisAddress()),
    protocol,
    username: user,
    password: "pw-" + user,
  });
  try {
    assert.equal(await client.aclLogReset(), true);
    await assert.rejects(
      limited.set("k", "v"),
      (e) => e instanceof RedisError && e.serverCode === "NOPERM",
    );
    const [entry] = await client.aclLog(1);
    assert.equal(entry.username, user);
    assert.equal(entry.reason, "command");
    assert.equal(entry.object, "set");
    assert.equal(entry.context, "toplevel");
    assert.equal(entry.count, 1);
    assert.equal(typeof entry.ageSeconds, "number", "a number in RESP2 (text) and RESP3");
    assert.match(entry.clientInfo, new RegExp(`user=${user}`));
    assert.equal(await client.aclLogReset(), true);
    assert.deepStrictEqual(await client.aclLog(), []);
  } finally {
    await limited.close();
    await client.aclDelUser(user);
  }
});

each("pipelines", async ({ client }) => {
  const [whoami, users] = await client.pipeline().aclWhoAmI().aclUsers().exec();
  assert.equal(whoami, "default");
  assert.ok((users as string[]).includes("default"));
});
