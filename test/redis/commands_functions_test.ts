// Tests of the function and read-only script commands (src/redis/commands/functions.ts) against
// a real redis-server, in RESP2 (flat arrays) and RESP3 (maps).

import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, prefix, redisModes } from "../_helpers/redis_modes.ts";
import { redisAddress } from "../_helpers/servers.ts";

const { each } = redisModes("functions");

const library = (name: string): string =>
  `#!lua name=${name}\n` +
  `redis.register_function{function_name='${name}_get', callback=function(keys, args) ` +
  `return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='reads'}\n` +
  `redis.register_function('${name}_set', function(keys, args) ` +
  `return redis.call('SET', keys[1], args[1]) end)`;

const isBusyless = (e: unknown): boolean => e instanceof RedisError && e.serverCode === "NOTBUSY";

each("functionLoad, fcall, fcallRo, functionList, functionDelete", async ({ client, v }) => {
  const name = "lib_" + crypto.randomUUID().replaceAll("-", "");
  const k = prefix() + "k";
  assert.equal(await client.functionLoad(library(name)), name);
  await assert.rejects(client.functionLoad(library(name)), RedisError, "exists without replace");
  assert.equal(await client.functionLoad(library(name), { replace: true }), name);
  eq(await client.fcall(`${name}_set`, [k], ["x"]), "OK");
  eq(await client.fcallRo(`${name}_get`, [k]), v("x"));
  await assert.rejects(client.fcallRo(`${name}_set`, [k], ["y"]), RedisError);
  const [lib] = await client.functionList({ libraryName: name, withCode: true });
  assert.equal(lib.libraryName, name);
  assert.equal(lib.engine, "LUA");
  assert.equal(lib.libraryCode, library(name));
  const byName = new Map(lib.functions.map((f) => [f.name, f]));
  assert.deepStrictEqual(byName.get(`${name}_get`), {
    name: `${name}_get`,
    description: "reads",
    flags: ["no-writes"],
  });
  assert.deepStrictEqual(byName.get(`${name}_set`), {
    name: `${name}_set`,
    description: null,
    flags: [],
  });
  const [bare] = await client.functionList({ libraryName: name });
  assert.equal(bare.libraryCode, undefined);
  assert.equal(await client.functionDelete(name), true);
  assert.deepStrictEqual(await client.functionList({ libraryName: name }), []);
});

each(
  "functionDump, functionFlush, functionRestore, functionStats",
  async ({ client, protocol }) => {
    const name = "lib_" + crypto.randomUUID().replaceAll("-", "");
    await client.functionLoad(library(name));
    const bytesClient = await RedisClient.connect({ ...(await redisAddress()), protocol });
    try {
      const payload = await bytesClient.functionDump();
      assert.ok(payload instanceof Uint8Array && payload.length > 0);
      assert.equal(await client.functionFlush("SYNC"), true);
      assert.deepStrictEqual(await client.functionList(), []);
      assert.equal(await client.functionRestore(payload), true);
      await assert.rejects(
        client.functionRestore(payload),
        RedisError,
        "APPEND refuses duplicates",
      );
      assert.equal(await client.functionRestore(payload, "REPLACE"), true);
      assert.ok((await client.functionList()).some((l) => l.libraryName === name));
      const stats = await client.functionStats();
      assert.equal(stats.runningScript, null);
      assert.ok(stats.engines.LUA.librariesCount >= 1);
      assert.ok(stats.engines.LUA.functionsCount >= 2);
    } finally {
      await client.functionDelete(name);
      await bytesClient.close();
    }
  },
);

each(
  "evalRo, evalShaRo, scriptKill and functionKill with nothing running",
  async ({ client, v }) => {
    const k = prefix() + "k";
    await client.set(k, "v1");
    eq(await client.evalRo("return redis.call('GET', KEYS[1])", [k]), v("v1"));
    await assert.rejects(client.evalRo("return redis.call('SET', KEYS[1], 'x')", [k]), RedisError);
    const sha = await client.scriptLoad("return ARGV[1]");
    eq(await client.evalShaRo(sha, [], ["a"]), v("a"));
    await assert.rejects(client.scriptKill(), isBusyless);
    await assert.rejects(client.functionKill(), isBusyless);
  },
);

each("pipelines", async ({ client, v }) => {
  const name = "lib_" + crypto.randomUUID().replaceAll("-", "");
  const k = prefix() + "k";
  const results = await client.pipeline()
    .functionLoad(library(name))
    .fcall(`${name}_set`, [k], ["z"])
    .fcallRo(`${name}_get`, [k])
    .functionDelete(name)
    .exec();
  eq(results, [name, "OK", v("z"), true]);
});
